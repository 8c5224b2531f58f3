"""The semantic model of one module: what its names and expressions are.

Rules ask this model, never the import statements: `model.qualname(node)` gives the canonical
dotted path of a name (`c` in `from celery import chord as c` is `celery.chord`, `app` imported
from `proj.celery` is known to be a Celery app through the project index), and
`model.value_of(node)` says whether an expression is a task, a result, a signature or an app.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING

from jobs_lint.semantic import call_sites, summaries
from jobs_lint.semantic.celery import names
from jobs_lint.semantic.facts import ModuleFacts, TaskInfo
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.scope import Binding, DefNode, Imported, Scope, ScopeTable, build_scopes
from jobs_lint.semantic.tools import defines_jobs, tools

if TYPE_CHECKING:
    from jobs_lint.semantic.arq.module import ArqModule
    from jobs_lint.semantic.callgraph import Reach
    from jobs_lint.semantic.celery.module import CeleryModule
    from jobs_lint.semantic.summaries import ModuleSummary
    from jobs_lint.semantic.temporal.module import TemporalModule

_MAX_DEPTH = 12  # how far aliases and assignments are followed before giving up


class Kind(Enum):
    APP = "app"  # a Celery application
    TASK = "task"  # a task object (what `@app.task` returns)
    SIGNATURE = "signature"  # `task.s(...)`, `task.si(...)`, `signature("name")`
    CANVAS = "canvas"  # chain, group, chord, chunks
    RESULT = "result"  # what `.delay()`, `.apply_async()`, `AsyncResult(...)` return


@dataclass(frozen=True, slots=True)
class Value:
    kind: Kind
    task: TaskInfo | None = None  # for TASK and SIGNATURE, when the task is known
    canvas: str | None = None  # for CANVAS: chain, group, chord, chunks
    immutable: bool = False  # for SIGNATURE: `.si()` or `immutable=True`
    node: ast.expr | None = None  # the expression that built a SIGNATURE or CANVAS


class ModuleModel:
    def __init__(
        self,
        tree: ast.Module,
        path: str,
        module: str,
        is_package: bool,
        index: ProjectIndex,
        scopes: ScopeTable | None = None,
    ) -> None:
        self.tree = tree
        self.path = path
        self.module = module
        self.index = index
        self.scopes = build_scopes(tree, module, is_package) if scopes is None else scopes
        # id(node) -> (node, scope, answer) of `qualname(node, scope)`: rules and summaries ask
        # the same question about the same node many times. The node is held, so that its id is
        # not reused by another (rules build a few throwaway nodes), and the answer is reused
        # only for the scope it was computed in.
        self._qualnames: dict[int, tuple[ast.AST, Scope | None, str | None]] = {}

    # Names -----------------------------------------------------------------------------------

    @property
    def module_scope(self) -> Scope:
        return self.scopes.module

    def scope_of(self, node: ast.AST) -> Scope:
        """The scope a def or class body runs in."""
        return self.scopes.by_node.get(id(node), self.scopes.module)

    def lookup(self, name: str, scope: Scope | None) -> tuple[list[Binding], Scope] | None:
        """The bindings of `name` seen from `scope` (None when it is a parameter or undefined)."""
        current: Scope | None = scope or self.scopes.module
        start = current
        while current is not None:
            if current.is_class and current is not start:
                current = current.parent  # class bodies are not visible to their methods
                continue
            if name in current.declared_global:
                current = self.scopes.module
            if name in current.params:
                return None
            bindings = current.bindings.get(name)
            if bindings:
                return bindings, current
            current = current.parent
        return None

    def qualname(self, node: ast.AST, scope: Scope | None = None, depth: int = 0) -> str | None:
        """The canonical dotted path an expression names, or None for anything else."""
        if depth == 0:  # a question asked from outside: answered once per node and scope
            known = self._qualnames.get(id(node))
            if known is not None and known[1] is scope:
                return known[2]
            found = self._resolve(node, scope, 0)
            self._qualnames[id(node)] = (node, scope, found)
            return found
        return self._resolve(node, scope, depth)

    def _resolve(self, node: ast.AST, scope: Scope | None, depth: int) -> str | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value, scope, depth + 1)
            return self.index.canonical(f"{base}.{node.attr}") if base else None
        if not isinstance(node, ast.Name):
            return None
        found = self.lookup(node.id, scope)
        if found is None:
            # A parameter is unknown; an unbound name is a builtin (or undefined).
            return None if self._is_param(node.id, scope) else node.id
        bindings, owner = found
        paths = {self._binding_path(node.id, binding, owner, depth) for binding in bindings}
        if len(paths) == 1:
            return paths.pop()
        return self._own_path(node.id, owner)

    def _binding_path(self, name: str, binding: Binding, owner: Scope, depth: int) -> str | None:
        if isinstance(binding, Imported):
            return self.index.canonical(binding.qualname)
        if isinstance(binding, (ast.Name, ast.Attribute)):
            return self.qualname(binding, owner, depth + 1) or self._own_path(name, owner)
        return self._own_path(name, owner)

    def _own_path(self, name: str, owner: Scope) -> str | None:
        """The path of a name defined here: only module-level names have one."""
        return self.index.canonical(f"{self.module}.{name}") if owner.node is None else None

    def imports(self, package: str, *, star: bool = True) -> bool:
        """Whether any scope of the module imports from a top-level package (`celery`), or, with
        `star`, the module star-imports from it."""
        return any(
            isinstance(binding, Imported) and binding.qualname.split(".")[0] == package
            for scope in (self.scopes.module, *self.scopes.by_node.values())
            for bindings in scope.bindings.values()
            for binding in bindings
        ) or (star and any(module.split(".")[0] == package for module in self.scopes.star_imports))

    def _is_param(self, name: str, scope: Scope | None) -> bool:
        current = scope
        while current is not None:
            if name in current.params:
                return True
            current = current.parent
        return False

    # Values ----------------------------------------------------------------------------------

    def value_of(self, node: ast.AST, scope: Scope | None = None, depth: int = 0) -> Value | None:
        """What a Celery-related expression evaluates to; None when it is not one (or unknown)."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Name):
            found = self.lookup(node.id, scope)
            if found is not None and any(not isinstance(binding, Imported | DefNode) for binding in found[0]):
                return self._bindings_value(found[0], found[1], depth)
            return self._named_value(self.qualname(node, scope, depth))
        if isinstance(node, ast.Attribute):
            return self._named_value(self.qualname(node, scope, depth))
        if isinstance(node, ast.Call):
            return self._call_value(node, scope, depth)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            parts = (self.value_of(node.left, scope, depth + 1), self.value_of(node.right, scope, depth + 1))
            if any(part and part.kind in (Kind.SIGNATURE, Kind.CANVAS) for part in parts):
                return Value(Kind.CANVAS, canvas="chain", node=node)
        return None

    def element_value(self, node: ast.AST, scope: Scope | None, depth: int = 0) -> Value | None:
        """What iterating over `node` yields (`for r in [t.delay() for t in tasks]`)."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            return self.value_of(node.elt, scope, depth + 1)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return _common([self.value_of(elt, scope, depth + 1) for elt in node.elts])
        if isinstance(node, ast.Name):
            found = self.lookup(node.id, scope)
            if found is not None:
                bindings, owner = found
                return _common(
                    [self.element_value(b, owner, depth + 1) if isinstance(b, ast.expr) else None for b in bindings]
                )
        return None

    def _bindings_value(self, bindings: list[Binding], owner: Scope, depth: int) -> Value | None:
        values = []
        for binding in bindings:
            if isinstance(binding, ast.expr):
                values.append(self.value_of(binding, owner, depth + 1))
            elif isinstance(binding, (ast.For, ast.AsyncFor, ast.comprehension)):
                values.append(self.element_value(binding.iter, owner, depth + 1))
            else:
                values.append(None)
        return _common(values)

    def _named_value(self, path: str | None) -> Value | None:
        if path is None:
            return None
        if self.is_app(path):
            return Value(Kind.APP)
        task = self.task_named(path)
        if task is not None:
            return Value(Kind.TASK, task=task)
        return None

    def _call_value(self, call: ast.Call, scope: Scope | None, depth: int) -> Value | None:
        func = call.func
        path = self.qualname(func, scope, depth + 1)
        if path == names.APP_CLASS or (path is not None and path in self.local_app_classes):
            return Value(Kind.APP)
        if path in names.CANVAS_CONSTRUCTORS:
            return Value(Kind.CANVAS, canvas=names.CANVAS_CONSTRUCTORS[path], node=call)
        if path in names.RESULT_CLASSES:
            return Value(Kind.RESULT)
        if isinstance(func, ast.Attribute):
            value = self._method_value(call, func, scope, depth)
            if value is not None:
                return value
        callee = self.value_of(func, scope, depth + 1)
        if callee is not None and callee.kind is Kind.CANVAS and callee.canvas != "signature":
            # Calling a chain, group or chord sends it (`chord(header)(body)` too).
            return Value(Kind.RESULT)
        return None

    def _method_value(self, call: ast.Call, func: ast.Attribute, scope: Scope | None, depth: int) -> Value | None:
        attr = func.attr
        if attr in ("delay", "apply_async"):
            receiver = self.value_of(func.value, scope, depth + 1)
            # An unknown receiver is still a task: `.delay()` means nothing else in practice.
            if receiver is None or receiver.kind is not Kind.APP:
                return Value(Kind.RESULT)
            return None
        if attr in ("s", "si", "signature", "subtask"):
            receiver = self.value_of(func.value, scope, depth + 1)
            if receiver is not None and receiver.kind is Kind.TASK:
                immutable = attr == "si" or any(kw.arg == "immutable" and _is_true(kw.value) for kw in call.keywords)
                return Value(Kind.SIGNATURE, task=receiver.task, immutable=immutable, node=call)
            return None
        if attr in ("set", "clone", "on_error", "link", "link_error", "replace"):
            receiver = self.value_of(func.value, scope, depth + 1)
            if receiver is not None and receiver.kind in (Kind.SIGNATURE, Kind.CANVAS):
                return receiver
            return None
        if attr == "restore" and self.qualname(func.value, scope, depth + 1) in names.RESULT_CLASSES:
            return Value(Kind.RESULT)
        if attr in ("AsyncResult", "GroupResult", "send_task"):
            receiver = self.value_of(func.value, scope, depth + 1)
            if receiver is not None and receiver.kind is Kind.APP:
                return Value(Kind.RESULT)
        return None

    # Celery facts ----------------------------------------------------------------------------

    @cached_property
    def celery(self) -> CeleryModule:
        from jobs_lint.semantic.celery.module import CeleryModule

        return CeleryModule(self)

    @cached_property
    def local_app_classes(self) -> frozenset[str]:
        """Classes in this module that subclass `Celery`."""
        found = set()
        for node, scope in self.scopes.defs:
            if isinstance(node, ast.ClassDef) and any(
                self.qualname(base, scope) == names.APP_CLASS for base in node.bases
            ):
                found.add(f"{self.module}.{node.name}")
        return frozenset(found)

    def is_app(self, path: str) -> bool:
        return path == names.CURRENT_APP or path in self.celery.apps or self.index.is_app(path)

    def task_named(self, path: str) -> TaskInfo | None:
        return self.celery.tasks_by_path.get(path) or self.index.tasks.get(path)

    def task_of(self, node: ast.AST) -> TaskInfo | None:
        """The task a def or class defines, if it is one."""
        return self.celery.tasks_by_node.get(id(node))

    @cached_property
    def temporal(self) -> TemporalModule:
        from jobs_lint.semantic.temporal.module import TemporalModule

        return TemporalModule(self)

    # Calls -----------------------------------------------------------------------------------

    def owner_class(self, node: DefNode) -> ast.ClassDef | None:
        """The class a def is a method of, if it is one."""
        owner = self.def_scopes.get(id(node))
        return owner.node if owner is not None and isinstance(owner.node, ast.ClassDef) else None

    @cached_property
    def def_scopes(self) -> dict[int, Scope]:
        """The scope each def or class is defined in."""
        return {id(node): scope for node, scope in self.scopes.defs}

    def def_path(self, name: str, scope: Scope, *, methods: bool = True) -> str:
        """Where the def or class `name` defined in `scope` is: `module.name` at module level,
        `module.Class.name` for a method (`module.<Class>.name` without `methods`), and
        `module.<f>.name` inside a function: not importable, but still of this module."""
        owner = scope.node
        if owner is None:
            return f"{self.module}.{name}"
        outer = self.def_scopes.get(id(owner))
        if methods and isinstance(owner, ast.ClassDef) and outer is not None:
            return f"{self.def_path(owner.name, outer)}.{name}"
        return f"{self.module}.<{getattr(owner, 'name', 'local')}>.{name}"

    def function_qualname(self, node: DefNode) -> str | None:
        """`module.function` or `module.Class.method` for defs that have a summary."""
        scope = self.def_scopes.get(id(node))
        if scope is None:
            return None
        owner = scope.node
        if owner is None or (isinstance(owner, ast.ClassDef) and self.def_scopes.get(id(owner)) is self.scopes.module):
            return self.def_path(node.name, scope)
        return None

    def reaches(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, kinds: frozenset[str], *, passed: bool = False
    ) -> list[tuple[ast.Call, Reach]]:
        """The calls in a function's own body that lead, through the functions they call in any
        module, to an effect of one of `kinds` (`summaries.BLOCKING`, ...), with how they get
        there. Calls to functions the project does not define are not followed."""
        graph = self.index.calls
        qualname = self.function_qualname(function)
        summary = graph.summary(qualname) if qualname else None
        if summary is None or summary.line != function.lineno:
            # Not summarised (or since edited, as when a fix is checked): read the calls here.
            pairs = call_sites.call_sites(self, function)
            return [(call, reach) for call, site in pairs if (reach := graph.reach(site, kinds, passed=passed))]
        sites = [(site, reach) for site in summary.calls if (reach := graph.reach(site, kinds, passed=passed))]
        if not sites:
            return []
        nodes = call_sites.calls_on_lines(function, {site.line for site, _ in sites})
        found = []
        for site, reach in sites:
            call = next((call for call, texts in nodes.get(site.line, ()) if site.text in texts), None)
            if call is not None:
                found.append((call, reach))
        return found

    def reach_of(
        self, call: ast.Call, function: ast.AST, kinds: frozenset[str], *, passed: bool = False
    ) -> Reach | None:
        """What a call in `function`'s own body reaches (see `reaches`), for rules that visit
        calls one by one; computed once per function and question."""
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        key = (id(function), kinds, passed)
        found = self._reach_cache.get(key)
        if found is None:
            found = self._reach_cache[key] = {
                id(node): reach for node, reach in reversed(self.reaches(function, kinds, passed=passed))
            }
        return found.get(id(call))

    @cached_property
    def _reach_cache(self) -> dict[tuple[int, frozenset[str], bool], dict[int, Reach]]:
        return {}

    def summary(self) -> ModuleSummary:
        return summaries.summarise(self)

    def facts(self, text: bytes | None = None) -> ModuleFacts:
        """What other modules may need to know of this one. Given the module's `text`, parts
        that need a word the text lacks are skipped: most modules mention one tool at most."""

        def mentions(*words: bytes) -> bool:
            return text is None or any(word in text for word in words)

        facts = self.celery.facts(countdowns=mentions(b"countdown"))
        for tool in tools():
            if tool.facts is not None and mentions(*tool.words):
                found = tool.facts(self)
                if found:
                    facts.extra[tool.name] = found
        if defines_jobs(facts):
            # Where calls worth following start; other modules are summarised when reached.
            facts.summary = self.summary()
        return facts

    @cached_property
    def arq(self) -> ArqModule:
        from jobs_lint.semantic.arq.module import ArqModule

        return ArqModule(self)


def _common(values: list[Value | None]) -> Value | None:
    """The value all bindings agree on; a name bound to different kinds of things is unknown."""
    if not values or values[0] is None:
        return None
    first = values[0]
    return first if all(v is not None and v.kind is first.kind for v in values) else None


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True
