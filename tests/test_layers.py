"""The architecture, drawn from the imports: no circle between files, and no layer that
reaches up (tracking is a leaf MLflow adapter; evaluation sits below training and the
task registry; the pipeline never imports the report).

Every import counts, at the top of a file or inside a function, type-only ones too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# (layer, what it must not import): a prefix of a module's dotted name each.
FORBIDDEN = [
    ("seqlab.tracking", ("seqlab.pipeline", "seqlab.sweeps", "seqlab.predict", "seqlab.upload",
                         "seqlab.report", "seqlab.stages", "seqlab.train")),
    ("seqlab.evaluation", ("seqlab.fitting", "seqlab.tasks", "seqlab.pipeline")),
    ("seqlab.pipeline", ("seqlab.report",)),
    ("seqlab.checks", ("seqlab.config", "seqlab.data", "seqlab.models")),
    ("seqlab.models", ("seqlab.fitting", "seqlab.pipeline", "seqlab.tracking")),
]


def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports() -> dict[str, set[str]]:
    """Each seqlab module -> the seqlab modules it imports (a name imported from a package
    counts as its submodule when it is one)."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: list[str] = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                targets += [base] + [f"{base}.{alias.name}" for alias in node.names]
        edges[name] = set()
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("seqlab"):
                edges[name].add(target)
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def edges() -> dict[str, set[str]]:
    return imports()


def test_no_import_circles(edges):
    assert circles(edges) == []


@pytest.mark.parametrize(("layer", "above"), FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_no_layer_imports_what_sits_above_it(edges, layer, above):
    crossed = sorted(f"{a} -> {b}" for a, targets in edges.items()
                     if a == layer or a.startswith(layer + ".")
                     for b in targets if b.startswith(above))
    assert crossed == []


def test_the_drawing_sees_imports_inside_functions_and_circles():
    """The check itself can fail: a function-level import and a two-module circle."""
    assert "seqlab.predict.served_model" in imports()["seqlab.predict.packaging"]
    assert circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
