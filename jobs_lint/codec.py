"""A data-only serialization for the cache and the index digest: JSON with type tags.

The cache lives in the project tree, so whoever controls the tree controls its bytes: reading it
must not be able to run code, as unpickling can. Values are JSON; what JSON lacks is written as a
one-key object whose key says the type (`{"(": [...]}` is a tuple). Objects decode only into the
classes of `_registry()`: jobs-lint's own dataclasses and enums, found by scanning its modules
once, so a class added to `jobs_lint/semantic/` or a tool's package in it can be cached with
nothing to register. A name in the file is looked up in that table; it is never imported.

Sets are written sorted, so equal values always give equal bytes (the index digest relies on it).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import importlib
import json
import pkgutil
from functools import lru_cache
from typing import Any, cast

# Modules whose dataclasses and enums may be cached, besides every module of jobs_lint.semantic.
_MODULES = ("jobs_lint.diagnostics", "jobs_lint.discovery", "jobs_lint.cache", "jobs_lint.semantic.values")


class DecodeError(ValueError):
    """The text is not something `dumps` wrote (corrupt, foreign or from another version)."""


def dumps(value: Any) -> str:
    return json.dumps(_encode(value), ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    try:
        return json.loads(text, object_hook=_decode_object)
    except DecodeError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        raise DecodeError(str(error) or type(error).__name__) from None


def loads_first(text: str) -> tuple[Any, int]:
    """The value `text` starts with, and where it ends (the cache reads an entry in parts)."""
    try:
        return _DECODER.raw_decode(text)
    except DecodeError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        raise DecodeError(str(error) or type(error).__name__) from None


@lru_cache(maxsize=1)
def _registry() -> dict[str, type]:
    """Tag -> class. A class's tag is its name, or `module.name` when two classes share a name."""
    import jobs_lint.semantic

    semantic = pkgutil.walk_packages(jobs_lint.semantic.__path__, prefix="jobs_lint.semantic.")
    modules = [*_MODULES, *(info.name for info in semantic)]
    found: list[type] = []
    for name in dict.fromkeys(modules):
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == name
                and ("__dataclass_fields__" in vars(value) or issubclass(value, enum.Enum))
            ):
                found.append(value)
    counts: dict[str, int] = {}
    for cls in found:
        counts[cls.__qualname__] = counts.get(cls.__qualname__, 0) + 1
    return {
        (cls.__qualname__ if counts[cls.__qualname__] == 1 else f"{cls.__module__}.{cls.__qualname__}"): cls
        for cls in found
    }


@lru_cache(maxsize=1)
def schema() -> str:
    """A digest of every cacheable class's fields and their types, and of every enum's members (a
    new kind of effect changes what a summary holds): a file written while they differed (an older
    jobs-lint in development) must not be read into the classes of today."""
    described = sorted(
        (
            tag,
            [(f.name, str(f.type)) for f in dataclasses.fields(cls)]
            if dataclasses.is_dataclass(cls)
            else [(member.name, repr(member.value)) for member in cast("type[enum.Enum]", cls)],
        )
        for tag, cls in _registry().items()
    )
    return hashlib.blake2b(repr(described).encode(), digest_size=8).hexdigest()


@lru_cache(maxsize=1)
def _tags() -> dict[type, tuple[str, tuple[str, ...] | None]]:
    """Class -> (tag, field names; None for an enum), for encoding. A subclass that is not a
    dataclass of its own (the cache's lazily decoded entry) is written as its dataclass."""
    tags: dict[type, tuple[str, tuple[str, ...] | None]] = {}
    for tag, cls in _registry().items():
        known = (tag, tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None)
        tags[cls] = known
        subclasses: list[type] = cls.__subclasses__() if known[1] is not None else []
        tags.update((sub, known) for sub in subclasses if "__dataclass_fields__" not in vars(sub))
    return tags


_ATOMS = frozenset({str, int, bool, float, type(None)})  # JSON's own: written as they are


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is list:
        return [item if type(item) in _ATOMS else _encode(item) for item in value]
    if kind is tuple:
        return {"(": [item if type(item) in _ATOMS else _encode(item) for item in value]}
    if kind is dict:
        return {"{": [_encode(part) for pair in value.items() for part in pair]}
    known = _tags().get(kind)
    if known is not None:
        tag, names = known
        if names is not None:
            return {"c": tag, "v": [_encode(getattr(value, name)) for name in names]}
        return {"e": tag, "v": _encode(value.value)}
    if kind is set or kind is frozenset:
        items = sorted((_encode(item) for item in value), key=_order)
        return {"s" if kind is set else "f": items}
    if kind is bytes:
        return {"b": value.decode("latin-1")}
    if kind is complex:
        return {"j": [value.real, value.imag]}
    if value is Ellipsis:
        return {".": 0}
    raise TypeError(f"{kind.__module__}.{kind.__qualname__} cannot be cached: not a jobs-lint dataclass or enum")


def _order(encoded: Any) -> str:
    return json.dumps(encoded, sort_keys=True, ensure_ascii=False)


def _decode_object(tagged: dict[str, Any]) -> Any:
    """Called by `json` for every object, innermost first, so parts are decoded already."""
    if len(tagged) == 1:
        [(tag, body)] = tagged.items()
        decode = _CONTAINERS.get(tag)
        if decode is not None:
            return decode(body)
    elif len(tagged) == 2:
        values: Any = tagged.get("v")
        name = tagged.get("c")
        if name is not None:
            cls = _registry().get(name)
            names = _tags()[cls][1] if cls is not None else None
            if names is not None:
                if len(names) != len(values):
                    raise DecodeError(f"{name} has {len(names)} fields, not {len(values)}")
                return cls(*values)  # type: ignore[misc]
        name = tagged.get("e")
        if name is not None:
            cls = _registry().get(name)
            if cls is not None and issubclass(cls, enum.Enum):
                return cls(values)
    raise DecodeError(f"unknown object {sorted(tagged)!r}"[:200])


def _pairs(flat: list[Any]) -> dict[Any, Any]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _ellipsis(_: Any) -> Any:
    return Ellipsis


_DECODER = json.JSONDecoder(object_hook=_decode_object)
_CONTAINERS: dict[str, Any] = {
    "(": tuple,
    "{": _pairs,
    "s": set,
    "f": frozenset,
    "b": lambda text: text.encode("latin-1"),
    "j": lambda parts: complex(*parts),
    ".": _ellipsis,
}
