//! Ed25519 verification under the node's pinned rule (docs/decisions/ed25519-rule.md).
//!
//! `ed25519-dalek`'s `verify_strict` makes the rule's checks but one: it hashes the key's bytes
//! as given and decompresses them with y reduced mod p, so a non-canonical key that is not of
//! small order would pass. The rule rejects every non-canonical A and R, so both are screened
//! here first (R's check repeats what the strict check's byte comparison of R implies).
//!
//! Many signatures are checked one by one, split over threads; the library's batch equation is
//! not used: it skips the small-order and canonical checks and, with random coefficients, it
//! accepts a signature whose cofactorless equation misses by a torsion point with probability
//! 1/2 to 1/8, where the rule rejects it (`tests/vectors.rs` shows one). Making it exact needs a torsion check of every R, a scalar multiplication that costs
//! more than the batch saves.

use ed25519_dalek::{Signature, VerifyingKey};

pub const PUBLIC_KEY_BYTES: usize = 32;
pub const SIGNATURE_BYTES: usize = 64;
/// `verify_many` refuses longer messages, as the reference's `verify_many` does (its buffer).
pub const MESSAGE_BYTES_MAX: usize = 1 << 20;

/// Whether a 32-byte point encoding has y < p = 2^255 - 19 (the sign bit aside).
fn is_canonical(encoding: &[u8; 32]) -> bool {
    // y ≥ p only for y in p..2^255, whose bytes are ed..ff, ff × 30, 7f (little-endian).
    !(encoding[31] & 0x7f == 0x7f
        && encoding[1..31].iter().all(|&byte| byte == 0xff)
        && encoding[0] >= 0xed)
}

/// The pinned rule: true iff `signature` by `public_key` on `message` is valid.
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let (Ok(key_bytes), Ok(signature_bytes)) = (
        <&[u8; PUBLIC_KEY_BYTES]>::try_from(public_key),
        <&[u8; SIGNATURE_BYTES]>::try_from(signature),
    ) else {
        return false;
    };
    let r_bytes: &[u8; 32] = signature_bytes[..32].try_into().expect("64 = 32 + 32");
    if !is_canonical(key_bytes) || !is_canonical(r_bytes) {
        return false;
    }
    let Ok(key) = VerifyingKey::from_bytes(key_bytes) else {
        return false;
    };
    if key.is_weak() {
        return false;
    }
    // S < L, R decompressible and not of small order, and the cofactorless equation.
    key.verify_strict(message, &Signature::from_bytes(signature_bytes))
        .is_ok()
}

fn verify_item(&(key, message, signature): &(&[u8], &[u8], &[u8])) -> bool {
    message.len() <= MESSAGE_BYTES_MAX && verify(key, message, signature)
}

/// One verdict per (key, message, signature), in order, over at most `threads` threads.
pub fn verify_many(items: &[(&[u8], &[u8], &[u8])], threads: usize) -> Vec<bool> {
    // Below this a thread costs more than it saves (~40 µs to start, ~30 µs a signature).
    const PER_THREAD_MIN: usize = 16;
    let threads = threads.clamp(1, items.len().div_ceil(PER_THREAD_MIN).max(1));
    if threads == 1 {
        return items.iter().map(verify_item).collect();
    }
    let mut verdicts = vec![false; items.len()];
    let size = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (part, out) in items.chunks(size).zip(verdicts.chunks_mut(size)) {
            scope.spawn(move || {
                for (verdict, item) in out.iter_mut().zip(part) {
                    *verdict = verify_item(item);
                }
            });
        }
    });
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(seed: u8, message: &[u8]) -> ([u8; 32], [u8; 64]) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        (key.verifying_key().to_bytes(), key.sign(message).to_bytes())
    }

    #[test]
    fn a_good_signature_verifies_and_a_changed_one_does_not() {
        let (key, mut signature) = signed(7, b"block");
        assert!(verify(&key, b"block", &signature));
        assert!(!verify(&key, b"blocks", &signature));
        signature[40] ^= 1;
        assert!(!verify(&key, b"block", &signature));
    }

    #[test]
    fn wrong_lengths_and_long_messages_are_refused() {
        let (key, signature) = signed(1, b"m");
        assert!(!verify(&key[..31], b"m", &signature));
        assert!(!verify(&key, b"m", &signature[..63]));
        let long = vec![0u8; MESSAGE_BYTES_MAX + 1];
        let (key, signature) = signed(1, &long);
        assert!(verify(&key, &long, &signature));
        assert_eq!(verify_many(&[(&key, &long, &signature)], 1), [false]);
    }

    #[test]
    fn canonical_bound_is_p() {
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_canonical(&p));
        let mut below = p;
        below[0] = 0xec;
        assert!(is_canonical(&below));
        let mut signed_p = p;
        signed_p[31] = 0xff; // the sign bit does not make y canonical
        assert!(!is_canonical(&signed_p));
    }

    #[test]
    fn many_matches_one_by_one_over_threads() {
        let mut items = Vec::new();
        for seed in 0..100u8 {
            let (key, mut signature) = signed(seed, &[seed]);
            if seed % 7 == 3 {
                signature[0] ^= 0x80;
            }
            items.push((key.to_vec(), vec![seed], signature.to_vec()));
        }
        let borrowed: Vec<(&[u8], &[u8], &[u8])> = items
            .iter()
            .map(|(k, m, s)| (k.as_slice(), m.as_slice(), s.as_slice()))
            .collect();
        let expected: Vec<bool> = (0..100u8).map(|seed| seed % 7 != 3).collect();
        assert_eq!(verify_many(&borrowed, 1), expected);
        assert_eq!(verify_many(&borrowed, 3), expected);
    }
}
