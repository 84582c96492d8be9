"""Layer 1: hashing, signatures (Ed25519, BLS12-381, ML-DSA), ECVRF, RFC 6962 Merkle, key files."""
