"""The package's import graph: no cycles anywhere in src/fastfn, and the runtime (which
ships inside function images) imports nothing else of fastfn.

Every `import`/`from ... import` counts, also those inside functions and under
TYPE_CHECKING: a cycle through a lazy import is still a cycle in the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import fastfn

PACKAGE_ROOT = Path(fastfn.__file__).resolve().parent


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path = PACKAGE_ROOT) -> dict[str, set[str]]:
    """module -> the fastfn modules it imports (a package import names its __init__)."""
    modules = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[:len(base) - node.level + 1]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                # `from pkg import sub` imports the submodule when there is one.
                targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem
                           for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that returns to its start), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def _drop_package_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package's __init__ re-exporting its own submodules (lazily or not) is how a package
    # presents its API, not a dependency between modules: a submodule importing a sibling
    # goes through the package, which Python resolves without running a cycle.
    return {name: {t for t in targets if not name.startswith(t + ".")}
            for name, targets in graph.items()}


def test_finds_a_cycle_when_there_is_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_fastfn() -> None:
    cycle = find_cycle(_drop_package_edges(import_graph()))
    assert cycle is None, " -> ".join(cycle or [])


def test_runtime_imports_nothing_else_of_fastfn() -> None:
    outside = {f"{name} imports {target}"
               for name, targets in import_graph().items() if name.startswith("fastfn.runtime")
               for target in targets
               if target != "fastfn" and not target.startswith("fastfn.runtime")}
    assert not outside, sorted(outside)


def test_the_local_cloud_does_not_import_the_doctor() -> None:
    # Data flows cli -> deploy/doctor -> localcloud: the policy language both use lives in
    # fastfn.iam, which imports neither.
    wrong = {f"{name} imports {target}"
             for name, targets in import_graph().items()
             for target in targets
             if (name.startswith("fastfn.localcloud") and target.startswith(
                 ("fastfn.doctor", "fastfn.deploy", "fastfn.cli")))
             or (name.startswith("fastfn.iam") and not target.startswith("fastfn.iam"))}
    assert not wrong, sorted(wrong)
