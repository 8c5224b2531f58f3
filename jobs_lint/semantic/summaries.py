"""What each function does by itself: its effects and the calls it makes, for the call graph.

Computed in the facts pass for every function and method defined at module level (or in a
module-level class), cached with the module's facts, and merged by `callgraph.CallGraph`, which
answers what a call reaches through other functions, in any module. A summary holds names and
lines only, never AST nodes, so that it can be stored as plain data.

The calls a function makes are resolved by `call_sites.py`; the effects are found here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, TypeGuard

from jobs_lint.semantic import blocking, side_effects
from jobs_lint.semantic.call_sites import (
    Callees,
    CallSite,
    ClassSummary,
    class_summary,
    instances,
    text_of,
)
from jobs_lint.semantic.reads import read_lines
from jobs_lint.semantic.syntax import decorator_name, final_name
from jobs_lint.semantic.temporal.hazards import replay_hazard
from jobs_lint.semantic.transitions import refused_transition_exits

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel

# Effect kinds.
CREATES = "creates"  # creates something each time it runs (side_effects.py): `what` says what
# Of what it creates, what leaves the process (a POST, an email, a payment): no rollback undoes it.
SENDS = "sends"
BLOCKING = "blocking"  # blocks the thread (blocking.py): `what` says what to use instead
IO = "io"  # does I/O, blocking or not (blocking.io_call)
HAZARD = "hazard"  # differs on a workflow's replay (temporal.replay_hazard): `what` is the replacement
WAIT = "wait"  # waits on a Celery result
HEARTBEAT = "heartbeat"  # tells Temporal an activity is alive (`activity.heartbeat`, a heartbeat helper)
# Hands an activity's completion to someone else (`activity.raise_complete_async()`), who may heartbeat.
COMPLETES_ASYNC = "completes_async"
ENQUEUE = "enqueue"  # may send a Celery task (`celery.enqueue.sends` decides): `what` is `send_receipt.delay()`

_WAITS = frozenset({"get", "wait", "join", "join_native", "collect"})
_ALLOW_JOIN = "celery.result.allow_join_result"
_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
# Decorators that run a sync function off the event loop: `sync_to_async`, `run_in_threadpool`.
_OFFLOADING = re.compile(r"async|thread|executor", re.IGNORECASE)


# Plain frozen dataclasses of strings and numbers: the cache (`jobs_lint.codec`) stores them as data.
@dataclass(frozen=True)
class Effect:
    kind: str
    what: str
    callee: str  # the qualified name called (`requests.post`), or the call as written
    line: int


@dataclass(frozen=True)
class FunctionSummary:
    qualname: str  # module.function or module.Class.method
    name: str  # function or Class.method, for messages
    line: int
    is_async: bool
    effects: tuple[Effect, ...] = ()
    calls: tuple[CallSite, ...] = ()
    # The line of its first idempotency guard (0: none): what it creates from there on, itself or
    # through its calls, is not created twice.
    guarded_from: int = 0
    returns: str | None = None  # the function it returns, when it returns a plain one
    returns_class: str | None = None  # the class of the object it returns, when the code shows it
    # A sync function that a decorator makes awaitable or runs in a thread (`@sync_to_async`).
    offloaded: bool = False
    last_statement: int = 0  # the line its body's last statement starts on
    loops: tuple[tuple[int, int], ...] = ()  # (first line, last line) of its loops and comprehensions
    # What no job message should carry that every `return` gives (`messages.values.Unsendable.what`).
    returns_unsendable: str | None = None
    # The lines of the calls whose answer it returns, when its name says it reads (`reads.py`):
    # the HTTP requests reached through them ask, and create nothing.
    reads: tuple[int, ...] = ()


@dataclass(frozen=True)
class ModuleSummary:
    functions: tuple[FunctionSummary, ...] = ()
    classes: tuple[ClassSummary, ...] = ()
    instances: tuple[tuple[str, str], ...] = ()  # module-level (name, class) of `name = Class(...)`


def summarise(model: ModuleModel) -> ModuleSummary:
    functions: list[FunctionSummary] = []
    classes: list[ClassSummary] = []
    module = model.module
    for node in model.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append(_Summariser(model, node, None).summary(f"{module}.{node.name}", node.name))
        elif isinstance(node, ast.ClassDef):
            cls = class_summary(model, node)
            classes.append(cls)
            for statement in node.body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    summariser = _Summariser(model, statement, cls)
                    name = f"{node.name}.{statement.name}"
                    functions.append(summariser.summary(f"{module}.{name}", name))
    return ModuleSummary(tuple(functions), tuple(classes), instances(model))


class _Summariser(Callees):
    """Summarises one function: its calls (`Callees`) and its own effects."""

    def summary(self, qualname: str, name: str) -> FunctionSummary:
        effects: list[Effect] = []
        calls: list[CallSite] = []
        loops: list[tuple[int, int]] = []
        model, scope = self.model, self.scope
        args = self.node.args
        params = (*args.posonlyargs, *args.args, *args.kwonlyargs)
        guarded = side_effects.guarded_by_decorator(self.node) or any(map(side_effects.is_guard, params))
        # A guard call or an idempotency key guards the whole function (`get_or_create` in one
        # branch, a key given to the call it guards); an early exit guards what comes after it
        # only: one after a call reads its outcome (`if response.status_code == 400: raise`).
        guarded_from = self.node.lineno if guarded else 0
        returned: list[ast.expr | None] = []
        for node in self.nodes:
            if guarded_from != self.node.lineno and side_effects.is_guard(node):
                line = node.lineno if isinstance(node, ast.If) else self.node.lineno
                guarded_from = min(guarded_from or line, line)
            if isinstance(node, ast.Return):
                returned.append(node.value)
            elif isinstance(node, ast.Call):
                path = model.qualname(node.func, scope)
                effects.extend(self._effects(node, path))
                site = self.call_site(node, path)
                if site is not None:
                    calls.append(site)
                calls.extend(self.passed(node))
            elif _names_environ(node) and model.qualname(node, scope) == "os.environ":
                effects.append(Effect(HAZARD, replay_hazard("os.environ", None) or "", "os.environ", node.lineno))
            elif isinstance(node, _LOOPS):
                loops.append((node.lineno, node.end_lineno or node.lineno))
        for exit_ in refused_transition_exits(self.nodes):  # a re-run stops there
            guarded_from = min(guarded_from or exit_.lineno, exit_.lineno)
        if not any(isinstance(n, ast.Call) and final_name(n.func) == "commit" for n in self.nodes):
            # Rows added to a session it does not commit are committed, or rolled back with the
            # failure, by its caller: what it adds is the caller's to judge, and unknown here.
            effects = [e for e in effects if e.what != side_effects.SESSION_ADD]
        return FunctionSummary(
            qualname=qualname,
            name=name,
            line=self.node.lineno,
            is_async=isinstance(self.node, ast.AsyncFunctionDef),
            effects=tuple(sorted(effects, key=lambda e: e.line)),
            calls=tuple(sorted(calls, key=lambda c: c.line)),
            guarded_from=guarded_from,
            returns=self.returns(),
            returns_class=self.returns_class(),
            offloaded=isinstance(self.node, ast.FunctionDef)
            and any(_OFFLOADING.search(decorator_name(d)) for d in self.node.decorator_list),
            last_statement=self.node.body[-1].lineno,
            loops=tuple(sorted(loops)),
            returns_unsendable=self._unsendable(returned),
            reads=tuple(sorted(read_lines(self.node))),
        )

    def _unsendable(self, values: list[ast.expr | None]) -> str | None:
        from jobs_lint.semantic.messages.values import returned

        found = returned(self.model, self.scope, values) if values else None
        return found.what if found is not None else None

    # Effects -------------------------------------------------------------------------------

    def _effects(self, call: ast.Call, path: str | None) -> Iterator[Effect]:
        line = call.lineno
        called = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if "heartbeat" in called.lower():
            yield Effect(HEARTBEAT, "", path or text_of(call.func), line)
        elif called == "raise_complete_async":
            yield Effect(COMPLETES_ASYNC, "", path or text_of(call.func), line)
        sent = self._enqueue(call)
        if sent is not None:
            yield Effect(ENQUEUE, sent[0], sent[1], line)
        what = side_effects.creates(call, self.scope, self.model)
        if what is not None:
            yield Effect(CREATES, what, path or text_of(call.func), line)
            if side_effects.leaves_process(what):
                yield Effect(SENDS, what, path or text_of(call.func), line)
        if path is None or blocking.blocking_call(path) is None:
            request = blocking.client_request(call, self.model, self.scope)
            if request is not None:
                yield Effect(BLOCKING, request[1], request[0], line)
                yield Effect(IO, "", request[0], line)
        if path is None:
            if isinstance(call.func, ast.Attribute) and call.func.attr in _WAITS and self._waits(call.func):
                yield Effect(WAIT, f".{call.func.attr}()", text_of(call.func), line)
            return
        instead, io, hazardous = _library_effects(path)
        if instead is not None:
            yield Effect(BLOCKING, instead, path, line)
        if io:
            yield Effect(IO, "", path, line)
        hazard = replay_hazard(path, call) if hazardous else None
        if hazard is not None:
            yield Effect(HAZARD, hazard, path, line)
        if path == _ALLOW_JOIN:
            yield Effect(WAIT, "allow_join_result()", path, line)
        elif isinstance(call.func, ast.Attribute) and call.func.attr in _WAITS and self._waits(call.func):
            yield Effect(WAIT, f".{call.func.attr}()", text_of(call.func), line)

    def _enqueue(self, call: ast.Call) -> tuple[str, str] | None:
        """`task.delay()`, `sig.apply_async()`, `app.send_task()`: (how a message names it, what
        is called). The callee is the call as written when this module knows the receiver (a
        task, a signature, an app), else the receiver's qualified name and the method
        (`proj.tasks.send_receipt.delay`), which `celery.enqueue.sends` checks with the whole
        project: a summary is read from its module alone."""
        from jobs_lint.semantic.celery.enqueue import SENDS, enqueue_of

        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr in SENDS):
            return None
        known = self.model.value_of(func.value, self.scope) is not None
        receiver = None if known else self.model.qualname(func.value, self.scope)
        sent = enqueue_of(self.model, call, self.scope) if known or receiver else None
        if sent is None:
            return None
        return sent.label, f"{receiver}.{func.attr}" if receiver else sent.label

    def _waits(self, func: ast.Attribute) -> bool:
        from jobs_lint.semantic.model import Kind

        value = self.model.value_of(func.value, self.scope)
        return value is not None and value.kind is Kind.RESULT


@lru_cache(maxsize=8192)
def _library_effects(path: str) -> tuple[str | None, bool, bool]:
    """What calling a qualified name does whatever its arguments: what to use instead if it
    blocks, whether it does I/O, whether it may differ on replay. Cached: names repeat a lot."""
    return blocking.blocking_call(path), blocking.io_call(path), replay_hazard(path, None) is not None


def _names_environ(node: ast.AST) -> TypeGuard[ast.Attribute | ast.Name]:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )
