// What the page checks itself instead of trusting its server: each header's hash, the chain of
// headers from a checkpoint, the validator set each header names, and each block's commit
// certificate (a BLS aggregate over the signers' commit seals).
//
// The scheme is the Python side's (src/metanode/crypto/bls.py): BLS12-381 with public keys in
// G1 (48 bytes) and signatures in G2 (96 bytes), the proof-of-possession ciphersuite, so its
// hash-to-curve DST is BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_ (noble's default is the basic
// scheme's _NUL_ DST, which would fail every certificate). The objects are hashed as the node
// hashes them: SHA-256 over a domain tag, a zero byte and the object's deterministic CBOR.
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { bech32m } from "@scure/base";
import { encode } from "cborg";

export const SIGNATURE_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
const WIRE_VERSION = 1;
// src/metanode/codec/tags.py
const TAG_BLOCK_HEADER = "metanode/block-header/v1";
const TAG_COMMIT_SEAL = "metanode/commit-seal/v1";
const TAG_VALIDATOR_SET = "metanode/validator-set/v1";
const TAG_COMMIT_CERTIFICATE = "metanode/commit-certificate/v1";
const ADDRESS_PREFIX = "mn";

export interface CertificateJson {
  height: number;
  round: number;
  block_hash: string;
  signer_bitmap: string;
  aggregate_signature: string;
}

export interface BlockJson {
  height: number;
  hash: string;
  chain_id: string;
  round: number;
  timestamp_ms: number;
  previous_hash: string;
  txs_root: string;
  state_root: string;
  receipts_root: string;
  validator_set_hash: string;
  next_validator_set_hash: string;
  proposer: string;
  vrf_proof: string;
  last_certificate_hash: string;
  txs: string[];
  certificate: CertificateJson | null;
  last_certificate: CertificateJson | null;
}

export interface ValidatorJson {
  address: string;
  power: number;
  public_key: string;
  bls_public_key: string;
  vrf_public_key: string;
}

export interface ValidatorSetJson {
  height: number;
  total_power: number;
  set_hash: string;
  validators: ValidatorJson[];
}

/** Why a block is not verified, in words a person can act on. */
export class NotVerified extends Error {
  override name = "NotVerified";
}

function taggedHash(tag: string, data: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8ToBytes(tag), new Uint8Array([0]), data));
}

function cbor(value: unknown): Uint8Array {
  // Integers above 2^53 do not occur in what is hashed here (heights, rounds, powers and
  // milliseconds); cborg writes every number in its shortest head, as the node does.
  return encode(value);
}

function hex(text: string, what: string): Uint8Array {
  try {
    return hexToBytes(text);
  } catch {
    throw new NotVerified(`${what} is not hex`);
  }
}

export function addressBytes(text: string): Uint8Array {
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32m.decode(text as `${string}1${string}`);
  } catch {
    throw new NotVerified(`${text} is not a bech32m address`);
  }
  if (decoded.prefix !== ADDRESS_PREFIX) throw new NotVerified(`${text} is not an mn1… address`);
  return bech32m.fromWords(decoded.words);
}

export function headerHash(block: BlockJson): string {
  const wire = [
    WIRE_VERSION,
    block.chain_id,
    block.height,
    block.round,
    block.timestamp_ms,
    hex(block.previous_hash, "previous_hash"),
    hex(block.txs_root, "txs_root"),
    hex(block.state_root, "state_root"),
    hex(block.receipts_root, "receipts_root"),
    hex(block.validator_set_hash, "validator_set_hash"),
    hex(block.next_validator_set_hash, "next_validator_set_hash"),
    addressBytes(block.proposer),
    hex(block.vrf_proof, "vrf_proof"),
    hex(block.last_certificate_hash, "last_certificate_hash"),
  ];
  return bytesToHex(taggedHash(TAG_BLOCK_HEADER, cbor(wire)));
}

export function validatorSetHash(set: ValidatorSetJson): string {
  const wire = set.validators.map((v) => [
    addressBytes(v.address),
    v.power,
    hex(v.public_key, "public_key"),
    hex(v.bls_public_key, "bls_public_key"),
    hex(v.vrf_public_key, "vrf_public_key"),
  ]);
  return bytesToHex(taggedHash(TAG_VALIDATOR_SET, cbor(wire)));
}

export function certificateHash(certificate: CertificateJson): string {
  const wire = [
    WIRE_VERSION,
    certificate.height,
    certificate.round,
    hex(certificate.block_hash, "block_hash"),
    hex(certificate.signer_bitmap, "signer_bitmap"),
    hex(certificate.aggregate_signature, "aggregate_signature"),
  ];
  return bytesToHex(taggedHash(TAG_COMMIT_CERTIFICATE, cbor(wire)));
}

export function commitSealMessage(height: number, round: number, blockHash: string): Uint8Array {
  return taggedHash(TAG_COMMIT_SEAL, cbor([height, round, hex(blockHash, "block_hash")]));
}

/** Indexes set in a signer bitmap: bit i is byte i / 8, bit i mod 8 from the low end. */
export function signerIndexes(bitmap: string): number[] {
  const bytes = hex(bitmap, "signer_bitmap");
  const indexes: number[] = [];
  for (let i = 0; i < bytes.length * 8; i++) {
    if ((bytes[i >> 3] >> (i & 7)) & 1) indexes.push(i);
  }
  return indexes;
}

/** ceil(2P/3), as src/metanode/consensus/validators.py. */
export function quorum(totalPower: number): number {
  return Math.floor((2 * totalPower + 2) / 3);
}

/** The signers' addresses if `certificate` proves a quorum of `set` committed `block`. */
export function verifyCertificate(
  block: BlockJson,
  certificate: CertificateJson,
  set: ValidatorSetJson,
): string[] {
  if (certificate.block_hash !== block.hash) {
    throw new NotVerified("the certificate is for another block");
  }
  if (certificate.height !== block.height) {
    throw new NotVerified("the certificate is for another height");
  }
  const size = set.validators.length;
  if (hex(certificate.signer_bitmap, "signer_bitmap").length !== Math.ceil(size / 8)) {
    throw new NotVerified("the signer bitmap does not match the validator set size");
  }
  const indexes = signerIndexes(certificate.signer_bitmap);
  if (indexes.some((index) => index >= size)) {
    throw new NotVerified("the signer bitmap names a validator outside the set");
  }
  const signers = indexes.map((index) => set.validators[index]);
  const total = set.validators.reduce((sum, v) => sum + v.power, 0);
  const signed = signers.reduce((sum, v) => sum + v.power, 0);
  if (signed < quorum(total)) {
    throw new NotVerified(`signers hold ${signed} of ${total} power, below the quorum`);
  }
  const bls = bls12_381.longSignatures;
  let valid: boolean;
  try {
    const keys = signers.map((v) => {
      const point = bls12_381.G1.Point.fromBytes(hex(v.bls_public_key, "bls_public_key"));
      if (point.is0()) throw new NotVerified("a validator's BLS key is the identity point");
      return point;
    });
    const message = bls.hash(
      commitSealMessage(certificate.height, certificate.round, block.hash),
      SIGNATURE_DST,
    );
    const signature = bls.Signature.fromBytes(
      hex(certificate.aggregate_signature, "aggregate_signature"),
    );
    valid = bls.verify(signature, message, bls.aggregatePublicKeys(keys));
  } catch (error) {
    if (error instanceof NotVerified) throw error;
    throw new NotVerified(`a key or the signature is not a valid point: ${String(error)}`);
  }
  if (!valid) throw new NotVerified("the aggregate commit signature does not verify");
  return signers.map((v) => v.address);
}

/** A checked block: its header is authentic and a quorum of its validator set committed it. */
export interface Verified {
  height: number;
  hash: string;
  signers: string[];
  /** How its header's authenticity was established. */
  via: "checkpoint" | "parent" | "child";
}

export type SetSource = (height: number) => Promise<ValidatorSetJson>;
export type BlockSource = (height: number) => Promise<BlockJson>;

/**
 * Follows the header chain from a checkpoint (the first block it is given, or a pinned
 * height and validator set hash): a block is verified when its recomputed header hash links
 * to an already verified neighbour (its parent's hash and next validator set, or its child's
 * previous hash) and its certificate verifies against the set its header names.
 */
export class ChainVerifier {
  private readonly trusted = new Map<number, BlockJson>();
  private readonly sets = new Map<string, ValidatorSetJson>();
  checkpoint: { height: number; setHash: string; pinned: boolean } | null;

  constructor(
    private readonly blocks: BlockSource,
    private readonly validators: SetSource,
    pinned: { height: number; setHash: string } | null = null,
  ) {
    this.checkpoint = pinned ? { ...pinned, pinned: true } : null;
  }

  verifiedHeights(): number[] {
    return [...this.trusted.keys()].sort((a, b) => a - b);
  }

  isVerified(height: number, hash: string): boolean {
    return this.trusted.get(height)?.hash === hash;
  }

  async verify(block: BlockJson, depth = 0): Promise<Verified> {
    if (headerHash(block) !== block.hash) {
      throw new NotVerified("the header does not hash to the block hash the server gave");
    }
    const known = this.trusted.get(block.height);
    if (known !== undefined && known.hash !== block.hash) {
      throw new NotVerified(`a different block ${known.hash.slice(0, 12)}… is verified here`);
    }
    if (this.checkpoint === null) {
      this.checkpoint = { height: block.height, setHash: block.validator_set_hash, pinned: false };
    }
    const via = await this.link(block, depth);
    if (block.certificate === null) throw new NotVerified("the block has no certificate yet");
    const set = await this.setFor(block);
    const signers = verifyCertificate(block, block.certificate, set);
    this.trusted.set(block.height, block);
    return { height: block.height, hash: block.hash, signers, via };
  }

  private async link(block: BlockJson, depth: number): Promise<Verified["via"]> {
    const checkpoint = this.checkpoint!;
    if (block.height === checkpoint.height) {
      if (block.validator_set_hash !== checkpoint.setHash) {
        throw new NotVerified("the header names another validator set than the checkpoint");
      }
      return "checkpoint";
    }
    const child = this.trusted.get(block.height + 1);
    if (child !== undefined) {
      if (child.previous_hash !== block.hash) {
        throw new NotVerified("the header is not the parent of the verified next block");
      }
      return "child";
    }
    let parent = this.trusted.get(block.height - 1);
    if (parent === undefined) {
      if (depth > parentWalkMax) {
        throw new NotVerified("too far from the checkpoint to follow the chain");
      }
      const towards = block.height > checkpoint.height ? block.height - 1 : block.height + 1;
      const neighbour = await this.verify(await this.blocks(towards), depth + 1);
      if (neighbour.height === block.height + 1) return this.link(block, depth);
      parent = this.trusted.get(block.height - 1)!;
    }
    if (block.previous_hash !== parent.hash) {
      throw new NotVerified("the header does not follow the verified previous block");
    }
    if (block.validator_set_hash !== parent.next_validator_set_hash) {
      throw new NotVerified("the header names another validator set than its parent announced");
    }
    return "parent";
  }

  private async setFor(block: BlockJson): Promise<ValidatorSetJson> {
    const cached = this.sets.get(block.validator_set_hash);
    if (cached !== undefined) return cached;
    const set = await this.validators(block.height);
    if (validatorSetHash(set) !== block.validator_set_hash) {
      throw new NotVerified("the validator set the server gave does not hash to the header's");
    }
    this.sets.set(block.validator_set_hash, set);
    return set;
  }
}

// How many blocks the verifier fetches to bridge a gap back to what it has verified.
const parentWalkMax = 64;
