"""Values that do not belong in a job message, whatever the tool: what to send instead.

A message is serialized when it is sent, stored by the broker (Celery, ARQ) or in a workflow's
history (Temporal), and read when a worker gets to it. Files, uploads, DataFrames, database rows,
the web request and the dumps made of them are large, live or both: they fill the broker's
memory, go stale while the message waits, or cannot cross processes at all. Each answer says
what the value is and what to send in its place.

Values are followed through local variables, comprehensions, objects and containers built around
them, and calls to project functions whose every return is such a value (in the same module, or
in any module the call graph has summarised). What cannot be told stays silent.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobs_lint.semantic import payloads
from jobs_lint.semantic.messages.carriers import carried_bytes, parameter_annotation
from jobs_lint.semantic.syntax import own_nodes
from jobs_lint.semantic.web import django

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope


@dataclass(frozen=True, slots=True)
class Unsendable:
    what: str  # "a model instance or QuerySet"
    instead: str  # "send its id and load it in the job"


FILE = Unsendable("an open file", "send a path or a storage key")
CONTENT = Unsendable("file contents or bytes", "store them and send a storage key")
UPLOAD = Unsendable("an uploaded file", "store the upload and send its storage key")
FRAME = Unsendable("a whole DataFrame", "write it to storage and send its key")
ROWS = Unsendable("a model instance or QuerySet", "send its id (or ids) and load the rows in the job")
REQUEST = Unsendable("the web request", "send the few values the job needs")
USER = Unsendable("the signed-in user object", "send the user's id")
SESSION = Unsendable("a session object", "send the values the job needs; a database session is opened by the job")
CARRIED_INSTEAD = "store the files and send their storage keys"
DUMP = Unsendable("a dump of a whole object", "send its id and let the job load what it needs")
READ_ROWS = Unsendable(
    "the rows of a file, gathered in a list", "write them where they are read, or send the file's key"
)

_UPLOAD_TYPES = frozenset(
    {"fastapi.UploadFile", "starlette.datastructures.UploadFile", "fastapi.datastructures.UploadFile"}
)
_REQUEST_TYPES = frozenset(
    {"fastapi.Request", "starlette.requests.Request", "django.http.HttpRequest", "rest_framework.request.Request"}
)
_FRAME_MODULES = ("pandas.", "polars.")
_FRAME_MAKERS = frozenset({"DataFrame", "concat", "merge", "json_normalize", "from_dicts", "from_records"})
_FRAME_TYPES = frozenset({"pandas.DataFrame", "polars.DataFrame", "pandas.core.frame.DataFrame"})
# DataFrame methods that return a DataFrame of about the same size, and those that dump one.
_FRAME_STEPS = frozenset(
    {"assign", "copy", "drop", "dropna", "fillna", "join", "merge", "rename", "reset_index", "set_index", "sort_values"}
)
_FRAME_DUMPS = frozenset({"to_dict", "to_json", "to_records", "to_numpy", "to_dicts", "values"})
_OBJECT_DUMPS = frozenset({"dict", "model_dump", "to_dict"})
_DUMPERS = frozenset({"django.forms.models.model_to_dict", "django.forms.model_to_dict", "vars"})
_FLASK = {"flask.request": REQUEST, "flask.session": SESSION, "flask_login.current_user": USER}
_RECEIVER = "django.dispatch.receiver"
_REQUEST_PARTS = {"user": USER, "session": SESSION, "FILES": UPLOAD}
_MAX_DEPTH = 6
# What can hold such a value; a constant, an operation or a comparison never does.
_VALUES = (
    ast.Name,
    ast.Attribute,
    ast.Subscript,
    ast.Call,
    ast.Await,
    ast.Starred,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.ListComp,
    ast.SetComp,
    ast.GeneratorExp,
)


def unsendable(model: ModuleModel, node: ast.expr, scope: Scope, depth: int = 0) -> Unsendable | None:
    """What a message argument is, if it is something no message should carry."""
    if depth > _MAX_DEPTH or not isinstance(node, _VALUES):
        return None
    if isinstance(node, ast.Await):
        return unsendable(model, node.value, scope, depth + 1)
    if isinstance(node, ast.Starred):
        return unsendable(model, node.value, scope, depth + 1)
    if payloads.is_open_file(model, node, scope):
        return FILE
    if payloads.is_content(model, node, scope):
        return CONTENT
    if django.is_orm_object(model, node, scope):
        return ROWS
    if isinstance(node, ast.Name) and _is_session(model, node, scope):
        return SESSION
    carried = carried_bytes(model, node, scope)
    if carried is not None:
        return _carrier(carried)
    if isinstance(node, ast.Name):
        return _name(model, node, scope, depth)
    if isinstance(node, ast.Attribute):
        return _attribute(model, node, scope, depth)
    if isinstance(node, ast.Subscript):
        return _subscript(model, node, scope, depth)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return _first(model, node.elts, scope, depth)
    if isinstance(node, ast.Dict):
        return _first(model, node.values, scope, depth)
    if isinstance(node, ast.Call):
        return _call(model, node, scope, depth)
    return None


def _name(model: ModuleModel, node: ast.Name, scope: Scope, depth: int) -> Unsendable | None:
    path = model.qualname(node, scope)
    if path in _FLASK:
        return _FLASK[path]
    found = model.lookup(node.id, scope)
    if found is None:
        return _parameter(model, node.id, scope)
    bindings, owner = found
    if owner is model.module_scope:
        return None  # a module-level value: its size is known when the module loads
    values = [b for b in bindings if isinstance(b, ast.expr)]
    if not values or len(values) != len(bindings):
        return None
    if (
        owner.node is not None
        and all(isinstance(v, ast.List) and not v.elts for v in values)
        and payloads.gathers_rows(model, node.id, owner.node, owner)
    ):
        return READ_ROWS
    answers = {unsendable(model, value, owner, depth + 1) for value in values}
    return answers.pop() if len(answers) == 1 else None


def _parameter(model: ModuleModel, name: str, scope: Scope) -> Unsendable | None:
    """A parameter annotated as an upload, a DataFrame or a request; Django's `request`."""
    annotation = parameter_annotation(name, scope)
    if annotation is not None:
        inner = annotation
        if isinstance(inner, ast.Subscript):  # list[UploadFile], Annotated[Request, ...]
            inner = inner.slice.elts[0] if isinstance(inner.slice, ast.Tuple) else inner.slice
        path = model.qualname(inner, scope)
        if path in _UPLOAD_TYPES:
            return UPLOAD
        if path in _FRAME_TYPES:
            return FRAME
        if path in _REQUEST_TYPES:
            return REQUEST
    if name == "instance" and _in_signal_receiver(model, scope):
        return ROWS
    # Django's views take an unannotated `request`; an annotated one is some other input.
    return REQUEST if name == "request" and annotation is None else None


def _in_signal_receiver(model: ModuleModel, scope: Scope) -> bool:
    """A Django signal receiver (`@receiver(post_save, sender=Order)`), whose `instance` is the row."""
    current: Scope | None = scope
    while current is not None and not isinstance(current.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        current = current.parent
    if current is None or not isinstance(current.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    return any(
        isinstance(decorator, ast.Call) and model.qualname(decorator.func, current.parent) == _RECEIVER
        for decorator in current.node.decorator_list
    )


def _attribute(model: ModuleModel, node: ast.Attribute, scope: Scope, depth: int) -> Unsendable | None:
    """`request.user`, `request.session`, `request.FILES`, `self.request` outside a task, a
    serializer's `.data`, `obj.__dict__` of a row, `df.values`."""
    receiver = node.value
    if node.attr == "request" and isinstance(receiver, ast.Name) and receiver.id == "self":
        return REQUEST if _in_view_class(scope) else None
    if node.attr in _REQUEST_PARTS and _is_request(model, receiver, scope, depth):
        return _REQUEST_PARTS[node.attr]
    if node.attr == "data" and _is_serializer(model, receiver, scope):
        return DUMP
    if node.attr == "__dict__" and django.is_orm_object(model, receiver, scope):
        return DUMP
    if node.attr == "values" and _is_frame(model, receiver, scope, depth):
        return FRAME
    path = model.qualname(node, scope)
    return _FLASK.get(path) if path is not None else None


def _subscript(model: ModuleModel, node: ast.Subscript, scope: Scope, depth: int) -> Unsendable | None:
    """`request.FILES['doc']`; a column or rows of a DataFrame are still a frame."""
    value = node.value
    if isinstance(value, ast.Attribute) and value.attr == "FILES" and _is_request(model, value.value, scope, depth):
        return UPLOAD
    return FRAME if _is_frame(model, value, scope, depth) else None


def _call(model: ModuleModel, call: ast.Call, scope: Scope, depth: int) -> Unsendable | None:
    func = call.func
    path = model.qualname(func, scope)
    if path in _DUMPERS or (path or "").endswith(".model_to_dict"):
        arg = call.args[0] if call.args else None
        if path != "vars" or (arg is not None and django.is_orm_object(model, arg, scope)):
            return DUMP
    if _is_frame(model, call, scope, depth):
        return FRAME
    if isinstance(func, ast.Attribute):
        receiver = func.value
        if func.attr in ("get", "getlist") and isinstance(receiver, ast.Attribute) and receiver.attr == "FILES":
            return UPLOAD if _is_request(model, receiver.value, scope, depth) else None
        if func.attr in _OBJECT_DUMPS and django.is_orm_object(model, receiver, scope):
            return DUMP
        if func.attr in _OBJECT_DUMPS:
            carried = carried_bytes(model, receiver, scope)
            if carried is not None:
                return _carrier(carried)
        if func.attr == "get_object" and _is_self(receiver) and _in_view_class(scope):
            return ROWS  # a generic view's object: the row the URL names
        if func.attr == "save" and not call.args and _is_serializer(model, receiver, scope, of_object=False):
            return ROWS  # what a serializer's `save()` returns: the row it created or updated
        if func.attr in _FRAME_DUMPS and _is_frame(model, receiver, scope, depth):
            return FRAME
    returned = _returned(model, call, scope, depth)
    if returned is not None:
        return returned
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name[:1].isupper() or path in ("dict", "list", "tuple"):
        # An object or container built around the value carries it too.
        return _first(model, [*call.args, *(k.value for k in call.keywords)], scope, depth)
    return None


def _returned(model: ModuleModel, call: ast.Call, scope: Scope, depth: int) -> Unsendable | None:
    """What a project function returns, when every `return` gives the same unsendable value: a
    def in this module is read here, one elsewhere through its call-graph summary."""
    func = call.func
    if isinstance(func, ast.Name):
        found = model.lookup(func.id, scope)
        if found is not None and len(found[0]) == 1:
            binding = found[0][0]
            if isinstance(binding, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return _returns(model, binding, depth + 1)
    path = model.qualname(func, scope)
    if path is None or not model.index.complete:
        return None  # while a module's own facts are collected, other modules are unknown
    graph = model.index.calls
    target = graph.resolve(path)
    summary = graph.summary(target) if target is not None else None
    what = summary.returns_unsendable if summary is not None else None
    return (_BY_WHAT.get(what) or Unsendable(what, CARRIED_INSTEAD)) if what else None


def _carrier(where: str) -> Unsendable:
    return Unsendable(f"objects carrying file contents (`{where}`)", CARRIED_INSTEAD)


def _returns(model: ModuleModel, function: ast.FunctionDef | ast.AsyncFunctionDef, depth: int = 0) -> Unsendable | None:
    """What every `return` of a function gives, when it is the same unsendable value."""
    values = [node.value for node in own_nodes(function) if isinstance(node, ast.Return)]
    return returned(model, model.scope_of(function), values, depth)


def returned(model: ModuleModel, scope: Scope, values: list[ast.expr | None], depth: int = 0) -> Unsendable | None:
    """What the values a function returns (`values`, read in its `scope`) all are, if they are
    the same unsendable value."""
    if depth > _MAX_DEPTH:
        return None
    answers: set[Unsendable | None] = set()
    for node in values:
        answers.add(unsendable(model, node, scope, depth + 1) if node is not None else None)
        if None in answers or len(answers) > 1:
            return None
    return answers.pop() if answers else None


_BY_WHAT = {
    answer.what: answer for answer in (FILE, CONTENT, UPLOAD, FRAME, ROWS, REQUEST, USER, SESSION, DUMP, READ_ROWS)
}


def _is_frame(model: ModuleModel, node: ast.expr, scope: Scope, depth: int) -> bool:
    """A pandas or polars DataFrame: made by `pd.DataFrame(...)`, `pd.read_csv(...)`,
    `pd.concat(...)`, refined by a frame method, or a parameter annotated as one."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None:
            annotation = parameter_annotation(node.id, scope)
            return annotation is not None and model.qualname(annotation, scope) in _FRAME_TYPES
        values = [b for b in found[0] if isinstance(b, ast.expr)]
        return (
            bool(values)
            and len(values) == len(found[0])
            and all(_is_frame(model, value, found[1], depth + 1) for value in values)
        )
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    path = model.qualname(func, scope) or ""
    if path.startswith(_FRAME_MODULES):
        name = path.rpartition(".")[2]
        return name in _FRAME_MAKERS or name.startswith(("read_", "scan_"))
    return (
        isinstance(func, ast.Attribute) and func.attr in _FRAME_STEPS and _is_frame(model, func.value, scope, depth + 1)
    )


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _is_request(model: ModuleModel, node: ast.expr, scope: Scope, depth: int) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "request" and isinstance(node.value, ast.Name) and node.value.id == "self"
    return isinstance(node, ast.Name) and _name(model, node, scope, depth) is REQUEST


def _in_view_class(scope: Scope) -> bool:
    """`self.request` in a class-based view's method (a bound Celery task's `self.request` is
    its own context, and is never sent on)."""
    current: Scope | None = scope
    while current is not None:
        if current.is_class and isinstance(current.node, ast.ClassDef):
            return any(
                (base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")).endswith(
                    ("View", "ViewSet")
                )
                for base in current.node.bases
            )
        current = current.parent
    return False


def _is_serializer(model: ModuleModel, node: ast.expr, scope: Scope, *, of_object: bool = True) -> bool:
    """A Django REST framework serializer: `OrderSerializer(order)`, `self.get_serializer(...)`,
    a view's `serializer` parameter. With `of_object`, only one made around an object: one
    made from `data=request.data` validates input, and its `.data` is that input."""
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None:  # `perform_create(self, serializer)` of a view
            return node.id == "serializer" and not of_object and _in_view_class(scope)
        if len(found[0]) != 1 or not isinstance(found[0][0], ast.expr):
            return False
        node, scope = found[0][0], found[1]
    if not isinstance(node, ast.Call):
        return False
    if of_object and not (node.args or any(k.arg == "instance" for k in node.keywords)):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name.endswith("Serializer") or name == "get_serializer"


def _is_session(model: ModuleModel, node: ast.Name, scope: Scope) -> bool:
    """A SQLAlchemy session itself: a parameter annotated as one, or `Session(engine)`."""
    found = model.lookup(node.id, scope)
    if found is None:
        return django.annotated_session(model, node.id, scope)
    made: list[ast.expr] = []
    for binding in found[0]:
        if isinstance(binding, (ast.With, ast.AsyncWith)):
            made += [item.context_expr for item in binding.items if _binds(item, node.id)]
        elif isinstance(binding, ast.expr):
            made.append(binding)
        else:
            return False
    return bool(made) and all(
        isinstance(call, ast.Call) and (model.qualname(call.func, found[1]) or "").startswith("sqlalchemy.")
        for call in made
    )


def _binds(item: ast.withitem, name: str) -> bool:
    return isinstance(item.optional_vars, ast.Name) and item.optional_vars.id == name


def _first(model: ModuleModel, nodes: list[ast.expr], scope: Scope, depth: int) -> Unsendable | None:
    for node in nodes:
        found = unsendable(model, node, scope, depth + 1)
        if found is not None:
            return found
    return None
