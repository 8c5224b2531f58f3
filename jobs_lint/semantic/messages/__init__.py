"""What job messages carry, in any tool: the values that do not belong in one (`values.py`),
objects whose class holds bytes (`carriers.py`, `ModuleFacts.extra["fields"]`), names that hold
a credential (`secrets.py`), the calls whose results a module sends
(`sent.py`, `ModuleFacts.extra["sent_calls"]`), and the project functions that send their own
arguments (`forwarders.py`, `ModuleFacts.extra["forwarders"]`)."""

from __future__ import annotations

from jobs_lint.semantic.messages import carriers, forwarders, sent
from jobs_lint.semantic.tools import Tool, register

register(Tool(carriers.FACTS_KEY, patterns=((b"bytes", carriers.NEEDLE),), facts=carriers.facts, words=(b"bytes",)))
register(Tool(sent.FACTS_KEY, needles=sent.SENDING_NEEDLES, facts=sent.sent_calls, words=sent.SENDING_NEEDLES))
register(Tool(forwarders.FACTS_KEY, needles=sent.SENDING_NEEDLES, facts=forwarders.facts, words=sent.SENDING_NEEDLES))
