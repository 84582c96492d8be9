"""bank keys. Prefix 0x02 belongs to bank; a table byte, once used, is never reused.

    0x02 0x01 ‖ address(20)   → account  [nonce, gen, nex, flx, aur]
    0x02 0x02 ‖ denom(1)      → supply   [genesis, minted, burned]

The account record holds the nonce beside the balances: auth owns that field and changes it
only through `accounts.py`. One record per account means a transfer changes two leaves of the
state tree, not three or four (the tree's cost per block is per changed leaf).
"""

from __future__ import annotations

from metanode.types import Address, Denom

PREFIX = b"\x02"
ACCOUNT = PREFIX + b"\x01"
SUPPLY = PREFIX + b"\x02"


def account(address: Address) -> bytes:
    return ACCOUNT + address.raw


def supply(denom: Denom) -> bytes:
    return SUPPLY + bytes([denom])
