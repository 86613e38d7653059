"""Every request body's examples are bodies the API accepts: Swagger UI's "Try it out" starts from them.

Here: each example validates against its own model (the schema names it in the served spec). That the
first example of each route, sent as it is to the demo data, is answered 2xx: tests/test_spec_examples.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from api.main import create_app

SPEC = create_app().openapi()
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}
# Filled by Swagger UI's Authorize dialog, not by "Try it out": a credentials example would only mislead.
NO_EXAMPLE = {"Body_sign_in"}


def _models() -> dict[str, type[BaseModel]]:
    """The application's models by schema name (the spec names a body's schema after its class)."""
    found: dict[str, list[type[BaseModel]]] = {}
    stack: list[type[BaseModel]] = [BaseModel]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("api."):
            found.setdefault(cls.__name__, []).append(cls)
    return {name: classes[0] for name, classes in found.items() if len(set(classes)) == 1}


MODELS = _models()


def _bodies() -> list[tuple[str, str, str]]:
    """(method, path, schema name) of every JSON or form request body the app serves."""
    out = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS or "requestBody" not in op:
                continue
            # A body read in several forms (a roster: JSON or CSV) has one model, in its JSON form.
            (media,) = [m for m in op["requestBody"]["content"].values() if "$ref" in m["schema"]]
            out.append((method.upper(), path, media["schema"]["$ref"].rsplit("/", 1)[-1]))
    return out


BODIES = _bodies()
IDS = [f"{m} {p}" for m, p, _ in BODIES]
EXAMPLES = [
    (name, i, example)
    for name in sorted({n for _, _, n in BODIES} - NO_EXAMPLE)
    for i, example in enumerate(SPEC["components"]["schemas"][name].get("examples", []))
]


def test_bodies_were_found() -> None:
    # A walk that found nothing would pass every check below.
    assert len(BODIES) >= 30
    assert len(EXAMPLES) >= len({n for _, _, n in BODIES} - NO_EXAMPLE)


@pytest.mark.parametrize(("name", "index", "example"), EXAMPLES, ids=[f"{n}[{i}]" for n, i, _ in EXAMPLES])
def test_each_example_validates_against_its_model(name: str, index: int, example: dict[str, Any]) -> None:
    assert name in MODELS, f"no unique model class named {name}"
    MODELS[name].model_validate(example)
