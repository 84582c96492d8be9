"""Bad input: every decoder and every message rule fed malformed and hostile input raises a
typed error or returns a code, and leaves the state untouched."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto.hashing import blake3_hash
from metanode.errors import ConfigError, DecodeError, InvariantViolation, MetanodeError
from metanode.state.context import BlockContext, TxContext
from metanode.state.genesis.chain import read_chain
from metanode.state.genesis.document import parse_genesis
from metanode.state.identity.records import did_of_key
from metanode.state.machine import HANDLERS, InvalidBlock, apply_block
from metanode.state.store import decode_receipts
from metanode.state.view import Overlay
from metanode.types import (
    Address,
    AuthorityChange,
    Block,
    Bond,
    CallApp,
    CommitCertificate,
    CreateDid,
    DeactivateDid,
    DeleteBlob,
    Denom,
    DeployApp,
    DeployStoredApp,
    Deposit,
    ExitNode,
    FaucetClaim,
    GrantShadow,
    NodeType,
    ParameterChange,
    ParameterChanges,
    PlaceBlob,
    ProveKyc,
    PublishZkIssuer,
    Receipt,
    RegisterCredential,
    RegisterNode,
    RegisterShadow,
    RegisterValidator,
    Relationship,
    ReportStorageFault,
    RevokeCredential,
    Role,
    RotateDidKey,
    ScaleApp,
    Service,
    ShadowScope,
    SoftwareUpgrade,
    SubmitEvidence,
    SubmitProposal,
    Transaction,
    Transfer,
    TreasurySpend,
    Unbond,
    Unjail,
    UpdateDid,
    UpgradeApp,
    UpgradeStoredApp,
    VerificationMethod,
    Vote,
    VoteOption,
)
from metanode.types.block import BlockHeader
from metanode.types.messages import Message
from metanode.types.vote import Kind, Signed
from tests.conftest import examples
from tests.state.support import (
    Chain,
    Wallet,
    bls_material,
    genesis_tree,
    make_genesis,
    validator_wallet,
)
from tests.state.test_apps import COUNTER, COUNTER_ID, COUNTER_V2, FORBIDDEN, STARTS
from tests.state.test_storage import place_message

U64 = 2**64 - 1
SAMPLE_TX = Wallet.of(0).tx(0, Transfer(Wallet.of(1).address, 5, Denom.FLX))


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.integers(0, len(data) - 1).map(lambda i: data[:i]),
        st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)).map(
            lambda p: data[: p[0]] + bytes([p[1]]) + data[p[0] + 1 :]
        ),
        st.binary(min_size=1, max_size=8).map(lambda extra: data + extra),
    )


@pytest.fixture(scope="module")
def sample_block() -> Block:
    chain = Chain()
    return chain.propose([SAMPLE_TX]).block


DECODERS = {
    "transaction": (Transaction.decode, SAMPLE_TX.encode()),
    "receipt": (Receipt.decode, Receipt(bytes(32), 202, 1000).encode()),
    "registration": (
        Transaction.decode,
        Wallet.of(0)
        .tx(
            0,
            RegisterNode(
                NodeType.ENTERPRISE,
                (Role.VALIDATOR, Role.NOTARY),
                *bls_material(3),
                bytes(32),
                "h:1",
                "did:metanode:a",
                5,
            ),
        )
        .encode(),
    ),
    "did update": (
        Transaction.decode,
        Wallet.of(0)
        .tx(
            0,
            UpdateDid(
                "did:metanode:a",
                (VerificationMethod("k", bytes(32), Relationship.AUTHENTICATION),),
                ("key-1",),
                (Service("s", "t", "https://x"),),
                (),
            ),
        )
        .encode(),
    ),
    "proposal": (
        Transaction.decode,
        Wallet.of(0)
        .tx(
            0,
            SubmitProposal(
                "epochs",
                ParameterChanges((ParameterChange(1, 2), ParameterChange(4, 9))),
                5,
            ),
        )
        .encode(),
    ),
    "certificate": (
        CommitCertificate.decode,
        CommitCertificate(1, 0, bytes(32), b"\x01", bytes(96)).encode(),
    ),
}


@pytest.mark.parametrize("name", sorted(DECODERS))
@given(data=st.data())
@settings(max_examples=examples(300), deadline=None)
def test_decoders_raise_only_decode_errors(name: str, data: st.DataObject) -> None:
    decoder, valid = DECODERS[name]
    blob = data.draw(_mutations(valid))
    try:
        decoder(blob)
    except DecodeError:
        pass


@given(data=st.data())
@settings(max_examples=examples(200), deadline=None)
def test_block_decoder_and_apply_refuse_garbage(sample_block: Block, data: st.DataObject) -> None:
    chain = Chain(check=False)
    before = chain.ledger.items
    blob = data.draw(_mutations(sample_block.encode()))
    try:
        block = Block.decode(blob)
    except DecodeError:
        return
    try:
        apply_block(chain.state, block)
    except InvalidBlock:
        pass
    # Whatever happened, a failed or uncommitted apply left the committed state as it was.
    assert chain.ledger.items == before


@given(st.binary(max_size=64))
def test_stored_receipts_decoder_is_typed(blob: bytes) -> None:
    # A stored blob that is not what the store wrote means a corrupt store: a bug-class error.
    try:
        decode_receipts(blob, (SAMPLE_TX,))
    except InvariantViolation:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.sampled_from(
        [
            "chain_id",
            "chain_kind",
            "accounts",
            "validators",
            "parameters",
            "delegations",
            "unbondings",
            "genesis_time_ms",
            "jailed",
            "nodes",
            "used_evidence",
            "treasury",
            "identity",
            "governance",
        ]
    ),
    json_values,
)
@settings(max_examples=examples(300), deadline=None)
def test_genesis_loader_raises_only_config_errors(field: str, value: object) -> None:
    tree = genesis_tree(wallets=1)
    tree[field] = value
    try:
        parse_genesis(json.dumps(tree))
    except ConfigError:
        pass


@given(st.text(max_size=200))
def test_genesis_text_raises_only_config_errors(text: str) -> None:
    for file_format in ("json", "toml"):
        try:
            parse_genesis(text, file_format)
        except ConfigError:
            pass


addresses = st.one_of(
    st.sampled_from([Wallet.of(i).address for i in range(3)] + [validator_wallet(0).address]),
    st.binary(min_size=20, max_size=20).map(Address),
)
amounts = st.one_of(st.sampled_from([0, 1, U64, U64 - 1, 2**63]), st.integers(0, U64))
consensus_records = st.builds(
    Signed,
    st.sampled_from(list(Kind)),
    st.integers(0, 5),
    st.integers(0, 2),
    st.sampled_from([bytes(32), b"\x01" * 32, b""]),
    st.none(),
    st.sampled_from([b"", bytes(96)]),
    addresses,
    st.binary(min_size=64, max_size=64),
)
did_names = st.one_of(
    st.text(max_size=30),
    st.just(did_of_key(Wallet.of(0).public_key)),
    st.just(did_of_key(Wallet.of(1).public_key)),
    st.just("did:metanode:"),
)
fragments = st.one_of(st.just("key-1"), st.text(max_size=8))
keys = st.one_of(st.binary(min_size=32, max_size=32), st.just(Wallet.of(0).public_key))
services = st.builds(
    Service, fragments, st.text(max_size=8), st.sampled_from(["https://x", "x", ""])
)
methods = st.builds(
    VerificationMethod, fragments, keys, st.sampled_from([Relationship(bits) for bits in range(4)])
)
credential_blobs = st.one_of(
    st.binary(max_size=200),
    st.just(b'{"@context": ["https://www.w3.org/ns/credentials/v2"]}'),
    st.just(b'{"a": 1, "a": 2}'),
    st.just(b"[" * 5000),
    st.just(b'{"credentialSubject": {"kycLevel": []}}'),
)
identity_messages = st.one_of(
    st.builds(
        CreateDid,
        st.lists(did_names, max_size=2).map(tuple),
        st.lists(services, max_size=2).map(tuple),
    ),
    st.builds(
        UpdateDid,
        did_names,
        st.lists(methods, max_size=2).map(tuple),
        st.lists(fragments, max_size=2).map(tuple),
        st.lists(services, max_size=2).map(tuple),
        st.lists(fragments, max_size=2).map(tuple),
    ),
    st.builds(RotateDidKey, did_names, fragments, keys),
    st.builds(DeactivateDid, did_names),
    st.builds(RegisterCredential, credential_blobs),
    st.builds(RevokeCredential, did_names, amounts),
    st.builds(ProveKyc, did_names, amounts, amounts, credential_blobs),
    st.builds(PublishZkIssuer, did_names, credential_blobs, credential_blobs),
)
proposal_ids = st.one_of(st.integers(0, 3), amounts)
contents = st.one_of(
    st.builds(
        ParameterChanges,
        st.lists(
            st.builds(ParameterChange, st.integers(0, 20), amounts), min_size=1, max_size=3
        ).map(tuple),
    ),
    st.builds(TreasurySpend, addresses, amounts, st.sampled_from(list(Denom))),
    st.builds(AuthorityChange, addresses, st.booleans()),
    st.builds(SoftwareUpgrade, st.text(max_size=10), amounts),
)
governance_messages = st.one_of(
    st.builds(SubmitProposal, st.text(max_size=10), contents, amounts),
    st.builds(Deposit, proposal_ids, amounts),
    st.builds(Vote, proposal_ids, st.sampled_from(list(VoteOption))),
)
messages = st.one_of(
    identity_messages,
    governance_messages,
    st.builds(Transfer, addresses, amounts, st.sampled_from(list(Denom))),
    st.builds(Bond, addresses, amounts),
    st.builds(Unbond, addresses, amounts),
    st.builds(FaucetClaim, amounts, st.sampled_from(list(Denom))),
    st.builds(
        RegisterValidator,
        st.binary(min_size=48, max_size=48),
        st.binary(min_size=96, max_size=96),
        st.binary(min_size=32, max_size=32),
    ),
    st.builds(
        RegisterNode,
        st.sampled_from(list(NodeType)),
        st.lists(st.sampled_from(list(Role)), max_size=5).map(lambda r: tuple(sorted(set(r)))),
        st.one_of(st.binary(min_size=48, max_size=48), st.just(bls_material(0)[0])),
        st.binary(min_size=96, max_size=96),
        st.binary(min_size=32, max_size=32),
        st.one_of(st.text(max_size=20), st.just("host:1"), st.just("h:65536")),
        st.one_of(st.text(max_size=20), st.just("did:metanode:a"), st.just("did::")),
        amounts,
    ),
    st.builds(
        SubmitEvidence,
        consensus_records,
        consensus_records,
    ),
    st.just(ExitNode()),
    st.just(Unjail()),
    st.builds(
        RegisterShadow,
        st.one_of(st.text(max_size=20), st.just("shop.example.com")),
        st.binary(min_size=32, max_size=32),
        st.binary(min_size=32, max_size=32),
    ),
    st.builds(
        GrantShadow,
        st.one_of(st.text(max_size=20), st.just("shop.example.com")),
        st.lists(
            st.builds(
                ShadowScope,
                st.binary(min_size=32, max_size=32),
                st.lists(st.text(max_size=8), max_size=3).map(tuple),
            ),
            max_size=3,
        ).map(tuple),
        amounts,
    ),
)


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain()


def applies_cleanly(chain: Chain, message: Message, wallet: Wallet, timestamp: int) -> None:
    """`message`'s rule, fed directly: it returns an int code; a failure wrote nothing; the
    committed state is never touched (rules only see an overlay)."""
    before = chain.ledger.items
    overlay = Overlay(chain.state.reader)
    block = BlockContext(read_chain(chain.state.reader), 2, timestamp, validator_wallet(0).address)
    context = TxContext(block, wallet.address, wallet.public_key, False)
    try:
        code = HANDLERS[type(message)](overlay, context, message)
    except MetanodeError as error:  # pragma: no cover - a rule must not raise on input
        pytest.fail(f"rule raised {error!r}")
    assert type(code) is int
    if code != 0:
        assert overlay.write_count == 0 and not context.events
    assert chain.ledger.items == before


@given(message=messages, sender=st.integers(0, 3), timestamp=st.integers(0, U64))
@settings(max_examples=examples(400), deadline=None)
def test_message_rules_return_a_code_and_fail_cleanly(
    chain: Chain, message: Message, sender: int, timestamp: int
) -> None:
    applies_cleanly(chain, message, Wallet.of(sender), timestamp)


# Apps and relay storage, on a chain where they have something to refuse past the first rung:
# an app deployed inline and one by root, a spare blob, all Wallet 0's, on 4 storage nodes.
PLACED = place_message(COUNTER_V2, 2, 4)
SPARE = place_message(b"spare", 2, 4)
FRESH = place_message(b"fresh", 2, 4)
STORED_ID = blake3_hash(COUNTER_V2)


@pytest.fixture(scope="module")
def hosting_chain() -> Chain:
    chain = Chain(make_genesis(validators=4))
    owner = Wallet.of(0)
    made = [
        DeployApp(COUNTER, 2, 1, 1_000_000),
        PLACED,
        SPARE,
        DeployStoredApp(PLACED.root, PLACED.size, STORED_ID, ("increment",), 2, 1, 1_000_000),
        CallApp(COUNTER_ID, 0, "increment", b"", 1_000),
    ]
    receipts = chain.run([owner.tx(nonce, message) for nonce, message in enumerate(made)])
    assert [receipt.code for receipt in receipts.receipts] == [0] * len(made)
    return chain


hashes = st.one_of(
    st.sampled_from([COUNTER_ID, STORED_ID, blake3_hash(COUNTER)]),
    st.binary(min_size=32, max_size=32),
)
roots = st.one_of(
    st.sampled_from([PLACED.root, SPARE.root, FRESH.root, FRESH.coded_root]),
    st.binary(min_size=32, max_size=32),
)
sizes = st.one_of(st.sampled_from([PLACED.size, SPARE.size, 0, 2**16 + 1]), amounts)
small = st.one_of(st.integers(1, 2), st.integers(0, 8), amounts)  # mostly within range
wasm = st.one_of(
    st.sampled_from([COUNTER, COUNTER_V2, FORBIDDEN, STARTS, b"", b"\x00asm"]),
    st.binary(max_size=64),
)
functions = st.one_of(
    st.just(("increment",)),
    st.lists(st.sampled_from(["increment", "reset", "", "a"]), max_size=3).map(tuple),
)
hosting_messages = st.one_of(
    st.builds(DeployApp, wasm, small, small, small),
    st.builds(UpgradeApp, hashes, wasm),
    st.builds(
        CallApp,
        hashes,
        small,
        st.one_of(st.sampled_from(["increment", "reset", "memory"]), st.text(max_size=8)),
        st.binary(max_size=8),
        small,
    ),
    st.builds(ScaleApp, hashes, small),
    st.builds(DeployStoredApp, roots, sizes, hashes, functions, small, small, small),
    st.builds(UpgradeStoredApp, hashes, roots, sizes, hashes, functions),
    st.just(FRESH),
    st.builds(
        PlaceBlob, roots, roots, sizes, st.sampled_from([0, 1, 1024, 2**16 + 1]), small, small
    ),
    st.builds(ReportStorageFault, roots, small),
    st.builds(DeleteBlob, roots),
)


@given(
    message=hosting_messages,
    wallet=st.sampled_from([Wallet.of(0), Wallet.of(1), validator_wallet(1)]),
    timestamp=st.integers(0, U64),
)
@settings(max_examples=examples(400), deadline=None)
def test_apps_and_storage_rules_return_a_code_and_fail_cleanly(
    hosting_chain: Chain, message: Message, wallet: Wallet, timestamp: int
) -> None:
    """The apps and relay storage messages (from their owner, a stranger, a storage node):
    as every other rule, a code, and a refusal writes nothing."""
    applies_cleanly(hosting_chain, message, wallet, timestamp)


def test_header_with_hostile_sizes_is_refused_by_the_decoder(sample_block: Block) -> None:
    wire = sample_block.header.to_wire()
    for index, bad in ((1, "x" * 65), (2, -1), (2, 2**64), (7, b"\x00" * 31), (11, b"\x00" * 19)):
        changed = list(wire)
        changed[index] = bad
        with pytest.raises(DecodeError):
            BlockHeader.from_wire(tuple(changed))
