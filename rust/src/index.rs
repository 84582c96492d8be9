//! The ledger indexes' level 0 (`state/index_runs.py`, the reference): a block's entries
//! packed into one row per slice of the prefix space, and a slice's rows unpacked into level
//! 1's entries when the store sweeps it.
//!
//! A row's key is slice u8 ‖ height u32 (big-endian); its value is records prefix (8 bytes) ‖
//! position u16, sorted, each once. slice(prefix) = prefix[0] >> shift, shift = 8 − log2(S).

pub const PREFIX_BYTES: usize = 8;
pub const RECORD_BYTES: usize = PREFIX_BYTES + 2;
pub const KEY_BYTES: usize = 1 + 4;
/// A level-1 entry's value: height u32 ‖ position u16.
pub const LOCATION_BYTES: usize = 6;

pub type Prefix = [u8; PREFIX_BYTES];
pub type Location = [u8; LOCATION_BYTES];

/// The shift that takes a prefix's first byte to its slice, for `slices` a power of two that
/// divides 256; None for any other count.
pub fn slice_shift(slices: u32) -> Option<u32> {
    (slices.is_power_of_two() && slices <= 256).then(|| 8 - slices.trailing_zeros())
}

/// Level 0's rows of one block at `height` from its entries (prefix, position): sorted, each
/// entry once, one row per slice that holds one, in key order.
pub fn recent_rows(
    height: u32,
    mut entries: Vec<(Prefix, u16)>,
    shift: u32,
) -> Vec<([u8; KEY_BYTES], Vec<u8>)> {
    entries.sort_unstable();
    entries.dedup();
    let mut rows: Vec<([u8; KEY_BYTES], Vec<u8>)> = Vec::new();
    for (prefix, position) in entries {
        // A shift of 8 (one slice) leaves every prefix in slice 0.
        let part = prefix[0].checked_shr(shift).unwrap_or(0);
        match rows.last_mut() {
            Some((key, value)) if key[0] == part => {
                value.extend_from_slice(&prefix);
                value.extend_from_slice(&position.to_be_bytes());
            }
            _ => {
                let mut key = [0u8; KEY_BYTES];
                key[0] = part;
                key[1..].copy_from_slice(&height.to_be_bytes());
                let mut value = Vec::with_capacity(RECORD_BYTES * 64);
                value.extend_from_slice(&prefix);
                value.extend_from_slice(&position.to_be_bytes());
                rows.push((key, value));
            }
        }
    }
    rows
}

/// Whether a level-0 row is one this code writes: a 5-byte key, a value of whole records.
pub fn row_is_whole(key: &[u8], value: &[u8]) -> bool {
    key.len() == KEY_BYTES && !value.is_empty() && value.len() % RECORD_BYTES == 0
}

/// Level 1's entries (prefix, height ‖ position) of level 0's `rows`, sorted; Err(i) names the
/// first row that is not whole.
pub fn swept(rows: &[(&[u8], &[u8])]) -> Result<Vec<(Prefix, Location)>, usize> {
    let mut entries = Vec::with_capacity(rows.iter().map(|(_, v)| v.len() / RECORD_BYTES).sum());
    for (index, (key, value)) in rows.iter().enumerate() {
        if !row_is_whole(key, value) {
            return Err(index);
        }
        for record in value.chunks_exact(RECORD_BYTES) {
            let mut prefix = [0u8; PREFIX_BYTES];
            prefix.copy_from_slice(&record[..PREFIX_BYTES]);
            let mut location = [0u8; LOCATION_BYTES];
            location[..4].copy_from_slice(&key[1..]);
            location[4..].copy_from_slice(&record[PREFIX_BYTES..]);
            entries.push((prefix, location));
        }
    }
    entries.sort_unstable();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_rows_unpack_to_the_entries_each_once() {
        let shift = slice_shift(64).unwrap();
        assert_eq!(shift, 2);
        let entries = vec![
            ([0xff; 8], 3),
            ([0x00; 8], 1),
            ([0x01; 8], 2),
            ([0x00; 8], 1),
            ([0x00; 8], 0),
        ];
        let rows = recent_rows(7, entries, shift);
        let keys: Vec<u8> = rows.iter().map(|(key, _)| key[0]).collect();
        assert_eq!(keys, vec![0, 63]);
        assert_eq!(rows[0].1.len(), 3 * RECORD_BYTES);
        let borrowed: Vec<(&[u8], &[u8])> = rows
            .iter()
            .map(|(key, value)| (&key[..], &value[..]))
            .collect();
        let found = swept(&borrowed).unwrap();
        let head = 7u32.to_be_bytes();
        let location = |position: u8| [head[0], head[1], head[2], head[3], 0, position];
        assert_eq!(
            found,
            vec![
                ([0x00; 8], location(0)),
                ([0x00; 8], location(1)),
                ([0x01; 8], location(2)),
                ([0xff; 8], location(3)),
            ]
        );
    }

    #[test]
    fn rows_that_are_not_whole_are_named() {
        let good = [0u8; RECORD_BYTES];
        let rows: Vec<(&[u8], &[u8])> =
            vec![(&[0, 0, 0, 0, 1], &good), (&[0, 0, 0, 0, 2], &good[..7])];
        assert_eq!(swept(&rows), Err(1));
        assert_eq!(swept(&[(&[0, 0, 0, 1], &good)]), Err(0));
        assert_eq!(swept(&[(&[0, 0, 0, 0, 1], &[])]), Err(0));
    }

    #[test]
    fn only_powers_of_two_up_to_256_are_slice_counts() {
        assert_eq!(slice_shift(1), Some(8));
        assert_eq!(slice_shift(256), Some(0));
        assert_eq!(slice_shift(48), None);
        assert_eq!(slice_shift(512), None);
        assert_eq!(slice_shift(0), None);
    }
}
