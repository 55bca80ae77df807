"""The architecture rules, checked on the source: layers point one way, no cycles.

    core ◄── crawl ◄── index ◄── rank ◄── agent

Every package may import ``stepdr.core``, which imports nothing of stepdr.  From
``crawl`` the layers above import the domain list only (``domains``, ``domains_yaml``);
the ``stepdr-index`` group (``rank/cli.py``, the composition root) also gathers the
crawl commands.  Inside a package no module imports itself back through others.
Every import counts: top-level, inside functions, and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from .conftest import REPO

PACKAGES = ("core", "crawl", "index", "rank", "agent")
LAYER = {name: i for i, name in enumerate(PACKAGES)}
DOMAIN_LIST = {"stepdr.crawl", "stepdr.crawl.domains", "stepdr.crawl.domains_yaml"}
ROOTS = {"stepdr.rank.cli": {"stepdr.crawl.cli"}}


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["stepdr", *parts])


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every stepdr module ``name`` imports, resolved to module names."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("stepdr."):
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("stepdr."):
                continue
            for alias in node.names:  # `from . import x` imports the module x
                sub = f"{target}.{alias.name}"
                yield sub if sub in known else target


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: set(_imports(name, path, known)) for name, path in modules.items()}


def test_layers_point_one_way() -> None:
    wrong = []
    for name, targets in _graph().items():
        layer = name.split(".")[1]
        for target in targets:
            to = target.split(".")[1]
            if to not in LAYER or to == layer:
                continue
            if LAYER[to] > LAYER[layer]:
                wrong.append(f"{name} imports {target}: upward")
            elif to == "crawl" and target not in DOMAIN_LIST | ROOTS.get(name, set()):
                wrong.append(f"{name} imports {target}: only the domain list comes from crawl")
    assert not wrong, "\n".join(sorted(wrong))


def test_core_imports_nothing_of_stepdr_but_itself() -> None:
    outside = {
        f"{name} imports {t}"
        for name, targets in _graph().items()
        if name.startswith("stepdr.core")
        for t in targets
        if not t.startswith("stepdr.core")
    }
    assert not outside


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_inside_a_package() -> None:
    graph = _graph()
    for pkg in PACKAGES:
        prefix = f"stepdr.{pkg}"
        # A package's __init__ re-exports its modules; that is a face, not a cycle.
        inside = {
            name: {t for t in targets if t.startswith(prefix) and t != prefix}
            for name, targets in graph.items()
            if name.startswith(prefix) and name != prefix
        }
        assert _cycles(inside) == [], f"import cycles in {pkg}"


def test_the_checker_sees_a_cycle_and_an_upward_import() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    graph = _graph()
    assert "stepdr.crawl.domains" in graph["stepdr.index.build"]  # relative and absolute
    assert "stepdr.agent.records" in graph["stepdr.agent.loop"]
    assert "stepdr.core.errors" in graph["stepdr.agent.loop"]


def test_the_agent_loop_is_small_and_names_no_tool() -> None:
    source = (REPO / "agent" / "loop.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 215
    tools = ("batch_web_surfer", "todo", "file", "shell", "analyze_image")
    strings = {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert not strings & set(tools)
    assert "tools." not in source.replace("from .tools.base import Toolbox", "")


def test_only_the_ray_build_imports_ray() -> None:
    """Ray is an optional extra: two modules speak to it (building and serving), lazily,
    behind --ray."""
    importers = set()
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )  # fmt: skip
            if any(n == "ray" or n.startswith("ray.") for n in names):
                importers.add(name)
    assert importers == {"stepdr.index.ray_build", "stepdr.index.ray_serve"}
