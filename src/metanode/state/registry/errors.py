"""registry result codes (range 500–599), stable forever: stored in receipts.

`did_not_controlled`: the node type requires an identity level and the DID named is not a
`did:metanode` DID whose controllers the sender's key authenticates for (anyone could otherwise
borrow another's credentials). `identity_level_too_low`: the DID's highest valid, unrevoked
credential (state/identity) is below the type's level. `trust_score_too_low`: no module
computes trust scores yet, so every node's score is 0. `evidence_malformed`: an item of a
block's evidence list that is not a sorted pair of consensus records (a transaction's pair is
decoded with the transaction). `evidence_validator_not_in_set`: the signer was not in the
validator set in force at the evidence's height (staking's set history).
`ExitNode`: `node_not_registered` (the sender has no registry record), `node_already_leaving`
(it sent `ExitNode` before: unbonding or exited), `node_jailed` (jailed for good by evidence:
its record stays as a tombstone; a validator node withdraws its bond with staking's `Unbond`),
`unbonding_queue_full` (staking's queue for the completion height is full: retry next block).
`Unjail`: `validator_not_jailed`, `jail_is_permanent` (jailed by evidence), and
`downtime_jail_not_over` (jailed for missed commits; the jail's length has not passed).
Light-client attack evidence (light_attack.py): `light_attack_not_a_conflict` (the conflicting
header is the committed block, or the committed certificate is missing or of another height),
`light_attack_certificate_invalid` (a certificate of another chain, height or header, a signer
bitmap outside its set, too little power, an aggregate that does not verify),
`light_attack_set_unknown` (the header names a validator set the chain had neither at its
height nor at the common height: the evidence carries no set to read its signers from),
`light_attack_amnesia` (a double sign in two rounds, which CometBFT does not punish either),
`light_attack_no_attacker` (every signer named is jailed for good already or signed once),
`light_attack_heights_invalid` (the common height is not below the conflicting one).
Omission evidence (omission.py, docs/inclusion.md): `omission_malformed` (an item that says it
is omission evidence and does not decode as one), `omission_block_invalid` (the block is of
another chain, its transactions are not its header's, its proposer was not in the set, or the
proposal record is not its proposer's signed proposal of it), `omission_lists_invalid` (a list of
another chain or height, one that does not name the transaction, a signer outside the set or
twice, a signature that does not verify), `omission_lists_too_weak` (the lists' signers hold
a third of the set's power or less: none of them need be honest), `omission_tx_invalid` (the
transaction is of another chain, expired at the block's height, below the fee floor or not
signed by its sender), `omission_tx_included` (the block holds it or another transaction of
its sender: leaving it out proves nothing), `omission_block_full` (the block had no room for
it), `omission_already_counted` (this proposer's omission at this height is on record),
`omission_proposer_jailed` (the proposer is jailed already).
"""

from __future__ import annotations

from metanode.state.codes import register

P2P_ADDRESS_INVALID = register("registry", 1, "p2p_address_invalid")
DID_INVALID = register("registry", 2, "did_invalid")
HYBRID_ACCOUNT_CANNOT_REGISTER = register("registry", 3, "hybrid_account_cannot_register")
ALREADY_REGISTERED = register("registry", 4, "already_registered")
ROLE_NOT_ALLOWED = register("registry", 5, "role_not_allowed")
IDENTITY_LEVEL_TOO_LOW = register("registry", 6, "identity_level_too_low")
TRUST_SCORE_TOO_LOW = register("registry", 7, "trust_score_too_low")
STAKE_BELOW_MINIMUM = register("registry", 8, "stake_below_minimum")
INSUFFICIENT_FUNDS = register("registry", 9, "insufficient_funds")
BLS_KEY_IN_USE = register("registry", 10, "bls_key_in_use")
REGISTRY_FULL = register("registry", 11, "registry_full")
INVALID_PROOF_OF_POSSESSION = register("registry", 12, "invalid_proof_of_possession")
EVIDENCE_NOT_SAME_SLOT = register("registry", 13, "evidence_not_same_slot")
EVIDENCE_MESSAGES_IDENTICAL = register("registry", 14, "evidence_messages_identical")
EVIDENCE_FROM_FUTURE = register("registry", 15, "evidence_from_future")
EVIDENCE_TOO_OLD = register("registry", 16, "evidence_too_old")
EVIDENCE_VALIDATOR_UNKNOWN = register("registry", 17, "evidence_validator_unknown")
EVIDENCE_ALREADY_USED = register("registry", 18, "evidence_already_used")
VALIDATOR_ALREADY_JAILED = register("registry", 19, "validator_already_jailed")
EVIDENCE_SIGNATURE_INVALID = register("registry", 20, "evidence_signature_invalid")
DID_NOT_CONTROLLED = register("registry", 21, "did_not_controlled")
EVIDENCE_MALFORMED = register("registry", 22, "evidence_malformed")
EVIDENCE_VALIDATOR_NOT_IN_SET = register("registry", 23, "evidence_validator_not_in_set")
NODE_NOT_REGISTERED = register("registry", 24, "node_not_registered")
NODE_ALREADY_LEAVING = register("registry", 25, "node_already_leaving")
NODE_JAILED = register("registry", 26, "node_jailed")
UNBONDING_QUEUE_FULL = register("registry", 27, "unbonding_queue_full")
VALIDATOR_NOT_JAILED = register("registry", 28, "validator_not_jailed")
JAIL_IS_PERMANENT = register("registry", 29, "jail_is_permanent")
DOWNTIME_JAIL_NOT_OVER = register("registry", 30, "downtime_jail_not_over")
LIGHT_ATTACK_NOT_A_CONFLICT = register("registry", 31, "light_attack_not_a_conflict")
LIGHT_ATTACK_CERTIFICATE_INVALID = register("registry", 32, "light_attack_certificate_invalid")
LIGHT_ATTACK_SET_UNKNOWN = register("registry", 33, "light_attack_set_unknown")
LIGHT_ATTACK_AMNESIA = register("registry", 34, "light_attack_amnesia")
LIGHT_ATTACK_NO_ATTACKER = register("registry", 35, "light_attack_no_attacker")
LIGHT_ATTACK_HEIGHTS_INVALID = register("registry", 36, "light_attack_heights_invalid")
OMISSION_MALFORMED = register("registry", 37, "omission_malformed")
OMISSION_BLOCK_INVALID = register("registry", 38, "omission_block_invalid")
OMISSION_LISTS_INVALID = register("registry", 39, "omission_lists_invalid")
OMISSION_LISTS_TOO_WEAK = register("registry", 40, "omission_lists_too_weak")
OMISSION_TX_INVALID = register("registry", 41, "omission_tx_invalid")
OMISSION_TX_INCLUDED = register("registry", 42, "omission_tx_included")
OMISSION_BLOCK_FULL = register("registry", 43, "omission_block_full")
OMISSION_ALREADY_COUNTED = register("registry", 44, "omission_already_counted")
OMISSION_PROPOSER_JAILED = register("registry", 45, "omission_proposer_jailed")
