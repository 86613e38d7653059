"""The `esafety` command: serve, migrate, seed-demo, openapi, create-user, deliver-webhooks."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from sqlmodel import Session, select


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.config import get_settings
    from api.logging import uvicorn_log_config
    from api.metrics import prepare_multiprocess_directory

    prepare_multiprocess_directory()  # before any worker counts a request (PROMETHEUS_MULTIPROC_DIR)
    print(f"Swagger UI: http://{args.host}:{args.port}/docs", flush=True)
    uvicorn.run(
        "api.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        # The app decides which proxies to believe (TRUSTED_PROXIES, api/auth/throttle.py); uvicorn's own
        # default would believe X-Forwarded-For from 127.0.0.1, letting a local caller choose its address.
        proxy_headers=False,
        log_config=uvicorn_log_config(get_settings().log_level),
        # The app writes its own access line, with route templates rather than paths as sent (api/logging.py).
        access_log=False,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from api.migrations import downgrade, upgrade

    if args.revision.startswith("-") or args.down:
        downgrade(revision=args.revision)
    else:
        upgrade(revision=args.revision)
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from api.main import create_app

    text = json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _print_sign_ins(accounts: list[tuple[str, str, str]]) -> None:
    print("Sign in at /docs with Authorize:")
    for role, email, password in accounts:
        print(f"  {role:<12} {email:<36} {password}")


def _seed_demo(args: argparse.Namespace) -> int:
    import api.listeners  # noqa: F401  (the domain events' subscribers, before any write)
    from api.db import get_engine
    from api.demo import seed, sign_ins
    from api.staff.models import Staff

    with Session(get_engine()) as session:
        if args.if_empty and session.exec(select(Staff.id).limit(1)).first() is not None:
            print("Demo data: the database already has records; keeping them.")
            accounts = sign_ins(session)
            if accounts:
                _print_sign_ins(accounts)
            return 0
        try:
            accounts = seed(session)
        except ValueError as exc:  # already loaded: say so in one line, as --if-empty would keep it
            print(f"esafety seed-demo: {exc} (use --if-empty to keep what is there)", file=sys.stderr)
            return 1
    print("Demo data loaded.")
    _print_sign_ins(accounts)
    return 0


def _create_user(args: argparse.Namespace) -> int:
    import api.listeners  # noqa: F401  (the domain events' subscribers, before any write)
    from api.accounts.service import create_user_for_email
    from api.auth.roles import Role
    from api.db import get_engine

    password = os.environ.get("ESAFETY_PASSWORD") or getpass.getpass("Password (12+ characters): ")
    # The account is read after the commit that creates it: keep its loaded values past the session.
    with Session(get_engine(), expire_on_commit=False) as session:
        user = create_user_for_email(
            session=session, email=args.email, role=Role(args.role), password=password, full_name=args.name
        )
    print(f"Created {user.role} account {user.email}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="esafety", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the API with uvicorn")
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    p.set_defaults(func=_serve)

    p = sub.add_parser("migrate", help="apply migrations (default: up to head)")
    p.add_argument("revision", nargs="?", default="head")
    p.add_argument("--down", action="store_true", help="downgrade to the revision instead")
    p.set_defaults(func=_migrate)

    p = sub.add_parser("seed-demo", help="load the fictional demo organisation")
    p.add_argument("--if-empty", action="store_true", help="do nothing if there are records already")
    p.set_defaults(func=_seed_demo)

    p = sub.add_parser("openapi", help="print (or write) the OpenAPI spec the app serves")
    p.add_argument("--output", help="file to write instead of standard output")
    p.set_defaults(func=_openapi)

    p = sub.add_parser("create-user", help="create a sign-in (the first coordinator, for example)")
    p.add_argument("--email", required=True)
    p.add_argument("--role", required=True, choices=["coordinator", "staff", "trustee"])
    p.add_argument("--name", help="full name, if no staff record has this email yet")
    p.set_defaults(func=_create_user)

    from api.webhooks.worker import add_command as add_deliver_webhooks

    add_deliver_webhooks(sub)

    args = parser.parse_args(argv)
    from pydantic import ValidationError

    from api.errors import AppError

    try:
        return int(args.func(args))
    except ValidationError as exc:
        # A setting the environment got wrong (ORGANISATION_TIMEZONE, say): one line per setting.
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]).upper() or "settings"
            print(f"esafety {args.command}: {where}: {error['msg']}", file=sys.stderr)
        return 1
    except AppError as exc:
        # A refusal the API would answer with a problem (an account that exists, a short password): one
        # line naming the field, not a traceback.
        fields = ", ".join(e.field for e in exc.errors or [])
        print(f"esafety {args.command}: {exc.detail}" + (f" ({fields})" if fields else ""), file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
