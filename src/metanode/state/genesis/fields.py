"""Field readers shared by the genesis loaders: each checks one value and raises a
`ConfigError` whose message starts with the field's path."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, TypeVar

from metanode.errors import ConfigError, DecodeError
from metanode.state import constants
from metanode.types import Address


def fail(path: str, problem: str) -> ConfigError:
    return ConfigError(f"genesis: {path}: {problem}")


def table(value: Any, path: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(path, f"must be a table/object, got {type(value).__name__}")
    for name in value:
        if name not in allowed:
            raise fail(f"{path}.{name}" if path else str(name), "unknown field")
    for name in sorted(required):
        if name not in value:
            raise fail(f"{path}.{name}" if path else name, "missing")
    return value


def listed(value: Any, path: str, maximum: int) -> list[Any]:
    if not isinstance(value, list):
        raise fail(path, f"must be a list, got {type(value).__name__}")
    if len(value) > maximum:
        raise fail(path, f"has {len(value)} entries, at most {maximum}")
    return value


def uint(value: Any, path: str, maximum: int = constants.uint64_max) -> int:
    """An integer, or a string of decimal digits (JSON and TOML cannot all carry uint64)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if type(value) is not int:
        raise fail(path, f"must be a non-negative integer (base units), got {value!r}")
    if not 0 <= value <= maximum:
        raise fail(path, f"{value} is outside 0..{maximum}")
    return value


def boolean(value: Any, path: str) -> bool:
    if type(value) is not bool:
        raise fail(path, f"must be true or false, got {value!r}")
    return value


def hex_bytes(value: Any, path: str, length: int) -> bytes:
    if not isinstance(value, str):
        raise fail(path, f"must be a hex string of {length} bytes")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise fail(path, f"is not hex: {value[:40]!r}") from None
    if len(raw) != length:
        raise fail(path, f"is {len(raw)} bytes, expected {length}")
    return raw


def address(value: Any, path: str) -> Address:
    try:
        return Address.parse(value)
    except DecodeError as error:
        raise fail(path, f"not an address: {error.detail}") from None


# Enums are written by their lower-case names.
def name(member: Any) -> str:
    return str(member.name.lower())


def enum_member(kind: Any, value: Any, path: str) -> Any:
    names = {name(member): member for member in kind}
    if value not in names:
        raise fail(path, f"must be one of {', '.join(names)}, got {value!r}")
    return names[value]


class _Ranged(Protocol):
    RANGES: ClassVar[dict[str, tuple[int, int]]]

    def __init__(self, **values: int) -> None: ...


P = TypeVar("P", bound=_Ranged)


def ranged_params(kind: type[P], value: Any, path: str) -> P:
    """A module's integer parameters (`kind`, with its `RANGES`): each field from the table or
    its default, checked against its range."""
    ranges = kind.RANGES
    tree = table(value, path, set(ranges), set())
    values = {}
    for item, (low, high) in ranges.items():
        values[item] = uint(tree.get(item, getattr(kind(), item)), f"{path}.{item}", high)
        if values[item] < low:
            raise fail(f"{path}.{item}", f"must be at least {low}")
    return kind(**values)
