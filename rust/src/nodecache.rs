//! The ledger store's tree node table held in memory between blocks, so that a block's tree
//! update reads its nodes without a Python call and an LMDB `get` each. It mirrors rows of the
//! table exactly as `state/store.py` stores them (a node under its path, its version ahead of
//! its encoding; a root-index entry as it is): it is filled from the table on a miss and
//! given every committed block's rows, and the store drops it whenever the table changes any
//! other way. So each row held is the table's row, and a row left out only costs a read.
//! Bounded: past `capacity` bytes a row the cache does not hold already is not taken.
//!
//! Read-only, it is the tree's `SharedNodes`: a split update's two threads read it at once
//! (`&NodeCache`: nothing can change it meanwhile), and a row it does not hold is not at hand.

use std::collections::HashMap;

use crate::tree;

/// A tree node key's version (u64) ahead of its path; a root-index key starts with `R`.
pub const VERSION_BYTES: usize = 8;
pub const ROOT_INDEX: u8 = b'R';
/// What a held row costs beyond its key and value: the map's entry (two boxed slices, a hash
/// slot) and the allocator's headers, rounded up.
const ENTRY_OVERHEAD_BYTES: usize = 80;

/// A node key as (the table's key, the version its row must carry; None for a root-index
/// entry), or None for a key too short to be a node's.
pub fn split(node_key: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    if node_key.first() == Some(&ROOT_INDEX) {
        return Some((node_key, None));
    }
    let (version, path) = node_key.split_at_checked(VERSION_BYTES)?;
    Some((path, Some(version)))
}

/// What the tree reads under a node key, given the table's row at its path: a root-index
/// entry as stored, a node only if its stored version is the one asked for (the table keeps
/// the latest node of each path, and an older version is absent).
pub fn node<'r>(row: &'r [u8], version: Option<&[u8]>) -> Option<&'r [u8]> {
    match version {
        None => Some(row),
        Some(version) => row.strip_prefix(version),
    }
}

/// (table key, the version ahead of the row or None, the node or root-index entry).
pub type TableRow<'u> = (&'u [u8], Option<&'u [u8]>, &'u [u8]);

/// A tree update's changes to the node table, as `state/store.py` makes them (`_node_rows`,
/// the reference): each new node under its path with its version ahead of its encoding (a
/// root-index entry as it is), and the keys its stale nodes delete, each with the version the
/// stored row must carry (None for a root-index entry), but for the paths a new node replaces
/// in place (deleted, they would be written again).
pub struct TableChanges<'u> {
    pub rows: Vec<TableRow<'u>>,
    pub deletes: Vec<(&'u [u8], Option<&'u [u8]>)>,
}

/// The node table's changes for `update`; None if a node key is too short to be one (the tree
/// makes none such: a broken invariant).
pub fn table_changes(update: &tree::Update) -> Option<TableChanges<'_>> {
    let mut rows = Vec::with_capacity(update.node_writes.len());
    let mut written = Vec::with_capacity(update.node_writes.len());
    for (node_key, node) in &update.node_writes {
        let (key, version) = split(node_key.as_slice())?;
        if version.is_some() {
            written.push(key);
        }
        rows.push((key, version, node.as_slice()));
    }
    let mut stale = Vec::with_capacity(update.stale.len());
    for node_key in &update.stale {
        stale.push(split(node_key.as_slice())?);
    }
    let replaced = replaced_in_place(written, &stale);
    let deletes = stale
        .into_iter()
        .zip(replaced)
        .filter_map(|(stale, replaced)| (!replaced).then_some(stale))
        .collect();
    Some(TableChanges { rows, deletes })
}

/// Whether each stale node's path is among the `written` paths (a node replaced in place),
/// found by merging the two in table key order (a path's first byte is its depth): the writes
/// are sorted already (by node key, all of the batch's version), and the walk retires the
/// nodes of one depth in path order, so each depth's stale paths come sorted too (which the
/// sort finds in one pass; any order gives the same answer). A SipHash set of the paths, then
/// a binary search of each, was most of the rows' making.
fn replaced_in_place(mut written: Vec<&[u8]>, stale: &[(&[u8], Option<&[u8]>)]) -> Vec<bool> {
    written.sort_unstable();
    let mut depths: Vec<Vec<(&[u8], usize)>> = Vec::new();
    for (index, (key, version)) in stale.iter().enumerate() {
        // A root-index entry is never replaced in place, whatever its bytes.
        if version.is_some() {
            let depth = usize::from(key.first().copied().unwrap_or_default());
            if depths.len() <= depth {
                depths.resize_with(depth + 1, Vec::new);
            }
            depths[depth].push((key, index));
        }
    }
    let mut replaced = vec![false; stale.len()];
    let mut writes = written.iter().peekable();
    for mut paths in depths {
        paths.sort_unstable();
        for (path, index) in paths {
            while writes.next_if(|write| **write < path).is_some() {}
            replaced[index] = writes.peek().is_some_and(|write| **write == path);
        }
    }
    replaced
}

pub struct NodeCache {
    rows: HashMap<Box<[u8]>, Box<[u8]>>,
    bytes: usize,
    capacity: usize,
    /// A row was turned away for want of room since the cache was last emptied: a tree
    /// update will then likely miss some row every block.
    refused: bool,
}

fn cost(key: &[u8], row: &[u8]) -> usize {
    key.len() + row.len() + ENTRY_OVERHEAD_BYTES
}

impl NodeCache {
    pub fn new(capacity: usize) -> Self {
        NodeCache {
            rows: HashMap::new(),
            bytes: 0,
            capacity,
            refused: false,
        }
    }

    /// The row held for a table key.
    pub fn row(&self, key: &[u8]) -> Option<&[u8]> {
        self.rows.get(key).map(AsRef::as_ref)
    }

    /// The table's row at `key` is now `row`: replaced if held, taken if there is room.
    pub fn put(&mut self, key: &[u8], row: &[u8]) {
        self.put_parts(key, None, row);
    }

    /// `put` of the row `prefix` ‖ `rest` (a node's version ahead of its encoding), joined
    /// only where it is kept.
    fn put_parts(&mut self, key: &[u8], prefix: Option<&[u8]>, rest: &[u8]) {
        let prefix = prefix.unwrap_or_default();
        let length = prefix.len() + rest.len();
        if let Some(held) = self.rows.get_mut(key) {
            if held.len() == length {
                // The usual case (a leaf rewritten, a node of the same children): no allocation.
                held[..prefix.len()].copy_from_slice(prefix);
                held[prefix.len()..].copy_from_slice(rest);
            } else {
                self.bytes = self.bytes - held.len() + length;
                *held = [prefix, rest].concat().into();
            }
            return;
        }
        let added = key.len() + length + ENTRY_OVERHEAD_BYTES;
        if self.bytes + added <= self.capacity {
            self.bytes += added;
            self.rows.insert(key.into(), [prefix, rest].concat().into());
        } else {
            self.refused = true;
        }
    }

    /// A committed tree update's changes to the table: its deletes, then its rows.
    pub fn apply(&mut self, changes: &TableChanges<'_>) {
        for (key, _) in &changes.deletes {
            self.remove(key);
        }
        for (key, version, node) in &changes.rows {
            self.put_parts(key, *version, node);
        }
    }

    /// The table no longer holds `key`.
    pub fn remove(&mut self, key: &[u8]) {
        if let Some(row) = self.rows.remove(key) {
            self.bytes -= cost(key, &row);
        }
    }

    pub fn clear(&mut self) {
        self.rows.clear();
        self.rows.shrink_to_fit();
        self.bytes = 0;
        self.refused = false;
    }

    /// Whether a row was turned away for want of room since the cache was last emptied.
    pub fn refused(&self) -> bool {
        self.refused
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Bytes counted against the capacity.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl tree::SharedNodes for NodeCache {
    fn read_shared<R>(
        &self,
        node_key: &[u8],
        decode: impl FnOnce(&[u8]) -> R,
    ) -> Option<Option<R>> {
        let (key, version) = split(node_key)?;
        Some(node(self.row(key)?, version).map(decode))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_read_only_at_the_version_its_row_carries() {
        let mut key = 7u64.to_be_bytes().to_vec();
        key.extend_from_slice(&[2, 0xab]);
        let (path, version) = split(&key).expect("a node key");
        assert_eq!(path, [2, 0xab]);
        let mut row = 7u64.to_be_bytes().to_vec();
        row.extend_from_slice(b"node");
        assert_eq!(node(&row, version), Some(&b"node"[..]));
        let older = 6u64.to_be_bytes();
        assert_eq!(node(&row, Some(&older)), None);
        assert_eq!(split(b"R-root"), Some((&b"R-root"[..], None)));
        assert_eq!(node(b"located", None), Some(&b"located"[..]));
        assert_eq!(split(b"short"), None);
    }

    #[test]
    fn stale_paths_replaced_in_place_are_found_in_any_order() {
        let version = Some(&b"v"[..]);
        let written: Vec<&[u8]> = vec![b"\x01\x10", b"\x01\x20", b"\x02\x12", b"\x03\x12\x30"];
        let stale: [(&[u8], Option<&[u8]>); 7] = [
            (b"\x02\x12", version),
            (b"\x01\x30", version),
            (b"\x01\x10", version),
            (b"\x01\x10", None),
            (b"\x03\x12\x30", version),
            (b"\x01\x10", version),
            (b"\x00", version),
        ];
        assert_eq!(
            replaced_in_place(written, &stale),
            [true, false, true, false, true, true, false]
        );
    }

    #[test]
    fn past_its_capacity_the_cache_takes_no_new_row_but_replaces_and_removes() {
        let mut cache = NodeCache::new(2 * cost(b"k1", b"row1"));
        cache.put(b"k1", b"row1");
        cache.put(b"k2", b"row2");
        assert!(!cache.refused());
        cache.put(b"k3", b"row3");
        assert!(cache.refused());
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.row(b"k3"), None);
        cache.put(b"k2", b"ROW2");
        assert_eq!(cache.row(b"k2"), Some(&b"ROW2"[..]));
        cache.put(b"k1", b"a longer row");
        assert_eq!(cache.row(b"k1"), Some(&b"a longer row"[..]));
        assert_eq!(
            cache.bytes(),
            cost(b"k1", b"a longer row") + cost(b"k2", b"row2")
        );
        cache.remove(b"k2");
        cache.remove(b"k2");
        assert_eq!(cache.bytes(), cost(b"k1", b"a longer row"));
        cache.clear();
        assert!(cache.is_empty());
        assert!(!cache.refused());
        assert_eq!(cache.bytes(), 0);
    }
}
