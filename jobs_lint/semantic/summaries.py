"""What each function does by itself: its effects and the calls it makes, for the call graph.

Computed in the facts pass for every function and method defined at module level (or in a
module-level class), cached with the module's facts, and merged by `callgraph.CallGraph`, which
answers what a call reaches through other functions, in any module. A summary holds names and
lines only, never AST nodes, so that it can be stored as plain data.

Calls are resolved to canonical qualified names where the code shows what they call: module
functions (imported ones too), methods on `self`/`cls`, on objects whose class is known from a
constructor, an annotation, an attribute set in `__init__` or a module-level instance, static and
class methods, `functools.partial`, a function returned by another, and plain functions passed
as arguments (recorded apart: passing a function is not running it). Anything else is left out.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, TypeGuard

from jobs_lint.semantic import blocking, side_effects
from jobs_lint.semantic.scope import Scope

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel

# Effect kinds.
CREATES = "creates"  # creates something each time it runs (side_effects.py): `what` says what
BLOCKING = "blocking"  # blocks the thread (blocking.py): `what` says what to use instead
IO = "io"  # does I/O, blocking or not (blocking.io_call)
HAZARD = "hazard"  # differs on a workflow's replay (temporal.replay_hazard): `what` is the replacement
WAIT = "wait"  # waits on a Celery result

# Call kinds.
CALL = "call"  # the target runs here
RETURNED = "returned"  # the function the target returns runs here (`factory()(...)`)
PASSED = "passed"  # the target is passed as an argument (`to_thread(f)`): it may run, elsewhere

_PARTIAL = frozenset({"functools.partial", "functools.partialmethod"})
_WAITS = frozenset({"get", "wait", "join", "join_native", "collect"})
_ALLOW_JOIN = "celery.result.allow_join_result"
# Decorators that run a sync function off the event loop: `sync_to_async`, `run_in_threadpool`.
_OFFLOADING = re.compile(r"async|thread|executor", re.IGNORECASE)


# Without slots: dataclasses with slots pickle through a Python-level `__getstate__`, which made
# a warm run's cache load and save several times slower with thousands of summaries.
@dataclass(frozen=True)
class Effect:
    kind: str
    what: str
    callee: str  # the qualified name called (`requests.post`), or the call as written
    line: int


@dataclass(frozen=True)
class CallSite:
    target: str  # the canonical qualified name of what is called (or passed, or returns it)
    line: int
    text: str  # the callee as written (`self.billing.charge`)
    kind: str = CALL


@dataclass(frozen=True)
class FunctionSummary:
    qualname: str  # module.function or module.Class.method
    name: str  # function or Class.method, for messages
    line: int
    is_async: bool
    effects: tuple[Effect, ...] = ()
    calls: tuple[CallSite, ...] = ()
    guarded: bool = False  # has an idempotency guard: what it creates is not created twice
    returns: str | None = None  # the function it returns, when it returns a plain one
    # A sync function that a decorator makes awaitable or runs in a thread (`@sync_to_async`).
    offloaded: bool = False


@dataclass(frozen=True)
class ClassSummary:
    qualname: str
    bases: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...] = ()  # (attribute, class of the object it holds)


@dataclass(frozen=True)
class ModuleSummary:
    functions: tuple[FunctionSummary, ...] = ()
    classes: tuple[ClassSummary, ...] = ()
    instances: tuple[tuple[str, str], ...] = ()  # module-level (name, class) of `name = Class(...)`


FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def summarise(model: ModuleModel) -> ModuleSummary:
    functions: list[FunctionSummary] = []
    classes: list[ClassSummary] = []
    module = model.module
    for node in model.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append(_Summariser(model, node, None).summary(f"{module}.{node.name}", node.name))
        elif isinstance(node, ast.ClassDef):
            cls = _class_summary(model, node)
            classes.append(cls)
            for statement in node.body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    summariser = _Summariser(model, statement, cls)
                    name = f"{node.name}.{statement.name}"
                    functions.append(summariser.summary(f"{module}.{name}", name))
    return ModuleSummary(tuple(functions), tuple(classes), _instances(model))


def call_sites(model: ModuleModel, function: FunctionNode) -> list[tuple[ast.Call, CallSite]]:
    """The calls a function makes itself that the summaries can follow, with their nodes, in
    source order: what a rule asks the call graph about."""
    owner = model.owner_class(function)
    summariser = _Summariser(model, function, _class_summary(model, owner) if owner is not None else None)
    found = []
    for node in _own_nodes(function):
        if isinstance(node, ast.Call):
            site = summariser._call_site(node, model.qualname(node.func, summariser.scope))
            if site is not None:
                found.append((node, site))
            found.extend((node, passed) for passed in summariser._passed(node))
    return sorted(found, key=lambda pair: (pair[0].lineno, pair[0].col_offset))


def calls_on_lines(function: FunctionNode, lines: set[int]) -> dict[int, list[tuple[ast.Call, set[str]]]]:
    """The calls a function makes itself on some lines, with the texts a call site of theirs can
    have (the callee, a partial's function, an argument): to find the node of a summary's site."""
    found: dict[int, list[tuple[ast.Call, set[str]]]] = {}
    for node in _own_nodes(function):
        if isinstance(node, ast.Call) and node.lineno in lines:
            texts = {_text(node.func), *(_text(argument) for argument in node.args)}
            texts.update(_text(keyword.value) for keyword in node.keywords)
            if isinstance(node.func, ast.Call) and node.func.args:
                texts.add(_text(node.func.args[0]))
            found.setdefault(node.lineno, []).append((node, texts))
    for calls in found.values():
        calls.sort(key=lambda pair: pair[0].col_offset)
    return found


def _class_summary(model: ModuleModel, node: ast.ClassDef) -> ClassSummary:
    scope = model.module_scope
    bases = tuple(path for path in (model.qualname(base, scope) for base in node.bases) if path)
    inner = model.scope_of(node)
    attributes: dict[str, str] = {}
    for statement in node.body:
        # `client: ApiClient` and `client = ApiClient()` in the class body.
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            found = _annotated_class(model, statement.annotation, scope)
            if found:
                attributes[statement.target.id] = found
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            method_scope = model.scope_of(statement)
            for child in ast.walk(statement):
                # `self.client = ApiClient(...)` in any method.
                if isinstance(child, ast.Assign) and isinstance(child.value, ast.Call) and len(child.targets) == 1:
                    target = child.targets[0]
                    if _is_self_attribute(target):
                        found = model.qualname(child.value.func, method_scope)
                        if found and _looks_like_class(found):
                            attributes.setdefault(target.attr, found)  # type: ignore[attr-defined]
    for name, bindings in inner.bindings.items():
        if len(bindings) == 1 and isinstance(bindings[0], ast.Call):
            found = model.qualname(bindings[0].func, scope)
            if found and _looks_like_class(found):
                attributes.setdefault(name, found)
    return ClassSummary(f"{model.module}.{node.name}", bases, tuple(sorted(attributes.items())))


def _instances(model: ModuleModel) -> tuple[tuple[str, str], ...]:
    found = []
    scope = model.module_scope
    for name, bindings in scope.bindings.items():
        if len(bindings) == 1 and isinstance(bindings[0], ast.Call):
            path = model.qualname(bindings[0].func, scope)
            if path and _looks_like_class(path):
                found.append((name, path))
    return tuple(found)


class _Summariser:
    def __init__(self, model: ModuleModel, node: FunctionNode, owner: ClassSummary | None) -> None:
        self.model = model
        self.node = node
        self.owner = owner
        self.scope = model.scope_of(node)
        params = [*node.args.posonlyargs, *node.args.args]
        is_static = any(_decorator_name(d) == "staticmethod" for d in node.decorator_list)
        # The parameter that names the instance (or class) in a method: `self`, `cls`.
        self.self_name = params[0].arg if owner is not None and params and not is_static else None
        self._annotated: dict[str, list[ast.expr]] | None = None
        self._nodes: list[ast.AST] | None = None

    @property
    def nodes(self) -> list[ast.AST]:
        """The function's own nodes, collected once: its body is read several times."""
        if self._nodes is None:
            self._nodes = _own_nodes(self.node)
        return self._nodes

    def summary(self, qualname: str, name: str) -> FunctionSummary:
        effects: list[Effect] = []
        calls: list[CallSite] = []
        model, scope = self.model, self.scope
        args = self.node.args
        params = (*args.posonlyargs, *args.args, *args.kwonlyargs)
        guarded = side_effects.guarded_by_decorator(self.node) or any(map(side_effects.is_guard, params))
        for node in self.nodes:
            guarded = guarded or side_effects.is_guard(node)
            if isinstance(node, ast.Call):
                path = model.qualname(node.func, scope)
                effects.extend(self._effects(node, path))
                site = self._call_site(node, path)
                if site is not None:
                    calls.append(site)
                calls.extend(self._passed(node))
            elif _names_environ(node) and model.qualname(node, scope) == "os.environ":
                effects.append(Effect(HAZARD, _hazard("os.environ", None) or "", "os.environ", node.lineno))
        return FunctionSummary(
            qualname=qualname,
            name=name,
            line=self.node.lineno,
            is_async=isinstance(self.node, ast.AsyncFunctionDef),
            effects=tuple(sorted(effects, key=lambda e: e.line)),
            calls=tuple(sorted(calls, key=lambda c: c.line)),
            guarded=guarded,
            returns=self._returns(),
            offloaded=isinstance(self.node, ast.FunctionDef)
            and any(_OFFLOADING.search(_decorator_name(d)) for d in self.node.decorator_list),
        )

    # Effects -------------------------------------------------------------------------------

    def _effects(self, call: ast.Call, path: str | None) -> Iterator[Effect]:
        line = call.lineno
        what = side_effects.creates(call, self.scope, self.model)
        if what is not None:
            yield Effect(CREATES, what, path or _text(call.func), line)
        if path is None:
            if isinstance(call.func, ast.Attribute) and call.func.attr in _WAITS and self._waits(call.func):
                yield Effect(WAIT, f".{call.func.attr}()", _text(call.func), line)
            return
        instead, io, hazardous = _library_effects(path)
        if instead is not None:
            yield Effect(BLOCKING, instead, path, line)
        if io:
            yield Effect(IO, "", path, line)
        hazard = _hazard(path, call) if hazardous else None
        if hazard is not None:
            yield Effect(HAZARD, hazard, path, line)
        if path == _ALLOW_JOIN:
            yield Effect(WAIT, "allow_join_result()", path, line)
        elif isinstance(call.func, ast.Attribute) and call.func.attr in _WAITS and self._waits(call.func):
            yield Effect(WAIT, f".{call.func.attr}()", _text(call.func), line)

    def _waits(self, func: ast.Attribute) -> bool:
        from jobs_lint.semantic.model import Kind

        value = self.model.value_of(func.value, self.scope)
        return value is not None and value.kind is Kind.RESULT

    # Calls ---------------------------------------------------------------------------------

    def _call_site(self, call: ast.Call, path: str | None) -> CallSite | None:
        func = call.func
        if isinstance(func, ast.Call):
            inner = self._target(func.func, self.model.qualname(func.func, self.scope))
            if inner is None:
                return None
            if inner in _PARTIAL:  # `partial(f, x)(...)`
                first = self._target(func.args[0], self.model.qualname(func.args[0], self.scope)) if func.args else None
                return CallSite(first, call.lineno, _text(func.args[0])) if first else None
            return CallSite(inner, call.lineno, _text(func.func) + "()", RETURNED)
        if isinstance(func, ast.Name):
            partial = self._partial_binding(func)
            if partial is not None:
                return CallSite(partial, call.lineno, func.id)
        target = self._target(func, path)
        if target is None or target in _PARTIAL or "." not in target:
            return None  # unknown, or a builtin: never a project function
        return CallSite(target, call.lineno, _text(func))

    def _passed(self, call: ast.Call) -> Iterator[CallSite]:
        """Plain functions given as arguments (`asyncio.to_thread(render, path)`)."""
        path = self.model.qualname(call.func, self.scope)
        for argument in (*call.args, *(keyword.value for keyword in call.keywords)):
            if (
                isinstance(argument, ast.Call)
                and argument.args
                and path not in _PARTIAL
                and self.model.qualname(argument.func, self.scope) in _PARTIAL
            ):
                argument = argument.args[0]  # `run_in_executor(None, partial(f, x))`
            if isinstance(argument, (ast.Name, ast.Attribute)):
                target = self._target(argument, self.model.qualname(argument, self.scope))
                if target is not None and "." in target:
                    yield CallSite(target, call.lineno, _text(argument), PASSED)

    def _target(self, func: ast.expr, path: str | None) -> str | None:
        """The qualified name a callee expression names, through objects of known classes."""
        if path is not None:
            return path
        if not isinstance(func, ast.Attribute):
            return None
        cls = self._class_of(func.value)
        return f"{cls}.{func.attr}" if cls else None

    def _class_of(self, node: ast.expr) -> str | None:
        """The class of the object an expression holds, when the code shows it."""
        model, scope = self.model, self.scope
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == self.self_name and self.owner is not None:
                return self.owner.qualname  # `cls()` in a classmethod
            path = model.qualname(node.func, scope)
            return path if path and _looks_like_class(path) else None
        if isinstance(node, ast.Name):
            if node.id == self.self_name and self.owner is not None:
                return self.owner.qualname
            return self._name_class(node.id)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and self.owner is not None
            and node.value.id == self.self_name
        ):
            # `self.client.post(...)`: the class of `self.client`, if this class sets it;
            # otherwise the attribute is looked up through the bases in the index.
            for name, cls in self.owner.attributes:
                if name == node.attr:
                    return cls
            return f"{self.owner.qualname}.{node.attr}"
        return None

    def _name_class(self, name: str) -> str | None:
        model, scope = self.model, self.scope
        annotation = _parameter_annotation(self.node, name)
        if annotation is not None:
            return _annotated_class(model, annotation, scope.parent or model.module_scope)
        found = model.lookup(name, scope)
        if found is None or found[1] is not scope:
            return None  # module-level names resolve through `model.qualname`
        classes = set()
        for binding in found[0]:
            if isinstance(binding, ast.Call):
                path = model.qualname(binding.func, scope)
                classes.add(path if path and _looks_like_class(path) else None)
            else:
                classes.add(None)
        for annotation in self.annotations.get(name, ()):
            classes.add(_annotated_class(model, annotation, scope))
        return classes.pop() if len(classes) == 1 else None

    @property
    def annotations(self) -> dict[str, list[ast.expr]]:
        """`name: Class = ...` in the function's own body, by name."""
        if self._annotated is None:
            self._annotated = {}
            for node in self.nodes:
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    self._annotated.setdefault(node.target.id, []).append(node.annotation)
        return self._annotated

    def _partial_binding(self, func: ast.Name) -> str | None:
        """`send = partial(notify, channel)` then `send(...)`."""
        found = self.model.lookup(func.id, self.scope)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0], ast.Call):
            return None
        bound = found[0][0]
        if self.model.qualname(bound.func, found[1]) not in _PARTIAL or not bound.args:
            return None
        first = bound.args[0]
        return self._target(first, self.model.qualname(first, found[1]))

    def _returns(self) -> str | None:
        """The function this one returns, when every `return` returns the same plain one."""
        found: set[str | None] = set()
        for node in self.nodes:
            if isinstance(node, ast.Return) and node.value is not None:
                value = node.value
                if isinstance(value, ast.Call) and value.args:
                    if self.model.qualname(value.func, self.scope) not in _PARTIAL:
                        return None
                    value = value.args[0]
                if not isinstance(value, (ast.Name, ast.Attribute)):
                    return None
                found.add(self._target(value, self.model.qualname(value, self.scope)))
        return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=8192)
def _library_effects(path: str) -> tuple[str | None, bool, bool]:
    """What calling a qualified name does whatever its arguments: what to use instead if it
    blocks, whether it does I/O, whether it may differ on replay. Cached: names repeat a lot."""
    return blocking.blocking_call(path), blocking.io_call(path), _hazard(path, None) is not None


def _hazard(path: str, call: ast.Call | None) -> str | None:
    from jobs_lint.semantic.temporal import replay_hazard

    return replay_hazard(path, call)


def _own_nodes(function: FunctionNode) -> list[ast.AST]:
    """The nodes of a function's own body, not of the defs, classes and lambdas nested in it.
    Every summarised function is read this way: fields are looked up once per node type."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = list(function.body)
    push, pop, append = pending.append, pending.pop, found.append
    while pending:
        node = pop()
        kind = type(node)
        if kind in _NESTED:
            continue
        append(node)
        fields = _FIELDS.get(kind)
        if fields is None:
            fields = _FIELDS[kind] = tuple(name for name in kind._fields if name not in _LEAF_FIELDS)
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                pending.extend(child for child in value if isinstance(child, ast.AST))
            elif isinstance(value, ast.AST):
                push(value)
    return found


_NESTED = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda})
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "type_comment", "kind", "conversion", "is_async", "level"})
_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: (), ast.Name: ()}


def _parameter_annotation(function: FunctionNode, name: str) -> ast.expr | None:
    args = function.args
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if arg.arg == name:
            return arg.annotation
    return None


def _annotated_class(model: ModuleModel, annotation: ast.expr | None, scope: Scope) -> str | None:
    """`Billing`, `Billing | None`, `Optional[Billing]`, `"Billing"`: the one class named."""
    if annotation is None:
        return None
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(annotation, ast.BinOp):
        left = _annotated_class(model, annotation.left, scope)
        right = _annotated_class(model, annotation.right, scope)
        return left if right is None or right == "None" else right if left in (None, "None") else None
    if isinstance(annotation, ast.Subscript):
        if model.qualname(annotation.value, scope) in ("typing.Optional", "Optional"):
            return _annotated_class(model, annotation.slice, scope)
        return None
    if isinstance(annotation, ast.Constant) and annotation.value is None:
        return "None"
    path = model.qualname(annotation, scope)
    return path if path and _looks_like_class(path) else None


def _looks_like_class(path: str) -> bool:
    return path.rpartition(".")[2][:1].isupper()


def _names_environ(node: ast.AST) -> TypeGuard[ast.Attribute | ast.Name]:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _is_self_attribute(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        return _decorator_name(node.func)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _text(node: ast.expr) -> str:
    """A callee as written, short: `self.billing.charge`, `factory()`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_text(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{_text(node.func)}()"
    if isinstance(node, ast.Subscript):
        return f"{_text(node.value)}[...]"
    return "..."
