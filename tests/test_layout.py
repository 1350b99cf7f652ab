"""The house's rules, checked on the source: no two modules of aegan import each other (at
module level or inside a function), and no room outside ``models/`` probes a model for a
method instead of asking for a capability."""

from __future__ import annotations

import ast
from pathlib import Path

import aegan
from aegan.models import CAPABILITIES

SRC = Path(aegan.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The aegan modules ``name`` imports (a submodule importing its own package's face, as
    every module of a package may, is not counted)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in names:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                targets.add(target)
    return targets


def test_no_module_imports_another_that_imports_it_back():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            here, route = stack.pop()
            for nxt in graph[here]:
                if nxt == start:
                    cycles.append(route + [start])
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, route + [nxt]))
    assert not cycles, " | ".join(" -> ".join(c) for c in cycles[:5])


def test_no_room_outside_models_probes_a_model_for_a_method():
    methods = {m for protocol in CAPABILITIES for m in vars(protocol)
               if not m.startswith("_")} | {"closed_form_step", "pretraining_stages",
                                            "external_networks", "attach_network"}
    probes = []
    for path in SRC.rglob("*.py"):
        if path.parent.name == "models":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("hasattr", "getattr") and len(node.args) >= 2
                    and isinstance(node.args[1], ast.Constant) and node.args[1].value in methods):
                probes.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not probes, probes
