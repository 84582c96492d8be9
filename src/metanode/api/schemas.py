"""Response and request bodies of the gateway (they become the OpenAPI document's schemas).
Bytes travel as lowercase hex; amounts as integers of base units (9 decimals)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from metanode.crypto import sd_jwt
from metanode.node import home as dev_home
from metanode.types import constants as types_constants

# A transaction is never empty; JSON Schema cannot say whether the bytes are a well-signed
# transaction, so the `format` names it for tools that can (the contract test's generator).
TX_FORMAT = "metanode-tx"
TxHex = Annotated[
    str,
    Field(
        pattern=r"^([0-9a-f]{2})+$",
        min_length=2,
        max_length=2 * types_constants.logblock_tx_bytes_max,  # a LogBlock's bound, the largest
        json_schema_extra={"format": TX_FORMAT},
    ),
]
DID_FORMAT = "metanode-did"
# `did:metanode:` then base58btc (Bitcoin alphabet) of 20 bytes: 1 to 28 characters. Which of
# those decode to exactly 20 bytes JSON Schema cannot say, so the format names it; any other
# text matching the pattern is answered 400 `invalidDid`.
DID_PATTERN = r"^did:metanode:[1-9A-HJ-NP-Za-km-z]{1,28}$"
DID_DOC = {
    "format": DID_FORMAT,
    "description": "a `did:metanode` DID; one whose id is not 20 bytes is answered 400",
}
# bech32m (BIP 350) of 20 bytes with the prefix `mn`: 32 data characters and 6 of checksum, in
# one case. JSON Schema can say all but the checksum; `format` names the whole rule.
ADDRESS_FORMAT = "metanode-address"
ADDRESS_PATTERN = (
    r"^(mn1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{38}|MN1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{38})$"
)
ADDRESS_DOC = {
    "format": ADDRESS_FORMAT,
    "description": "bech32m address `mn1…`; one whose checksum does not match is answered 400",
}
AddressText = Annotated[
    str,
    Field(pattern=ADDRESS_PATTERN, min_length=41, max_length=41, json_schema_extra=ADDRESS_DOC),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TxSubmit(_Body):
    tx: TxHex  # one encoded, signed transaction


class TxBatchSubmit(_Body):
    txs: Annotated[list[TxHex], Field(max_length=10_000)]


class Admitted(BaseModel):
    hash: str | None
    accepted: bool  # admitted to the mempool: ready for a block, or queued
    reason: str | None  # why it was refused (a stable identifier), or null
    detail: str | None = None  # the refusal's specifics, or what a queued one waits for
    # Admitted but behind a missing nonce of its sender: no block can include it until a
    # transaction with `next_nonce` arrives.
    queued: bool = False
    queued_reason: Literal["nonce_gap"] | None = None
    next_nonce: int | None = None  # the nonce the mempool expects next from the sender


class BatchResult(BaseModel):
    results: list[Admitted]


class ReceiptEvent(BaseModel):
    kind: str
    attributes: dict[str, str]


class ReceiptView(BaseModel):
    code: int
    code_name: str
    ok: bool  # code 0: it did what it asked; otherwise only its fee was charged
    fee_charged: int
    events: list[ReceiptEvent]


class TxInclusion(BaseModel):
    """RFC 6962 audit path of the transaction's hash in the block's `txs_root`."""

    index: int
    size: int
    txs_root: str
    path: list[str]


class TxView(BaseModel):
    hash: str
    # pending: in the mempool, ready for a block; queued: in the mempool behind a missing nonce
    # of its sender (`next_nonce`); committed: in a block, and it did what it asked; failed: in
    # a block, but its result code is not ok (`receipt.code_name`): the fee was charged and
    # nothing else changed.
    status: Literal["pending", "queued", "committed", "failed"]
    committed: bool  # in a block, whether it succeeded or failed
    ok: bool | None = None  # its result code is ok; null until it is in a block
    next_nonce: int | None = None
    height: int | None = None
    index: int | None = None
    receipt: ReceiptView | None = None
    inclusion: TxInclusion | None = None
    raw: str | None = None  # the encoded transaction (hex), once in a block


class Certificate(BaseModel):
    height: int
    round: int
    block_hash: str
    signer_bitmap: str
    aggregate_signature: str


class BlockView(BaseModel):
    height: int
    hash: str
    chain_id: str
    round: int
    timestamp_ms: int
    previous_hash: str
    txs_root: str
    state_root: str
    receipts_root: str
    validator_set_hash: str
    next_validator_set_hash: str
    proposer: str
    vrf_proof: str
    last_certificate_hash: str
    txs: list[str]
    # The evidence items the block carries (hex CBOR): equivocation pairs and light-client
    # attack items (types/light_attack.py `LightAttackItem`), each of which slashed.
    evidence: list[str]
    certificate: Certificate | None
    # The certificate of height - 1 the block carries (its header commits to it); null at 1.
    last_certificate: Certificate | None


class StateProof(BaseModel):
    """Proof of the account record (or its absence) under `state_root` at `height`; check it
    with `metanode.state.tree.verify_proof(root, key, value, proof)` and SHA-256 alone."""

    height: int
    state_root: str
    key: str
    value: str | None
    proof: str


class AccountView(BaseModel):
    address: str
    nonce: int
    balances: dict[str, int]
    proof: StateProof


class ValidatorView(BaseModel):
    address: str
    power: int
    public_key: str
    bls_public_key: str
    vrf_public_key: str


class AccountTx(BaseModel):
    hash: str
    height: int
    index: int
    code: int  # the receipt's result code: 0 ok
    role: Literal["sender", "recipient"]


class AccountTxs(BaseModel):
    """An account's transactions in the newest `blocks` blocks, newest first (no index by
    account is kept: the gateway reads the blocks)."""

    address: str
    height: int  # the newest block read
    blocks: int  # how many blocks back were read
    txs: list[AccountTx]


SearchKind = Literal["block", "tx", "app", "account", "did", "dispute"]


class SearchResult(BaseModel):
    query: str
    kind: SearchKind | None  # null: nothing this node knows is named so
    id: str | None  # what to read it by: a height, a hash, an address, a DID or a dispute id


class StatusView(BaseModel):
    name: str
    node_id: str
    chain_id: str
    height: int
    deciding: int | None
    round: int | None
    peers: int
    mempool: int
    state_root: str
    block_hash: str
    validator: bool


FAUCET_AMOUNT_MAX = 100_000 * 10**9  # base units: 100,000 coins a request


class FaucetRequest(_Body):
    address: AddressText
    denom: Literal["FLX", "NEX"] = "FLX"
    amount: Annotated[
        int, Field(ge=1, le=FAUCET_AMOUNT_MAX, description="base units (10^-9 of a coin)")
    ] = 1_000 * 10**9


class FaucetResult(BaseModel):
    hash: str
    address: str
    denom: str
    amount: int


NodeTypeName = Literal["community", "enterprise", "hybrid", "bank", "government"]
RoleName = Literal["validator", "notary", "miner", "executor", "authority"]
HexBytes = Annotated[str, Field(pattern=r"^([0-9a-f]{2})+$")]


class ValidatorsView(BaseModel):
    """The validator set that signs block `height` (docs/governance.md, "Gateway reads")."""

    height: Annotated[int, Field(ge=1)]
    total_power: int
    set_hash: HexBytes  # what headers commit to (`validator_set_hash`)
    set_since: Annotated[int, Field(ge=1, description="first height this set signs")]
    epoch_blocks: Annotated[
        int, Field(ge=1, description="the epoch length in force in the latest state")
    ]
    validators: list[ValidatorView]


class NodeKeysView(BaseModel):
    """A node identity's keys as its records name them now (docs/pq.md): its Ed25519 node key
    (the consensus key of the sets fixed from now on and its TLS key from the next epoch
    boundary; its identity key until a rotation) and its ML-DSA-65 node key, if any."""

    address: AddressText
    node_key: HexBytes
    mldsa_key: HexBytes | None
    rotated: Annotated[bool, Field(description="the node key is not the identity's own key")]


class NodeView(BaseModel):
    """A registry record (docs/registry.md)."""

    address: AddressText
    node_type: NodeTypeName
    roles: Annotated[list[RoleName], Field(min_length=1)]
    status: Literal["pending", "active", "jailed", "unbonding", "exited"]
    public_key: HexBytes
    bls_public_key: HexBytes
    bls_proof_of_possession: HexBytes
    vrf_public_key: HexBytes
    p2p_address: str
    did: str
    stake: Annotated[int, Field(ge=0, description="GEN base units locked")]
    voting_power: Annotated[int, Field(ge=0)]
    registered_height: Annotated[int, Field(ge=0)]
    exit_height: Annotated[
        int,
        Field(
            ge=0,
            description="the block whose end pays a leaving node's stake back; 0 if "
            "it has not sent ExitNode",
        ),
    ]


class NodePage(BaseModel):
    height: Annotated[int, Field(ge=0)]  # the committed state the page was read from
    nodes: list[NodeView]
    next: AddressText | None  # pass as `after` for the next page; null on the last


class PeerView(BaseModel):
    """A node of the network as the answering node pins it: its id, P2P endpoint and TLS
    certificate (PEM), the three things a new node's `[[p2p.peers]]` entry needs."""

    name: str
    node_id: AddressText
    host: str
    port: Annotated[int, Field(ge=1, le=65_535)]
    certificate: str
    connected: bool


class PeerAnnouncement(BaseModel):
    """A registered node's TLS certificate (PEM), self-signed by its node key."""

    certificate: Annotated[str, Field(max_length=4_096)]


class PeerAdmitted(BaseModel):
    """The peer admitted, its endpoint from its registry record; `new`: false when this node
    linked it already."""

    node_id: AddressText
    host: str
    port: Annotated[int, Field(ge=1, le=65_535)]
    new: bool


class PeersView(BaseModel):
    chain_id: str
    node: PeerView  # the answering node itself (connected: true)
    peers: list[PeerView]


class CredentialView(BaseModel):
    """A registered KYC credential as the chain keeps it (docs/identity.md)."""

    hash: HexBytes
    issuer: str
    level: Literal["basic", "standard", "enhanced", "full"]
    valid_from_ms: Annotated[int, Field(ge=0)]
    valid_until_ms: Annotated[int, Field(ge=0)]
    status_index: Annotated[int, Field(ge=0)]
    registered_height: Annotated[int, Field(ge=0)]
    revoked: bool  # its bit in the issuer's status list is set
    valid_now: bool  # within its validity at the latest block's time


class CredentialsView(BaseModel):
    height: Annotated[int, Field(ge=0)]
    subject: str
    credentials: list[CredentialView]  # by hash; empty for an unknown or malformed DID


class DisclosureRequest(_Body):
    """An SD-JWT presentation (RFC 9901, compact); with `audience` and `nonce`, its Key
    Binding JWT must be for them."""

    presentation: Annotated[str, Field(min_length=1, max_length=sd_jwt.presentation_bytes_max)]
    audience: Annotated[str | None, Field(max_length=256)] = None
    nonce: Annotated[str | None, Field(max_length=256)] = None


class DisclosureView(BaseModel):
    height: Annotated[int, Field(ge=0)]  # the state the issuer's key was read from
    issuer: str
    key_id: str
    key_bound: bool
    disclosed: dict[str, Any]  # exactly the KYC attributes the holder chose to show


class ZkIssuerView(BaseModel):
    height: Annotated[int, Field(ge=0)]
    issuer: str
    capacity: Annotated[int, Field(ge=0)]  # entries of its revocation registry
    status_timestamp: Annotated[int, Field(ge=0)]  # seconds; a proof must be against this list
    definitions: dict[str, Any]  # schema, credentialDefinition, revocationRegistryDefinition
    status_list: dict[str, Any]


class AttestationView(BaseModel):
    height: Annotated[int, Field(ge=0)]
    address: str
    issuer: str
    level_min: Annotated[int, Field(ge=1, le=4)]
    born_by: Annotated[int, Field(ge=0)]  # YYYYMMDD; 0: the proof said nothing of age
    proved_height: Annotated[int, Field(ge=0)]
    proved_time_ms: Annotated[int, Field(ge=0)]


# An app id: the BLAKE3 hash of its first module, 32 bytes in lower-case hex.
APP_ID_PATTERN = r"^[0-9a-f]{64}$"
AppIdText = Annotated[str, Field(pattern=APP_ID_PATTERN, min_length=64, max_length=64)]


class AppVersionView(BaseModel):
    number: Annotated[int, Field(ge=1)]
    module_hash: AppIdText  # BLAKE3 of the module
    functions: list[str]  # what a call may name
    height: Annotated[int, Field(ge=0)]


class AppView(BaseModel):
    """An app on chain (docs/apps.md)."""

    id: AppIdText
    owner: AddressText
    version: Annotated[int, Field(ge=1, description="the current version")]
    versions: list[AppVersionView]
    replicas: Annotated[int, Field(ge=1)]
    fuel_price: Annotated[int, Field(ge=0, description="FLX base units per unit of fuel")]
    fuel_limit: Annotated[int, Field(ge=0, description="fuel per call, at most")]
    calls: Annotated[int, Field(ge=0, description="calls made; the next call's number")]
    deployed_height: Annotated[int, Field(ge=0)]
    epoch: Annotated[
        int, Field(ge=0, description="the executor draw's epoch of a call included next")
    ]
    executors: list[AddressText]  # drawn for that epoch (apps.assignment)
    disputes: Annotated[
        int, Field(ge=0, description="replica disagreements recorded, ranges withheld")
    ]
    court_disputes_open: Annotated[
        int, Field(ge=0, description="the court's disputes over the app's receipts still open")
    ]
    court_disputes_settled: Annotated[
        int, Field(ge=0, description="the court's disputes over the app's receipts settled")
    ]


class AppPage(BaseModel):
    height: Annotated[int, Field(ge=0)]
    apps: list[AppView]
    next: AppIdText | None  # pass as `after` for the next page; null on the last


class AppCallView(BaseModel):
    seq: Annotated[int, Field(ge=0)]
    caller: AddressText
    version: Annotated[int, Field(ge=1)]
    function: str
    input: Annotated[str, Field(pattern=r"^([0-9a-f]{2})*$")]
    fuel_limit: Annotated[int, Field(ge=0)]
    fuel_price: Annotated[int, Field(ge=0)]
    escrow: Annotated[int, Field(ge=0, description="FLX base units held for the call")]
    status: Literal["escrowed", "settled"]
    fuel_used: Annotated[int, Field(ge=0, description="0 until settled")]
    height: Annotated[int, Field(ge=0)]
    tx_hash: Annotated[
        str, Field(pattern=r"^[0-9a-f]{64}$", description="the CallApp transaction's hash")
    ]


class AppCallPage(BaseModel):
    height: Annotated[int, Field(ge=0)]
    calls: list[AppCallView]
    next: Annotated[int, Field(ge=0)] | None  # pass as `from` for the next page


class StatementView(BaseModel):
    """One epoch's billing of an app or an executor (state/billing): zeros if nothing settled.
    For an executor, `charged` and `treasury` are those of the calls it served, shared with
    their other replicas."""

    height: Annotated[int, Field(ge=0, description="the state read")]
    epoch: Annotated[int, Field(ge=0, description="the executor draw's epoch")]
    current_epoch: Annotated[int, Field(ge=0, description="the epoch of a block made next")]
    calls: Annotated[int, Field(ge=0, description="calls settled (served, for an executor)")]
    fuel: Annotated[int, Field(ge=0, description="fuel of those calls")]
    charged: Annotated[int, Field(ge=0, description="FLX base units charged from escrow")]
    paid: Annotated[int, Field(ge=0, description="FLX base units paid to executors")]
    treasury: Annotated[int, Field(ge=0, description="FLX base units to the treasury")]
    minted: Annotated[int, Field(ge=0, description="NEX base units minted to executors")]


ProposalStatusName = Literal[
    "deposit_period",
    "voting_period",
    "passed",
    "rejected",
    "vetoed",
    "no_quorum",
    "executed",
    "execution_failed",
    "expired",
]
VoteOptionName = Literal["yes", "abstain", "no", "veto"]
Uint = Annotated[int, Field(ge=0)]


class ParameterChangeView(BaseModel):
    parameter: str  # `staking.epoch_blocks`, as docs/governance.md lists them
    number: Annotated[int, Field(ge=1)]  # what the transaction carries
    value: Uint


class ParameterChangesView(BaseModel):
    kind: Literal["parameter_change"]
    changes: list[ParameterChangeView]


class TreasurySpendView(BaseModel):
    kind: Literal["treasury_spend"]
    recipient: AddressText
    amount: Annotated[int, Field(ge=1, description="base units of `denom`")]
    denom: str


class AuthorityChangeView(BaseModel):
    kind: Literal["authority_change"]
    node: AddressText
    enabled: bool


class SoftwareUpgradeView(BaseModel):
    kind: Literal["software_upgrade"]
    name: str
    height: Uint


class AppContainmentView(BaseModel):
    kind: Literal["app_containment"]
    app_id: str
    contained: bool


ContentView = Annotated[
    ParameterChangesView
    | TreasurySpendView
    | AuthorityChangeView
    | SoftwareUpgradeView
    | AppContainmentView,
    Field(discriminator="kind"),
]


class TallyView(BaseModel):
    """GEN base units bonded behind each option, and all bonded GEN counted."""

    yes: Uint
    abstain: Uint
    no: Uint
    veto: Uint
    bonded: Uint


class ProposalView(BaseModel):
    """A governance proposal (docs/governance.md)."""

    id: Annotated[int, Field(ge=1)]
    proposer: AddressText
    title: str
    content: ContentView
    status: ProposalStatusName
    submit_height: Uint
    deposit_end_height: Uint
    voting_start_height: Uint  # 0 until the voting period starts
    voting_end_height: Uint  # 0 until then; the tally runs at the end of this block
    total_deposit: Annotated[int, Field(ge=0, description="GEN base units held while open")]
    # The final tally once tallied; during the voting period the votes cast so far weighted
    # by today's stake (what the chain would count); zeros before.
    tally: TallyView
    tally_final: bool
    tally_height: Uint  # 0 until tallied
    # What became of it once decided (the status of a closed or passed proposal); null while
    # its deposit or voting period runs.
    result: ProposalStatusName | None


class ProposalPage(BaseModel):
    height: Uint  # the committed state the page was read from
    proposals: list[ProposalView]
    next: Annotated[int, Field(ge=1)] | None  # pass as `after` for the next page


class VoteView(BaseModel):
    voter: AddressText
    option: VoteOptionName


class VotePage(BaseModel):
    height: Uint
    proposal_id: Annotated[int, Field(ge=1)]
    votes: list[VoteView]  # empty once the proposal is tallied (its tally stays)
    next: AddressText | None


Hash32 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class LogLeafView(BaseModel):
    """A receipt as a notary LogBlock holds it (docs/notary.md)."""

    receipt_hash: Hash32
    executor: Hash32  # Ed25519 public key
    call_seq: Annotated[int, Field(ge=0)]
    previous: Hash32
    result_hash: Hash32
    fuel_used: Annotated[int, Field(ge=0)]
    peak_memory_bytes: Annotated[int, Field(ge=0)]
    output_bytes: Annotated[int, Field(ge=0)]
    state_bytes: Annotated[int, Field(ge=0)]
    block_time: Annotated[int, Field(ge=0)]


class NotarisedReceiptView(BaseModel):
    leaf: LogLeafView
    app_id: Hash32
    logblock_number: Annotated[int, Field(ge=0)]  # among the app's LogBlocks, from 0
    logblock_hash: Hash32
    leaf_index: Annotated[int, Field(ge=0)]
    height: Annotated[int, Field(ge=1)]  # the block that committed the LogBlock


class ReceiptProofView(BaseModel):
    """RFC 6962 audit path of the receipt hash (the leaf hash itself) in its LogBlock's root:
    `crypto.merkle.verify_inclusion(receipt_hash, leaf_index, tree_size, path, root)`."""

    receipt_hash: Hash32
    leaf_index: Annotated[int, Field(ge=0)]
    tree_size: Annotated[int, Field(ge=1)]
    path: list[Hash32]
    root: Hash32
    app_id: Hash32
    logblock_number: Annotated[int, Field(ge=0)]
    height: Annotated[int, Field(ge=1)]


class LogBlockView(BaseModel):
    number: Annotated[int, Field(ge=0)]
    hash: Hash32
    height: Annotated[int, Field(ge=1)]
    app_version: Annotated[int, Field(ge=0)]
    first_seq: Annotated[int, Field(ge=0)]
    last_seq: Annotated[int, Field(ge=0)]
    root: Hash32
    leaves: Annotated[int, Field(ge=1)]


class LogBlockPage(BaseModel):
    height: Annotated[int, Field(ge=0)]  # the committed state the page was read from
    app_id: Hash32
    logblocks: list[LogBlockView]
    next: Annotated[int, Field(ge=0)] | None  # pass as `start` for the next page; null on the last


class MerklePathView(BaseModel):
    """RFC 6962 audit path of leaf `index` in a tree of `size` leaves."""

    index: int
    size: int
    path: list[str]


class EvidenceAccepted(BaseModel):
    """Light-client attack evidence a node checked against its chain and queued for its next
    proposal: `evidence` is its hash, `height` the conflicting header's."""

    evidence: str
    height: int


class LightBlockView(BaseModel):
    """What the light client checks a height by: the header and its commit certificate as
    their exact CBOR encodings (hex), and the validator set that signs the height (the header
    commits to it as `validator_set_hash`)."""

    height: int
    header: str
    certificate: str
    validators: list[ValidatorView]


class StateProofView(BaseModel):
    """`key` holds `value` (null: absent) in the state after block `height`: check with
    `metanode.state.tree.verify_proof(header.state_root, key, value, proof)`."""

    height: int
    key: str
    value: str | None
    proof: str


class TxProofView(BaseModel):
    """A committed transaction (its exact bytes) in the block's `txs_root`, and its receipt
    (its encoding) at the same index of the block's `receipts_root`."""

    height: int
    tx: str
    inclusion: MerklePathView
    receipt: str
    receipt_inclusion: MerklePathView


class NotarisedProofView(BaseModel):
    """A notarised execution receipt in its LogBlock's root (`inclusion`), and that LogBlock
    in the state under its notary key (`state`), against the header of `state.height`."""

    receipt_hash: str
    inclusion: MerklePathView
    logblock_key: str
    state: StateProofView


# Dev chain tools (api/dev.py) ---------------------------------------------------------------


class DevSnapshot(BaseModel):
    id: int
    height: int
    state_root: str
    clock_offset_ms: int


class DevRevert(_Body):
    id: Annotated[int, Field(ge=1)]
    keep: bool = True  # false: the snapshot is consumed (Hardhat's evm_revert)


class DevTime(_Body):
    advance_s: Annotated[int, Field(ge=1, le=100 * 366 * 86_400)]


class DevClock(BaseModel):
    clock_offset_ms: int


# What the dev faucet account holds of each denomination in genesis.
DEV_FUND_MAX = dev_home.dev_account_coins * dev_home.COIN


class DevFund(_Body):
    address: AddressText
    denom: Literal["GEN", "NEX", "FLX", "AUR"] = "FLX"
    amount: Annotated[int, Field(ge=1, le=DEV_FUND_MAX, description="base units (10^-9 of a coin)")]


class CallDeclaration(BaseModel):
    """What a caller declares about an app call, evaluated against the app's policy
    (docs/policy.md); omit what you do not declare. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    region: Annotated[str, Field(max_length=64)] | None = None
    purpose: Annotated[str, Field(max_length=64)] | None = None
    data_types: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=32)] = []
    consent: Annotated[str, Field(max_length=256, description="the consent proof held")] | None = (
        None
    )
    transport: Annotated[str, Field(max_length=16)] | None = None


class AppCallSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tx: Annotated[str, Field(pattern=r"^([0-9a-f]{2})+$", description="a signed CallApp, hex")]
    request: CallDeclaration


class PolicyDecisionView(BaseModel):
    light: Literal["green", "yellow", "red"]
    rule: str  # the deciding rule (docs/policy.md), `allowed` or `no_policy` for Green
    detail: str
    policy_version: Annotated[int, Field(ge=0)]  # 0: the app has no policy


class RoutingRecordView(BaseModel):
    """The node's signed record of how it routed a call: `record` is its canonical CBOR (hex),
    `signature` the node's Ed25519 signature of its tagged hash (state/policy/routing.py)."""

    record: str
    signature: str
    node_public_key: str
    tx_hash: str
    height: Annotated[int, Field(ge=0)]


class RoutedCall(BaseModel):
    decision: PolicyDecisionView
    routing: RoutingRecordView
    admitted: Admitted | None  # null when refused (Red)


class PolicyDocumentView(BaseModel):
    app_id: AppIdText
    number: Annotated[int, Field(ge=1)]
    classification: Literal["public", "internal", "confidential", "restricted"]
    allowed_regions: list[str]
    blocked_regions: list[str]
    purposes: list[str]
    data_types: list[str]
    review_data_types: list[str]
    consent_required: bool
    encrypt_in_transit: bool
    encrypt_at_rest: bool
    retention_days: Annotated[int, Field(ge=0)]


class PolicyView(BaseModel):
    version: Annotated[int, Field(ge=1)]
    current_version: Annotated[int, Field(ge=1)]
    document: PolicyDocumentView
    document_hex: str  # the canonical CBOR the signer signed
    signer: AddressText
    signer_public_key: str
    signature: str
    height: Annotated[int, Field(ge=0)]  # the block that registered it
    contained_since: Annotated[int, Field(ge=0)] | None  # governance's emergency mode
