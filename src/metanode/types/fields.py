"""Field checks shared by every decoder of this package: one guard per rule, each naming the
field, so that a malformed object is refused with the same message wherever it appears."""

from __future__ import annotations

from typing import Any

from metanode.errors import DecodeError
from metanode.types import constants


def expect_array(value: Any, name: str, length: int | tuple[int, ...]) -> tuple[Any, ...]:
    if not isinstance(value, tuple):
        raise DecodeError("wrong_type", f"{name} must be an array, got {type(value).__name__}")
    allowed = (length,) if isinstance(length, int) else length
    if len(value) not in allowed:
        raise DecodeError("wrong_length", f"{name} has {len(value)} fields, expected {allowed}")
    return value


def expect_version(value: Any, name: str) -> None:
    if type(value) is not int or value != constants.version:
        raise DecodeError("unknown_version", f"{name} version {value!r}, expected 1")


def expect_uint(value: Any, name: str, maximum: int = constants.uint64_max) -> int:
    if type(value) is not int:
        raise DecodeError("wrong_type", f"{name} must be an integer, got {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise DecodeError("out_of_range", f"{name} = {value} is outside 0..{maximum}")
    return value


def expect_bytes(
    value: Any, name: str, length: int | None = None, maximum: int | None = None
) -> bytes:
    if type(value) is not bytes:
        raise DecodeError("wrong_type", f"{name} must be a byte string, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise DecodeError("wrong_length", f"{name} is {len(value)} bytes, expected {length}")
    if maximum is not None and len(value) > maximum:
        raise DecodeError("too_long", f"{name} is {len(value)} bytes, at most {maximum}")
    return value


def expect_text(value: Any, name: str, maximum: int) -> str:
    if type(value) is not str:
        raise DecodeError("wrong_type", f"{name} must be a text string, got {type(value).__name__}")
    if len(value.encode("utf-8")) > maximum:
        raise DecodeError("too_long", f"{name} is longer than {maximum} bytes")
    return value


def expect_bool(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise DecodeError("wrong_type", f"{name} must be a boolean, got {type(value).__name__}")
    return value
