"""Byte strings shared by rules' prefilters (see `Rule.needles`)."""

# Where a task can be defined or referred to.
TASKS = (b"task", b"Task")
# What produces a result or a canvas that can be waited on or composed.
RESULTS = (
    b"delay(",
    b"apply_async(",
    b"AsyncResult",
    b"GroupResult",
    b"send_task(",
    b"chain",
    b"group",
    b"chord",
    b"allow_join_result",
)
# Where Temporal workflows and activities are defined or scheduled.
TEMPORAL = (b"temporalio",)
