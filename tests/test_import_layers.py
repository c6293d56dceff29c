"""The import contract: no package-level import cycles in src/regurgitate, and the primitives
import nothing above them.

A unit is a subpackage (``index/``) or a top-level module (``registry``); every ``import`` and
``from ... import`` counts, at module level or inside a function (lazy) or under
TYPE_CHECKING, because a lazy import is still a dependency of the design.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "regurgitate"

#: the layers, bottom first: a unit may import units of its own layer and of the layers below,
#: never above. README's "Layout" section draws the same tree.
LAYERS: list[tuple[str, set[str]]] = [
    # data types, errors, options, entry-point reading, the version, the HTTP serving layer, corpus
    # readers, the text and image indexes, the bundled reference sets (run-time parts)
    ("primitives", {"types", "findings/", "errors", "options", "option_docs", "untrusted",
                    "safe_paths", "entrypoints", "version", "serving/", "corpus/", "index/",
                    "images/", "reference/"}),
    # loading and running models; measures shared by detectors, check and reports
    ("runtimes and metrics", {"runtimes/", "metrics/"}),
    # what a scan is made of, where it runs and where it is stored; check and the model server
    ("components", {"targets/", "attacks/", "detectors/", "executors/", "store/", "check/",
                    "model_server/"}),
    ("registry", {"registry"}),
    ("scan", {"scan/", "audit/"}),
    ("reports", {"reports/"}),
    # the live trace page (check's engine, evidence packets, the run store, served)
    ("trace page", {"trace/"}),
    ("cli", {"cli/"}),
    ("public API", {"__init__"}),
]
PRIMITIVES = LAYERS[0][1]
#: what sits above the components; no primitive and no component may import these
ORCHESTRATION = {"registry", "scan/", "reports/", "trace/", "cli/"}


def _level(unit: str) -> int:
    return next(i for i, (_, units) in enumerate(LAYERS) if unit in units)


def _unit(module: str, src: Path) -> str:
    parts = module.split(".")
    if len(parts) < 2:
        return "__init__"
    return parts[1] + ("/" if (src / ROOT / parts[1]).is_dir() else "")


def _exists(module: str, src: Path) -> bool:
    """Whether ``module`` (dotted) is a module or package file under ``src``."""
    path = src.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
                     src: Path) -> list[str]:
    """The modules an import statement of ``module`` names. ``from P import X`` names ``P.X``
    when that is a module (``from regurgitate import registry`` is the registry, not the
    package), else ``P``; relative imports are resolved against ``module``."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        package = ".".join(base + ([node.module] if node.module else []))
    else:
        package = node.module or ""
    found = []
    for alias in node.names:
        sub = f"{package}.{alias.name}"
        found.append(sub if alias.name != "*" and _exists(sub, src) else package)
    return found


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Unit -> the units it imports (itself excluded). Every form counts: ``import a.b``,
    ``from a import b`` (``b`` resolved to the module it names), relative imports, and
    imports inside functions or under TYPE_CHECKING."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted((src / ROOT).rglob("*.py")):
        rel = path.relative_to(src).with_suffix("")
        module = ".".join(rel.parts)
        is_package = path.name == "__init__.py"
        if is_package:
            module = module.rsplit(".", 1)[0]
        me = _unit(module if module != ROOT else f"{ROOT}.__init__", src)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for name in imported_modules(node, module, is_package, src):
                if name != ROOT and not name.startswith(ROOT + "."):
                    continue
                unit = _unit(name if name != ROOT else f"{ROOT}.__init__", src)
                if unit != me:
                    graph[me].add(unit)
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


def test_every_unit_has_a_layer() -> None:
    units = {p.name + "/" if p.is_dir() else p.stem
             for p in (SRC / ROOT).iterdir()
             if (p.is_dir() and (p / "__init__.py").is_file()) or p.suffix == ".py"}
    placed = set().union(*(u for _, u in LAYERS))
    assert units <= placed, f"units in no layer (add them to LAYERS): {sorted(units - placed)}"


def test_each_layer_imports_only_its_own_and_lower_layers() -> None:
    graph = import_graph()
    wrong = {unit: sorted(d for d in deps if _level(d) > _level(unit))
             for unit, deps in graph.items()
             if any(_level(d) > _level(unit) for d in deps)}
    assert not wrong, f"upward imports: {wrong}"


def test_primitives_import_only_primitives() -> None:
    graph = import_graph()
    wrong = {unit: sorted(deps - PRIMITIVES) for unit in PRIMITIVES
             if (deps := graph.get(unit, set())) - PRIMITIVES}
    assert not wrong, f"primitives importing upper layers: {wrong}"


def test_components_do_not_import_the_orchestration() -> None:
    graph = import_graph()
    components = LAYERS[2][1] | LAYERS[1][1]
    wrong = {unit: sorted(graph.get(unit, set()) & ORCHESTRATION) for unit in components
             if graph.get(unit, set()) & ORCHESTRATION}
    assert wrong == {}, f"components importing the scan orchestration: {wrong}"


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


def test_every_import_form_counts(tmp_path: Path) -> None:
    # `from regurgitate import b` is b, not the package; relative and lazy imports count
    pkg = tmp_path / ROOT
    for unit in ("a", "b", "c", "d"):
        (pkg / unit).mkdir(parents=True)
        (pkg / unit / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("__version__ = '1'\n")
    (pkg / "e.py").write_text("")
    (pkg / "a" / "m.py").write_text("from regurgitate import b, __version__\n")
    (pkg / "c" / "m.py").write_text("def f():\n    from ..d import x\n    from .. import e\n")
    graph = import_graph(tmp_path)
    assert graph["a/"] == {"b/", "__init__"}
    assert graph["c/"] == {"d/", "e"}


def test_the_package_never_imports_the_build_tools() -> None:
    # tools/ is not in the wheel: an installed regurgitate that imported it would fail
    wrong = []
    for path in sorted((SRC / ROOT).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            wrong += [f"{path.relative_to(SRC)}: {n}" for n in names
                      if n == "tools" or n.startswith("tools.")]
    assert not wrong, f"the package imports the build tools: {wrong}"
