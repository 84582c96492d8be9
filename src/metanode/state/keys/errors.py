"""keys result codes (range 1700–1799), stable forever: stored in receipts.

Guard ladder (auth/rules.py, after the signature): `account_migrated`: the Ed25519 account
moved to hybrid keys (message 37), so a transaction signed by its Ed25519 key alone is refused;
`hybrid_key_required`: `hybrid_accounts_required` is set and an Ed25519 account that has never
sent a transaction may send only its migration.

Migration (message 37): `already_hybrid`: the sender signs with hybrid keys already;
`migration_needs_both_keys`: the message lacks the new ML-DSA-65 key or the new key's hybrid
signature (a migration signed by one key only); `new_key_signature_invalid`: the hybrid
signature of the new keys does not verify over the migration statement (a half over another
message, or another chain's or account's statement); `account_is_a_node`: the sender is a
registered node or validator, whose Ed25519 key is its consensus identity.

Node key (message 38): `already_hybrid`, `migration_needs_both_keys` and
`new_key_signature_invalid` as above; `node_key_exists`: the identity has its ML-DSA key
already (replacing it would let a broken Ed25519 key choose the post-quantum key).
While `hybrid_validators_required` is set, the ladder's key rung refuses `RegisterValidator`,
and `RegisterNode` with the validator role, from an identity without an ML-DSA key
(`hybrid_key_required`).

Node key rotation (message 43): `already_hybrid`, `migration_needs_both_keys` (no signature of
the new key: a rotation signed by one key only) and `new_key_signature_invalid` as above;
`node_not_registered`: the sender is neither a validator nor a registered node, so it has no
node key to rotate; `hybrid_key_required`: the rotation names no new ML-DSA key although the
identity records one (it would lose its post-quantum link authentication) or
`hybrid_validators_required` is set; `node_key_in_use`: the new key is the current one, a key
some identity used before, or the key of another account's address (a key serves one identity,
once: peers map TLS certificates to identities by it); `recorded_key_signature_invalid`: the
identity records an ML-DSA key and `recorded_signature` is not that key's signature of the
rotation statement (or one is given where none is recorded).
"""

from __future__ import annotations

from metanode.state.codes import register

ACCOUNT_MIGRATED = register("keys", 1, "account_migrated")
HYBRID_KEY_REQUIRED = register("keys", 2, "hybrid_key_required")
ALREADY_HYBRID = register("keys", 3, "already_hybrid")
MIGRATION_NEEDS_BOTH_KEYS = register("keys", 4, "migration_needs_both_keys")
NEW_KEY_SIGNATURE_INVALID = register("keys", 5, "new_key_signature_invalid")
ACCOUNT_IS_A_NODE = register("keys", 6, "account_is_a_node")
NODE_KEY_EXISTS = register("keys", 7, "node_key_exists")
NODE_NOT_REGISTERED = register("keys", 8, "node_not_registered")
NODE_KEY_IN_USE = register("keys", 9, "node_key_in_use")
RECORDED_KEY_SIGNATURE_INVALID = register("keys", 10, "recorded_key_signature_invalid")
