"""Project functions that send their own arguments in a message: helpers such as
`run_async(func, *args)` that end in `task.delay(source, *args)`.

What a caller passes to one travels in the message as surely as what it passes to `.delay()`
itself, one module away. Module facts (`ModuleFacts.extra["forwarders"]`) record, for each
module-level function, which of its parameters go straight into a sending call; a rule asks
`forwarded(...)` at a call to find the arguments that land in the message.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobs_lint.semantic.messages.sent import SENDING_METHODS
from jobs_lint.semantic.syntax import own_nodes

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

FACTS_KEY = "forwarders"  # `ModuleFacts.extra`: function name -> Forwarder


@dataclass(frozen=True, slots=True)
class Forwarder:
    params: tuple[str, ...]  # its positional parameters, in order
    sent: tuple[str, ...]  # those among them that go into the message
    star: bool  # its `*args` goes into the message
    double_star: bool  # its `**kwargs` goes into the message
    label: str  # the sending call, as a finding names it: `eval_async.delay()`
    method: str  # its method: `delay`, `enqueue_job`, `execute_activity`


def facts(model: ModuleModel) -> dict[str, Forwarder]:
    """The module-level functions of this module that put parameters of theirs in a message."""
    found: dict[str, Forwarder] = {}
    for node in model.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            forwarder = _forwarder(node)
            if forwarder is not None:
                found[node.name] = forwarder
    return found


def _forwarder(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Forwarder | None:
    args = function.args
    params = tuple(arg.arg for arg in (*args.posonlyargs, *args.args))
    star = args.vararg.arg if args.vararg else None
    double_star = args.kwarg.arg if args.kwarg else None
    for call in own_nodes(function):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        if call.func.attr not in SENDING_METHODS:
            continue
        values = [*call.args, *(k.value for k in call.keywords)]
        values += [e for v in call.args if isinstance(v, (ast.Tuple, ast.List)) for e in v.elts]  # apply_async
        names = {v.id for v in values if isinstance(v, ast.Name)}
        starred = {v.value.id for v in values if isinstance(v, ast.Starred) and isinstance(v.value, ast.Name)}
        splat = {k.value.id for k in call.keywords if k.arg is None and isinstance(k.value, ast.Name)}
        sent = tuple(param for param in params if param in names)
        forwarder = Forwarder(params, sent, star in starred, double_star in splat, _label(call.func), call.func.attr)
        if sent or forwarder.star or forwarder.double_star:
            return forwarder
    return None


def _label(func: ast.Attribute) -> str:
    receiver = func.value
    name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", None)
    return f"{name}.{func.attr}()" if name else f".{func.attr}()"


def forwarded(
    model: ModuleModel, index: ProjectIndex, call: ast.Call, scope: Scope
) -> tuple[Forwarder, list[tuple[str | None, ast.expr]]] | None:
    """When `call` calls a project function that sends its arguments: that function, and the
    arguments of `call` that go into the message, each with the parameter it is passed as."""
    path = model.qualname(call.func, scope)
    if path is None or "." not in path:
        return None
    module, _, name = index.canonical(path).rpartition(".")
    facts = index.modules.get(module)
    forwarder = facts.extra.get(FACTS_KEY, {}).get(name) if facts is not None else None
    if not isinstance(forwarder, Forwarder):
        return None
    arguments: list[tuple[str | None, ast.expr]] = []
    for position, value in enumerate(call.args):
        if isinstance(value, ast.Starred):
            break  # positions after it are unknown
        param = forwarder.params[position] if position < len(forwarder.params) else None
        if (param in forwarder.sent) if param is not None else forwarder.star:
            arguments.append((param, value))
    for keyword in call.keywords:
        if keyword.arg is None:
            continue
        if keyword.arg in forwarder.sent or (keyword.arg not in forwarder.params and forwarder.double_star):
            arguments.append((keyword.arg, keyword.value))
    return forwarder, arguments
