"""What job messages carry, in any tool: the values that do not belong in one (`values.py`),
objects whose class holds bytes (`carriers.py`, `ModuleFacts.extra["fields"]`), names that hold
a credential (`secrets.py`), and the calls whose results a module sends
(`sent.py`, `ModuleFacts.extra["sent_calls"]`)."""

from __future__ import annotations

from jobs_lint.semantic.messages import carriers, sent
from jobs_lint.semantic.tools import Tool, register

register(Tool(carriers.FACTS_KEY, patterns=((b"bytes", carriers.NEEDLE),), facts=carriers.facts, words=(b"bytes",)))
register(Tool(sent.FACTS_KEY, needles=sent.SENDING_NEEDLES, facts=sent.sent_calls, words=sent.SENDING_NEEDLES))
