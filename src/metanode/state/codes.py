"""Result codes: the one registry of every expected failure a transaction can end with.

Rules:
- A code is stored in receipts, so its number and name are stable forever: never renumber,
  never reuse a retired number. `tests/state/test_codes.py` pins the whole table.
- Each module owns a range of 100 numbers and registers its codes in its own `errors.py`
  (`register("bank", 2, "insufficient_funds")` → 202). `OK` (0) is the only shared code.
- Codes of the `auth` range end the guard ladder: a transaction that earns one is never in a
  block. Codes of the other ranges are message-rule failures: the fee is paid, the nonce
  bumped, nothing else changes.

`all_codes()` imports every module's `errors.py`, so the table it returns is complete.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from metanode.errors import check

OK = 0

# The first number of each module's range; a module's codes are base + 1 … base + 99.
MODULE_BASES: dict[str, int] = {
    "auth": 100,
    "bank": 200,
    "staking": 300,
    "faucet": 400,
    "registry": 500,
    "identity": 600,
    "governance": 700,
    "apps": 800,
    "notary": 900,
    "court": 1200,
    "shadow": 1500,
    "policy": 1400,
    "privacy": 1600,
    "storage": 1300,
    "keys": 1700,
}
MODULE_CODES_MAX = 99


@dataclass(frozen=True, slots=True)
class Code:
    number: int
    module: str
    name: str

    @property
    def qualified_name(self) -> str:
        return f"{self.module}.{self.name}"


_REGISTRY: dict[int, Code] = {OK: Code(OK, "", "ok")}


def register(module: str, offset: int, name: str) -> int:
    """Register `module`'s code number `offset` under `name`; return its number."""
    check(module in MODULE_BASES, f"module {module!r} has no code range in MODULE_BASES")
    check(1 <= offset <= MODULE_CODES_MAX, f"{module}.{name}: offset {offset} outside 1..99")
    number = MODULE_BASES[module] + offset
    existing = _REGISTRY.get(number)
    if existing is not None:
        check(
            existing == Code(number, module, name),
            f"code {number} registered twice: {existing.qualified_name} and {module}.{name}",
        )
        return number
    names = {code.name for code in _REGISTRY.values() if code.module == module}
    check(name not in names, f"{module}.{name} registered under two numbers")
    _REGISTRY[number] = Code(number, module, name)
    return number


def all_codes() -> dict[int, Code]:
    """Every registered code, by number (imports each module's errors.py first)."""
    for module in MODULE_BASES:
        importlib.import_module(f"metanode.state.{module}.errors")
    return dict(sorted(_REGISTRY.items()))


def name_of(number: int) -> str:
    """`bank.insufficient_funds` for 202; `unknown(…)` for a number nobody registered."""
    code = all_codes().get(number)
    return (
        code.qualified_name
        if code is not None and code.module
        else ("ok" if number == OK else f"unknown({number})")
    )


def is_auth_code(number: int) -> bool:
    base = MODULE_BASES["auth"]
    return base < number <= base + MODULE_CODES_MAX
