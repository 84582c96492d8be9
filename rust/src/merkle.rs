//! Merkle roots as `metanode.crypto.merkle` computes them (RFC 6962: leaf hash H(0x00 ‖ d),
//! node hash H(0x01 ‖ left ‖ right), an unpaired last node promoted, the empty tree's root
//! H("")), for a block's transaction and receipt roots.

use sha2::{Digest, Sha256};

use crate::tree::Hash;

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The root over leaf hashes the caller holds, paired a level at a time in place.
pub fn root_from_leaf_hashes(mut level: Vec<Hash>) -> Hash {
    if level.is_empty() {
        return Sha256::digest(b"").into();
    }
    while level.len() > 1 {
        let paired = level.len() / 2;
        for index in 0..paired {
            level[index] = node_hash(&level[2 * index], &level[2 * index + 1]);
        }
        if level.len() % 2 == 1 {
            level[paired] = level[level.len() - 1];
        }
        level.truncate(level.len().div_ceil(2));
    }
    level[0]
}

/// The root over leaf data.
pub fn root(leaves: &[&[u8]]) -> Hash {
    root_from_leaf_hashes(leaves.iter().map(|leaf| leaf_hash(leaf)).collect())
}
