"""The Celery configuration one module writes: `app.conf` updates and assignments, app
constructor keywords, `config_from_object` sources, and settings modules and classes."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobs_lint.semantic import constants
from jobs_lint.semantic.celery import names
from jobs_lint.semantic.scope import Imported, Scope
from jobs_lint.semantic.values import string_value

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    key: str  # the lowercase setting name (`task_serializer`)
    value: Any  # its literal value, or UNKNOWN
    node: ast.expr  # where the value is written


class ConfigReader:
    """Finds configuration wherever it is written (see `CeleryModule.config`)."""

    def __init__(self, model: ModuleModel) -> None:
        self.model = model
        self.entries: list[ConfigEntry] = []
        self.maybe: list[ConfigEntry] = []
        self.sources: list[str] = []
        self.opaque = False
        self.namespaced_classes: set[int] = set()  # classes whose CELERY_ attributes were read

    def read(self) -> None:
        for node, scope in self.model.scopes.defs:
            if isinstance(node, ast.ClassDef) and scope.node is None:
                self.namespaced_class_settings(node)
        for call, scope in self.model.scopes.statement_calls:
            self.call(call, scope)
        for target, value, scope in self.model.scopes.item_assignments:
            self.assignment(target, value, scope)
        for name, bindings in self.model.module_scope.bindings.items():
            bound = bindings[-1]
            if not isinstance(bound, ast.expr):
                continue
            key = names.setting_name(name, namespaced=True)
            if key is not None:
                self.entries.append(ConfigEntry(key, self.value(bound, None), bound))
            elif names.setting_name(name, namespaced=False) is not None:
                self.maybe.append(ConfigEntry(name, self.value(bound, None), bound))

    def call(self, call: ast.Call, scope: Scope) -> None:
        model = self.model
        path = model.qualname(call.func, scope)
        if path == names.APP_CLASS or path in model.local_app_classes:
            self.keywords(call.keywords, scope, constructor=True)
            return
        func = call.func
        if not isinstance(func, ast.Attribute):
            return
        if func.attr == "update" and self._is_conf(func.value, scope):
            for arg in call.args:
                self.mapping(arg, scope)
            self.keywords(call.keywords, scope, constructor=False)
        elif func.attr in ("config_from_object", "config_from_envvar") and self._is_app(func.value, scope):
            self.source(call, scope)

    def keywords(self, keywords: list[ast.keyword], scope: Scope, *, constructor: bool) -> None:
        for keyword in keywords:
            if keyword.arg is None:
                self.opaque = True
                continue
            raw = keyword.arg
            if constructor:
                raw = {"broker": "broker_url", "backend": "result_backend"}.get(raw, raw)
            key = names.setting_name(raw, namespaced=False) or (raw if raw.islower() else None)
            if key is not None and not (constructor and key in _CONSTRUCTOR_ARGUMENTS):
                self.entries.append(ConfigEntry(key, self.value(keyword.value, scope), keyword.value))

    def mapping(self, node: ast.expr, scope: Scope) -> None:
        if not isinstance(node, ast.Dict):
            self.opaque = True
            return
        for key_node, value in zip(node.keys, node.values, strict=True):
            key = string_value(key_node)
            if key is None:
                self.opaque = True
                continue
            setting = names.setting_name(key, namespaced=False) or key
            self.entries.append(ConfigEntry(setting, self.value(value, scope), value))

    def assignment(self, target: ast.Attribute | ast.Subscript, value: ast.expr, scope: Scope) -> None:
        if isinstance(target, ast.Attribute) and self._is_conf(target.value, scope):
            key: str | None = target.attr
        elif isinstance(target, ast.Subscript) and self._is_conf(target.value, scope):
            key = string_value(target.slice)
        else:
            return
        if key is not None:
            setting = names.setting_name(key, namespaced=False) or key
            self.entries.append(ConfigEntry(setting, self.value(value, scope), value))

    def source(self, call: ast.Call, scope: Scope) -> None:
        target = call.args[0] if call.args else None
        text = string_value(target)
        if call.func.attr == "config_from_envvar" or target is None:  # type: ignore[attr-defined]
            self.opaque = True
        elif text is not None:
            if ":" not in text:  # "django.conf:settings" is read through its CELERY_ globals
                self.sources.append(text)
        elif isinstance(target, ast.Name):
            found = self.model.lookup(target.id, scope)
            binding = found[0][-1] if found else None
            if isinstance(binding, ast.ClassDef):
                self.class_settings(binding)
            elif isinstance(binding, Imported):
                self.sources.append(binding.qualname)
            else:
                self.opaque = True
        else:
            self.opaque = True

    def value(self, node: ast.expr, scope: Scope | None) -> Any:
        """A setting's value: literal, a `constants.Ref` to another module's global (resolved by
        the index), or UNKNOWN."""
        return constants.value_of(self.model, node, scope)

    def namespaced_class_settings(self, node: ast.ClassDef) -> None:
        """Django settings written as class attributes (django-configurations: `CELERY_X = ...`)."""
        self.namespaced_classes.add(id(node))
        scope = self.model.scope_of(node)
        for name, bindings in self.model.scope_of(node).bindings.items():
            value = bindings[-1]
            key = names.setting_name(name, namespaced=True) if name.startswith("CELERY") else None
            if key is not None and isinstance(value, ast.expr):
                self.entries.append(ConfigEntry(key, self.value(value, scope), value))

    def class_settings(self, node: ast.ClassDef) -> None:
        scope = self.model.scope_of(node)
        for name, bindings in self.model.scope_of(node).bindings.items():
            if id(node) in self.namespaced_classes and name.startswith("CELERY"):
                continue  # already read
            key = names.setting_name(name, namespaced=False)
            value = bindings[-1]
            if key is not None and isinstance(value, ast.expr):
                self.entries.append(ConfigEntry(key, self.value(value, scope), value))

    def _is_conf(self, node: ast.expr, scope: Scope) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "conf" and self._is_app(node.value, scope)

    def _is_app(self, node: ast.expr, scope: Scope) -> bool:
        """An app, or an object we cannot see in a module that uses Celery (`self.app`)."""
        from jobs_lint.semantic.model import Kind

        value = self.model.value_of(node, scope)
        if value is not None:
            return value.kind is Kind.APP
        return self.model.celery.imports_celery or self.model.index.uses_celery


# Keywords of `Celery(...)` that are not settings.
_CONSTRUCTOR_ARGUMENTS = frozenset(
    {
        "main",
        "loader",
        "amqp",
        "events",
        "log",
        "control",
        "set_as_current",
        "tasks",
        "include",
        "changes",
        "config_source",
        "fixups",
        "task_cls",
        "autofinalize",
        "namespace",
        "strict_typing",
    }
)
