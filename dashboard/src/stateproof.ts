// Checks an account the gateway sends against the state root of a block the chain verifier
// accepted: the proof of the state tree (src/metanode/state/tree.py, radix 16, each node a
// 4-level binary tree; docs/decisions/state-tree.md) and the record it proves, the bank's
// account [nonce, GEN, NEX, FLX, AUR] (src/metanode/state/bank/accounts.py).
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js";
import { decode } from "cborg";
import { addressBytes, NotVerified } from "./verify";

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);
const ZERO = new Uint8Array(32);
const DEPTH_MAX = 64;
// src/metanode/state/bank/keys.py: the bank's prefix 0x02, its accounts 0x01, then the address.
const ACCOUNT_KEY_PREFIX = new Uint8Array([0x02, 0x01]);
// The order of balances in the record: src/metanode/types Denom (GEN = 1 … AUR = 4).
export const DENOMS = ["GEN", "NEX", "FLX", "AUR"];

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

function pair(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (isZero(left) && isZero(right)) return ZERO;
  return sha256(concatBytes(NODE, left, right));
}

function nibble(hashed: Uint8Array, depth: number): number {
  const byte = hashed[depth >> 1];
  return depth % 2 === 0 ? byte >> 4 : byte & 0x0f;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/** Raise NotVerified unless `proof` shows `key` = `value` (null: absent) under `root`. */
export function verifyStateProof(
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | null,
  proof: Uint8Array,
): void {
  let fields: unknown;
  try {
    fields = decode(proof);
  } catch (error) {
    throw new NotVerified(`malformed state proof: ${String(error)}`);
  }
  if (!Array.isArray(fields) || fields.length !== 2) {
    throw new NotVerified("a state proof is [siblings, terminal]");
  }
  const [levels, terminal] = fields as [unknown, unknown];
  if (
    !Array.isArray(levels) ||
    levels.length > DEPTH_MAX ||
    levels.some((level) => !(level instanceof Uint8Array) || level.length !== 128) ||
    !Array.isArray(terminal) ||
    (terminal.length !== 0 && terminal.length !== 2) ||
    terminal.some((item) => !(item instanceof Uint8Array) || item.length !== 32)
  ) {
    throw new NotVerified("malformed state proof");
  }
  const hashed = sha256(key);
  const depth = levels.length;
  let current: Uint8Array;
  if (terminal.length === 2) {
    const [leafKey, leafValue] = terminal as [Uint8Array, Uint8Array];
    for (let level = 0; level < depth; level++) {
      if (nibble(leafKey, level) !== nibble(hashed, level)) {
        throw new NotVerified("the proof's leaf is not on the key's path");
      }
    }
    current = sha256(concatBytes(LEAF, leafKey, leafValue));
    const present = equal(leafKey, hashed);
    if (present && (value === null || !equal(sha256(value), leafValue))) {
      throw new NotVerified("the account's record differs from the one the proof holds");
    }
    if (!present && value !== null) {
      throw new NotVerified("the proof shows another key where this account would be");
    }
  } else {
    if (value !== null) throw new NotVerified("the proof shows the account is absent");
    current = ZERO;
  }
  for (let level = depth - 1; level >= 0; level--) {
    const slot = nibble(hashed, level);
    const siblings = levels[level] as Uint8Array;
    for (let step = 0; step < 4; step++) {
      const sibling = siblings.subarray(32 * step, 32 * step + 32);
      current = (slot >> step) & 1 ? pair(sibling, current) : pair(current, sibling);
    }
  }
  if (!equal(current, root)) throw new NotVerified("the state proof does not lead to the root");
}

export interface ProvenAccount {
  address: string;
  nonce: number;
  balances: Record<string, number>;
  proof: { height: number; state_root: string; key: string; value: string | null; proof: string };
}

/** Raise NotVerified unless the account's proof holds under `stateRoot` (a verified block's)
 * and proves the nonce and balances the gateway shows. */
export function verifyAccount(account: ProvenAccount, stateRoot: string): void {
  const { proof } = account;
  if (proof.state_root !== stateRoot) {
    throw new NotVerified(`the proof is for another state root than block #${proof.height}'s`);
  }
  const key = concatBytes(ACCOUNT_KEY_PREFIX, addressBytes(account.address));
  if (bytesToHex(key) !== proof.key) throw new NotVerified("the proof is for another key");
  let value: Uint8Array | null;
  let proofBytes: Uint8Array;
  try {
    value = proof.value === null ? null : hexToBytes(proof.value);
    proofBytes = hexToBytes(proof.proof);
  } catch {
    throw new NotVerified("the proof is not hex");
  }
  verifyStateProof(hexToBytes(stateRoot), key, value, proofBytes);
  const record = value === null ? [0, 0, 0, 0, 0] : (decode(value) as unknown);
  if (!Array.isArray(record) || record.length !== 5) {
    throw new NotVerified("the proven record is not an account [nonce, balances…]");
  }
  const shown = [account.nonce, ...DENOMS.map((denom) => account.balances[denom])];
  record.forEach((proven, index) => {
    if (BigInt(proven as number | bigint) !== BigInt(shown[index] ?? -1)) {
      const what = index === 0 ? "nonce" : `${DENOMS[index - 1]} balance`;
      throw new NotVerified(`the ${what} shown differs from the proven record`);
    }
  });
}
