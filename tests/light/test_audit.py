"""Split-origin audit bundles end to end: a real dev chain (one validator process, executor and
notary) runs calls from two clients, `bpci audit export` writes the bundle from its gateway,
and `metanode audit verify` checks it offline; altered bytes are caught and located."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from metanode.cli import bpci
from metanode.cli import main as metanode
from metanode.codec import decode
from metanode.crypto.hashing import blake3_hash
from metanode.devkit.chain import DevChain
from metanode.docklock.receipt import Receipt
from metanode.errors import ConfigError
from metanode.light import audit
from metanode.light.fetcher import HttpSource
from metanode.light.reasons import Rejected
from metanode.vault import PayloadErased, Vault
from tests.conftest import examples

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTARISED_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Exported:
    data: bytes
    path: Path
    summary: dict[str, Any]
    anchor_hash: str
    clients: tuple[bytes, ...]  # the callers' public keys, in call order of the range
    before: int  # the seq of the call made before the range
    vault: Vault  # the callers' personal payloads; the calls' inputs are their commitments
    commitments: tuple[bytes, ...]
    url: str  # the dev chain's gateway
    app: str
    heights: tuple[int, int]  # the range exported


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    home = tmp_path_factory.mktemp("audit")
    with DevChain(home / "chain", accounts=2, block_interval_ms=200) as chain:
        alice, bob = chain.key("dev0"), chain.key("dev1")
        app = chain.deploy(alice, EXAMPLES / "counter.wat")
        before = chain.call(alice, app, "increment")
        start = chain.height() + 1
        callers = (alice, bob, alice)
        vault = Vault(home / "vault")
        commitments = tuple(
            vault.put(name, f"{name}'s personal data".encode())
            for name in ("alice", "bob", "alice")
        )
        seqs = [
            chain.call(key, app, "increment", committed).seq
            for key, committed in zip(callers, commitments, strict=True)
        ]
        wait_notarised(chain, app, max(seq for seq in seqs if seq is not None))
        end = chain.height()
        chain.call(bob, app, "increment")  # after the range: the upper boundary witness
        anchor = chain.request("GET", f"/api/v1/proofs/header/{start}")["header"]
        out = home / "bundle.cbor"
        result = CliRunner().invoke(
            bpci.app,
            [
                *("audit", "export", "--app", app, "--from", str(start)),
                *("--to", str(end), "--out", str(out), "--node", chain.url, "--json"),
            ],
        )
        assert result.exit_code == 0, result.output
        block = chain.request("GET", f"/api/v1/proofs/header/{start}")
        assert block["header"] == anchor
        yield Exported(
            out.read_bytes(),
            out,
            json.loads(result.stdout),
            json.loads(result.stdout)["anchor_hash"],
            tuple(key.public_key for key in callers),
            before.seq or 0,
            vault,
            commitments,
            chain.url,
            app,
            (start, end),
        )
        vault.close()


def wait_notarised(chain: DevChain, app: str, seq: int) -> None:
    deadline = time.monotonic() + NOTARISED_TIMEOUT_S
    while time.monotonic() < deadline:
        found = chain.request("GET", "/api/v1/logblocks", params={"app": app})["logblocks"]
        if found and found[-1]["last_seq"] >= seq:
            return
        time.sleep(0.1)
    raise AssertionError(f"call {seq} not notarised in {NOTARISED_TIMEOUT_S} s")


def verify_cli(path: Path, *options: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(metanode.app, ["audit", "verify", str(path), *options, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_a_bundle_verifies_offline_from_its_anchor(exported: Exported) -> None:
    assert exported.summary["left_out"] == [] and exported.summary["records"] == 3
    code, report = verify_cli(exported.path, "--trust-hash", exported.anchor_hash)
    assert code == 0 and report["result"] == "verified", report
    assert report["anchor"]["trusted"] is True
    records = report["records"]
    # Only the range's calls: the one made before it is not in the bundle.
    assert [record["seq"] for record in records] == [exported.before + 1 + i for i in range(3)]
    assert all(record["verified"] and record["height"] for record in records)
    completeness = report["completeness"]
    assert (completeness["result"], completeness["missing"]) == ("complete", [])
    assert (completeness["first_seq"], completeness["last_seq"]) == (
        exported.before + 1,
        exported.before + 3,
    )
    # The witnesses are the calls just outside the range, in blocks outside it, so every call
    # of the asked heights is proven to be in the bundle.
    below, above = completeness["bounds"]
    assert (below["seq"], above["seq"]) == (exported.before, exported.before + 4)
    assert below["verified"] and above["verified"]
    assert below["height"] < exported.heights[0] and above["height"] > exported.heights[1]
    first, last = completeness["heights"]
    assert first <= exported.heights[0] and last >= exported.heights[1]


def test_a_bundle_that_leaves_out_a_call_between_two_it_holds_names_it(
    exported: Exported, tmp_path: Path
) -> None:
    bundle = audit.AuditBundle.decode(exported.data)
    first, left_out, last = bundle.records
    holed = tmp_path / "holed.cbor"
    holed.write_bytes(replace(bundle, records=(first, last)).encode())
    code, report = verify_cli(holed)
    assert code == 1 and report["result"] == "not_verified"
    assert all(record["verified"] for record in report["records"])
    completeness = report["completeness"]
    assert (completeness["result"], completeness["heights"]) == ("incomplete", None)
    assert (completeness["first_seq"], completeness["last_seq"]) == (first.seq, last.seq)
    assert completeness["missing"] == [[left_out.seq, left_out.seq]]
    # Dropping the last call leaves no gap, but the upper witness is then not the next call.
    code, report = verify_cli(_written(tmp_path, replace(bundle, records=(first, left_out))))
    assert code == 1 and report["completeness"]["missing"] == []
    above = report["completeness"]["bounds"][1]
    assert (above["verified"], above["location"]) == (False, "bounds[1].seq")
    # Without witnesses the records still verify, but the range's ends are not proven.
    code, report = verify_cli(_written(tmp_path, replace(bundle, bounds=(None, None))))
    assert code == 0 and report["completeness"]["result"] == "unproven"


def test_gaps_are_named_as_runs_and_unverified_records_do_not_widen_the_span() -> None:
    def result(index: int, seq: int, verified: bool = True) -> audit.RecordResult:
        return audit.RecordResult(index, seq, verified)

    def report(*records: audit.RecordResult) -> audit.AuditReport:
        return audit.AuditReport("c", bytes(32), 1, bytes(32), False, 2, records)

    # Far-apart seqs cost their records, not the distance between them; from the app's first
    # call, with no later call, the bundle is complete from height 1 to its newest call.
    far = report(result(0, 0), result(1, 5), result(2, 2**63))
    assert far.span == (0, 2**63) and far.missing == ((1, 4), (6, 2**63 - 1))
    assert report(result(0, 0), result(1, 1)).complete_heights == (1, None)
    # A record that does not verify is not missing (it is reported failed), and cannot
    # stretch the span the bundle is judged complete over.
    failed = report(result(0, 3), result(1, 4, verified=False), result(2, 5), result(3, 90, False))
    assert failed.span == (3, 5) and failed.missing == () and not failed.all_verified
    assert report().span is None and report().missing == ()


def test_an_export_of_an_empty_range_or_an_unknown_app_is_refused(
    exported: Exported, tmp_path: Path
) -> None:
    out = str(tmp_path / "b.cbor")
    common = ("--out", out, "--node", exported.url)
    backwards = ("audit", "export", "--app", exported.app, "--from", "5", "--to", "3")
    result = CliRunner().invoke(bpci.app, [*backwards, *common])
    assert isinstance(result.exception, ConfigError)  # exit 2 under output.run
    unknown = ("audit", "export", "--app", "ab" * 32, "--from", "1", "--to", "3")
    result = CliRunner().invoke(bpci.app, [*unknown, *common])
    assert isinstance(result.exception, Rejected) and "no calls" in str(result.exception)
    assert not (tmp_path / "b.cbor").exists()
    page = httpx.get(f"{exported.url}/api/v1/apps/{exported.app}/receipts").json()
    last = next(item for item in page["receipts"] if item["seq"] == exported.before + 3)
    assert last["client"] == exported.clients[-1].hex()


def test_each_receipt_carries_the_clients_and_the_executors_signatures(
    exported: Exported,
) -> None:
    bundle = audit.AuditBundle.decode(exported.data)
    receipts = [Receipt.from_wire(decode(record.receipt)) for record in bundle.records]
    assert all(receipt.version == 2 for receipt in receipts)
    assert tuple(receipt.request.client for receipt in receipts if receipt.request) == (
        exported.clients
    )
    assert len({receipt.executor for receipt in receipts}) == 1


def test_the_audit_still_verifies_after_the_subjects_are_erased(exported: Exported) -> None:
    bundle = audit.AuditBundle.decode(exported.data)
    receipts = [Receipt.from_wire(decode(record.receipt)) for record in bundle.records]
    # The chain and the bundle hold only commitments of the personal payloads.
    assert [receipt.input_hash for receipt in receipts] == [
        blake3_hash(committed) for committed in exported.commitments
    ]
    assert exported.vault.erase("alice") and exported.vault.erase("bob")
    for committed in exported.commitments:
        with pytest.raises(PayloadErased):
            exported.vault.get(committed)
    report = audit.verify(exported.data, bytes.fromhex(exported.anchor_hash))
    assert report.all_verified and len(report.records) == 3


def test_an_anchor_of_another_hash_refuses_the_whole_bundle(exported: Exported) -> None:
    code, report = verify_cli(exported.path, "--trust-hash", "ab" * 32)
    assert code == 1
    assert (report["result"], report["reason"]) == ("refused", "trust_root_mismatch")


def test_an_altered_receipt_byte_names_its_record_and_field(
    exported: Exported, tmp_path: Path
) -> None:
    record = audit.AuditBundle.decode(exported.data).records[1].receipt
    offset = exported.data.index(record) + len(record) // 2
    altered = tmp_path / "altered.cbor"
    altered.write_bytes(_flipped(exported.data, offset, 0x01))
    code, report = verify_cli(altered)
    assert code == 1 and report["result"] == "not_verified"
    assert [record["verified"] for record in report["records"]] == [True, False, True]
    assert report["records"][1]["location"].startswith("records[1].receipt")


def test_a_light_block_no_check_reads_refuses_the_bundle(exported: Exported) -> None:
    bundle = audit.AuditBundle.decode(exported.data)
    heights = [block.height for block in bundle.light_blocks]
    spare = next(height for height in range(heights[0] + 1, heights[-1]) if height not in heights)
    source = HttpSource(exported.url)
    extra = source.light_block(spare)
    source.close()
    blocks = tuple(sorted((*bundle.light_blocks, extra), key=lambda block: block.height))
    padded = replace(bundle, light_blocks=blocks).encode()
    with pytest.raises(audit.BundleRefused) as refused:
        audit.verify(padded)
    index = blocks.index(extra)
    assert (refused.value.reason, refused.value.location) == (
        "unused_data",
        f"light_blocks[{index}]",
    )


def test_a_file_that_is_no_bundle_is_refused_and_a_missing_one_is_a_usage_error(
    tmp_path: Path,
) -> None:
    junk = tmp_path / "junk.cbor"
    junk.write_bytes(b"\x83\x01\x02")
    code, report = verify_cli(junk)
    assert code == 1 and (report["reason"], report["location"]) == ("malformed", "bundle")
    result = CliRunner().invoke(metanode.app, ["audit", "verify", str(tmp_path / "none")])
    assert isinstance(result.exception, ConfigError)  # exit 2 under output.run


@settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(position=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_any_single_altered_byte_is_caught_and_located(
    exported: Exported, position: float, bit: int
) -> None:
    data = exported.data
    offset = int(position * len(data))
    altered = _flipped(data, offset, 1 << bit)
    try:
        report = audit.verify(altered)
    except audit.BundleRefused as refused:
        locations = [refused.location]
    else:
        assert not report.all_verified, f"byte {offset} altered and everything verified"
        locations = list(report.failures)
    assert all(locations)
    if offset in _heads(data):
        # An altered type or length misaligns what follows: named where the structure broke.
        return
    hit = audit.locate(data, offset)
    item = hit.split(".")[0] if hit.startswith(("records[", "light_blocks[", "bounds[")) else hit
    assert any(location.startswith(item) for location in locations), (offset, hit, locations)


def _written(directory: Path, bundle: audit.AuditBundle) -> Path:
    path = directory / "bundle.cbor"
    path.write_bytes(bundle.encode())
    return path


def _flipped(data: bytes, offset: int, mask: int) -> bytes:
    altered = bytearray(data)
    altered[offset] ^= mask
    return bytes(altered)


def _heads(data: bytes) -> set[int]:
    """The offsets of CBOR head bytes (type and length) in a well-formed bundle."""
    heads: set[int] = set()
    for _path, start in audit.walk(data):
        head = audit.cbor_head(data, start)
        assert head is not None
        heads.update(range(start, head[2]))
    return heads
