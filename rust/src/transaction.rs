//! Transactions carrying a transfer (message 1), decoded with the stateless checks of
//! `metanode.types.transaction.Transaction.decode`: the same checks in the same order, the same
//! rule names. Any other message is left to the Python decoder (`Decoded::Other`).

use sha2::{Digest, Sha256};

use crate::cbor::{self, Error, Value};
use crate::tree::Hash;

pub const VERSION: u64 = 1;
pub const CHAIN_ID_BYTES_MAX: usize = 64;
pub const PUBLIC_KEY_BYTES: usize = 32;
pub const SIGNATURE_BYTES: usize = 64;
pub const MLDSA65_PUBLIC_KEY_BYTES: usize = 1952;
pub const MLDSA65_SIGNATURE_BYTES: usize = 3309;
pub const ADDRESS_BYTES: usize = 20;
pub const TX_BYTES_MAX: usize = 8 * 1024;
/// The bound past which bytes are refused before decoding (a LogBlock's transaction).
pub const LOGBLOCK_TX_BYTES_MAX: usize = 112 * 1024;
const TRANSFER: u64 = 1;
const DENOMS: std::ops::RangeInclusive<u64> = 1..=4;

#[derive(Debug, PartialEq, Eq)]
pub struct Transfer<'a> {
    pub chain_id: &'a str,
    pub sender: &'a [u8],
    pub nonce: u64,
    pub fee: u64,
    pub expiry_height: u64,
    pub to: &'a [u8],
    pub amount: u64,
    pub denom: u64,
    pub pq_public_key: Option<&'a [u8]>,
    pub signature: &'a [u8],
    /// `address(sender, pq_public_key)`: hashed here, where the decoding runs without the
    /// GIL, so that execution and indexing need not hash it in Python.
    pub sender_address: [u8; ADDRESS_BYTES],
    /// The transaction's hash, `tagged_hash(TX, data)`: hashed here for the same reason, so
    /// that the pool, gossip intake and proposals read it from the `Transaction`.
    pub hash: Hash,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    Transfer(Transfer<'a>),
    /// A well-formed envelope up to its message, which is not a transfer.
    Other,
}

fn refuse<T>(rule: &'static str) -> Result<T, Error> {
    Err(Error { rule, offset: None })
}

fn uint(value: &Value) -> Result<u64, Error> {
    match value {
        Value::Uint(number) => Ok(*number),
        Value::Negative(_) => refuse("out_of_range"),
        _ => refuse("wrong_type"),
    }
}

fn bytes<'a>(value: &Value<'a>, length: usize) -> Result<&'a [u8], Error> {
    match value {
        Value::Bytes(bytes) if bytes.len() == length => Ok(bytes),
        Value::Bytes(_) => refuse("wrong_length"),
        _ => refuse("wrong_type"),
    }
}

/// `metanode/address/v1`, the domain tag of `metanode.types.address`'s hash.
const ADDRESS_TAG: &[u8] = b"metanode/address/v1";

/// The address of an account's keys, as `Address.from_public_key` makes it: the first 20
/// bytes of SHA-256(tag ‖ 0x00 ‖ each key as its u16 length ‖ its bytes), the Ed25519 key
/// first.
pub fn address(sender: &[u8], pq_public_key: Option<&[u8]>) -> [u8; ADDRESS_BYTES] {
    let mut hasher = Sha256::new();
    hasher.update(ADDRESS_TAG);
    hasher.update([0x00]);
    for key in std::iter::once(sender).chain(pq_public_key) {
        // Keys are 32 or 1,952 bytes, always within a u16.
        hasher.update((key.len() as u16).to_be_bytes());
        hasher.update(key);
    }
    let digest = hasher.finalize();
    let mut address = [0; ADDRESS_BYTES];
    address.copy_from_slice(&digest[..ADDRESS_BYTES]);
    address
}

/// SHA-256(prefix ‖ data), `tagged_hash` of `metanode.crypto.hashing` when `prefix` is the
/// tag's name and 0x00. The caller passes the prefix from `metanode.codec.tags`, so the tag's
/// name has one source.
pub fn tagged_hash(prefix: &[u8], data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prefix);
    hasher.update(data);
    hasher.finalize().into()
}

/// The rule of an item whose decoding panicked: a bug in this crate, never the bytes' fault.
pub const PANICKED: &str = "core_panic";

/// `work`'s result, or `PANICKED` if it panics, so that no panic crosses into Python: PyO3
/// would raise its PanicException there, a BaseException that the `except Exception` of the
/// gateway and the peer links lets through, where a DecodeError is refused in place.
pub fn guarded<T>(work: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or(Err(Error {
        rule: PANICKED,
        offset: None,
    }))
}

/// `data` decoded, a transfer with its hash `tagged_hash(hash_prefix, data)`.
pub fn decode<'a>(
    data: &'a [u8],
    registered_tags: &[u64],
    hash_prefix: &[u8],
) -> Result<Decoded<'a>, Error> {
    if data.len() > LOGBLOCK_TX_BYTES_MAX {
        return refuse("too_long");
    }
    let value = cbor::decode(data, registered_tags)?;
    let fields = match &value {
        Value::Array(fields) if fields.len() == 8 || fields.len() == 9 => fields,
        Value::Array(_) => return refuse("wrong_length"),
        _ => return refuse("wrong_type"),
    };
    if fields[0] != Value::Uint(VERSION) {
        return refuse("unknown_version");
    }
    let (pq_public_key, signature_length) = if fields.len() == 9 {
        let key = bytes(&fields[7], MLDSA65_PUBLIC_KEY_BYTES)?;
        (Some(key), SIGNATURE_BYTES + MLDSA65_SIGNATURE_BYTES)
    } else {
        (None, SIGNATURE_BYTES)
    };
    let chain_id = match &fields[1] {
        Value::Text(text) if text.len() <= CHAIN_ID_BYTES_MAX => *text,
        Value::Text(_) => return refuse("too_long"),
        _ => return refuse("wrong_type"),
    };
    let sender = bytes(&fields[2], PUBLIC_KEY_BYTES)?;
    let nonce = uint(&fields[3])?;
    let fee = uint(&fields[4])?;
    let expiry_height = uint(&fields[5])?;
    let message = match &fields[6] {
        Value::Array(message) if !message.is_empty() => message,
        _ => return refuse("wrong_type"),
    };
    if uint(&message[0])? != TRANSFER {
        return Ok(Decoded::Other);
    }
    if message.len() != 4 {
        return refuse("wrong_length");
    }
    let to = bytes(&message[1], ADDRESS_BYTES)?;
    let amount = uint(&message[2])?;
    let denom = uint(&message[3])?;
    if !DENOMS.contains(&denom) {
        return refuse("unknown_denom");
    }
    let signature = bytes(&fields[fields.len() - 1], signature_length)?;
    if data.len() > TX_BYTES_MAX {
        return refuse("too_long_for_message");
    }
    Ok(Decoded::Transfer(Transfer {
        chain_id,
        sender,
        nonce,
        fee,
        expiry_height,
        to,
        amount,
        denom,
        pq_public_key,
        signature,
        sender_address: address(sender, pq_public_key),
        hash: tagged_hash(hash_prefix, data),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::hex;

    #[test]
    fn addresses_are_the_python_addresses() {
        // Address.from_public_key(bytes(32)) and (bytes(range(32)), bytes(1952)).raw.hex().
        assert_eq!(
            hex(&address(&[0; 32], None)),
            "5ea7ce71a16df812fb388dab4c5f581319061bd4"
        );
        let sender: Vec<u8> = (0..32).collect();
        assert_eq!(
            hex(&address(&sender, Some(&[0; MLDSA65_PUBLIC_KEY_BYTES]))),
            "0b60df0a3daa425faaa96caaad14bf3da8a04ac2"
        );
    }

    #[test]
    fn a_transfers_hash_is_the_python_hash() {
        // Transaction("c", bytes(32), 7, 1000, 99, Transfer(Address.from_public_key(bytes(32)),
        // 5, Denom(1)), bytes(64)): its encode() and hash().hex().
        let mut data = vec![0x88, 0x01, 0x61, b'c', 0x58, 0x20];
        data.extend([0; 32]);
        data.extend([0x07, 0x19, 0x03, 0xe8, 0x18, 0x63, 0x84, 0x01, 0x54]);
        data.extend(address(&[0; 32], None));
        data.extend([0x05, 0x01, 0x58, 0x40]);
        data.extend([0; 64]);
        let Ok(Decoded::Transfer(transfer)) = decode(&data, &[], b"metanode/tx/v1\0") else {
            panic!("not decoded as a transfer");
        };
        assert_eq!(
            hex(&transfer.hash),
            "d868df4e179ead96aa47cf6c5b2e4ae68e31aff15658673d961b8b78f8905af4"
        );
    }

    #[test]
    fn a_panic_while_decoding_becomes_the_core_panic_rule() {
        let panicking = || -> Result<Decoded<'static>, Error> { panic!("a deliberate bug") };
        let error = guarded(panicking).unwrap_err();
        assert_eq!((error.rule, error.offset), (PANICKED, None));
        assert_eq!(
            guarded(|| decode(&[0x80], &[], b"")).unwrap_err().rule,
            "wrong_length"
        );
    }
}
