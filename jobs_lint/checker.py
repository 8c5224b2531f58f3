"""Checking one file: decode, parse, build its semantic model, walk it once with every rule."""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import traceback
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from jobs_lint.diagnostics import Diagnostic, Fix, Landing
from jobs_lint.noqa import apply_suppressions
from jobs_lint.rules.base import Rule
from jobs_lint.semantic.facts import TaskInfo
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.model import ModuleModel
from jobs_lint.semantic.scope import Scope, ScopeTable
from jobs_lint.source import Source

SKIP_FILE = b"jobs-lint: skip-file"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


class UnreadableSource(Exception):
    """A file that is not Python text: reported as one diagnostic."""

    def __init__(self, code: str, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.code, self.message, self.line, self.col = code, message, line, col


def decode(path: str, data: bytes) -> Source:
    if b"\0" in data:
        raise UnreadableSource("JL002", "Binary file: it contains NUL bytes")
    try:
        head = data[: data.find(b"\n", data.find(b"\n") + 1) + 1 or len(data)]  # the first two lines
        if b"coding" in head or data.startswith(b"\xef\xbb\xbf"):  # a PEP 263 cookie or a BOM
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        else:
            encoding = "utf-8"
        return Source(path, data.decode(encoding), encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:
        raise UnreadableSource("JL002", f"Cannot decode file: {_one_line(error)}") from None


def parse(source: Source) -> ast.Module:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences are not our business
            return ast.parse(source.text, filename=source.path)
    except SyntaxError as error:
        line = error.lineno or 1
        col = error.offset or 1
        version = f"Python {sys.version_info.major}.{sys.version_info.minor}"
        message = f"Syntax error ({version}): {error.msg}"
        newer = _newer_syntax(source.line(line))
        if newer is not None:
            feature, (major, minor) = newer
            python = f"Python {major}.{minor}"
            message += f"; {feature} is {python} syntax, which {python} or newer would parse"
        raise UnreadableSource("JL001", message, line, col) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise UnreadableSource("JL001", f"Cannot parse file: {_one_line(error)}") from None


# Syntax of Pythons newer than some jobs-lint runs on, recognised on the line a syntax error is at.
_NEWER_SYNTAX = (
    ((3, 11), "`except*`", re.compile(r"^\s*except\s*\*")),
    ((3, 12), "a `type` alias", re.compile(r"^\s*type\s+\w+\s*(\[.*\])?\s*=")),
    ((3, 12), "a type parameter list", re.compile(r"^\s*(async\s+)?(def|class)\s+\w+\s*\[")),
    ((3, 14), "`except` without parentheses", re.compile(r"^\s*except\s+[\w.]+\s*(,\s*[\w.]+\s*)+:")),
    ((3, 14), "a template string", re.compile(r"(?<![\w'\"])[tT][rR]?(['\"])")),
)


def _newer_syntax(line: str) -> tuple[str, tuple[int, int]] | None:
    for version, feature, pattern in _NEWER_SYNTAX:
        if sys.version_info < version and pattern.search(line):
            return feature, version
    return None


class Context:
    """What a rule sees while the module is walked."""

    def __init__(self, source: Source, model: ModuleModel) -> None:
        self.source = source
        self.model = model
        self.index = model.index
        self.diagnostics: list[Diagnostic] = []
        self._defs: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = []
        self._scopes: list[Scope] = [model.module_scope]

    @property
    def scope(self) -> Scope:
        """The scope of the code being visited, for `model.qualname` and `model.value_of`."""
        return self._scopes[-1]

    @property
    def enclosing_defs(self) -> Sequence[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
        return self._defs

    def enclosing_task(self) -> TaskInfo | None:
        """The task whose body is being visited, helpers nested in it included.

        For a class-based task that is its `run` method and what it contains.
        """
        model = self.model
        for position, node in enumerate(self._defs):
            if isinstance(node, _FUNCTIONS):
                task = model.task_of(node)
                if task is not None:
                    return task
                if node.name == "run" and position > 0:
                    owner = model.task_of(self._defs[position - 1])
                    if owner is not None:
                        return owner
        return None

    def report(
        self,
        code: str,
        node: ast.AST,
        message: str,
        fix: Fix | None = None,
        related: tuple[tuple[str, int, str], ...] = (),
        landing: Landing | None = None,
    ) -> None:
        source = self.source
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None) or line
        col = source.char_col(line, getattr(node, "col_offset", 0))
        end_col = source.char_col(end_line, getattr(node, "end_col_offset", None) or 0)
        diagnostic = Diagnostic(code, message, source.path, line, col, end_line, end_col, fix, related, landing)
        self.diagnostics.append(diagnostic)

    def enter(self, node: ast.AST) -> None:
        if isinstance(node, _COMPREHENSIONS):
            # Comprehension variables: `r` in `[r.get() for r in results]` is an element of results.
            scope = Scope(node, self.scope)
            for generator in node.generators:
                _bind_target(scope, generator.target, generator)
            self._scopes.append(scope)
            return
        self._defs.append(node)  # type: ignore[arg-type]
        self._scopes.append(self.model.scope_of(node))

    def exit(self, node: ast.AST) -> None:
        if not isinstance(node, _COMPREHENSIONS):
            self._defs.pop()
        self._scopes.pop()


def _bind_target(scope: Scope, target: ast.expr, binding: ast.comprehension | ast.expr) -> None:
    if isinstance(target, ast.Name):
        scope.bind(target.id, binding)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            _bind_target(scope, element, target)  # unpacked: which part it gets is unknown


def check_source(
    source: Source,
    tree: ast.Module,
    module: str,
    is_package: bool,
    index: ProjectIndex,
    rules: Sequence[type[Rule]],
    selected: frozenset[str],
    scopes: ScopeTable | None = None,
) -> list[Diagnostic]:
    """Run `rules` over a parsed module; suppressions are applied, internal errors reported.
    `scopes` are the module's, when the facts pass built them already."""
    model = ModuleModel(tree, source.path, module, is_package, index, scopes)
    ctx = Context(source, model)
    instances = [rule(ctx) for rule in rules]
    failed: dict[str, BaseException] = {}
    _walk(tree, ctx, instances, failed)
    for instance in instances:
        if instance.code not in failed:
            try:
                instance.finish()
            except Exception as problem:  # a broken rule must not stop the run
                failed[instance.code] = problem
    diagnostics = [d for d in ctx.diagnostics if d.code not in failed]
    diagnostics += [internal_error(source.path, code, problem) for code, problem in failed.items()]
    return apply_suppressions(source, tree, diagnostics, selected)


def internal_error(path: str, code: str, error: BaseException) -> Diagnostic:
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    at = f" at {where.name}:{where.lineno}" if where else ""
    message = f"Internal error in {code}: {type(error).__name__}: {_one_line(error)}{at}"
    return Diagnostic("JL005", message, path, 1, 1, 1, 1)


Handler = Callable[[ast.AST], None]
_ENTER, _EXIT, _LEAVE = 0, 1, 2


def _walk(tree: ast.Module, ctx: Context, rules: list[Rule], failed: dict[str, BaseException]) -> None:
    """One iterative pass over the tree, calling each rule's visit_/leave_ methods.

    Decorators, default values and base classes belong to the enclosing scope; only bodies
    (and parameters) are walked inside the def's own scope. This loop runs for every node of
    every checked file, so it avoids `ast.iter_child_nodes` and skips fields that never hold
    nodes worth visiting (`ctx`, operators).
    """
    visits, leaves = _handlers(rules)
    stack: list[Any] = [tree]
    push, pop = stack.append, stack.pop
    while stack:
        node = pop()
        kind = type(node)
        if kind is tuple:
            action, node = node
            if action == _ENTER:
                ctx.enter(node)
            elif action == _EXIT:
                ctx.exit(node)
            else:
                _call(leaves[type(node)], node, failed)
            continue
        handlers = visits.get(kind)
        if handlers is not None:
            _call(handlers, node, failed)
        if kind in leaves:
            push((_LEAVE, node))
        if kind in _SCOPED:
            stack.extend(reversed(_scoped_children(node)))
            continue
        fields = _FIELDS.get(kind)
        if fields is None:
            fields = _FIELDS[kind] = tuple(reversed([f for f in kind._fields if f not in _LEAF_FIELDS]))
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for child in reversed(value):
                    if isinstance(child, ast.AST):
                        push(child)
            elif isinstance(value, ast.AST):
                push(value)


# Fields that hold names, flags or operator singletons, never code to visit.
_LEAF_FIELDS = frozenset(
    {
        "ctx",
        "op",
        "ops",
        "type_comment",
        "kind",
        "conversion",
        "is_async",
        "level",
        "id",
        "attr",
        "arg",
        "name",
        "module",
    }
)
_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: ()}
_SCOPED = frozenset({*_FUNCTIONS, ast.ClassDef, *_COMPREHENSIONS})


def _scoped_children(node: Any) -> list[Any]:
    if isinstance(node, ast.ClassDef):
        outer: list[Any] = [*node.decorator_list, *node.bases, *node.keywords]
        return [*outer, (_ENTER, node), *node.body, (_EXIT, node)]
    if isinstance(node, _FUNCTIONS):
        args = node.args
        outer = [*node.decorator_list, *args.defaults, *(d for d in args.kw_defaults if d)]
        if node.returns is not None:
            outer.append(node.returns)
        return [*outer, (_ENTER, node), args, *node.body, (_EXIT, node)]
    # A comprehension: the first iterable is evaluated outside it, the rest inside.
    first, *rest = node.generators
    inner = [first.target, *first.ifs, *(part for g in rest for part in (g.target, g.iter, *g.ifs))]
    elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
    return [first.iter, (_ENTER, node), *inner, *elements, (_EXIT, node)]


def _handlers(
    rules: list[Rule],
) -> tuple[dict[type, list[tuple[str, Handler]]], dict[type, list[tuple[str, Handler]]]]:
    visits: dict[type, list[tuple[str, Handler]]] = defaultdict(list)
    leaves: dict[type, list[tuple[str, Handler]]] = defaultdict(list)
    for rule in rules:
        for attr in _hook_names(type(rule)):
            prefix, _, node_name = attr.partition("_")
            node_type = getattr(ast, node_name)
            target = visits if prefix == "visit" else leaves
            target[node_type].append((rule.code, getattr(rule, attr)))
    return dict(visits), dict(leaves)


_HOOKS: dict[type, tuple[str, ...]] = {}


def _hook_names(rule: type[Rule]) -> tuple[str, ...]:
    names = _HOOKS.get(rule)
    if names is None:
        names = tuple(
            attr
            for attr in dir(rule)
            if attr.startswith(("visit_", "leave_")) and isinstance(getattr(ast, attr.partition("_")[2], None), type)
        )
        _HOOKS[rule] = names
    return names


def _call(handlers: list[tuple[str, Handler]], node: ast.AST, failed: dict[str, BaseException]) -> None:
    for code, handler in handlers:
        if code in failed:
            continue
        try:
            handler(node)
        except Exception as error:  # reported as JL005; the other rules go on
            failed[code] = error


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
