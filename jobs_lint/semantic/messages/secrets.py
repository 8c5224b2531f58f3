"""Names that hold a secret: a password, a token, an API key or a private key.

A message that carries one stores it in clear text wherever the message goes: a Celery broker,
its persistence files and result backend, monitoring tools, or a Temporal workflow's history.

A name is a secret by its last word(s): a password, a passphrase, a secret, credentials, an
API, private, access or secret key, or a token. "Token" alone is ambiguous: it names bearer
credentials (access, refresh, auth, reset, invitation tokens: whoever holds one is let in) and
opaque public identifiers alike. A token is taken as an identifier when its qualifier says what
it addresses rather than what it grants: a cursor (`next_page_token`), a request-scoped
anti-forgery or de-duplication value (`csrf_token`, `idempotency_token`), a device's push
address (`device_token`, `registration_token`), or a public short id that a project shows in
its URLs (`friendly_token`, `public_token`). A parameter named as an id (`token_id`) is the
receiver saying the same. Any other token is a credential.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from jobs_lint.semantic.syntax import own_nodes

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

# Last words of a name that hold a secret (`db_password`, `stripe_api_key`).
_SECRET_WORDS = frozenset({"password", "passwd", "passphrase", "secret", "token", "apikey", "credentials"})
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key")})
# Qualifiers of a token that say what it addresses: a cursor, a request-scoped value, a device's
# push address, a public short id.
_PUBLIC_TOKENS = frozenset(
    {"csrf", "page", "next", "continuation", "cursor", "cancel", "cancellation", "sync", "task", "idempotency"}
    | {"device", "registration", "push", "fcm", "apns", "friendly", "public", "short"}
)
_MAX_DEPTH = 4


def secret_argument(param: str | None, value: ast.expr) -> str | None:
    """The secret-like name an argument is passed as or read from (`password`, `CRM_API_KEY`):
    the called parameter's name, else the variable or attribute the value comes from."""
    if param is not None and is_secret(param):
        return param
    shown = name_of(value)
    return shown if shown is not None and is_secret(shown) else None


def is_secret(name: str) -> bool:
    """Named for a secret by its last word(s): `db_password`, `reset_token`, `AWS_SECRET_ACCESS_KEY`;
    not `password_changed`, `token_id`, `private_key_path` or `next_page_token`."""
    words = [word for word in _split(name) if word]
    if not words:
        return False
    last = words[-1]
    before = words[-2] if len(words) > 1 else None
    if last in _SECRET_WORDS:
        return not (last == "token" and before in _PUBLIC_TOKENS)
    return before is not None and (before, last) in _SECRET_PAIRS


def _split(name: str) -> list[str]:
    """`CRM_API_KEY`, `apiKey` and `api_key` all give `api`, `key`."""
    spaced = "".join(f"_{c}" if c.isupper() and i and name[i - 1].islower() else c for i, c in enumerate(name))
    return spaced.lower().split("_")


def name_of(value: ast.expr) -> str | None:
    """The variable or attribute a value is read from (`token`, `settings.CRM_API_KEY`)."""
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Attribute):
        return value.attr
    return None


def secret_inside(value: ast.expr) -> str | None:
    """A secret passed as a value, or as a field of the object or dict built for a message
    (`Credentials(api_key=key)`, `{'password': pw}`)."""
    found = secret_argument(None, value)
    if found is not None:
        return found
    if isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values, strict=True):
            field = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
            found = secret_argument(field, item)
            if found is not None:
                return found
    elif isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name[:1].isupper() or name == "dict":
            for keyword in value.keywords:
                found = secret_argument(keyword.arg, keyword.value)
                if found is not None:
                    return found
            for arg in value.args:
                found = secret_argument(None, arg)
                if found is not None:
                    return found
    return None


def secret_sent(model: ModuleModel, param: str | None, value: ast.expr, scope: Scope, depth: int = 0) -> str | None:
    """`secret_argument`, and the secrets inside what a local variable holds: a dict or tuple
    built in the sending function (`log = {'key': api_key}`), or what a function of this module
    returns (`settings = get_settings(request)` that returns `url, user, password`)."""
    if isinstance(value, ast.Name):  # `on_commit(lambda token=media.friendly_token: ...)`
        value = _lambda_default(value, scope) or value
    found = secret_argument(param, value) if depth == 0 else secret_inside(value)
    if found is not None or depth > _MAX_DEPTH:
        return found
    if isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values, strict=True):
            if key is None:  # `{**log_data, ...}`
                found = secret_sent(model, None, item, scope, depth + 1)
                if found is not None:
                    return found
        return None
    if isinstance(value, (ast.Tuple, ast.List)):
        return next(filter(None, (secret_sent(model, None, item, scope, depth + 1) for item in value.elts)), None)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        function = _local_function(model, value.func.id, scope)
        if function is None:
            return None
        inner = model.scope_of(function)
        returns = [node.value for node in own_nodes(function) if isinstance(node, ast.Return) and node.value]
        return next(filter(None, (secret_sent(model, None, item, inner, depth + 1) for item in returns)), None)
    if not isinstance(value, ast.Name):
        return None
    found_binding = model.lookup(value.id, scope)
    if found_binding is None or found_binding[1] is model.module_scope or len(found_binding[0]) != 1:
        return None  # a parameter, a module constant, or a name bound more than once
    binding = found_binding[0][0]
    if not isinstance(binding, (ast.Dict, ast.Tuple, ast.List, ast.Call)) or isinstance(
        getattr(binding, "ctx", None), ast.Store
    ):
        return None  # an unpacking target (`uid, token = ...`) hides which part the name gets
    return secret_sent(model, None, binding, found_binding[1], depth + 1)


def _local_function(model: ModuleModel, name: str, scope: Scope) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    found = model.lookup(name, scope)
    if found is None or len(found[0]) != 1:
        return None
    binding = found[0][0]
    return binding if isinstance(binding, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def _lambda_default(name: ast.Name, scope: Scope) -> ast.expr | None:
    """The default of the lambda parameter `name` reads, when it is one: the value it holds."""
    if scope.node is None:
        return None
    for node in ast.walk(scope.node):
        if not isinstance(node, ast.Lambda) or not _inside(name, node.body):
            continue
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        pairs = [
            *zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True),
            *zip(args.kwonlyargs, args.kw_defaults, strict=True),
        ]
        for arg, default in pairs:
            if arg.arg == name.id and default is not None:
                return default
    return None


def _inside(node: ast.expr, outer: ast.expr) -> bool:
    start, end = (outer.lineno, outer.col_offset), (outer.end_lineno or outer.lineno, outer.end_col_offset or 0)
    return start <= (node.lineno, node.col_offset) and (node.end_lineno or node.lineno, node.end_col_offset or 0) <= end
