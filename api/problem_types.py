"""The problem types' catalogue: what each problem document's `type` (`/api/v1/problems/{code}`) resolves to.

Public, like /health: a client that meets a code it does not know reads its meaning here (RFC 9457 section
3.1.1 asks that a type URI, when dereferenced, give human-readable documentation of the problem type).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.errors import COMMON_ERRORS, NOT_FOUND, NotFound
from api.input_checks import refuse_malformed_input
from api.problems import PROBLEMS_PATH, ProblemCode

# Under /api/v1 like the rest, so checked as the rest is (api/router.py): no control character in the code,
# no query parameter the route does not take.
router = APIRouter(
    prefix=PROBLEMS_PATH,
    tags=["problems"],
    dependencies=[Depends(refuse_malformed_input)],
)


class ProblemType(BaseModel):
    code: ProblemCode = Field(description="The problem document's `code`")
    type: str = Field(description="The problem document's `type`: this entry's own address")
    status: int = Field(description="The HTTP status it is answered with")
    title: str = Field(description="The problem document's `title`")
    description: str = Field(description="What it means, and what to do about it")


def _entry(code: ProblemCode) -> ProblemType:
    return ProblemType(
        code=code, type=code.type_uri, status=code.status, title=code.summary, description=code.description
    )


@router.get("", response_model=list[ProblemType], summary="List problem types")
def list_problem_types() -> list[ProblemType]:
    """Every problem `code` this service answers, in the order of their statuses. No authentication."""
    return [_entry(code) for code in sorted(ProblemCode, key=lambda c: c.status)]


# No credentials asked, so no 401 or 403; the 422 FastAPI declares for a path parameter is the house's.
@router.get(
    "/{code}",
    response_model=ProblemType,
    responses={**NOT_FOUND, 422: COMMON_ERRORS[422]},
    summary="Get a problem type",
)
def get_problem_type(code: str) -> ProblemType:
    """One problem `code`'s status, title and meaning; 404 for a code this service never answers. No
    authentication."""
    try:
        return _entry(ProblemCode[code])  # each member's name is its value (tests/test_problems.py)
    except KeyError:
        raise NotFound(f"No problem type {code!r}") from None
