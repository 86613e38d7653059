"""What the spec says about each enum value and each field, from the code's own docstrings (issue 18).

- `DescribedEnum`: the base of every enum the API shows. Its class docstring is the enum's description and
  lists each member as a line `- value: what it means` (continuation lines indented); the spec gets the
  docstring as `description`, and `x-enum-descriptions` and `x-enum-varnames` (one entry per value, in the
  enum's order, as openapi-generator and NSwag read them). A member missing from the list is a `TypeError`
  when the spec is built, so a new value cannot ship undescribed (tests/test_spec_descriptions.py).
- `DESCRIBED`: a model config reading attribute docstrings (the string literal under a field) as the field's
  `description`. Subclasses inherit it, SQLModel tables included.
- `Values`: the same as `DescribedEnum` for a `Literal` type.
"""

from __future__ import annotations

import inspect
import re
from enum import StrEnum

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from sqlmodel._compat import SQLModelConfig

DESCRIBED = SQLModelConfig(use_attribute_docstrings=True)

# `- value: text`, where a value may hold a colon itself (`sync:write`): the first ": " ends it.
_ITEM = re.compile(r"^- `?(?P<value>\S+?)`?: (?P<text>.+)$")


def value_descriptions(doc: str) -> dict[str, str]:
    """{value: description} from a docstring's `- value: text` lines; an indented line continues the one
    before it."""
    found: dict[str, str] = {}
    last: str | None = None
    for raw in doc.splitlines():
        line = raw.strip()
        item = _ITEM.match(line)
        if item:
            last = item["value"]
            found[last] = item["text"]
        elif last is not None and line and raw.startswith((" ", "\t")) and not line.startswith("- "):
            found[last] += " " + line
        else:
            last = None
    return found


class DescribedEnum(StrEnum):
    """Base of the API's enums: each value described in the class docstring (see the module docstring)."""

    @classmethod
    def value_descriptions(cls) -> dict[str, str]:
        """{value: description} for every member; a `TypeError` naming those the docstring leaves out."""
        found = value_descriptions(inspect.cleandoc(cls.__doc__ or ""))
        missing = [m.value for m in cls if m.value not in found]
        if missing:
            raise TypeError(f"{cls.__name__}'s docstring does not describe {missing}: add `- value: …` lines")
        return found

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core)
        target = handler.resolve_ref_schema(schema)
        described = cls.value_descriptions()
        target["x-enum-descriptions"] = [described[m.value] for m in cls]
        target["x-enum-varnames"] = [m.name for m in cls]
        return schema


class Values:
    """`Annotated[Literal[...], Values(description, {value: meaning})]`: a `Literal` type's inline enum gets
    the same `description` and `x-enum-descriptions` as a `DescribedEnum`. (Hashed by identity, as typing
    needs an Annotated's metadata to be hashable.)"""

    def __init__(self, description: str, meanings: dict[str, str]) -> None:
        self.description = description
        self.meanings = meanings

    def __get_pydantic_json_schema__(
        self, core: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core)
        schema["description"] = self.description
        values = schema.get("enum", [schema.get("const")])
        schema["x-enum-descriptions"] = [self.meanings[str(v)] for v in values]
        return schema
