"""The house's floors: no import loops in sheetcrm/, and no import from a lower floor to a higher one.

The import graph is grimp's (every import statement, in functions and under TYPE_CHECKING
too), plus what Python does that grimp does not draw: importing `sheetcrm.crm.scoring` runs
`sheetcrm/crm/__init__.py` first, so a module importing a module of another package also
imports that package. Every module of sheetcrm/ must be on a floor (a new module declares
its floor here); a module may import its own floor and the floors below, never above.
"""

from __future__ import annotations

import grimp
import pytest

PACKAGE = "sheetcrm"

# Bottom first. A module belongs to the floor of the longest name here that it is or is under.
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # What everything stands on: the workbook seam and its backends, a cell's value, an
    # issue, the names people see, the base of every settings section, the schedule phrase,
    # and the edges of mail (a message, SMTP, the journal). The mail package itself is here
    # because its __init__ holds only a docstring; each of its modules names its own floor.
    ("seam", ("sheetcrm.i18n", "sheetcrm.os_errors", "sheetcrm.workbook", "sheetcrm.lock", "sheetcrm.cells", "sheetcrm.report", "sheetcrm.terminal",
              "sheetcrm.parse_cache", "sheetcrm.cache_file", "sheetcrm.collector",
              "sheetcrm.logs", "sheetcrm.aliases", "sheetcrm.names", "sheetcrm.settings", "sheetcrm.every", "sheetcrm.team_time",
              "sheetcrm.mail", "sheetcrm.mail.message", "sheetcrm.mail.smtp", "sheetcrm.mail.names", "sheetcrm.mail.sandbox",
              "sheetcrm.mail.journal", "sheetcrm.intake", "sheetcrm.intake.settings",
              "sheetcrm.intake.queue", "sheetcrm.warehouse", "sheetcrm.warehouse.settings", "sheetcrm.warehouse.behind")),
    # The records and the tabs they live in, declared once.
    ("records", ("sheetcrm.records", "sheetcrm.schema", "sheetcrm.columns")),
    # The pure engine, with the settings it owns (stages, scoring).
    ("crm", ("sheetcrm.crm", "sheetcrm.warehouse.keep")),
    # sheetcrm.toml: composes the settings the concepts below own.
    ("config", ("sheetcrm.config",)),
    # One read: a snapshot becomes typed records and issues; where sheetcrm's tabs are; IDs;
    # a tab's wanted cells diffed into writes.
    ("read", ("sheetcrm.table", "sheetcrm.validate", "sheetcrm.inputs", "sheetcrm.ids", "sheetcrm.owned",
              "sheetcrm.plan", "sheetcrm.synclog", "sheetcrm.merging", "sheetcrm.workflow_tabs", "sheetcrm.written",
              "sheetcrm.candidates")),
    # What the records mean: the engine run over a read, its cells; quote money and context.
    ("compute", ("sheetcrm.engine", "sheetcrm.render", "sheetcrm.layout", "sheetcrm.mail.quotes", "sheetcrm.mail.context",
                 "sheetcrm.mail.templates", "sheetcrm.mail.workflow", "sheetcrm.intake.forms",
                 "sheetcrm.warehouse.tables", "sheetcrm.warehouse.migrations")),
    # The Outbox tab and its protocol, the morning digest.
    ("mail", ("sheetcrm.mail.outbox", "sheetcrm.mail.digest")),
    # A sync's capabilities, one module each.
    ("steps", ("sheetcrm.steps",)),
    # The warehouse mirror: what a sync leaves, as rows (read again after the plan), and the database.
    ("warehouse", ("sheetcrm.warehouse.rows", "sheetcrm.warehouse.mirror")),
    # A sync: the steps in their declared order, between one read and one write.
    ("sync", ("sheetcrm.sync", "sheetcrm.written_file")),
    # What a command runs: the service, the starter and the demo, the workbook a config names.
    ("commands", ("sheetcrm.service", "sheetcrm.fleet", "sheetcrm.starter", "sheetcrm.demo", "sheetcrm.workbook.target",
                  "sheetcrm.intake.importer", "sheetcrm.intake.drain", "sheetcrm.intake.web")),
    # What a person reads on the terminal: numbers, tables, progress.
    ("cli", ("sheetcrm.cli", "sheetcrm.__main__", "sheetcrm.show")),
)
ROOT = "sheetcrm"  # the package's own __init__, empty: below everything
# The Sheets API emulator stands apart: it imports nothing of sheetcrm, and only these use it.
EMULATOR = "sheetcrm.emulator"
EMULATOR_USERS = {"sheetcrm.cli", "sheetcrm.workbook.credentials"}


def _floor_of(module: str) -> int | None:
    best, floor = -1, None
    for index, (_, names) in enumerate(FLOORS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, floor = len(name), index
    return floor


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    g = grimp.build_graph(PACKAGE, include_external_packages=False, cache_dir=None)
    for importer in list(g.modules):
        for imported in list(g.find_modules_directly_imported_by(importer)):
            # Importing a.b.c runs a/__init__ and a/b/__init__ first, unless the importer is
            # itself inside that package (then the package is already being imported).
            parts = imported.split(".")
            for n in range(2, len(parts)):
                package = ".".join(parts[:n])
                if not _in(importer, package) and package in g.modules:
                    g.add_import(importer=importer, imported=package)
    return g


def _ours(graph: grimp.ImportGraph) -> list[str]:
    return sorted(m for m in graph.modules if m != ROOT and not _in(m, EMULATOR))


def test_every_module_has_a_floor(graph):
    homeless = [m for m in _ours(graph) if _floor_of(m) is None]
    assert not homeless, f"modules on no floor (add them to FLOORS in tests/test_layers.py): {homeless}"


def test_no_import_climbs_to_a_higher_floor(graph):
    climbs = []
    for importer in _ours(graph):
        low = _floor_of(importer)
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported == ROOT or _in(imported, EMULATOR):
                continue
            high = _floor_of(imported)
            if low is not None and high is not None and high > low:
                climbs.append(f"{importer} ({FLOORS[low][0]}) -> {imported} ({FLOORS[high][0]})")
    assert not climbs, "imports from a lower floor to a higher one:\n  " + "\n  ".join(climbs)


def _loops(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected sets of modules (Tarjan): each is one import loop or several."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        on_stack.add(m)
        for n in sorted(graph.find_modules_directly_imported_by(m)):
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on_stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            members = []
            while True:
                n = stack.pop()
                on_stack.discard(n)
                members.append(n)
                if n == m:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for m in sorted(graph.modules):
        if m not in index:
            visit(m)
    return found


def test_no_import_loops(graph):
    lines = []
    for members in _loops(graph):
        first = members[0]
        # One loop through the set's first module, to show where to cut.
        step = next(n for n in sorted(graph.find_modules_directly_imported_by(first)) if n in members)
        back = graph.find_shortest_chain(importer=step, imported=first)
        lines.append(f"{len(members)} modules in one loop: {', '.join(members)}\n"
                     f"    e.g. {' -> '.join((first, *back))}")
    assert not lines, "import loops:\n  " + "\n  ".join(lines)


def test_the_emulator_stands_apart(graph):
    bad = [f"{a} -> {b}" for a in sorted(graph.modules) for b in sorted(graph.find_modules_directly_imported_by(a))
           if (_in(a, EMULATOR) and not _in(b, EMULATOR) and b != ROOT)
           or (_in(b, EMULATOR) and not _in(a, EMULATOR) and a not in EMULATOR_USERS)]
    assert not bad, "imports across the emulator's wall:\n  " + "\n  ".join(bad)


# Parse once, in the read: the modules above it take typed records and `crm.inputs`.
AFTER_THE_READ = ("sheetcrm.crm", "sheetcrm.engine", "sheetcrm.render", "sheetcrm.layout", "sheetcrm.steps", "sheetcrm.sync",
                  "sheetcrm.mail")
# Known exceptions, each with its reason:
STILL_PARSING = {
    # Scoring rules compare a configured operand ("min = 10000") with a custom column the
    # config leaves untyped, which the read keeps as the text a person typed.
    "sheetcrm.crm.rules",
    # A workflow condition's values are typed in its text ("Importe > 1.000,50"), read in the
    # locale like a cell when the rule is parsed.
    "sheetcrm.crm.conditions",
    # The Outbox tab is read by its own send protocol (claim, outcome), which re-reads it.
    "sheetcrm.mail.outbox",
    # A quote line with errors has no record; the deal it names is read from its raw cell so
    # that line still blocks the deal's quote.
    "sheetcrm.mail.quotes",
}


def test_nothing_after_the_read_parses_a_cell(graph):
    import re
    from pathlib import Path

    import sheetcrm

    root = Path(sheetcrm.__file__).parent
    parsing = []
    for module in _ours(graph):
        if not any(_in(module, p) for p in AFTER_THE_READ) or module in STILL_PARSING:
            continue
        path = root.joinpath(*module.split(".")[1:])
        source = (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).read_text(encoding="utf-8")
        details = graph.get_import_details(importer=module, imported="sheetcrm.cells")
        # money_token reads the currency a cell names: a parse too (the read keeps it: Record.priced).
        if re.search(r"\bcells\.(parse_\w+|money_token)\(", source) \
                or any("parse_" in d["line_contents"] or "money_token" in d["line_contents"] for d in details):
            parsing.append(module)
    assert not parsing, f"modules after the read that parse cells (move it into the read): {parsing}"


def test_the_names_people_see_are_looked_up_not_typed_in_the_steps():
    """The titles of the tabs live in names.py (and aliases.toml); a step or the engine that typed
    one would miss the translation the next issue adds. (crm/ is not scanned: "Pipeline" there
    is a forecast category, and "Forecast" or "Rates" a class.)"""
    import re
    from pathlib import Path

    import sheetcrm
    from sheetcrm import names

    titles = {title for title, _ in names.OWNED.values()} | set(names.CRM_TABS.values())
    root = Path(sheetcrm.__file__).parent
    typed = []
    for path in [root / "engine.py", root / "render.py", root / "sync.py", *sorted((root / "steps").glob("*.py"))]:
        code = re.sub(r'"""[\s\S]*?"""|#[^\n]*', "", path.read_text(encoding="utf-8"))  # docstrings and comments
        typed += [f"{path.name}: {t!r}" for t in titles if re.search(rf'"{re.escape(t)}"', code)]
    assert not typed, f"tab titles typed in code (look them up in names.py): {typed}"
