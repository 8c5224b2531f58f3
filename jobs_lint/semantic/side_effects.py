"""Creating side effects and idempotency guards in a job's body.

A job that may run twice (retried, redelivered) must not create twice what it creates once: a
row, an outgoing POST, an email, a payment, a ticket. Shared by the rules on retried Celery
tasks and ARQ jobs, so they agree on what creates and what guards.

API (stable):
- `creating_side_effects(func, model) -> list[SideEffect]`: the calls in `func` (nested helpers
  included) that create something each time they run, in source order.
- `has_idempotency_guard(func, model) -> bool`: whether `func` protects itself against running
  twice (an idempotency key, `get_or_create`/`update_or_create`, `SET NX` or a lock, an
  `ON CONFLICT` insert, or an early exit when the work is already done).
- `creates(call, scope, model) -> str | None`: what one call creates, for per-function summaries.
- `is_lock_name(name) -> bool`: whether a function or class name says it locks (`redis_lock`,
  `QueueOnce`), for guards that are decorators or base classes.

The first two read names through the module's semantic model (`model.qualname`), never import statements.
Calls the model cannot resolve are judged by their method name only where that name is specific
enough (`.objects.create`, `session.add`, `send_mail`); anything else is not a side effect.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jobs_lint.semantic.reads import HTTP_POST, HTTP_REQUEST, is_request, read_lines
from jobs_lint.semantic.syntax import final_name
from jobs_lint.semantic.transitions import refused_transition_exits

if TYPE_CHECKING:
    from jobs_lint.semantic.callgraph import Reach
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True, slots=True)
class SideEffect:
    node: ast.Call
    what: str  # for messages: "an ORM create", "an HTTP POST", ...
    # When `node` calls a function that creates it, in this module or another: how it gets there.
    reach: Reach | None = None


# Canonical names of calls that create something each time.
_CREATING_CALLS = {
    "requests.post": HTTP_POST,
    "httpx.post": HTTP_POST,
    "urllib3.request": HTTP_REQUEST,
    "django.core.mail.send_mail": "an email",
    "django.core.mail.send_mass_mail": "an email",
    "django.core.mail.mail_admins": "an email",
    "django.core.mail.mail_managers": "an email",
    "braintree.Transaction.sale": "a payment",
}
# Classes whose instances' `.send()` sends an email, and HTTP clients whose `.post()` posts.
_EMAIL_CLASSES = frozenset(
    {
        "django.core.mail.EmailMessage",
        "django.core.mail.EmailMultiAlternatives",
        "django.core.mail.message.EmailMessage",
    }
)
_HTTP_CLIENTS = frozenset(
    {"requests.Session", "requests.session", "httpx.Client", "httpx.AsyncClient", "aiohttp.ClientSession"}
)
# Method names specific enough to mean "create" whatever the receiver.
_CREATING_METHODS = {
    "send_mail": "an email",
    "send_mass_mail": "an email",
    "sendmail": "an email",
    "send_email": "an email",
    "create_issue": "a ticket",
    "create_ticket": "a ticket",
    "create_charge": "a payment",
    "create_payment": "a payment",
    "create_refund": "a payment",
    "chat_postMessage": "a chat message",
}
# What the database does not hold: a transaction rolled back by the failure does not undo it.
_SENT = frozenset({HTTP_POST, HTTP_REQUEST, "an email", "a payment", "a ticket", "a chat message", "a message"})
SESSION_ADD = "a session add"
_SESSION_WORDS = ("session", "client", "http")
_UPDATE_URL = re.compile(r"(?:^|[/_.-])(?:update|upsert)(?:$|[/_.?-])", re.IGNORECASE)
# LLM SDKs whose `client.messages.create(...)` asks for a completion: it sends nothing to anyone.
_LLM_PACKAGES = ("anthropic.", "openai.", "mistralai.")
_SQL_INSERT = re.compile(r"^\s*insert\s", re.IGNORECASE)
_SQL_UPSERT = re.compile(r"on\s+conflict|on\s+duplicate\s+key|insert\s+ignore|insert\s+or\s+ignore", re.IGNORECASE)

# Calls that make creation idempotent or exclusive.
_GUARD_METHODS = frozenset(
    {
        "get_or_create",
        "update_or_create",
        "aget_or_create",
        "aupdate_or_create",
        "select_for_update",
        "setnx",
        "on_conflict_do_nothing",
        "on_conflict_do_update",
        "acquire",
    }
)
# Lookups whose result in an early exit's condition says the work may be done already.
_LOOKUPS = frozenset({"exists", "aexists", "filter", "first", "count"})
_LOCK_WORDS = frozenset({"lock", "locked", "locking", "mutex", "singleton", "once"})
# Words in an early-exit condition that say the work may be done already.
_DONE_WORDS = re.compile(
    r"already|done|processed|sent|complete|finished|exists|handled|seen|status|state|paid|delivered",
    re.IGNORECASE,
)


def creating_side_effects(func: FunctionNode, model: ModuleModel) -> list[SideEffect]:
    """The calls in `func` (nested helpers included) that create something each time they run."""
    found = []
    for call, scope in _calls(func, model):
        what = creates(call, scope, model)
        if what is not None:
            found.append(SideEffect(call, what))
    return sorted(found, key=lambda effect: (effect.node.lineno, effect.node.col_offset))


def has_idempotency_guard(func: FunctionNode, model: ModuleModel) -> bool:
    """Whether `func` protects itself against running twice (see the module docstring)."""
    nodes = list(ast.walk(func))
    return guarded_by_decorator(func) or any(map(is_guard, nodes)) or bool(refused_transition_exits(nodes))


def guarded_by_decorator(func: FunctionNode) -> bool:
    """A lock decorator (`@redis_lock`, `@single_instance`)."""
    return any(
        is_lock_name(final_name(decorator.func if isinstance(decorator, ast.Call) else decorator))
        for decorator in func.decorator_list
    )


def is_guard(node: ast.AST) -> bool:
    """Whether one node of a function makes it idempotent: a guard call, an idempotency key, an
    upsert, an early exit when the work is done, or a comprehension that skips what is there
    (`has_idempotency_guard` asks every node).
    Dispatched on the node's type: most nodes of a body are of none of these kinds."""
    test = _GUARD_TESTS.get(type(node))
    return test is not None and test(node)


def _names_idempotency(node: ast.AST) -> bool:
    return "idempoten" in _identifier(node)


def _is_guard_string(node: ast.Constant) -> bool:
    return isinstance(node.value, str) and _names_a_guard(node.value)


def _is_done_exit(node: ast.If) -> bool:
    return _exits_early(node.body) and _mentions_done(node.test) and not _absent(node.test)


def _skips_present(node: ast.comprehension) -> bool:
    """`(Region(slug=s) for s in slugs if s not in existing)`: only what is not there yet."""
    return any(isinstance(test, ast.Compare) and any(isinstance(op, ast.NotIn) for op in test.ops) for test in node.ifs)


def _absent(test: ast.expr) -> bool:
    """`if not Connector.objects.exists(): return`: an exit when something is missing, a
    precondition and not a sign that the work was done."""
    return (
        isinstance(test, ast.UnaryOp)
        and isinstance(test.op, ast.Not)
        and isinstance(test.operand, ast.Call)
        and final_name(test.operand.func) in _LOOKUPS
    )


# Side effects ----------------------------------------------------------------------------------


def _calls(func: FunctionNode, model: ModuleModel) -> Iterator[tuple[ast.Call, Scope]]:
    """Every call in the body, with the scope it runs in (nested defs have their own)."""
    stack: list[tuple[ast.AST, Scope]] = [(statement, model.scope_of(func)) for statement in func.body]
    while stack:
        node, scope = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            inner = model.scope_of(node)
            stack.extend((child, inner) for child in ast.iter_child_nodes(node))
            continue
        if isinstance(node, ast.Call):
            yield node, scope
        stack.extend((child, scope) for child in ast.iter_child_nodes(node))


def creates(call: ast.Call, scope: Scope, model: ModuleModel) -> str | None:
    """What a call creates each time it runs ("an HTTP POST"), or None. A request whose answer
    a getter returns (`reads.py`) asks again on a retry and creates nothing."""
    what = _creates(call, scope, model)
    if what is not None and is_request(what) and isinstance(scope.node, FunctionNode):
        return None if call.lineno in read_lines(scope.node) else what
    return what


def _creates(call: ast.Call, scope: Scope, model: ModuleModel) -> str | None:
    func = call.func
    path = model.qualname(func, scope)
    if path in _CREATING_CALLS:
        return None if _token_request(call, scope, model) or _updates(call) else _CREATING_CALLS[path]
    if path == "requests.request" or path == "httpx.request":
        return HTTP_POST if _first_string(call) == "POST" else None
    if path is not None and path.startswith("stripe.") and path.endswith(".create"):
        return "a payment"
    if path is not None and path.split(".")[-1] == "insert" and path.startswith("sqlalchemy."):
        return None  # building a statement; executing it is the side effect
    name = final_name(func)
    if name in _CREATING_METHODS:
        return _CREATING_METHODS[name]
    if not isinstance(func, ast.Attribute):
        return None
    receiver = func.value
    if name in ("create", "acreate") and final_name(receiver) == "objects":
        return "an ORM create"
    if name in ("bulk_create", "abulk_create") and not _has_true_keyword(call, "ignore_conflicts", "update_conflicts"):
        return "an ORM bulk create"
    if name in ("save", "asave") and _constructed_here(receiver, scope, model):
        return "an ORM save of a new row"
    if name in ("add", "add_all") and "session" in _identifier(receiver):
        return SESSION_ADD
    if name in ("execute", "executemany") and call.args and _is_insert(call.args[0], scope, model):
        return "an INSERT"
    if name == "post" and _is_http_client(receiver, scope, model) and not _token_request(call, scope, model):
        return None if _updates(call) else HTTP_POST
    if name == "send" and _constructor_of(receiver, scope, model) in _EMAIL_CLASSES:
        return "an email"
    if (
        name == "create"
        and isinstance(receiver, ast.Attribute)
        and (receiver.attr, final_name(receiver.value))
        == (
            "messages",
            "client",
        )
    ) and not (_constructor_of(receiver.value, scope, model) or "").startswith(_LLM_PACKAGES):
        return "a message"  # Twilio-style `client.messages.create(...)`
    return None


def leaves_process(what: str) -> bool:
    """Whether what a call creates (`creates`) leaves the process: sent to someone, where no
    rollback of the job's transaction reaches it."""
    return what in _SENT


def _updates(call: ast.Call) -> bool:
    """A POST to a URL that says it updates (`client.post("/contacts/update", ...)`): sending
    it again leaves the same state."""
    url = call.args[0] if call.args else None
    parts = url.values if isinstance(url, ast.JoinedStr) else [url]
    return any(
        isinstance(part, ast.Constant) and isinstance(part.value, str) and _UPDATE_URL.search(part.value)
        for part in parts
    )


def _token_request(call: ast.Call, scope: Scope, model: ModuleModel) -> bool:
    """An OAuth 2 token request (`data={"grant_type": "client_credentials", ...}`): it gets a
    token, and getting another one on a retry creates nothing anyone sees."""
    for keyword in call.keywords:
        if keyword.arg not in ("data", "json"):
            continue
        body: object = keyword.value
        if isinstance(body, ast.Name):
            found = model.lookup(body.id, scope)
            body = found[0][0] if found is not None and len(found[0]) == 1 else body
        if isinstance(body, ast.Dict) and any(
            isinstance(key, ast.Constant) and key.value == "grant_type" for key in body.keys
        ):
            return True
    return False


def _is_insert(node: ast.expr, scope: Scope, model: ModuleModel) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(_SQL_INSERT.match(node.value)) and not _SQL_UPSERT.search(node.value)
    if isinstance(node, ast.Call):
        path = model.qualname(node.func, scope)
        return path is not None and path.startswith("sqlalchemy") and path.endswith(".insert")
    return False


def _is_http_client(receiver: ast.expr, scope: Scope, model: ModuleModel) -> bool:
    if _constructor_of(receiver, scope, model) in _HTTP_CLIENTS:
        return True
    if isinstance(receiver, ast.Subscript):  # ARQ's `ctx["session"]`
        key = receiver.slice
        return isinstance(key, ast.Constant) and isinstance(key.value, str) and _is_session_word(key.value)
    return _is_session_word(_identifier(receiver))


def _is_session_word(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _SESSION_WORDS) and "test" not in lowered


def _constructed_here(receiver: ast.expr, scope: Scope, model: ModuleModel) -> bool:
    """A name bound to `SomeClass(...)`: saving it inserts a new row."""
    path = _constructor_of(receiver, scope, model)
    return path is not None and path.rpartition(".")[2][:1].isupper()


def _constructor_of(receiver: ast.expr, scope: Scope, model: ModuleModel) -> str | None:
    """The class a local name was built from (`session = requests.Session()`), if it was."""
    if isinstance(receiver, ast.Call):
        return model.qualname(receiver.func, scope)
    if not isinstance(receiver, ast.Name):
        return None
    found = model.lookup(receiver.id, scope)
    if found is None:
        return None
    bindings, owner = found
    paths = {model.qualname(b.func, owner) if isinstance(b, ast.Call) else None for b in bindings}
    return paths.pop() if len(paths) == 1 else None


# Guards ----------------------------------------------------------------------------------------


def _is_guard_call(call: ast.Call) -> bool:
    name = final_name(call.func)
    if name in _GUARD_METHODS or is_lock_name(name):
        return True
    if name == "set" and _has_true_keyword(call, "nx"):
        return True
    if name == "add" and final_name(getattr(call.func, "value", None)) == "cache":
        return True  # Django's `cache.add` sets only when absent
    return any(keyword.arg is not None and "idempoten" in keyword.arg for keyword in call.keywords)


def _names_a_guard(text: str) -> bool:
    return "idempoten" in text.lower() or bool(_SQL_UPSERT.search(text))


@lru_cache(maxsize=4096)
def is_lock_name(name: str) -> bool:
    parts = {part.lower() for part in re.split(r"_|(?<=[a-z])(?=[A-Z])", name) if part}
    return bool(parts & _LOCK_WORDS)


def _exits_early(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise, ast.Continue))


def _mentions_done(test: ast.expr) -> bool:
    for node in ast.walk(test):
        if isinstance(node, (ast.Name, ast.Attribute)) and _DONE_WORDS.search(final_name(node)):
            return True
        if isinstance(node, ast.Call) and final_name(node.func) in _LOOKUPS:
            return True
    return False


# Names -----------------------------------------------------------------------------------------


def _identifier(node: ast.AST) -> str:
    if isinstance(node, ast.arg):
        return node.arg.lower()
    if isinstance(node, ast.keyword):
        return (node.arg or "").lower()
    return final_name(node).lower()


_GUARD_TESTS: dict[type[ast.AST], Callable[[Any], bool]] = {
    ast.Call: _is_guard_call,
    ast.Name: _names_idempotency,
    ast.Attribute: _names_idempotency,
    ast.arg: _names_idempotency,
    ast.keyword: _names_idempotency,
    ast.Constant: _is_guard_string,
    ast.If: _is_done_exit,
    ast.comprehension: _skips_present,
}


def _first_string(call: ast.Call) -> str | None:
    first = call.args[0] if call.args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value.upper()
    return None


def _has_true_keyword(call: ast.Call, *names: str) -> bool:
    return any(
        keyword.arg in names and not (isinstance(keyword.value, ast.Constant) and not keyword.value.value)
        for keyword in call.keywords
    )
