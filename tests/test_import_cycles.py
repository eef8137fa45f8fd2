"""No runtime import cycles among launchdeck's modules (core/, cli/ and tui/).

The rule: every import that can run counts, at module level or deferred into a function (a
deferred import only moves a cycle's failure from import time to call time, and hid the cycles
issue 12 lists); imports under ``if TYPE_CHECKING:`` do not, as they never run. See
``tests.fixtures.imports`` for how the graph is read. A cycle is a strongly connected component
of more than one module; each is printed as a closed path through it.
"""

from tests.fixtures.imports import a_cycle, import_graph, strongly_connected


def test_the_graph_holds_module_level_and_deferred_imports_but_not_type_checking_ones():
    graph = import_graph()
    keeper = graph["launchdeck.core.runs.keeper"]
    # keeper.py imports the records at module level and the target registry in a function
    assert {"launchdeck.core.history.records", "launchdeck.core.history"} <= keeper
    assert "launchdeck.core.targets.registry" in keeper
    # base.py imports the config types only for annotations
    assert "launchdeck.core.config.compute" not in graph["launchdeck.core.targets.base"]


def test_no_runtime_import_cycles():
    graph = import_graph()
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    short = [[m.removeprefix("launchdeck.") for m in c] for c in cycles]
    report = "\n".join(f"{' -> '.join(path)}\n  (all {len(c)} tied: {', '.join(c)})"
                       for c in short for path in [a_cycle_short(graph, c)])
    assert not cycles, f"{len(cycles)} import cycle(s):\n{report}"


def a_cycle_short(graph: dict[str, set[str]], members: list[str]) -> list[str]:
    return [m.removeprefix("launchdeck.")
            for m in a_cycle(graph, ["launchdeck." + m for m in members])]
