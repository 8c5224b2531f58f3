"""HTTP requests that read: what a getter sends to get its answer creates nothing remotely.

Many APIs take questions by POST: an RPC-style service (`IncidentsService.GetIncident`), a
converter (`/api/convert-to-markdown`), a search with a body. Sending such a request again on a
retry asks the same question twice; nothing anyone sees is created. The function says which it
is: its name starts with a verb that reads or computes (`get_incident`, `convert_to_markdown`,
`search_users`) and has no word that creates, sends or changes (`get_or_create_user`,
`fetch_and_notify`), and it returns what the call gave back. The HTTP requests it makes on the
lines of such calls, itself or through the functions it calls there, are reads. A getter that
returns nothing of the answer, or a name that says nothing, stays a sender.

API:
- `read_lines(func) -> frozenset[int]`: the lines of the calls whose result a function whose name
  reads returns; empty for any other function.
- `is_request(what) -> bool`: whether what a call creates (`side_effects.creates`) is an HTTP
  request, which a read line makes a read.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache

from jobs_lint.semantic.syntax import own_nodes

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

# What `side_effects` says an HTTP request creates (its messages name them so).
HTTP_POST = "an HTTP POST"
HTTP_REQUEST = "an HTTP request"
_REQUESTS = frozenset({HTTP_POST, HTTP_REQUEST})
# First words of a name that asks for something back without changing it.
_READING = frozenset(
    {
        "get",
        "fetch",
        "read",
        "list",
        "search",
        "query",
        "find",
        "lookup",
        "retrieve",
        "load",
        "convert",
        "render",
        "validate",
        "preview",
        "parse",
        "extract",
    }
)
# Words anywhere in a name that say it also creates, sends or changes something, or does two
# things (`fetch_and_store`, `get_or_create`): its requests are not reads.
_WRITING = frozenset(
    {
        "create",
        "send",
        "post",
        "submit",
        "add",
        "insert",
        "notify",
        "publish",
        "push",
        "charge",
        "pay",
        "refund",
        "enqueue",
        "dispatch",
        "trigger",
        "emit",
        "upload",
        "save",
        "store",
        "write",
        "register",
        "invite",
        "declare",
        "open",
        "place",
        "book",
        "transfer",
        "deliver",
        "mail",
        "email",
        "sms",
        "message",
        "alert",
        "sync",
        "update",
        "upsert",
        "delete",
        "remove",
        "set",
        "put",
        "mark",
        "record",
        "ensure",
        "and",
        "or",
    }
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def is_request(what: str) -> bool:
    return what in _REQUESTS


def read_lines(func: FunctionNode) -> frozenset[int]:
    """The lines of the calls whose result `func` returns (read back through the names it
    assigns), when its name says it reads."""
    if not _reads(func.name):
        return frozenset()
    assigned: dict[str, list[ast.expr]] = {}
    pending: list[ast.expr] = []
    for node in own_nodes(func):
        if isinstance(node, ast.Return) and node.value is not None:
            pending.append(node.value)
        for target, value in _bindings(node):
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    assigned.setdefault(name.id, []).append(value)
    lines: set[int] = set()
    seen: set[str] = set()
    while pending:
        for node in ast.walk(pending.pop()):
            if isinstance(node, ast.Call):
                lines.add(node.lineno)
            elif isinstance(node, ast.Name) and node.id not in seen:
                seen.add(node.id)
                pending.extend(assigned.get(node.id, ()))
    return frozenset(lines)


def _bindings(node: ast.AST) -> list[tuple[ast.expr, ast.expr]]:
    """(target, value) of an assignment, a walrus or a `with ... as` item."""
    if isinstance(node, ast.Assign):
        return [(target, node.value) for target in node.targets]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value is not None:
        return [(node.target, node.value)]
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return [(node.optional_vars, node.context_expr)]
    return []


@lru_cache(maxsize=4096)
def _reads(name: str) -> bool:
    words = [word.lower() for word in _WORD.findall(name)]
    return bool(words) and words[0] in _READING and not _WRITING.intersection(words)
