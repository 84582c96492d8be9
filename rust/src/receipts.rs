//! A block's receipts root as `metanode.state.machine.receipts_root` computes it: the RFC 6962
//! root (`merkle`) over each receipt's deterministic CBOR, `[version, tx_hash, code,
//! fee_charged, events]` (`metanode.types.receipt.Receipt.encode`). The events, rare (a
//! transfer has none), come encoded by the caller.

use crate::cbor::encode_head;
use crate::merkle;
use crate::tree::Hash;

/// `metanode.types.constants.version`, a receipt's first field.
const VERSION: u64 = 1;
const UNSIGNED: u8 = 0;
const BYTES: u8 = 2;
const ARRAY: u8 = 4;

/// One receipt: its transaction's hash, its result code, the fee charged, and its events as
/// their encoded array (None: no events).
pub struct Receipt<'a> {
    pub tx_hash: &'a [u8],
    pub code: u64,
    pub fee: u64,
    pub events: Option<&'a [u8]>,
}

impl Receipt<'_> {
    /// The receipt's encoding, written into `out` (cleared first).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.clear();
        encode_head(out, ARRAY, 5);
        encode_head(out, UNSIGNED, VERSION);
        encode_head(out, BYTES, self.tx_hash.len() as u64);
        out.extend_from_slice(self.tx_hash);
        encode_head(out, UNSIGNED, self.code);
        encode_head(out, UNSIGNED, self.fee);
        match self.events {
            Some(events) => out.extend_from_slice(events),
            None => encode_head(out, ARRAY, 0),
        }
    }
}

/// The RFC 6962 root over the receipts' encodings.
pub fn root(receipts: &[Receipt<'_>]) -> Hash {
    let mut leaf = Vec::with_capacity(64);
    let hashes = receipts
        .iter()
        .map(|receipt| {
            receipt.encode_into(&mut leaf);
            merkle::leaf_hash(&leaf)
        })
        .collect();
    merkle::root_from_leaf_hashes(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::hex;

    #[test]
    fn receipts_encode_as_the_python_encoder() {
        // Receipt(bytes(32), 202, 2**32).encode().hex(), and with its events'
        // encoded array, [["unbonding", [["h", bytes(8)]]]], as they are.
        let events = [
            0x81, 0x82, 0x69, b'u', b'n', b'b', b'o', b'n', b'd', b'i', b'n', b'g', 0x81, 0x82,
            0x61, b'h', 0x48, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut out = Vec::new();
        Receipt {
            tx_hash: &[0; 32],
            code: 202,
            fee: 1 << 32,
            events: None,
        }
        .encode_into(&mut out);
        let head = format!("85015820{}", "00".repeat(32));
        assert_eq!(hex(&out), format!("{head}18ca1b000000010000000080"));
        Receipt {
            tx_hash: &[0; 32],
            code: 0,
            fee: 23,
            events: Some(&events),
        }
        .encode_into(&mut out);
        assert_eq!(hex(&out), format!("{head}0017{}", hex(&events)));
    }

    #[test]
    fn the_root_is_the_merkle_root_of_the_encodings() {
        let hashes: Vec<[u8; 32]> = (0u8..5).map(|index| [index; 32]).collect();
        let receipts: Vec<Receipt> = hashes
            .iter()
            .enumerate()
            .map(|(index, tx_hash)| Receipt {
                tx_hash,
                code: index as u64,
                fee: 1000,
                events: None,
            })
            .collect();
        let encodings: Vec<Vec<u8>> = receipts
            .iter()
            .map(|receipt| {
                let mut out = Vec::new();
                receipt.encode_into(&mut out);
                out
            })
            .collect();
        let leaves: Vec<&[u8]> = encodings.iter().map(Vec::as_slice).collect();
        assert_eq!(root(&receipts), merkle::root(&leaves));
        assert_eq!(root(&[]), merkle::root(&[]));
    }
}
