"""Names a fix can write: the one already bound to an object, or a new import that shadows nothing."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope


def name_for(model: ModuleModel, path: str, scope: Scope) -> str | None:
    """A module-level name that means `path` where `scope` sees it (`wf` after
    `from temporalio import workflow as wf`)."""
    for name in model.module_scope.bindings:
        if model.qualname(ast.Name(id=name), scope) == path:
            return name
    return None


def is_free(model: ModuleModel, name: str, scope: Scope) -> bool:
    """Whether `name`, imported at module level, would be seen as that import from `scope`."""
    return (
        name not in model.module_scope.bindings
        and not model.scopes.star_imports
        and model.qualname(ast.Name(id=name), scope) == name
    )
