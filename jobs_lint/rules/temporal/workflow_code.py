"""What the rules about workflow code share: where workflow code is being visited."""

from __future__ import annotations

import ast
from functools import cached_property
from typing import TYPE_CHECKING

from jobs_lint.rules.base import Rule

if TYPE_CHECKING:
    from jobs_lint.checker import Context
    from jobs_lint.semantic.callgraph import Reach
    from jobs_lint.semantic.temporal.project import WorkflowInfo


class WorkflowCodeRule(Rule):
    """A rule about workflow code. `self.workflow()` is the workflow whose code is being visited;
    None outside workflow code and inside `workflow.unsafe.sandbox_unrestricted()` blocks, where
    the author has opted out on purpose."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._opted_out: list[int] = []

    def workflow(self) -> WorkflowInfo | None:
        if self._opted_out:
            return None
        return self.ctx.model.temporal.in_workflow(self.ctx.enclosing_defs)

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        if self.ctx.model.temporal.opts_out(node, self.ctx.scope):
            self._opted_out.append(id(node))

    def leave_With(self, node: ast.With | ast.AsyncWith) -> None:
        if self._opted_out and self._opted_out[-1] == id(node):
            self._opted_out.pop()

    def reached(self, call: ast.Call, kinds: frozenset[str]) -> Reach | None:
        """What a call in workflow code reaches through the functions it calls, in any module
        (`ModuleModel.reach_of`); None for calls to this module's workflow code, which the rule
        visits itself."""
        defs = self.ctx.enclosing_defs
        if not defs:
            return None
        reach = self.ctx.model.reach_of(call, defs[-1], kinds)
        return reach if reach is not None and reach.function not in self._visited else None

    def every_reach(self, reach: Reach, kinds: frozenset[str]) -> list[Reach]:
        """`reach` (the nearest effect a call leads to) and every other effect of `kinds` the
        function it calls reaches, in any module (`CallGraph.effects_reached`, bounded): each
        branch of a helper may read the clock in its own place. Paths through this module's
        workflow code are left out, as the rule visits that code itself."""
        found = [reach]
        seen = {(reach.hops[-1].path, reach.effect.line)}
        for other, _ in self.ctx.index.calls.effects_reached(reach.function, kinds):
            where = (other.hops[-1].path, other.effect.line)
            if where in seen or any(hop.qualname in self._visited for hop in other.hops):
                continue
            seen.add(where)
            found.append(other)
        return found

    @cached_property
    def _visited(self) -> frozenset[str]:
        model = self.ctx.model
        code = model.temporal.workflow_code
        return frozenset(
            name for node, _ in model.scopes.defs if id(node) in code and (name := model.function_qualname(node))
        )

    visit_AsyncWith = visit_With
    leave_AsyncWith = leave_With
