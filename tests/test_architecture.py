"""The house along its seams (issue 14): the import graph of api/ and the size of its files.

The graph is drawn from `ast` (every import, a function's late one included) between the top-level units
of api/: each sub-package (api/groups/) and each top-level module (api/crud.py) is one unit, and so is
each package's table module (api/groups/models.py is `groups.models`). The layers, bottom up: the kernel,
the table modules, the domain packages' services and routers, the composition roots. The rules
(docs/ARCHITECTURE.md says why):

- the kernel imports no domain: it is what every domain stands on;
- a table module (SQLModel tables, enums, the API's shapes) imports only the kernel, other table modules
  and small modules of its own package that stand on those alone (auth/roles.py), so any package may
  import any package's tables without closing a cycle;
- the composition roots may import anything, and nothing imports them back (they are where the app, the
  command line and the worker are put together, so importing one from a domain would import everything);
- no cycle between the packages (their modules other than tables);
- records announce, compliance listens: a package that publishes `events.GroupFactsChanged` imports
  nothing of compliance but its tables and its rule catalog.

No exception is listed: a new edge that breaks a rule fails.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import api

API = Path(api.__file__).parent

KERNEL = frozenset(
    {
        "db",
        "facts",
        "facts_people",
        "facts_rows",
        "facts_sql",
        "errors",
        "problems",
        "preconditions",
        "crud",
        "idempotency",
        "common",
        "described",
        "clock",
        "config",
        "events",
        "limits",
        "logging",
        "phones",
        "external_ids",
        "request_context",
        "security_headers",
        "asgi",
        "input_checks",
        "stale_plans",
    }
)
# Where the app, the command line and the worker are put together: they may import anything; nothing but
# another root imports them. `models` imports every table for Alembic; `listeners` every event subscriber.
COMPOSITION_ROOTS = frozenset(
    {"main", "router", "cli", "demo", "listeners", "models", "webhooks.worker", "webhooks.__main__"}
)
# Files that are a root of their own inside a package (the worker runs the compliance watch and the
# controls register on an interval, so it stands above them, not inside webhooks).
ROOT_FILES = {"webhooks/worker.py": "webhooks.worker", "webhooks/__main__.py": "webhooks.__main__"}


def unit_of(path: Path) -> str:
    """The unit a file of api/ belongs to: a package's tables (`groups/models.py`) are a unit of their own,
    `groups.models`."""
    relative = path.relative_to(API).as_posix()
    parts = relative.split("/")
    if len(parts) == 2 and parts[1] == "models.py":
        return f"{parts[0]}.models"
    return ROOT_FILES.get(relative) or parts[0].removesuffix(".py")


def is_tables(unit: str) -> bool:
    """A package's table module (`groups.models`), not the composition root `models`."""
    return unit.endswith(".models")


def _imported_units(module: str, names: Iterable[str]) -> set[str]:
    parts = module.split(".")
    if parts[0] != "api":
        return set()
    if len(parts) == 1:  # `from api import clock, crud`
        return set(names)
    if "/".join(parts[1:3]) + ".py" in ROOT_FILES:
        return {ROOT_FILES["/".join(parts[1:3]) + ".py"]}
    if len(parts) > 2 and parts[2] == "models":
        return {f"{parts[1]}.models"}
    if len(parts) == 2 and (API / parts[1]).is_dir():  # `from api.groups import models, service`
        return {f"{parts[1]}.models" if name == "models" else parts[1] for name in names}
    return {parts[1]}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of each import in a file, a relative one resolved against the file's package."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            module = node.module
            if node.level:  # relative: resolve against the file's own package
                base = path.relative_to(API.parent).with_suffix("").parts[: -node.level]
                module = ".".join((*base, module))
            found.append((module, [a.name for a in node.names]))
    return found


def imports_of(path: Path) -> set[str]:
    """The units of api/ that a file imports."""
    return {unit for module, names in _imports(path) for unit in _imported_units(module, names)}


def _module_file(parts: Iterable[str]) -> Path | None:
    base = API.parent.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def files_imported_by(path: Path) -> set[Path]:
    """The files of api/ that importing `path` runs (the packages' `__init__.py` on the way included, if they
    import anything)."""
    found: set[Path] = set()
    for module, names in _imports(path):
        parts = module.split(".")
        if parts[0] != "api":
            continue
        for depth in range(1, len(parts)):
            found.add(API.parent.joinpath(*parts[:depth], "__init__.py"))
        submodules = {f for f in (_module_file((*parts, name)) for name in names) if f is not None}
        module_file = _module_file(parts)
        found |= submodules or ({module_file} if module_file else set())
    return {f for f in found if f.is_file() and (f.name != "__init__.py" or _imports(f))} - {path}


def module_graph() -> dict[Path, set[Path]]:
    """{file of api/: {files of api/ that importing it runs}}."""
    return {path: files_imported_by(path) for path in API.rglob("*.py")}


def lower_layer(files: dict[Path, set[Path]]) -> set[Path]:
    """The files that stand on the kernel alone, directly or through one another, through no cycle: the
    kernel, then (until nothing more joins) every file whose imports are all already in."""
    lower = {path for path in files if unit_of(path) in KERNEL}
    while joining := {path for path, imported in files.items() if path not in lower and imported <= lower}:
        lower |= joining
    return lower


def table_offenders(files: dict[Path, set[Path]]) -> dict[tuple[str, str], str]:
    """{(table unit, unit imported): table file} for each table module importing anything but the kernel,
    other table modules, and modules of its own package in the lower layer (enums, value types and pure
    functions in a file of their own: auth/models.py uses auth/roles.py, consents/models.py
    consents/logic.py)."""
    lower = lower_layer(files)
    offenders: dict[tuple[str, str], str] = {}
    for table in files:
        if not is_tables(unit_of(table)):
            continue
        package = unit_of(table).removesuffix(".models")
        for imported in files[table]:
            unit = unit_of(imported)
            if unit in KERNEL or is_tables(unit) or (unit == package and imported in lower):
                continue
            offenders[unit_of(table), unit] = table.relative_to(API.parent).as_posix()
    return offenders


def import_graph() -> dict[str, dict[str, set[str]]]:
    """{unit: {imported unit: {files importing it}}}, without a unit's imports of itself."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(API.rglob("*.py")):
        source = unit_of(path)
        graph[source]  # every unit is a node, even one that imports nothing of api/
        for target in imports_of(path) - {source}:
            graph[source][target].add(path.relative_to(API.parent).as_posix())
    return graph


def cycle_edges(graph: dict[str, dict[str, set[str]]]) -> set[tuple[str, str]]:
    """Every edge between two units of the same strongly connected component (so on some cycle), the
    composition roots left out (they stand above everything) and so are the table modules (they stand below
    every package: `test_a_table_module_imports_only_tables_and_the_kernel`)."""
    nodes = [n for n in graph if n not in COMPOSITION_ROOTS and not is_tables(n)]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    component: dict[str, int] = {}

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target in COMPOSITION_ROOTS or is_tables(target):
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component[member] = index[node]
                if member == node:
                    break

    for node in nodes:
        if node not in index:
            visit(node)
    return {
        (source, target)
        for source in nodes
        for target in graph[source]
        if target in component and component[source] == component[target]
    }


def _describe(graph: dict[str, dict[str, set[str]]], edges: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{s} -> {t} ({', '.join(sorted(graph[s][t]))})" for s, t in sorted(edges)]


GRAPH = import_graph()


def test_the_kernel_imports_no_domain() -> None:
    offenders = [(s, t) for s in KERNEL for t in GRAPH[s] if t not in KERNEL]
    assert not offenders, _describe(GRAPH, offenders)


def test_nothing_imports_a_composition_root() -> None:
    offenders = {
        (s, t) for s in GRAPH for t in GRAPH[s] if t in COMPOSITION_ROOTS and s not in COMPOSITION_ROOTS
    }
    assert not offenders, _describe(GRAPH, offenders)


def test_no_import_cycle_between_units() -> None:
    found = cycle_edges(GRAPH)
    assert not found, "cycle: " + "; ".join(_describe(GRAPH, found))


def test_a_table_module_imports_only_tables_and_the_kernel() -> None:
    offenders = table_offenders(module_graph())
    assert not offenders, {f"{s} -> {t} ({file})" for (s, t), file in offenders.items()}


def test_a_table_module_that_imports_a_service_fails() -> None:
    # The checker itself: the tables of groups importing the groups service (which imports them back) and
    # the tables of staff importing the auth package's roles are caught; auth's own roles are not.
    files = module_graph()
    assert not {key for key in table_offenders(files) if key[0] in {"auth.models", "groups.models"}}
    files[API / "groups/models.py"].add(API / "groups/service.py")
    files[API / "staff/models.py"].add(API / "auth/roles.py")
    assert {("groups.models", "groups"), ("staff.models", "auth")} <= set(table_offenders(files))
    # Importing rules.base runs the rules package's __init__ on the way.
    assert API / "compliance/rules/__init__.py" in files[API / "compliance/engine.py"]


def test_tables_are_a_unit_of_their_own() -> None:
    # Who is calling reads the staff and membership tables; staff and memberships need who is calling. The
    # tables are a layer below both, so that is no cycle; a service of either importing the other's
    # service would be one.
    assert {"staff.models", "memberships.models"} <= set(GRAPH["auth"])
    assert not {"staff", "memberships"} & set(GRAPH["auth"])
    assert "auth" in GRAPH["staff"]
    assert "auth" in GRAPH["memberships"]
    graph = import_graph()
    graph["auth"]["staff"].add("api/auth/reach.py")
    assert ("auth", "staff") in cycle_edges(graph)
    # `from api.groups import models` names the tables too, and `from api import models` the root.
    assert _imported_units("api.groups", ["models", "service"]) == {"groups.models", "groups"}
    assert _imported_units("api", ["models"]) == {"models"}


def test_a_new_cycle_fails() -> None:
    # What the seams prevent (issue 14): compliance queues its webhooks and reads who the caller is, so
    # either of those importing compliance (say, to announce a change rather than publish an event) closes
    # a cycle.
    for source, file in (("webhooks", "api/webhooks/service.py"), ("auth", "api/auth/reach.py")):
        graph = import_graph()
        graph[source]["compliance"].add(file)
        assert (source, "compliance") in cycle_edges(graph)
    assert "compliance" not in GRAPH["groups"]


def publishers() -> set[Path]:
    """The files that publish `events.GroupFactsChanged`."""
    return {
        path
        for path in API.rglob("*.py")
        if unit_of(path) not in {"events", "compliance", "listeners"}
        and any(
            isinstance(node, ast.Attribute) and node.attr == "GroupFactsChanged"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    }


def compliance_reached_by(files: dict[Path, set[Path]], packages: set[str]) -> set[str]:
    """The compliance files the packages' files import, other than its tables and its rule catalog."""
    allowed = {API / "compliance/models.py", API / "compliance/rules/__init__.py"}
    return {
        imported.relative_to(API.parent).as_posix()
        for path, imported_files in files.items()
        if unit_of(path) in packages
        for imported in imported_files - allowed
        if unit_of(imported) == "compliance"
    }


def test_records_announce_and_compliance_listens() -> None:
    # Incidents check the rule ids an incident cites against the catalog: that is reading, not announcing.
    packages = {unit_of(path) for path in publishers()}
    assert {"groups", "memberships", "incidents", "rosters"} <= packages
    files = module_graph()
    assert not compliance_reached_by(files, packages)
    files[API / "groups/service.py"].add(API / "compliance/watch.py")  # announcing the old way
    assert compliance_reached_by(files, packages) == {"api/compliance/watch.py"}


def test_the_graph_sees_late_and_package_level_imports() -> None:
    # The checker itself: a late import inside a function counts, and `from api import x` names unit x.
    assert "compliance" in GRAPH["webhooks.worker"]
    assert "events" in GRAPH["groups"]
    assert "listeners" in GRAPH["cli"]  # imported inside a function


# ---------------------------------------------------------------------------------------------------------
# File size

MAX_LINES = 400


def test_no_file_in_api_is_over_400_lines() -> None:
    # A package per domain, a file per concern (Dispatch's way): a file past this is two concerns or more.
    lengths = {
        path.relative_to(API.parent).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in API.rglob("*.py")
    }
    assert not {name: n for name, n in lengths.items() if n > MAX_LINES}


# The session's bulk methods write without any event the facts versions can hear (api/facts.py): a write
# through them would leave every cached compliance answer as it was (tests/test_break_since.py shows it).
BULK_METHODS = ("bulk_insert_mappings", "bulk_save_objects", "bulk_update_mappings")


def _bulk_calls(source: str) -> list[str]:
    return [
        node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in BULK_METHODS
    ]


def test_no_code_in_api_writes_through_the_sessions_bulk_methods() -> None:
    found = {
        path.relative_to(API.parent).as_posix(): calls
        for path in API.rglob("*.py")
        if (calls := _bulk_calls(path.read_text(encoding="utf-8")))
    }
    assert not found


def test_a_bulk_write_would_be_found() -> None:
    assert _bulk_calls("session.bulk_save_objects(rows)\nsession.commit()") == ["bulk_save_objects"]
