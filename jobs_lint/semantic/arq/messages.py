"""What `enqueue_job(...)` puts in an ARQ job."""

from __future__ import annotations

import ast

from jobs_lint.semantic.messages.sent import Message
from jobs_lint.semantic.values import string_value


def arq_job(call: ast.Call) -> Message | None:
    """`redis.enqueue_job('name', *args, _job_id=..., **kwargs)`: ARQ's own options start with `_`."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "enqueue_job" and call.args):
        return None
    name = string_value(call.args[0])
    if name is None:
        return None
    keywords = tuple((k.arg, k.value) for k in call.keywords if k.arg is not None and not k.arg.startswith("_"))
    return Message(f"enqueue_job('{name}')", tuple((None, value) for value in call.args[1:]) + keywords)
