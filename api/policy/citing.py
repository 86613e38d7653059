"""The rules that cite the policy's sentences, as the policy needs to know them: which rules a new version
would stop, reword or remove (api/policy/publish_plan.py, for the preview and the publish).

The compliance rule catalog registers them (api/compliance/rules/__init__.py) so that the policy package
never imports compliance: compliance reads the policy, never the other way round (docs/ARCHITECTURE.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CitingRule:
    id: str  # the rule's id, e.g. "GRP-TWO-STAFF-ADMINS"
    severity: str  # "low" to "critical"
    clause_ids: tuple[str, ...]  # the sentences it keeps, its own clause first


_REGISTERED: list[CitingRule] = []


def register(rules: Iterable[CitingRule]) -> None:
    """Replace the registered rules with `rules` (called once, by the rule catalog, when it is imported)."""
    _REGISTERED[:] = list(rules)


def citing_rules() -> Sequence[CitingRule]:
    """Every registered rule. Errors: RuntimeError when none is registered (api.compliance.rules not yet
    imported): a publish must never believe that no rule would stop."""
    if not _REGISTERED:
        raise RuntimeError("No rule catalog is registered: import api.compliance.rules first")
    return tuple(_REGISTERED)
