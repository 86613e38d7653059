"""A client generated from the OpenAPI spec by openapi-python-client works against a live server:
it authenticates with an API key, pushes a batch and reads the records back."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlmodel import Session

from api.main import create_app
from tests.factories import make_api_key
from tests.live import live_app

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("client")
    spec = root / "openapi.json"
    spec.write_text(json.dumps(create_app().openapi()))
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(root / "esafety_client"),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("esafety_client")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("esafety_client")]:
            del sys.modules[name]


def test_round_trip_with_an_api_key(generated: ModuleType) -> None:
    client_mod = importlib.import_module("esafety_client.client")
    sync_api = importlib.import_module("esafety_client.api.sync.sync_staff")
    list_api = importlib.import_module("esafety_client.api.staff.list_staff")
    models = importlib.import_module("esafety_client.models")

    with live_app() as (base, engine):
        with Session(engine) as session:
            key = make_api_key(session).headers["X-API-Key"]
        client = client_mod.AuthenticatedClient(
            base_url=base, token=key, prefix="", auth_header_name="X-API-Key", raise_on_unexpected_status=True
        )
        records = [
            {
                "external_id": "crm-9001",
                "full_name": "Lena Brook",
                "email": "lena.brook@moremusic.org.uk",
                "employment_type": "sessional",
                "started_on": "2025-09-01",
            },
            {
                "external_id": "crm-9002",
                "full_name": "Bad Record",
                "email": "nope",
                "employment_type": "sessional",
                "started_on": "2025-09-01",
            },
        ]
        body = models.SyncRequest(records=[models.SyncRequestRecordsItem.from_dict(r) for r in records])
        pushed = sync_api.sync_detailed(client=client, body=body)
        assert pushed.status_code == 200
        statuses = [r.status.value for r in pushed.parsed.results]
        assert statuses == ["created", "rejected"]
        assert pushed.parsed.results[1].errors[0].field == "email"

        page = list_api.sync(client=client, external_id="crm-9001")
        assert page.total == 1
        assert page.items[0].full_name == "Lena Brook"

        anonymous = client_mod.Client(base_url=base)
        assert list_api.sync_detailed(client=anonymous).status_code == 401


def test_operation_ids_are_unique_so_client_names_are() -> None:
    spec = create_app().openapi()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
