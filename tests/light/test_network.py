"""The light client against a real node process, directly and through a malicious full node (a
real HTTP proxy that rewrites the node's answers): every proof of the gateway verifies, every
lie is rejected with its reason, the trusted block never moves on bad data, and a witness
that serves a conflicting header signed by the real validator's key is caught as a fork with
light-client attack evidence, which the node accepts and a later block slashes for."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from metanode.consensus.messages import commit_seal_message
from metanode.crypto import bls
from metanode.light.client import ForkDetected, LightClient
from metanode.light.fetcher import HttpSource
from metanode.light.reasons import Rejected, Rejection
from metanode.light.verifier import Verifier
from metanode.node import home as dev_home
from metanode.state.codes import OK
from metanode.types import Address, BlockHeader, Bond, CommitCertificate, LogLeaf, Transaction
from metanode.types.light_attack import LightAttackEvidence, LightAttackItem
from tests.cli.test_light_cli import light
from tests.node.cluster import Cluster, running
from tests.node.test_notary_api import commit_logblock

from .proxy import Proxy, serving


@dataclasses.dataclass
class Network:
    cluster: Cluster
    url: str
    bls_secret: bytes
    leaves: list[LogLeaf]
    tx: Transaction
    proxy: Proxy


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    home = Path(tmp_path_factory.mktemp("light")) / "net"
    with running(home, validators=1) as cluster:
        cluster.wait_height(1)
        validator, leaves, _, tx = commit_logblock(cluster)
        with serving(cluster.url("v0")) as proxy:
            yield Network(cluster, cluster.url("v0"), validator.bls_secret, leaves, tx, proxy)


@pytest.fixture
def liar(network: Network) -> Iterator[Proxy]:
    yield network.proxy
    network.proxy.rewrite = lambda path, status, body: (status, body)
    network.proxy.redirect = lambda path: path


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def trusting(network: Network, primary: str, witnesses: tuple[str, ...] = ()) -> LightClient:
    root = bytes.fromhex(network.cluster.block("v0", 1)["hash"])
    client = LightClient.initialise(
        Verifier(dev_home.DEV_CHAIN_ID), 1, root, HttpSource(network.url)
    )
    client.primary = HttpSource(primary)
    client.witnesses = [HttpSource(url) for url in witnesses]
    return client


def test_a_real_node_s_proofs_all_verify(network: Network) -> None:
    client = trusting(network, network.url)
    report = client.sync(now_ms())
    assert report.height > 1 and report.certificates_verified == 1
    tx, receipt, _, header = client.verify_tx(network.tx.hash(), now_ms())
    assert header.txs_root != bytes(32)
    assert tx == network.tx and receipt.code == OK
    sender = network.tx.sender_address
    assert client.verify_account(sender, now_ms())[0].value is not None
    assert client.verify_account(Address(b"\x07" * 20), now_ms())[0].value is None  # non-inclusion
    for leaf in network.leaves:
        logblock, _, _ = client.verify_receipt(leaf.receipt_hash, now_ms())
        assert leaf in logblock.leaves
    with pytest.raises(Rejected) as caught:
        client.verify_account(sender, now_ms(), height=1)
    assert caught.value.reason is Rejection.NOT_SERVED


def _header(body: dict[str, Any], **fields: object) -> None:
    header = BlockHeader.decode(bytes.fromhex(body["header"]))
    body["header"] = dataclasses.replace(header, **fields).encode().hex()  # type: ignore[arg-type]


def _certificate(body: dict[str, Any], **fields: object) -> None:
    certificate = CommitCertificate.decode(bytes.fromhex(body["certificate"]))
    body["certificate"] = dataclasses.replace(certificate, **fields).encode().hex()  # type: ignore[arg-type]


def _flip(text: str) -> str:
    return ("1" if text[0] == "0" else "0") + text[1:]


OTHER_KEY = bls.PrivateKey.keygen(b"\x05" * 32)
HEADER_LIES: dict[str, tuple[Callable[[dict[str, Any]], None], Rejection]] = {
    "forged_header": (lambda b: _header(b, state_root=b"\x01" * 32), Rejection.FORGED_HEADER),
    "too_little_power": (
        lambda b: _certificate(b, signer_bitmap=b"\x00"),
        Rejection.INSUFFICIENT_POWER,
    ),
    "bitmap_outside_set": (
        lambda b: _certificate(b, signer_bitmap=b"\x03"),
        Rejection.SIGNER_OUTSIDE_SET,
    ),
    "bad_signature": (
        lambda b: _certificate(b, aggregate_signature=OTHER_KEY.sign(b"another message")),
        Rejection.BAD_SIGNATURE,
    ),
    "forged_validator_set": (
        lambda b: b["validators"][0].update(bls_public_key=OTHER_KEY.public_key.hex()),
        Rejection.VALIDATOR_SET_MISMATCH,
    ),
    "stale_validator_power": (
        lambda b: b["validators"][0].update(power=b["validators"][0]["power"] + 1),
        Rejection.VALIDATOR_SET_MISMATCH,
    ),
    "undecodable_header": (lambda b: b.update(header="ff"), Rejection.MALFORMED),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HEADER_LIES))
def test_each_header_lie_is_rejected(network: Network, liar: Proxy, name: str) -> None:
    lie, reason = HEADER_LIES[name]

    def rewrite(path: str, status: int, body: Any) -> tuple[int, Any]:
        if path.startswith("/api/v1/proofs/header/"):
            lie(body)
        return status, body

    client = trusting(network, liar.url)
    liar.rewrite = rewrite
    before = client.trusted
    with pytest.raises(Rejected) as caught:
        client.sync(now_ms())
    assert caught.value.reason is reason, caught.value
    assert client.trusted is before


@pytest.mark.slow
def test_a_withheld_header_is_rejected(network: Network, liar: Proxy) -> None:
    client = trusting(network, liar.url)
    liar.rewrite = lambda path, status, body: (404, body) if "/header/" in path else (status, body)
    with pytest.raises(Rejected) as caught:
        client.sync(now_ms())
    assert caught.value.reason is Rejection.HEADER_WITHHELD
    assert client.trusted.height == 1


def _tx_path(body: dict[str, Any]) -> None:
    body["inclusion"]["path"][0] = _flip(body["inclusion"]["path"][0])


def _tx_receipt(body: dict[str, Any]) -> None:
    body["receipt"] = body["receipt"][:-2] + ("01" if body["receipt"][-2:] != "01" else "02")


def _state_value(body: dict[str, Any]) -> None:
    state = body.get("state", body)
    state["value"] = _flip(state["value"])


def _receipt_path(body: dict[str, Any]) -> None:
    body["inclusion"]["path"] = [_flip(item) for item in body["inclusion"]["path"]] or ["00" * 32]


PROOF_LIES = {
    "tx_inclusion": ("tx", _tx_path, Rejection.PROOF_INVALID),
    "tx_receipt": ("tx", _tx_receipt, Rejection.PROOF_INVALID),
    "account_value": ("account", _state_value, Rejection.PROOF_INVALID),
    "logblock_in_state": ("receipt", _state_value, Rejection.PROOF_INVALID),
    "receipt_in_logblock": ("receipt", _receipt_path, Rejection.PROOF_INVALID),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PROOF_LIES))
def test_each_proof_lie_is_rejected(network: Network, liar: Proxy, name: str) -> None:
    kind, lie, reason = PROOF_LIES[name]

    def rewrite(path: str, status: int, body: Any) -> tuple[int, Any]:
        if path.startswith(f"/api/v1/proofs/{kind}/"):
            lie(body)
        return status, body

    client = trusting(network, liar.url)
    liar.rewrite = rewrite
    sender = network.tx.sender_address
    check = {
        "tx": lambda: client.verify_tx(network.tx.hash(), now_ms()),
        "account": lambda: client.verify_account(sender, now_ms()),
        "receipt": lambda: client.verify_receipt(network.leaves[0].receipt_hash, now_ms()),
    }[kind]
    with pytest.raises(Rejected) as caught:
        check()
    assert caught.value.reason is reason, caught.value


@pytest.mark.slow
def test_a_proof_for_another_height_is_rejected(network: Network, liar: Proxy) -> None:
    client = trusting(network, liar.url)
    liar.redirect = lambda path: path.split("?")[0]
    liar.rewrite = lambda path, status, body: (status, {**body, "height": 1})
    sender = network.tx.sender_address
    with pytest.raises(Rejected) as caught:
        client.verify_account(sender, now_ms(), height=2)
    assert caught.value.reason is Rejection.PROOF_WRONG_HEIGHT


@pytest.mark.slow
def test_the_cli_verifies_and_rejects(network: Network, liar: Proxy, tmp_path: Path) -> None:
    root = network.cluster.block("v0", 1)["hash"]
    done = light(tmp_path, "init", "--trust", f"1:{root}", "--primary", liar.url, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["height"] == 1
    done = light(tmp_path, "sync")
    assert done.stdout.splitlines()[0] == "verified", done.stderr
    done = light(tmp_path, "verify", "tx", network.tx.hash().hex(), "--json")
    document = json.loads(done.stdout)
    assert (done.returncode, document["result"], document["code"]) == (0, "verified", OK)
    assert document["proof"]["inclusion"]["size"] >= 1
    receipt_hash = network.leaves[0].receipt_hash.hex()
    done = light(tmp_path, "verify", "receipt", receipt_hash)
    assert (done.returncode, done.stdout.splitlines()[0]) == (0, "verified"), done.stderr
    sender = str(network.tx.sender_address)
    liar.rewrite = lambda path, status, body: (
        (status, {**body, "value": _flip(body["value"])})
        if "/proofs/account/" in path
        else (status, body)
    )
    done = light(tmp_path, "verify", "account", sender)
    assert (done.returncode, done.stdout.splitlines()[0]) == (1, "rejected: proof_invalid")
    done = light(tmp_path, "init", "--trust", "one:two", "--primary", liar.url)
    assert done.returncode == 2 and "HEIGHT:HASH" in done.stderr


def test_the_client_follows_a_real_set_change(network: Network) -> None:
    """A bond to the validator changes its power, so the set from two heights on: the client
    crosses the change one height at a time (next-set hashes) and by skipping."""
    cluster = network.cluster
    validator = Address.parse(
        cluster.get("v0", "/api/v1/validators?height=1")["validators"][0]["address"]
    )
    key = cluster.dev_keys()[1]
    unsigned = Transaction(
        dev_home.DEV_CHAIN_ID, key.public_key, 0, 1_000, 10_000, Bond(validator, 10**9)
    )
    bond = unsigned.with_signature(key.sign(unsigned.signing_message()))
    assert cluster.submit("v0", [bond])[0]["accepted"]
    cluster.wait(lambda: cluster.committed("v0", bond.hash().hex()), 30, "the bond")
    changed = cluster.get("v0", f"/api/v1/txs/{bond.hash().hex()}")["height"] + 2
    cluster.wait_height(changed, ["v0"])
    before = cluster.get("v0", f"/api/v1/validators?height={changed - 1}")
    after = cluster.get("v0", f"/api/v1/validators?height={changed}")
    assert before["set_hash"] != after["set_hash"]
    stepping = trusting(network, network.url)
    for height in range(2, changed + 1):
        stepping.sync(now_ms(), height)
    assert stepping.trusted.header.validator_set_hash.hex() == after["set_hash"]
    skipping = trusting(network, network.url)
    assert skipping.sync(now_ms(), changed).certificates_verified == 1
    assert skipping.trusted.hash() == stepping.trusted.hash()


# Last in the module: the validator it slashes and jails is the network's only one.
def test_a_witness_on_another_fork_is_caught_and_the_double_signer_slashed(
    network: Network, liar: Proxy
) -> None:
    """The witness serves headers the real validator also signed: a real equivocation, which
    the node accepts as evidence and slashes in a later block."""
    secret = bls.PrivateKey.from_bytes(network.bls_secret)

    def fork(path: str, status: int, body: Any) -> tuple[int, Any]:
        if path.startswith("/api/v1/proofs/header/") and status == 200:
            header = BlockHeader.decode(bytes.fromhex(body["header"]))
            forged = dataclasses.replace(header, state_root=b"\x0f" * 32)
            round_ = CommitCertificate.decode(bytes.fromhex(body["certificate"])).round
            seal = secret.sign(commit_seal_message(forged.height, round_, forged.hash()))
            body["header"] = forged.encode().hex()
            body["certificate"] = (
                CommitCertificate(forged.height, round_, forged.hash(), b"\x01", seal)
                .encode()
                .hex()
            )
        return status, body

    client = trusting(network, network.url, witnesses=(liar.url,))
    liar.rewrite = fork
    with pytest.raises(ForkDetected) as caught:
        client.sync(now_ms())
    assert client.trusted.height == 1
    against_primary, against_witness = caught.value.evidence
    assert against_primary.common_height == 1
    assert against_witness.conflicting_header.state_root == b"\x0f" * 32
    posted = [LightAttackEvidence.decode(data) for _, data in liar.posted]
    assert against_primary in posted
    # The real primary's header, sent on through the lying witness, conflicts with nothing;
    # the forged one, sent to the primary, is queued for its next block.
    to_witness, to_primary = caught.value.outcomes
    assert " 400 " in to_witness and "not_a_conflict" in to_witness, to_witness
    assert " 202 " in to_primary, to_primary
    height = against_witness.conflicting_header.height
    cluster = network.cluster

    def carried() -> int | None:
        for at in range(height + 1, cluster.height("v0") + 1):
            items = [bytes.fromhex(item) for item in cluster.block("v0", at)["evidence"]]
            if any(LightAttackItem.decode(i).evidence == against_witness for i in items):
                return at
        return None

    cluster.wait(lambda: carried() is not None, 30, "the evidence in a block")
    # The block slashed the validator and spent the conflict: a second report is refused.
    again = HttpSource(network.url).submit_evidence(against_witness)
    assert again.startswith("400") and "evidence_already_used" in again, again
