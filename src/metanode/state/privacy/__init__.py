"""privacy: zero-knowledge KYC proofs verified on chain (AnonCreds; docs/privacy.md)."""
