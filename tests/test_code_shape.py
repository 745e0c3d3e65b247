"""The code's shape, as issue 16 fixed it: no module over 500 lines, no function over 80, no
scenario importing another scenario, no module reaching into another module's private names.
Pure AST reading, a fraction of a second."""
from __future__ import annotations

import ast
import re

from conftest import ROOT

SOURCES = sorted([*ROOT.glob("solver/**/*.py"), *ROOT.glob("materials/**/*.py"),
                  *ROOT.glob("meshes/*.py")])
SCENARIOS = ("flat_press", "calender", "stack", "delamination", "width", "calibrate")
MODULE_LINES, FUNCTION_LINES = 500, 80


def _tree(path):
    return ast.parse(path.read_text(), filename=str(path))


def _scenario_of(path) -> str | None:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return parts[1] if parts[0] == "solver" and len(parts) > 1 and parts[1] in SCENARIOS \
        else None


def test_modules_and_functions_are_small():
    long_modules = [f"{p.relative_to(ROOT)}: {n} lines" for p in SOURCES
                    if (n := p.read_text().count("\n")) > MODULE_LINES]
    long_functions = [f"{p.relative_to(ROOT)}:{node.lineno} {node.name}: "
                      f"{node.end_lineno - node.lineno + 1} lines"
                      for p in SOURCES for node in ast.walk(_tree(p))
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.end_lineno - node.lineno + 1 > FUNCTION_LINES]
    assert not long_modules and not long_functions, long_modules + long_functions


def _imported_heads(node: ast.ImportFrom) -> list[str]:
    """The first name below `nipstack` that an import names ("calender" for
    `from ..calender import X`, `from nipstack.calender.model import Y`, `from .. import calender`)."""
    if node.level == 0:
        parts = (node.module or "").split(".")
        return [parts[1]] if parts[0] == "nipstack" and len(parts) > 1 else []
    if node.module:
        return [node.module.split(".")[0]]
    return [alias.name for alias in node.names]


def test_no_scenario_imports_another():
    crossing = []
    for path in SOURCES:
        own = _scenario_of(path)
        if own is None:
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom):
                crossing += [f"{path.relative_to(ROOT)}:{node.lineno} imports {head}"
                             for head in _imported_heads(node)
                             if head in SCENARIOS and head != own]
    assert not crossing, crossing


def test_no_private_names_across_modules():
    reaching = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom):
                reaching += [f"{path.relative_to(ROOT)}: from {node.module} import {a.name}"
                             for a in node.names if re.match(r"_[a-z]", a.name)]
            elif isinstance(node, ast.Attribute) and re.match(r"_[a-z]", node.attr) and \
                    isinstance(node.value, ast.Name) and node.value.id not in ("self", "cls", "os"):
                reaching.append(f"{path.relative_to(ROOT)}:{node.lineno} "
                                f"{node.value.id}.{node.attr}")
    assert not reaching, reaching
