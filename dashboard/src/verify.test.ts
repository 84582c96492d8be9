// Run by tests/dashboard/test_verifier.py, which makes the cases with the node's own code and
// real BLS keys and passes their file in METANODE_VERIFY_FIXTURE.
import { readFileSync } from "node:fs";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { hexToBytes } from "@noble/hashes/utils.js";
import { describe, expect, test } from "vitest";
import { type ProvenAccount, verifyAccount } from "./stateproof";
import { checkTransaction, verifyInclusion } from "./txcheck";
import {
  type BlockJson,
  ChainVerifier,
  NotVerified,
  SIGNATURE_DST,
  type ValidatorSetJson,
} from "./verify";

interface Case {
  name: string;
  blocks: Record<string, BlockJson>;
  set: ValidatorSetJson;
  order: number[];
  expect: string[];
}

interface Signature {
  public_key: string;
  message: string;
  signature: string;
  valid: boolean;
}

const path = process.env.METANODE_VERIFY_FIXTURE;
if (!path) {
  throw new Error("METANODE_VERIFY_FIXTURE is not set: run tests/dashboard/test_verifier.py");
}
const fixture = JSON.parse(readFileSync(path, "utf8")) as {
  cases: Case[];
  signatures: Signature[];
};

describe("chain verifier", () => {
  for (const item of fixture.cases) {
    test(item.name, async () => {
      const verifier = new ChainVerifier(
        async (height) => item.blocks[String(height)],
        async () => item.set,
      );
      const seen: string[] = [];
      for (const height of item.order) {
        try {
          const verified = await verifier.verify(item.blocks[String(height)]);
          seen.push(`verified ${verified.height}`);
        } catch (error) {
          if (!(error instanceof NotVerified)) throw error;
          seen.push(error.message);
        }
      }
      expect(seen).toEqual(item.expect);
    });
  }
});

describe("single BLS signatures", () => {
  const bls = bls12_381.longSignatures;
  fixture.signatures.forEach((item, index) => {
    test(`signature ${index} is ${item.valid ? "valid" : "refused"}`, () => {
      const message = bls.hash(hexToBytes(item.message), SIGNATURE_DST);
      expect(bls.verify(hexToBytes(item.signature), message, hexToBytes(item.public_key))).toBe(
        item.valid,
      );
    });
  });
});

describe("transactions", () => {
  const { transactions, inclusions } = fixture as unknown as {
    transactions: { raw: string; hash: string; expect: string }[];
    inclusions: {
      leaf: string;
      index: number;
      size: number;
      path: string[];
      root: string;
      valid: boolean;
    }[];
  };
  transactions.forEach((item, index) => {
    test(`transaction ${index}: ${item.expect}`, () => {
      let seen: string;
      try {
        seen = checkTransaction(item.raw, item.hash).signatureChecked
          ? "Ed25519 signature checked"
          : "not checked";
      } catch (error) {
        if (!(error instanceof NotVerified)) throw error;
        seen = error.message;
      }
      expect(seen).toBe(item.expect);
    });
  });
  test(`${inclusions.length} inclusion paths judged as the node judges them`, () => {
    for (const item of inclusions) {
      let valid = true;
      try {
        verifyInclusion(item.leaf, item.index, item.size, item.path, item.root);
      } catch (error) {
        if (!(error instanceof NotVerified)) throw error;
        valid = false;
      }
      expect({ ...item, valid }).toEqual(item);
    }
  });
});

describe("accounts", () => {
  const { accounts } = fixture as unknown as {
    accounts: { account: ProvenAccount; root: string; expect: string }[];
  };
  accounts.forEach((item, index) => {
    test(`account ${index}: ${item.expect}`, () => {
      let seen = "verified";
      try {
        verifyAccount(item.account, item.root);
      } catch (error) {
        if (!(error instanceof NotVerified)) throw error;
        seen = error.message;
      }
      expect(seen).toBe(item.expect);
    });
  });
});
