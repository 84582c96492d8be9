"""Limits of the ledger types (`*_max`, units last), checked against each other at import."""

from __future__ import annotations

from metanode.codec import constants as codec_constants

version = 1
chain_id_bytes_max = 64
address_bytes = 20
ed25519_public_key_bytes = 32
ed25519_signature_bytes = 64
mldsa65_public_key_bytes = 1952
mldsa65_signature_bytes = 3309
bls_public_key_bytes = 48
bls_signature_bytes = 96
vrf_proof_bytes = 80
hash_bytes = 32
uint64_max = 2**64 - 1
# One transaction on the wire, a hybrid one included (its ML-DSA key and signature are ~5.3 KB).
tx_bytes_max = 8 * 1024
# A node key rotation (message 43) of an identity with an ML-DSA key carries the new ML-DSA
# key, the new keys' hybrid signature and the recorded key's signature: ~8.7 KB.
rotation_tx_bytes_max = 12 * 1024
memo_bytes_max = 256
# Registry records: a node's P2P address (host:port) and its DID, as text.
p2p_address_bytes_max = 128
did_bytes_max = 256
# DID documents (state/identity): fragments, services, keys and controllers of one DID, and a
# credential carried in a transaction (its JSON, UTF-8).
did_fragment_bytes_max = 32
did_service_type_bytes_max = 64
did_service_endpoint_bytes_max = 256
did_methods_max = 8
did_services_max = 8
did_controllers_max = 4
credential_bytes_max = 4 * 1024
# Governance proposals (state/governance): a title, the parameter changes of one proposal, the
# name of a software upgrade.
proposal_title_bytes_max = 140
parameter_changes_max = 8
upgrade_name_bytes_max = 64
# Apps (state/apps): a module carried in a deploy or upgrade transaction (it must fit in one),
# a function name and a call's input. A larger module is deployed by its relay-storage root
# (message 41) up to `app_stored_module_bytes_max`: the one-step ruling of a call carries the
# module in its transaction beside the call's reads and evidence, so the module takes at most
# half a ruling's bound and leaves the other half to the reads (about 80 scattered keys,
# docs/court.md); and the functions such a deploy declares (the chain compiles nothing it does
# not hold).
app_module_bytes_max = 6 * 1024
app_stored_module_bytes_max = 64 * 1024
app_functions_max = 64
app_function_bytes_max = 64
app_input_bytes_max = 4 * 1024
# Shadow registry (state/shadow): a Web2 service's DNS name (RFC 1035's 253), and a user's
# grant to it: at most `shadow_scopes_max` apps, each with at most `shadow_functions_max`
# functions (an empty list: every function of the app).
shadow_domain_bytes_max = 253
shadow_scopes_max = 16
shadow_functions_max = 16
# BISO policies (state/policy): a signed policy document, and a region's name.
policy_document_bytes_max = 4 * 1024
region_bytes_max = 32

# Notary LogBlocks (state/notary): the leaves of one LogBlock (issue 17: a notary cuts one
# every 512 receipts), a leaf's largest encoding (five 32-byte hashes, the fifth the request
# transaction a split-origin receipt names, and six uint64s), and the bound of a transaction
# carrying message 22: its own, larger than `tx_bytes_max`, sized for the leaves plus anything
# else a transaction holds (a hybrid signature included); and the committee a signer bitmap
# can name.
logblock_leaves_max = 512
logblock_leaf_bytes_max = 1 + 5 * (2 + hash_bytes) + 6 * 9
logblock_tx_bytes_max = 128 * 1024
# Zero-knowledge KYC (state/privacy): an issuer's published AnonCreds definitions (schema,
# CL credential definition, revocation registry: ~9 KiB for two attributes), its revocation
# status list (one JSON digit per entry plus the accumulator: ~5 KiB at `zk_capacity_max`), a
# presentation (~36 KiB: CL predicate and non-revocation proofs), and the bound of a
# transaction carrying message 33 or 34, sized for the larger of its payloads.
zk_definitions_bytes_max = 16 * 1024
zk_capacity_max = 2048
zk_status_list_bytes_max = 16 * 1024
zk_presentation_bytes_max = 48 * 1024
privacy_tx_bytes_max = 64 * 1024
# Roots one bisection turn may post (state/court: its `points_per_turn` parameter's ceiling).
dispute_points_max = 64
notary_committee_max = 256
# The registry's notaries take the committee over from the validator set only once there are
# this many: a committee of fewer than 3f + 1 = 4 survives no faulty member, and one joiner
# alone would otherwise sign every LogBlock.
notary_committee_min = 4
events_per_receipt_max = 16
event_attribute_bytes_max = 256
block_txs_max = 20_000
block_bytes_max = 8 * 1024 * 1024
# Equivocation evidence items in one block (each slashes at most once: state/registry).
block_evidence_max = 64
validators_max = 256
# A consensus round number beyond this is garbage, not a slow network.
consensus_round_max = 1_000_000
decimals = 9

assert logblock_leaves_max * logblock_leaf_bytes_max + tx_bytes_max <= logblock_tx_bytes_max
# A block holds dozens of full LogBlocks, and a block or a batch of them fits in a peer frame
# (net/constants.py: frame_bytes_max is block_bytes_max plus room for the certificate).
assert 64 * logblock_tx_bytes_max <= block_bytes_max
assert tx_bytes_max > mldsa65_public_key_bytes + mldsa65_signature_bytes + 512
assert block_bytes_max <= codec_constants.input_bytes_max
assert credential_bytes_max + 1024 < tx_bytes_max
assert app_module_bytes_max + 1024 < tx_bytes_max
assert 2 * app_stored_module_bytes_max <= logblock_tx_bytes_max
assert app_input_bytes_max + 1024 < tx_bytes_max
assert policy_document_bytes_max + 1024 < tx_bytes_max
assert block_txs_max * 100 < block_bytes_max
assert zk_definitions_bytes_max + zk_status_list_bytes_max + 1024 < privacy_tx_bytes_max
assert zk_presentation_bytes_max + 1024 < privacy_tx_bytes_max <= logblock_tx_bytes_max
