from __future__ import annotations

import ast
import logging

from jobs_lint import edits
from jobs_lint.diagnostics import Applicability, Edit, Fix
from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid

LOGGERS = frozenset({"temporalio.workflow.logger", "temporalio.activity.logger", "temporalio.nexus.logger"})
METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"})
ACCEPTED = frozenset({"exc_info", "stack_info", "stacklevel", "extra"})
# Keys `extra` may not hold: logging raises KeyError rather than overwrite a record's attribute.
RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class LoggerKeywordArguments(Rule):
    """
    ## What it does
    Finds calls to Temporal's `workflow.logger`, `activity.logger` and `nexus.logger`
    (`.info(...)`, `.warning(...)`, `.log(...)` and the other levels) with keyword arguments
    other than `exc_info`, `stack_info`, `stacklevel` and `extra`, the only ones the standard
    library's logging accepts.

    ## Why is this bad?
    These loggers are `logging.LoggerAdapter`s, not structured loggers: `logger.info("paid",
    order_id=order.id)` raises `TypeError: Logger._log() got an unexpected keyword argument`. In a
    workflow that fails the workflow task, which Temporal retries until the code is fixed, so the
    workflow is stuck; in an activity it fails the attempt. The error only appears when the level
    is enabled (and, for the workflow logger, not while replaying), so a `debug` call can pass
    every test and break the day someone turns debug logging on.

    Put the fields in `extra={...}` (the adapters merge it with their own workflow and activity
    details) or in the message.

    ## Fix safety
    The fix moves the keywords into `extra={...}` when the call has no `extra` and no `**`
    arguments, and no key clashes with a `LogRecord` attribute (`name`, `msg`, ...), which
    logging refuses. It is unsafe: the fields become record attributes, which a plain text
    formatter does not print, so a message that relied on them being shown loses them.
    """

    code = "JL411"
    name = "logger-keyword-arguments"
    summary = "A Temporal logger is called with keyword arguments logging does not accept"
    needles = (needles.TEMPORAL, (b"logger",))
    fix = Applicability.UNSAFE

    invalid = (
        Invalid(
            "from temporalio import activity\n\n"
            "@activity.defn\nasync def charge(order_id: str) -> None:\n"
            "    activity.logger.info('charging', order_id=order_id)\n",
            fixed="from temporalio import activity\n\n"
            "@activity.defn\nasync def charge(order_id: str) -> None:\n"
            "    activity.logger.info('charging', extra={'order_id': order_id})\n",
            line=5,
            message="Logging accepts no keyword `order_id`",
        ),
        Invalid(
            "from temporalio import workflow\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self, order_id: str) -> None:\n"
            "        workflow.logger.debug('start %s', order_id, exc_info=False, try_=1, step='start')\n",
            fixed="from temporalio import workflow\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self, order_id: str) -> None:\n"
            "        workflow.logger.debug('start %s', order_id, exc_info=False, extra={'try_': 1, 'step': 'start'})\n",
            line=7,
            message="Logging accepts no keyword `try_`, `step`",
        ),
        Invalid(
            "from temporalio.workflow import logger as wf_logger\n\n"
            "def note(order_id):\n    wf_logger.warning('late', extra={'a': 1}, order_id=order_id)\n",
            line=4,
            message="Logging accepts no keyword `order_id`",
        ),
        Invalid(
            "import logging\nfrom temporalio import activity\n\n"
            "log = activity.logger\n\n"
            "def report(name):\n    log.log(logging.INFO, 'done', name=name)\n",
            line=7,
            message="Logging accepts no keyword `name`",
        ),
        Invalid(
            "import temporalio.workflow\n\n"
            "def fail(error):\n    temporalio.workflow.logger.exception('failed', error=error, exc_info=True)\n",
            line=4,
            message="Logging accepts no keyword `error`",
        ),
        Invalid(
            "from temporalio import nexus\n\ndef started(op):\n    nexus.logger.info('started', operation=op)\n",
            line=4,
            message="Logging accepts no keyword `operation`",
        ),
    )
    valid = (
        Valid(
            "from temporalio import activity\n\n"
            "@activity.defn\nasync def charge(order_id: str) -> None:\n"
            "    activity.logger.info('charging', extra={'order_id': order_id})\n"
        ),
        Valid(
            "from temporalio import workflow\n\n"
            "def fail():\n"
            "    workflow.logger.error('failed', exc_info=True, stack_info=True, stacklevel=2)\n"
        ),
        Valid(
            "import structlog\n\nlogger = structlog.get_logger()\n\n"
            "def charge(order_id):\n    logger.info('charging', order_id=order_id)\n"
        ),
        Valid(
            "import logging\nfrom temporalio import workflow\n\n"
            "logger = logging.getLogger(__name__)\n\n"
            "def note(fields):\n    workflow.logger.info('note', **fields)\n"
            "    logger.info('note', order_id=1)\n"
        ),
        Valid(
            "from temporalio import activity\n\n"
            "def configure(handler):\n    activity.logger.base_logger.addHandler(handler)\n"
            "    activity.logger.setLevel(level=10)\n"
        ),
        Valid(
            "from myapp import workflow\n\ndef note(order_id):\n    workflow.logger.info('note', order_id=order_id)\n"
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in METHODS and node.keywords):
            return
        unexpected = [kw for kw in node.keywords if kw.arg is not None and kw.arg not in ACCEPTED]
        if not unexpected or self.ctx.model.temporal.qualname(func.value, self.ctx.scope) not in LOGGERS:
            return
        names = ", ".join(f"`{kw.arg}`" for kw in unexpected)
        self.report(
            node,
            f"Logging accepts no keyword {names}: this call raises TypeError when the level is "
            "enabled; put the fields in `extra={...}`",
            self._fix(node, unexpected),
        )

    def _fix(self, node: ast.Call, unexpected: list[ast.keyword]) -> Fix | None:
        """Move the unexpected keywords, when they end the call, into a new `extra` dict."""
        keywords = node.keywords
        if (
            any(kw.arg in (None, "extra") for kw in keywords)
            or keywords[-len(unexpected) :] != unexpected
            or any(kw.arg in RESERVED for kw in unexpected)
            or any(_position(arg) > _position(unexpected[0]) for arg in node.args)  # f(k=1, *rest)
        ):
            return None
        source = self.ctx.source
        fields = ", ".join(f"{kw.arg!r}: {edits.text_of(source, kw.value)}" for kw in unexpected)
        first, last = edits.span(source, unexpected[0]), edits.span(source, unexpected[-1])
        edit = Edit(first[0], first[1], last[2], last[3], f"extra={{{fields}}}")
        return Fix("Move the fields into `extra`", (edit,), Applicability.UNSAFE)


def _position(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset  # type: ignore[attr-defined]
