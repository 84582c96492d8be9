"""The dashboard's in-browser verifier (dashboard/src/verify.ts) against blocks, certificates and
validator sets the Python side makes with real BLS keys: what the node accepts it accepts, and
every alteration a server could make is refused with its reason. The cases are made here and
checked by vitest under node (dashboard/src/verify.test.ts)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import cbor2
import pytest

from metanode.api.app import block_view
from metanode.codec import encode, tags
from metanode.crypto import bls, ed25519, merkle
from metanode.crypto.hashing import tagged_hash
from metanode.state import tree
from metanode.state.bank import keys as bank_keys
from metanode.state.bank.accounts import decode_account
from metanode.types import Address, Block, Denom, Transaction, Transfer

from .chain import CHAIN_ID, Chain, certify, make_chain

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
COIN = 10**9


def _verified(*heights: int) -> list[str]:
    return [f"verified {height}" for height in heights]


def _altered(chain: Chain, index: int, **fields: Any) -> Block:
    block = chain.blocks[index]
    return Block(dataclasses.replace(block.header, **fields), block.txs, (), block.last_certificate)


def _view(block: Block, certificate: Any) -> dict[str, Any]:
    return block_view(block, certificate).model_dump(mode="json")


def cases() -> list[dict[str, Any]]:
    chain = make_chain()
    views = chain.block_views()
    good_set = chain.set_view(1)
    found: list[dict[str, Any]] = []

    def case(name: str, order: list[int], expect: list[str], **server: Any) -> None:
        blocks = server.get("blocks", views)
        found.append(
            {
                "name": name,
                "blocks": {str(b["height"]): b for b in blocks},
                "set": server.get("set", good_set),
                "order": order,
                "expect": expect,
            }
        )

    case("a chain followed forward from its first block", [1, 2, 3], _verified(1, 2, 3))
    case("a chain followed back from its newest block", [3, 2, 1], _verified(3, 2, 1))
    case("a gap bridged by fetching the blocks between", [1, 3], _verified(1, 3))

    tampered = dict(views[1], state_root="00" * 32)
    case(
        "a header altered under its real hash",
        [1, 2],
        [*_verified(1), "the header does not hash to the block hash the server gave"],
        blocks=[views[0], tampered, views[2]],
    )

    forged = _altered(chain, 1, state_root=bytes(32))
    case(
        "a forged header with its own hash and the real certificate",
        [1, 2],
        [*_verified(1), "the certificate is for another block"],
        blocks=[views[0], _view(forged, chain.certificates[1]), views[2]],
    )
    relabelled = dataclasses.replace(chain.certificates[1], block_hash=forged.hash())
    case(
        "a forged header with the certificate relabelled to it",
        [1, 2],
        [*_verified(1), "the aggregate commit signature does not verify"],
        blocks=[views[0], _view(forged, relabelled), views[2]],
    )

    fork = _altered(chain, 1, previous_hash=bytes(32))
    case(
        "a block that a quorum signed but that does not follow the verified parent",
        [1, 2],
        [*_verified(1), "the header does not follow the verified previous block"],
        blocks=[
            views[0],
            _view(fork, certify(chain.keys, chain.validators, fork.hash(), 2, [0, 1, 2])),
            views[2],
        ],
    )

    block = chain.blocks[0]
    basic = certify(chain.keys, chain.validators, block.hash(), 1, [0, 1, 2], bls.BASIC_DST)
    case(
        "seals made with the basic scheme's DST",
        [1],
        ["the aggregate commit signature does not verify"],
        blocks=[_view(block, basic)],
    )
    short = certify(chain.keys, chain.validators, block.hash(), 1, [0, 1])
    case(
        "two of four equal signers",
        [1],
        ["signers hold 20 of 40 power, below the quorum"],
        blocks=[_view(block, short)],
    )

    swapped = json.loads(json.dumps(good_set))
    stranger = bls.PrivateKey.keygen(bytes(32))
    swapped["validators"][3]["bls_public_key"] = stranger.public_key.hex()
    case(
        "a validator set with one BLS key swapped",
        [1],
        ["the validator set the server gave does not hash to the header's"],
        set=swapped,
    )
    return found


def signatures() -> list[dict[str, Any]]:
    """Single signatures, as the Python side judges them, for the TypeScript side to agree."""
    key = bls.PrivateKey.keygen(bytes(range(32)))
    other = bls.PrivateKey.keygen(bytes(range(1, 33)))
    message = b"metanode dashboard"
    made = [
        (key.public_key, message, key.sign(message)),
        (key.public_key, message + b"!", key.sign(message)),
        (other.public_key, message, key.sign(message)),
        (key.public_key, message, key.sign(message, bls.BASIC_DST)),
    ]
    found = []
    for public_key, signed, signature in made:
        try:
            bls.verify(public_key, signed, signature)
            valid = True
        except Exception:
            valid = False
        found.append(
            {
                "public_key": public_key.hex(),
                "message": signed.hex(),
                "signature": signature.hex(),
                "valid": valid,
            }
        )
    assert [item["valid"] for item in found] == [True, False, False, False]
    return found


def transactions() -> list[dict[str, Any]]:
    """Signed transfers as the node encodes them, and alterations the page must refuse."""
    key = ed25519.PrivateKey.from_seed(bytes(range(32)))
    other = ed25519.PrivateKey.from_seed(bytes(range(1, 33)))
    to = Address.from_public_key(other.public_key)
    unsigned = Transaction(CHAIN_ID, key.public_key, 7, 1_000, 10_000, Transfer(to, 5, Denom.FLX))
    signed = unsigned.with_signature(key.sign(unsigned.signing_message()))
    wrong_key = unsigned.with_signature(other.sign(unsigned.signing_message()))
    raw = signed.encode()
    flipped = raw[:-1] + bytes([raw[-1] ^ 1])
    checked = "Ed25519 signature checked"
    return [
        {"raw": raw.hex(), "hash": signed.hash().hex(), "expect": checked},
        {"raw": raw.hex(), "hash": wrong_key.hash().hex(), "expect": _NOT_HASH},
        {"raw": flipped.hex(), "hash": tagged_hash(tags.TX, flipped).hex(), "expect": _BAD_SIG},
        {"raw": wrong_key.encode().hex(), "hash": wrong_key.hash().hex(), "expect": _BAD_SIG},
    ]


_NOT_HASH = "the transaction's bytes do not hash to its hash"
_BAD_SIG = "the transaction's Ed25519 signature does not verify"


def inclusions() -> list[dict[str, Any]]:
    """RFC 6962 paths the node makes for transactions in blocks of several sizes."""
    found = []
    for size in (1, 2, 5, 8, 13):
        leaves = [hashlib.sha256(bytes([size, i])).digest() for i in range(size)]
        root = merkle.root_from_leaf_hashes(leaves)
        for index in {0, size // 2, size - 1}:
            path = [item.hex() for item in merkle.inclusion_proof(leaves, index)]
            case = {"leaf": leaves[index].hex(), "index": index, "size": size, "path": path}
            found.append({**case, "root": root.hex(), "valid": True})
            found.append({**case, "root": hashlib.sha256(root).hexdigest(), "valid": False})
            if size > 1:
                found.append(
                    {**case, "index": (index + 1) % size, "root": root.hex(), "valid": False}
                )
    return found


def accounts() -> list[dict[str, Any]]:
    """Accounts with the node's state proofs from a real state tree, and alterations."""
    people = [Address.from_public_key(hashlib.sha256(bytes([i])).digest()) for i in range(40)]
    records = {
        person: encode([i, 10 * COIN, 0, 5 * COIN + i, 0]) for i, person in enumerate(people[:30])
    }
    for person, value in records.items():
        assert decode_account(value, bank_keys.account(person)).nonce >= 0
    nodes = tree.MemoryNodes()
    update = tree.update(nodes, None, 1, [(bank_keys.account(p), v) for p, v in records.items()])
    nodes.apply(update)
    root = update.root.hex()

    def view(person: Address, value: bytes | None, key: bytes | None = None) -> dict[str, Any]:
        fields = [0] * 5 if value is None else list(cbor2.loads(value))
        state_key = key or bank_keys.account(person)
        return {
            "address": str(person),
            "nonce": fields[0],
            "balances": dict(zip(("GEN", "NEX", "FLX", "AUR"), fields[1:], strict=True)),
            "proof": {
                "height": 1,
                "state_root": root,
                "key": bank_keys.account(person).hex(),
                "value": None if value is None else value.hex(),
                "proof": tree.prove(nodes, update.root, state_key).hex(),
            },
        }

    present, absent, other = people[3], people[35], people[4]
    altered_balance = view(present, records[present])
    altered_balance["balances"]["FLX"] += 1
    altered_record = encode([3, 10 * COIN, 0, 500 * COIN, 0])
    forged = view(present, altered_record)
    forged["balances"]["FLX"] = 500 * COIN
    other_key = view(other, records[other])
    other_key["address"] = str(present)
    wrong_root = view(present, records[present])
    wrong_root["proof"]["state_root"] = hashlib.sha256(b"another root").hexdigest()
    return [
        {"account": view(present, records[present]), "root": root, "expect": "verified"},
        {"account": view(absent, None), "root": root, "expect": "verified"},
        {"account": view(present, records[present]), "root": "00" * 32, "expect": _OTHER_ROOT},
        {
            "account": altered_balance,
            "root": root,
            "expect": "the FLX balance shown differs from the proven record",
        },
        {
            "account": forged,
            "root": root,
            "expect": "the account's record differs from the one the proof holds",
        },
        {"account": other_key, "root": root, "expect": "the proof is for another key"},
        {
            "account": wrong_root,
            "root": wrong_root["proof"]["state_root"],
            "expect": "the state proof does not lead to the root",
        },
        {
            "account": view(absent, records[present]),
            "root": root,
            "expect": "the proof shows the account is absent",
        },
    ]


_OTHER_ROOT = "the proof is for another state root than block #1's"


def test_the_browser_verifier_agrees_with_the_node(tmp_path: Path) -> None:
    vitest = DASHBOARD / "node_modules" / ".bin" / "vitest"
    if not vitest.exists():
        pytest.fail("dashboard/node_modules is missing: run `make setup` (it runs `npm ci`)")
    fixture = tmp_path / "verify-cases.json"
    fixture.write_text(
        json.dumps(
            {
                "cases": cases(),
                "signatures": signatures(),
                "transactions": transactions(),
                "inclusions": inclusions(),
                "accounts": accounts(),
            }
        )
    )
    done = subprocess.run(
        [str(vitest), "run", "--reporter=verbose", "src/verify.test.ts"],
        cwd=DASHBOARD,
        env={**os.environ, "METANODE_VERIFY_FIXTURE": str(fixture), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "account 7: the proof shows the account is absent" in done.stdout
