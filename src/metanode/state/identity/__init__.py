"""identity (D-Adhaar): `did:metanode` DIDs whose documents follow W3C DID Core 1.0, KYC
verifiable credentials (W3C VC Data Model 2.0, `eddsa-jcs-2022` proofs) issued by registered
bank and government authorities, and their revocation through on-chain Bitstring Status Lists.
docs/identity.md is the method's specification."""
