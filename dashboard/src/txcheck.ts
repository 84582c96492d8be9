// What the page checks about a transaction itself: that its bytes hash to the hash it is shown
// under, that its Ed25519 signature verifies (src/metanode/types/transaction.py, the node's
// rule: docs/decisions/ed25519-rule.md), and that its hash is in the transactions root of a
// block the chain verifier accepted (RFC 6962 inclusion, src/metanode/crypto/merkle.py).
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { decode } from "cborg";
import { NotVerified } from "./verify";

const TAG_TX = "metanode/tx/v1";
const TAG_TX_SIGNATURE = "metanode/tx-sig/v1";
const NODE = new Uint8Array([1]);

function hexOf(text: string, what: string): Uint8Array {
  try {
    return hexToBytes(text);
  } catch {
    throw new NotVerified(`${what} is not hex`);
  }
}

/** Bytes a CBOR byte string of `length` bytes takes: head plus content. */
function byteItemLength(length: number): number {
  if (length < 24) return 1 + length;
  if (length < 0x100) return 2 + length;
  if (length < 0x10000) return 3 + length;
  return 5 + length;
}

export interface CheckedTx {
  sender: Uint8Array;
  /** Whether the signature was checked: a hybrid account's (Ed25519 and ML-DSA-65 over a
   * bound message, src/metanode/crypto/pq.py) is not checked in the browser. */
  signatureChecked: boolean;
}

/** Raise NotVerified unless `raw` hashes to `hash` and, for an Ed25519 account, its signature
 * verifies. */
export function checkTransaction(raw: string, hash: string): CheckedTx {
  const bytes = hexOf(raw, "the transaction");
  const digest = sha256(concatBytes(utf8ToBytes(TAG_TX), new Uint8Array([0]), bytes));
  if (bytesToHex(digest) !== hash) {
    throw new NotVerified("the transaction's bytes do not hash to its hash");
  }
  let fields: unknown;
  try {
    fields = decode(bytes);
  } catch (error) {
    throw new NotVerified(`the transaction is not CBOR: ${String(error)}`);
  }
  if (!Array.isArray(fields) || (fields.length !== 8 && fields.length !== 9)) {
    throw new NotVerified("the transaction is not an array of 8 or 9 fields");
  }
  const sender = fields[2];
  const signature = fields[fields.length - 1];
  if (!(sender instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new NotVerified("the transaction's sender or signature is not bytes");
  }
  if (fields.length === 9) return { sender, signatureChecked: false };
  // The signed body is the encoding without its last item: one item fewer in the array head
  // (fewer than 24 items, so the head is one byte) and the signature's bytes cut off the end.
  const body = bytes.slice(0, bytes.length - byteItemLength(signature.length));
  body[0] -= 1;
  const message = concatBytes(utf8ToBytes(TAG_TX_SIGNATURE), new Uint8Array([0]), body);
  let valid = false;
  try {
    valid = ed25519.verify(signature, message, sender, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) throw new NotVerified("the transaction's Ed25519 signature does not verify");
  return { sender, signatureChecked: true };
}

/** RFC 9162 §2.1.3.2: raise NotVerified unless `leaf` is at `index` of the tree with `root`. */
export function verifyInclusion(
  leaf: string,
  index: number,
  size: number,
  path: string[],
  root: string,
): void {
  if (!(index >= 0 && index < size)) {
    throw new NotVerified(`leaf ${index} is outside a tree of ${size}`);
  }
  let fn = index;
  let sn = size - 1;
  let hash = hexOf(leaf, "the leaf");
  for (const item of path) {
    const sibling = hexOf(item, "the inclusion path");
    if (sn === 0) throw new NotVerified("the inclusion path is too long");
    if (fn % 2 === 1 || fn === sn) {
      hash = sha256(concatBytes(NODE, sibling, hash));
      while (fn % 2 === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      hash = sha256(concatBytes(NODE, hash, sibling));
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn !== 0 || bytesToHex(hash) !== root) {
    throw new NotVerified("the inclusion path does not lead to the block's transactions root");
  }
}
