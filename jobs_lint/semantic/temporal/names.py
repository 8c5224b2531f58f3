"""The Temporal SDK's names the linter knows, by their public path."""

from __future__ import annotations

FACTS_KEY = "temporal"  # the key of these facts in `ModuleFacts.extra`

WORKFLOW = "temporalio.workflow"
WORKFLOW_DEFN = "temporalio.workflow.defn"
ACTIVITY_DEFN = "temporalio.activity.defn"
CLIENT = "temporalio.client.Client"
# `with workflow.unsafe.sandbox_unrestricted():` marks code its author knows the sandbox rejects.
UNRESTRICTED = "temporalio.workflow.unsafe.sandbox_unrestricted"
# Decorators of workflow methods -> the kind of method they make.
HANDLER_DECORATORS = {
    "temporalio.workflow.run": "run",
    "temporalio.workflow.signal": "signal",
    "temporalio.workflow.query": "query",
    "temporalio.workflow.update": "update",
    "temporalio.workflow.init": "init",
}
# `workflow.<name>(...)` that schedules an activity -> whether it is a local activity.
ACTIVITY_FUNCTIONS = {
    f"{verb}_{local}activity{variant}": bool(local)
    for verb in ("execute", "start")
    for local in ("", "local_")
    for variant in ("", "_method", "_class")
}
# Client methods that run an activity outside any workflow.
STANDALONE_ACTIVITY_METHODS = frozenset({"execute_activity", "start_activity"})
# Client methods and constructors that start a workflow.
START_METHODS = frozenset({"start_workflow", "execute_workflow"})
START_OPERATION = "temporalio.client.WithStartWorkflowOperation"
# What returns a connected client, besides `Client(...)` itself.
CLIENT_FACTORIES = frozenset({"temporalio.client.Client.connect", "temporalio.activity.client"})
TEST_ENVIRONMENTS = frozenset(
    {
        "temporalio.testing.WorkflowEnvironment.start_local",
        "temporalio.testing.WorkflowEnvironment.start_time_skipping",
        "temporalio.testing.WorkflowEnvironment.from_client",
    }
)


def public(path: str | None) -> str | None:
    """The public path of a Temporal SDK name: linting the SDK itself resolves
    `temporalio.workflow.defn` to where it is defined (`temporalio.workflow._definition.defn`)."""
    if path is None or not path.startswith("temporalio.") or "._" not in path:
        return path
    head, *middle, last = path.split(".")
    return ".".join([head, *(part for part in middle if not part.startswith("_")), last])
