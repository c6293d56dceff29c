"""The import contract: no package-level import cycles in src/regurgitate, and the primitives
import nothing above them.

A unit is a subpackage (``index/``) or a top-level module (``run``); every ``import`` and
``from ... import`` counts, at module level or inside a function (lazy) or under
TYPE_CHECKING, because a lazy import is still a dependency of the design.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "regurgitate"

#: the bottom layer: data types, errors, entry-point reading, corpus readers, the text and
#: image indexes
PRIMITIVES = {"types", "findings/", "errors", "options", "untrusted", "safe_paths", "entrypoints",
              "corpus/", "index/", "images/"}
#: what sits above the components; no primitive and no component may import these
ORCHESTRATION = {"assembly", "scan_setup", "run", "registry", "reports/", "cli/", "indexes"}


def _unit(module: str, src: Path) -> str:
    parts = module.split(".")
    if len(parts) < 2:
        return "__init__"
    return parts[1] + ("/" if (src / ROOT / parts[1]).is_dir() else "")


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Unit -> the units it imports (itself excluded)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted((src / ROOT).rglob("*.py")):
        rel = path.relative_to(src).with_suffix("")
        module = ".".join(rel.parts)
        is_package = path.name == "__init__.py"
        if is_package:
            module = module.rsplit(".", 1)[0]
        me = _unit(module if module != ROOT else f"{ROOT}.__init__", src)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    names = [".".join(base + ([node.module] if node.module else []))]
                else:
                    names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith(ROOT + ".") and _unit(name, src) != me:
                    graph[me].add(_unit(name, src))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_package_level_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "package-level import cycles:\n" + "\n".join(
        " <-> ".join(c) for c in found)


def test_primitives_import_only_primitives() -> None:
    graph = import_graph()
    wrong = {unit: sorted(deps - PRIMITIVES) for unit in PRIMITIVES
             if (deps := graph.get(unit, set())) - PRIMITIVES}
    assert not wrong, f"primitives importing upper layers: {wrong}"


def test_components_do_not_import_the_orchestration() -> None:
    graph = import_graph()
    components = {"attacks/", "detectors/", "targets/", "executors/"}
    wrong = {unit: sorted(graph.get(unit, set()) & ORCHESTRATION) for unit in components
             if graph.get(unit, set()) & ORCHESTRATION}
    assert not wrong, f"components importing the scan orchestration: {wrong}"


def test_the_check_sees_a_cycle(tmp_path: Path) -> None:
    # the contract can fail: two units importing each other lazily are a cycle
    pkg = tmp_path / ROOT
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("def f():\n    from regurgitate.b import g\n")
    (pkg / "b.py").write_text("from regurgitate.a import f\n\ng = f\n")
    graph = import_graph(tmp_path)
    assert graph["b"] == {"a/"}
    assert cycles(graph) == [["a/", "b"]]
