"""Names that hold a secret: a password, a token, an API key or a private key.

A message that carries one stores it in clear text wherever the message goes: a Celery broker,
its persistence files and result backend, monitoring tools, or a Temporal workflow's history.
"""

from __future__ import annotations

import ast

# Last words of a name that hold a secret (`db_password`, `stripe_api_key`).
_SECRET_WORDS = frozenset({"password", "passwd", "passphrase", "secret", "token", "apikey", "credentials"})
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key")})
_PUBLIC_TOKENS = frozenset(
    {"csrf", "page", "next", "continuation", "cancel", "cancellation", "device", "sync", "task", "idempotency"}
)


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
