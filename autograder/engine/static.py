"""Autograd use read from the student's source code, in the grading process.

The runner's spy sees autograd calls while the function runs, but it runs in the
student's process, where it can be switched off. This check reads the notebook's code
instead, so a "by hand" exercise that calls autograd is caught either way. It looks only
at the body of the named function (and functions nested in it).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

# Attribute or name chains that mean autograd, e.g. torch.autograd.grad, torch.func.vjp.
_MODULES = ("autograd", "func", "functorch")
_CALLS = {
    "backward": "calls .backward()",
    "grad": "calls a grad function",
    "vjp": "calls vjp",
    "jvp": "calls jvp",
}


def autograd_uses(sources: list[str], function: str) -> list[str]:
    """What the last definition of `function` in `sources` (code cells, in order) does
    with autograd: e.g. ['calls .backward()']. Unparsable cells are skipped."""
    definition: ast.FunctionDef | None = None
    imported: set[str] = set()
    for source in sources:
        cell = _read_cell(source)
        if cell is None:
            continue
        imported.update(cell.imported)
        definition = cell.functions.get(function, definition)
    if definition is None:
        return []
    found: list[str] = []
    for node in ast.walk(definition):
        what = _autograd_node(node, imported)
        if what and what not in found:
            found.append(what)
    return found


@dataclass(frozen=True)
class _Cell:
    imported: frozenset[str]  # names imported from an autograd module
    functions: dict[str, ast.FunctionDef]  # top-level name -> its last definition in the cell


@functools.lru_cache(maxsize=512)
def _read_cell(source: str) -> _Cell | None:
    """One code cell, parsed once: a notebook's cells are read again for every record it
    sends (several per notebook). None when the cell is not Python."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and _autograd_module(node.module)
        for alias in node.names
    }
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    return _Cell(frozenset(imported), functions)


def _autograd_module(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "functorch" or (parts[0] == "torch" and len(parts) > 1 and parts[1] in _MODULES)


def _autograd_node(node: ast.AST, imported: set[str]) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "backward":
            return _CALLS["backward"]
        if isinstance(func, ast.Name) and func.id in imported:
            return f"calls {func.id} (imported from torch.autograd / torch.func)"
        if isinstance(func, ast.Attribute) and func.attr in _CALLS and _chain_mentions_autograd(func.value):
            return f"calls {ast.unparse(func)}"
    if isinstance(node, ast.keyword) and node.arg == "requires_grad" and _is_true(node.value):
        return "creates tensors with requires_grad=True"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "requires_grad_"
    ):
        if not node.args or _is_true(node.args[0]):
            return "calls .requires_grad_()"
    return None


def _chain_mentions_autograd(node: ast.AST) -> bool:
    while isinstance(node, ast.Attribute):
        if node.attr in _MODULES:
            return True
        node = node.value
    return isinstance(node, ast.Name) and node.id in _MODULES


def _is_true(node: ast.AST) -> bool:
    return not (isinstance(node, ast.Constant) and node.value in (False, None))
