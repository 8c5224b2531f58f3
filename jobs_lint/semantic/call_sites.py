"""What a function calls, resolved to qualified names: the edges of the call graph.

Calls are resolved where the code shows what they call: module functions (imported ones too),
methods on `self`/`cls`, on objects whose class is known from a constructor, an annotation, an
attribute set in a method or a module-level instance, static and class methods,
`functools.partial`, a function returned by another, and plain functions passed as arguments
(recorded apart: passing a function is not running it). Anything else is left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobs_lint.semantic.scope import Scope
from jobs_lint.semantic.syntax import decorator_name, own_nodes, parameter_annotation

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel

# Call kinds.
CALL = "call"  # the target runs here
RETURNED = "returned"  # the function the target returns runs here (`factory()(...)`)
PASSED = "passed"  # the target is passed as an argument (`to_thread(f)`): it may run, elsewhere

_PARTIAL = frozenset({"functools.partial", "functools.partialmethod"})
_MAX_CHAIN = 3  # attributes followed from a factory's object to the method called

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class CallSite:
    target: str  # the canonical qualified name of what is called (or passed, or returns it)
    line: int
    text: str  # the callee as written (`self.billing.charge`)
    kind: str = CALL
    # Called on what `target`, a factory, returns (`client = s3_client()` then `client.put_object`):
    # `put_object`, or `users.list` through a resource the object holds.
    method: str = ""


@dataclass(frozen=True)
class ClassSummary:
    qualname: str
    bases: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...] = ()  # (attribute, class of the object it holds)


def call_sites(model: ModuleModel, function: FunctionNode) -> list[tuple[ast.Call, CallSite]]:
    """The calls a function makes itself that the summaries can follow, with their nodes, in
    source order: what a rule asks the call graph about."""
    owner = model.owner_class(function)
    callees = Callees(model, function, class_summary(model, owner) if owner is not None else None)
    found = []
    for node in own_nodes(function):
        if isinstance(node, ast.Call):
            site = callees.call_site(node, model.qualname(node.func, callees.scope))
            if site is not None:
                found.append((node, site))
            found.extend((node, passed) for passed in callees.passed(node))
    return sorted(found, key=lambda pair: (pair[0].lineno, pair[0].col_offset))


def calls_on_lines(function: FunctionNode, lines: set[int]) -> dict[int, list[tuple[ast.Call, set[str]]]]:
    """The calls a function makes itself on some lines, with the texts a call site of theirs can
    have (the callee, a partial's function, an argument): to find the node of a summary's site."""
    found: dict[int, list[tuple[ast.Call, set[str]]]] = {}
    for node in own_nodes(function):
        if isinstance(node, ast.Call) and node.lineno in lines:
            texts = {text_of(node.func), *(text_of(argument) for argument in node.args)}
            texts.update(text_of(keyword.value) for keyword in node.keywords)
            if isinstance(node.func, ast.Call) and node.func.args:
                texts.add(text_of(node.func.args[0]))
            found.setdefault(node.lineno, []).append((node, texts))
    for calls in found.values():
        calls.sort(key=lambda pair: pair[0].col_offset)
    return found


def class_summary(model: ModuleModel, node: ast.ClassDef) -> ClassSummary:
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


def instances(model: ModuleModel) -> tuple[tuple[str, str], ...]:
    found = []
    scope = model.module_scope
    for name, bindings in scope.bindings.items():
        if len(bindings) == 1 and isinstance(bindings[0], ast.Call):
            path = model.qualname(bindings[0].func, scope)
            if path and _looks_like_class(path):
                found.append((name, path))
    return tuple(found)


class Callees:
    """Resolves the calls of one function (a method's class given as `owner`)."""

    def __init__(self, model: ModuleModel, node: FunctionNode, owner: ClassSummary | None) -> None:
        self.model = model
        self.node = node
        self.owner = owner
        self.scope = model.scope_of(node)
        params = [*node.args.posonlyargs, *node.args.args]
        is_static = any(decorator_name(d) == "staticmethod" for d in node.decorator_list)
        # The parameter that names the instance (or class) in a method: `self`, `cls`.
        self.self_name = params[0].arg if owner is not None and params and not is_static else None
        self._annotated: dict[str, list[ast.expr]] | None = None
        self._nodes: list[ast.AST] | None = None

    @property
    def nodes(self) -> list[ast.AST]:
        """The function's own nodes, collected once: its body is read several times."""
        if self._nodes is None:
            self._nodes = own_nodes(self.node)
        return self._nodes

    # Calls ---------------------------------------------------------------------------------

    def call_site(self, call: ast.Call, path: str | None) -> CallSite | None:
        func = call.func
        if isinstance(func, ast.Call):
            inner = self._target(func.func, self.model.qualname(func.func, self.scope))
            if inner is None:
                return None
            if inner in _PARTIAL:  # `partial(f, x)(...)`
                first = self._target(func.args[0], self.model.qualname(func.args[0], self.scope)) if func.args else None
                return CallSite(first, call.lineno, text_of(func.args[0])) if first else None
            return CallSite(inner, call.lineno, text_of(func.func) + "()", RETURNED)
        if isinstance(func, ast.Name):
            partial = self._partial_binding(func)
            if partial is not None:
                return CallSite(partial, call.lineno, func.id)
        target = self._target(func, path)
        if target is None and isinstance(func, ast.Attribute):
            return self.factory_method(call)
        if target is None or target in _PARTIAL or "." not in target:
            return None  # unknown, or a builtin: never a project function
        return CallSite(target, call.lineno, text_of(func))

    def factory_method(self, call: ast.Call) -> CallSite | None:
        """A call on what a project function returns, made in the call or bound to a name in
        this function (`s3_client().put_object(...)`, `client = s3_client()` then
        `client.users.list()`): the call graph knows the class the factory returns."""
        func = call.func
        methods: list[str] = []
        while isinstance(func, ast.Attribute) and len(methods) < _MAX_CHAIN:
            methods.append(func.attr)
            func = func.value
        if isinstance(func, ast.Name):
            found = self.model.lookup(func.id, self.scope)
            if found is None or found[1] is not self.scope or len(found[0]) != 1:
                return None
            func = found[0][0]  # type: ignore[assignment]
        if not isinstance(func, ast.Call) or not isinstance(func.func, (ast.Name, ast.Attribute)):
            return None
        factory = self.model.qualname(func.func, self.scope)
        if factory is None or "." not in factory or _looks_like_class(factory) or factory in _PARTIAL:
            return None
        return CallSite(factory, call.lineno, text_of(call.func), method=".".join(reversed(methods)))

    def passed(self, call: ast.Call) -> Iterator[CallSite]:
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
                    yield CallSite(target, call.lineno, text_of(argument), PASSED)

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
        annotation = parameter_annotation(self.node, name)
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

    def returns_class(self) -> str | None:
        """The class of the object this function returns, from its annotation (`-> Minio`) or
        when every `return` makes one of the same class (`return Minio(...)`)."""
        annotated = _annotated_class(self.model, self.node.returns, self.scope.parent or self.model.module_scope)
        if annotated is not None:
            return None if annotated == "None" else annotated
        found: set[str | None] = set()
        for node in self.nodes:
            if isinstance(node, ast.Return):
                value = node.value
                path = self.model.qualname(value.func, self.scope) if isinstance(value, ast.Call) else None
                found.add(path if path and _looks_like_class(path) else None)
        return found.pop() if len(found) == 1 else None

    def returns(self) -> str | None:
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


def _is_self_attribute(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def text_of(node: ast.expr) -> str:
    """A callee as written, short: `self.billing.charge`, `factory()`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{text_of(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{text_of(node.func)}()"
    if isinstance(node, ast.Subscript):
        return f"{text_of(node.value)}[...]"
    return "..."
