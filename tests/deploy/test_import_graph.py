"""The layout's import rules, read from the source with ``ast`` (issue 10): nothing in engine/
imports web/, and the module-level imports among engine's modules have no cycle.

Module-level means what runs when the module is imported: statements of the module body (also
inside a top-level ``if`` / ``try``), not imports inside functions and not ``if TYPE_CHECKING:``
blocks. Importing ``a.b.c`` runs the packages ``a`` and ``a.b`` first, so those are edges too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _modules(root: Path, package: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _top_level_imports(node.body)
            yield from _top_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _top_level_imports(block)


def _imported(name: str, path: Path, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """Dotted names a statement imports (``from a import b`` names ``a`` and ``a.b``: b may be
    a submodule)."""
    if isinstance(node, ast.Import):
        yield from (a.name for a in node.names)
        return
    if node.level:  # relative: from the module's package, up level - 1 more
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        base = ".".join(package[: len(package) - (node.level - 1)])
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    yield target
    for a in node.names:
        yield f"{target}.{a.name}"


def import_graph(root: Path, package: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(edges among the package's modules, every imported name outside them) per module."""
    modules = _modules(root, package)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    outside: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _top_level_imports(tree.body):
            for target in _imported(name, path, node):
                parts = target.split(".")
                found = False
                for i in range(1, len(parts) + 1):  # the packages on the way run too
                    prefix = ".".join(parts[:i])
                    if prefix in modules and prefix != name:
                        edges[name].add(prefix)
                        found = True
                if not found:
                    outside[name].add(target)
    return edges, outside


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a path that returns to its start) per back edge a depth-first walk meets."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the walk's stack, 2 = done
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges.get(m, ())):
            if state.get(n) == 1:
                found.append([*stack[stack.index(n) :], n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    return found


def _web_imports(root: Path, package: str) -> list[str]:
    """Every import of web (at any depth of a module, inside functions too) in the package."""
    bad = []
    for name, path in _modules(root, package).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _imported(name, path, node):
                    if target == "web" or target.startswith("web."):
                        bad.append(f"{name}:{node.lineno} imports {target}")
    return sorted(set(bad))


def test_engine_never_imports_web() -> None:
    assert _web_imports(ROOT, "engine") == []


def test_engine_module_level_imports_have_no_cycle() -> None:
    edges, _ = import_graph(ROOT, "engine")
    assert len(edges) > 100 and sum(map(len, edges.values())) > 300  # it read the tree
    assert cycles(edges) == []


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def test_the_checks_find_a_cycle_and_a_web_import_in_a_synthetic_package(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "import pkg.sub.c\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from ..a import thing\n",  # relative, back to pkg.a: a cycle
            "pkg/lazy.py": "def f():\n    from pkg import typed\n",  # not module level
            "pkg/typed.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import lazy\n"
                "def g():\n    import web.alerts\n"
            ),
        },
    )
    edges, outside = import_graph(tmp_path, "pkg")
    assert cycles(edges) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]
    assert edges["pkg.lazy"] == set() and edges["pkg.typed"] == set()
    assert "typing.TYPE_CHECKING" in outside["pkg.typed"]
    assert _web_imports(tmp_path, "pkg") == ["pkg.typed:5 imports web.alerts"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pkg/__init__.py": "from pkg import a\n", "pkg/a.py": "x = 1\n"}, []),
        # a package whose __init__ imports a module that imports the package back: it works only
        # while nothing reads a name of the half-run __init__, so it counts as a cycle
        (
            {
                "pkg/__init__.py": "from pkg import a\n",
                "pkg/a.py": "import pkg.b\n",
                "pkg/b.py": "",
            },
            [["pkg", "pkg.a", "pkg"]],
        ),
    ],
)
def test_packages_on_the_way_count_as_imports(
    tmp_path: Path, files: dict[str, str], expected: list[list[str]]
) -> None:
    _write(tmp_path, files)
    edges, _ = import_graph(tmp_path, "pkg")
    assert cycles(edges) == expected
