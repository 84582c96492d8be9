//! The state tree's batch update (`metanode.state.tree.update`), node for node: the same nodes
//! written under the same keys, the same stale keys in the same order, the same root. The
//! node store stays the caller's (`Nodes`); see the Python module for the structure.
//!
//! `update_split` gives the same update on two threads when every node it reads is at hand
//! without a call out (`SharedNodes`, the node cache): the root's children are independent
//! subtrees (disjoint paths, so disjoint node keys), updated in two groups of slots, one a
//! thread, and joined in slot order. Which slots go to which thread changes only the time:
//! each group's nodes, stale keys and child records are those of the serial walk over its
//! slots, and the stale keys are joined in the serial walk's order.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];
/// A child as its parent stores it: is_leaf (1) ‖ hash (32) ‖ version (8).
type Record = [u8; 41];
type Slots = [Option<Record>; 16];

const ZERO: Hash = [0; 32];
const ROOT_INDEX: u8 = b'R';
const DEPTH_MAX: usize = 64;

/// Where nodes are read; `Error` is the reader's own failure, handed back untouched.
pub trait Nodes {
    type Error;
    /// `decode` of the node under `node_key` where it lies (no copy), or None if absent.
    fn read<R>(
        &mut self,
        node_key: &[u8],
        decode: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, Self::Error>;
}

/// Nodes that several threads read at once without a call out: `None` when the node is not at
/// hand (the caller then updates by `update`, whose `Nodes` read it where it lies).
pub trait SharedNodes: Sync {
    /// As `Nodes::read`, or None when the answer is not at hand.
    fn read_shared<R>(&self, node_key: &[u8], decode: impl FnOnce(&[u8]) -> R)
        -> Option<Option<R>>;
}

/// A node a thread of `update_split` needed and did not have at hand.
struct NotAtHand;

/// One thread's view of `SharedNodes`.
struct AtHand<'s, S>(&'s S);

impl<S: SharedNodes> Nodes for AtHand<'_, S> {
    type Error = NotAtHand;

    fn read<R>(
        &mut self,
        node_key: &[u8],
        decode: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, NotAtHand> {
        self.0.read_shared(node_key, decode).ok_or(NotAtHand)
    }
}

/// The longest node key: version (8) ‖ depth (1) ‖ a full packed path (32).
const NODE_KEY_BYTES_MAX: usize = 41;

/// A node key held inline (version ‖ depth ‖ packed path, or `R` ‖ root), so that naming a
/// node allocates nothing; ordered, compared and hashed as its bytes.
#[derive(Clone, Copy)]
pub struct NodeKey {
    len: u8,
    bytes: [u8; NODE_KEY_BYTES_MAX],
}

impl NodeKey {
    fn of(parts: &[&[u8]]) -> Self {
        let mut key = NodeKey {
            len: 0,
            bytes: [0; NODE_KEY_BYTES_MAX],
        };
        for part in parts {
            let start = usize::from(key.len);
            key.bytes[start..start + part.len()].copy_from_slice(part);
            key.len += part.len() as u8;
        }
        key
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl PartialEq for NodeKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for NodeKey {}

impl std::hash::Hash for NodeKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::hash::Hash::hash(self.as_slice(), state);
    }
}

impl Ord for NodeKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl PartialOrd for NodeKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&hex(self.as_slice()))
    }
}

#[derive(Debug)]
pub enum Error<E> {
    /// A broken invariant of the store (a missing node, a hash collision): a bug, never input.
    Invariant(String),
    Reader(E),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Update {
    pub root: Hash,
    /// Sorted by node key.
    pub node_writes: Vec<(NodeKey, Vec<u8>)>,
    pub stale: Vec<NodeKey>,
}

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn leaf_hash(hashed_key: &[u8], hashed_value: &[u8]) -> Hash {
    sha256(&[&[0x00], hashed_key, hashed_value])
}

fn nibble(hashed: &[u8], depth: usize) -> usize {
    let byte = hashed[depth >> 1];
    usize::from(if depth % 2 == 0 {
        byte >> 4
    } else {
        byte & 0x0f
    })
}

fn node_key(version: &[u8], hashed: &[u8], depth: usize) -> NodeKey {
    let mut key = NodeKey::of(&[version, &[depth as u8], &hashed[..(depth + 1) >> 1]]);
    if depth & 1 == 1 {
        key.bytes[usize::from(key.len) - 1] &= 0xf0;
    }
    key
}

fn root_index(root: &[u8]) -> NodeKey {
    NodeKey::of(&[&[ROOT_INDEX], root])
}

/// A leaf node's (key hash, value hash).
fn leaf_of(data: &[u8]) -> (Hash, Hash) {
    (
        data[1..33].try_into().expect("32 bytes"),
        data[33..65].try_into().expect("32 bytes"),
    )
}

fn path_with(path: &[u8], depth: usize, slot: usize) -> Hash {
    let mut padded = ZERO;
    padded[..path.len()].copy_from_slice(path);
    let index = depth >> 1;
    padded[index] = if depth % 2 == 0 {
        ((slot as u8) << 4) | (padded[index] & 0x0f)
    } else {
        (padded[index] & 0xf0) | slot as u8
    };
    padded
}

fn record(is_leaf: bool, hash: &[u8], version: &[u8]) -> Record {
    let mut record = [0u8; 41];
    record[0] = u8::from(is_leaf);
    record[1..33].copy_from_slice(hash);
    record[33..].copy_from_slice(version);
    record
}

fn decode_slots(data: &[u8]) -> Slots {
    let bitmap = (usize::from(data[1]) << 8) | usize::from(data[2]);
    let mut slots: Slots = [None; 16];
    let mut offset = 3;
    for (slot, entry) in slots.iter_mut().enumerate() {
        if bitmap >> slot & 1 == 1 {
            *entry = Some(data[offset..offset + 41].try_into().expect("41 bytes"));
            offset += 41;
        }
    }
    slots
}

fn encode_slots(slots: &Slots) -> Vec<u8> {
    let bitmap = slots
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.is_some())
        .fold(0u16, |bitmap, (slot, _)| bitmap | 1 << slot);
    let mut data = vec![1u8];
    data.extend_from_slice(&bitmap.to_be_bytes());
    for entry in slots.iter().flatten() {
        data.extend_from_slice(entry);
    }
    data
}

fn slots_hash(slots: &Slots) -> Hash {
    let mut level = [ZERO; 16];
    for (hash, entry) in level.iter_mut().zip(slots) {
        if let Some(entry) = entry {
            hash.copy_from_slice(&entry[1..33]);
        }
    }
    // Four folds in place, no allocation: pair i of a level becomes entry i of the next.
    let mut width = 16;
    while width > 1 {
        for index in 0..width / 2 {
            let (left, right) = (level[2 * index], level[2 * index + 1]);
            level[index] = if left == ZERO && right == ZERO {
                ZERO
            } else {
                sha256(&[&[0x01], &left, &right])
            };
        }
        width /= 2;
    }
    level[0]
}

/// (slot, start, end) of each run of sorted `keys` with the same nibble at `depth`.
fn slices(keys: &[Hash], depth: usize) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start == keys.len() {
            return None;
        }
        let slot = nibble(&keys[start], depth);
        let end = start
            + keys[start..]
                .iter()
                .position(|key| nibble(key, depth) != slot)
                .unwrap_or(keys.len() - start);
        let run = (slot, start, end);
        start = end;
        Some(run)
    })
}

struct Batch<'n, N: Nodes> {
    nodes: &'n mut N,
    version: [u8; 8],
    writes: HashMap<NodeKey, Vec<u8>>,
    stale: Vec<NodeKey>,
}

impl<N: Nodes> Batch<'_, N> {
    /// `decode` of the node under `node_key`: written by this batch, or read.
    fn load<R>(
        &mut self,
        node_key: &NodeKey,
        decode: fn(&[u8]) -> R,
    ) -> Result<R, Error<N::Error>> {
        if self.writes_here(node_key) {
            if let Some(data) = self.writes.get(node_key) {
                return Ok(decode(data));
            }
        }
        match self
            .nodes
            .read(node_key.as_slice(), decode)
            .map_err(Error::Reader)?
        {
            Some(decoded) => Ok(decoded),
            None => Err(Error::Invariant(format!(
                "state tree node {node_key:?} is missing"
            ))),
        }
    }

    /// Whether `node_key` may be among this batch's writes: they are all at its version, and
    /// nearly every node a batch reads or retires is older, so the map (a SipHash of the key
    /// each time) is asked only for nodes of this version.
    fn writes_here(&self, node_key: &NodeKey) -> bool {
        node_key.as_slice().starts_with(&self.version)
    }

    fn retire(&mut self, node_key: NodeKey) {
        if !self.writes_here(&node_key) || self.writes.remove(&node_key).is_none() {
            self.stale.push(node_key);
        }
    }

    fn put_leaf(&mut self, hashed_key: &[u8], hashed_value: &[u8], depth: usize) -> Record {
        let mut data = Vec::with_capacity(65);
        data.push(0u8);
        data.extend_from_slice(hashed_key);
        data.extend_from_slice(hashed_value);
        self.writes
            .insert(node_key(&self.version, hashed_key, depth), data);
        record(true, &leaf_hash(hashed_key, hashed_value), &self.version)
    }

    /// A fresh subtree at `depth` holding the puts keys → values.
    fn build(
        &mut self,
        keys: &[Hash],
        values: &[Hash],
        depth: usize,
    ) -> Result<Option<Record>, Error<N::Error>> {
        match keys.len() {
            0 => return Ok(None),
            1 => return Ok(Some(self.put_leaf(&keys[0], &values[0], depth))),
            _ if depth >= DEPTH_MAX => {
                return Err(Error::Invariant(
                    "two state keys share a 256-bit hash".into(),
                ))
            }
            _ => {}
        }
        let mut slots: Slots = [None; 16];
        for (slot, start, end) in slices(keys, depth) {
            slots[slot] = self.build(&keys[start..end], &values[start..end], depth + 1)?;
        }
        self.finish(&slots, &keys[0], depth)
    }

    /// Store an internal node, collapsing it into its only child when that is a leaf.
    fn finish(
        &mut self,
        slots: &Slots,
        path: &[u8],
        depth: usize,
    ) -> Result<Option<Record>, Error<N::Error>> {
        let mut present = slots
            .iter()
            .enumerate()
            .filter_map(|(slot, entry)| entry.as_ref().map(|entry| (slot, entry)));
        match (present.next(), present.next()) {
            (None, _) => return Ok(None),
            (Some((slot, only)), None) if only[0] == 1 => {
                let child_key = node_key(&only[33..], &path_with(path, depth, slot), depth + 1);
                let (leaf_key, leaf_value) = self.load(&child_key, leaf_of)?;
                self.retire(child_key);
                return Ok(Some(self.put_leaf(&leaf_key, &leaf_value, depth)));
            }
            _ => {}
        }
        self.writes
            .insert(node_key(&self.version, path, depth), encode_slots(slots));
        Ok(Some(record(false, &slots_hash(slots), &self.version)))
    }

    /// The subtree at `depth` on keys[0]'s path, now `current`, after the writes keys → values.
    fn apply(
        &mut self,
        current: Option<Record>,
        depth: usize,
        keys: &[Hash],
        values: &[Option<Hash>],
    ) -> Result<Option<Record>, Error<N::Error>> {
        if keys.is_empty() {
            return Ok(current);
        }
        let Some(current) = current else {
            let (puts, put_values): (Vec<Hash>, Vec<Hash>) = keys
                .iter()
                .zip(values)
                .filter_map(|(key, value)| value.map(|value| (*key, value)))
                .unzip();
            return self.build(&puts, &put_values, depth);
        };
        let key = node_key(&current[33..], &keys[0], depth);
        if current[0] == 0 {
            let mut slots = self.load(&key, decode_slots)?;
            self.retire(key);
            for (slot, start, end) in slices(keys, depth) {
                slots[slot] = self.apply(
                    slots[slot],
                    depth + 1,
                    &keys[start..end],
                    &values[start..end],
                )?;
            }
            return self.finish(&slots, &keys[0], depth);
        }
        let (leaf_key, leaf_value) = self.load(&key, leaf_of)?;
        if keys.len() == 1 && keys[0] == leaf_key {
            // The usual leaf: its own key rewritten (an account's new balance) or deleted; the
            // general merge below gives the same, through a map and two vectors.
            return match values[0] {
                Some(value) if value == leaf_value => Ok(Some(current)),
                Some(value) => {
                    self.retire(key);
                    Ok(Some(self.put_leaf(&keys[0], &value, depth)))
                }
                None => {
                    self.retire(key);
                    Ok(None)
                }
            };
        }
        let mut merged = BTreeMap::from([(leaf_key, leaf_value)]);
        for (key, value) in keys.iter().zip(values) {
            match value {
                Some(value) => merged.insert(*key, *value),
                None => merged.remove(key),
            };
        }
        if merged.len() == 1 && merged.get(&leaf_key) == Some(&leaf_value) {
            return Ok(Some(current));
        }
        self.retire(key);
        let (ordered, ordered_values): (Vec<Hash>, Vec<Hash>) = merged.into_iter().unzip();
        self.build(&ordered, &ordered_values, depth)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn root_record<N: Nodes>(
    nodes: &mut N,
    root: Option<&Hash>,
) -> Result<Option<Record>, Error<N::Error>> {
    let Some(root) = root.filter(|root| **root != ZERO) else {
        return Ok(None);
    };
    let index = root_index(root);
    let Some(located) = nodes
        .read(index.as_slice(), <[u8]>::to_vec)
        .map_err(Error::Reader)?
    else {
        return Err(Error::Invariant(format!(
            "no state tree root {} in the node store",
            hex(root)
        )));
    };
    let Some(is_leaf) = nodes
        .read(&located, |data| data[0] == 0)
        .map_err(Error::Reader)?
    else {
        return Err(Error::Invariant(format!(
            "state tree root node {} is missing",
            hex(&located)
        )));
    };
    Ok(Some(record(is_leaf, root, &located[..8])))
}

/// A batch's writes as sorted (key hash, value hash or None for a delete), refused if a key
/// comes twice.
type Hashed = (Vec<Hash>, Vec<Option<Hash>>);

fn hash_writes(writes: &[(&[u8], Option<&[u8]>)]) -> Vec<(Hash, Option<Hash>)> {
    writes
        .iter()
        .map(|(key, value)| (sha256(&[key]), value.map(|value| sha256(&[value]))))
        .collect()
}

fn sorted_once(mut items: Vec<(Hash, Option<Hash>)>) -> Result<Hashed, String> {
    items.sort_unstable();
    if items.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return Err("a state tree batch writes each key once".into());
    }
    Ok(items.into_iter().unzip())
}

fn new_batch<N: Nodes>(nodes: &mut N, version: [u8; 8], keys: usize) -> Batch<'_, N> {
    Batch {
        nodes,
        version,
        // A block rewrites about two nodes a key (measured: 21,460 for 9,639 writes), as many
        // go stale: sized once instead of grown (and rehashed) a doubling at a time.
        writes: HashMap::with_capacity(3 * keys),
        stale: Vec::with_capacity(3 * keys),
    }
}

fn sorted_writes(writes: HashMap<NodeKey, Vec<u8>>) -> Vec<(NodeKey, Vec<u8>)> {
    let mut sorted: Vec<(NodeKey, Vec<u8>)> = writes.into_iter().collect();
    sorted.sort_unstable();
    sorted
}

/// The update from the root's record before and after: nothing if the root is unchanged (the
/// old nodes stay, which the root index points at), else the root index moved. `node_writes`
/// are the batch's own, sorted; `stale` in the walk's order.
fn finished(
    root: Option<&Hash>,
    before: Option<Record>,
    after: Option<Record>,
    mut node_writes: Vec<(NodeKey, Vec<u8>)>,
    mut stale: Vec<NodeKey>,
) -> Update {
    let new_root = after.map_or(ZERO, |after| after[1..33].try_into().expect("32 bytes"));
    if new_root == *root.unwrap_or(&ZERO) {
        return Update {
            root: new_root,
            node_writes: Vec::new(),
            stale: Vec::new(),
        };
    }
    if let Some(before) = before {
        stale.push(root_index(&before[1..33]));
    }
    if let Some(after) = after {
        let located = node_key(&after[33..], &ZERO, 0);
        // The root index sorts after every node key (`R` past any version's first byte a
        // chain reaches), but placed by search, not by that assumption.
        let entry = (root_index(&new_root), located.as_slice().to_vec());
        let at = node_writes.partition_point(|write| write.0 < entry.0);
        node_writes.insert(at, entry);
    }
    Update {
        root: new_root,
        node_writes,
        stale,
    }
}

/// One block's writes (key → value, None deletes) applied as one batch at `version`.
pub fn update<N: Nodes>(
    nodes: &mut N,
    root: Option<&Hash>,
    version: u64,
    writes: &[(&[u8], Option<&[u8]>)],
) -> Result<Update, Error<N::Error>> {
    let (keys, values) = sorted_once(hash_writes(writes)).map_err(Error::Invariant)?;
    let before = root_record(nodes, root)?;
    let mut batch = new_batch(nodes, version.to_be_bytes(), keys.len());
    let after = batch.apply(before, 0, &keys, &values)?;
    let stale = std::mem::take(&mut batch.stale);
    Ok(finished(
        root,
        before,
        after,
        sorted_writes(batch.writes),
        stale,
    ))
}

/// One thread's share of `update_split`: the root's children at `runs` (slot, start, end of
/// their keys) updated, with the nodes it wrote (sorted) and retired (in the walk's order).
struct Part {
    children: Vec<(usize, Option<Record>)>,
    node_writes: Vec<(NodeKey, Vec<u8>)>,
    stale: Vec<NodeKey>,
}

fn part<S: SharedNodes>(
    nodes: &S,
    version: [u8; 8],
    slots: &Slots,
    runs: &[(usize, usize, usize)],
    keys: &[Hash],
    values: &[Option<Hash>],
) -> Option<Part> {
    let count = runs.last().map_or(0, |run| run.2) - runs.first().map_or(0, |run| run.1);
    let mut at_hand = AtHand(nodes);
    let mut batch = new_batch(&mut at_hand, version, count);
    let mut children = Vec::with_capacity(runs.len());
    for &(slot, start, end) in runs {
        let child = batch.apply(slots[slot], 1, &keys[start..end], &values[start..end]);
        // Any failure, a node not at hand or a broken invariant, is left to `update`, which
        // reads what is missing and reports a broken store as the serial walk meets it.
        children.push((slot, child.ok()?));
    }
    let stale = std::mem::take(&mut batch.stale);
    Some(Part {
        children,
        node_writes: sorted_writes(batch.writes),
        stale,
    })
}

/// Two sorted lists of distinct keys as one sorted list.
fn merged(
    left: Vec<(NodeKey, Vec<u8>)>,
    right: Vec<(NodeKey, Vec<u8>)>,
) -> Vec<(NodeKey, Vec<u8>)> {
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let mut right = right.into_iter().peekable();
    for write in left {
        while let Some(next) = right.next_if(|next| next.0 < write.0) {
            merged.push(next);
        }
        merged.push(write);
    }
    merged.extend(right);
    merged
}

/// `work` on a second thread while `here` runs on this one; None if the system gives no
/// thread (the caller then works on this one alone).
fn beside<T: Send>(work: impl FnOnce() -> T + Send, here: impl FnOnce() -> T) -> Option<(T, T)> {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new().spawn_scoped(scope, work).ok()?;
        let mine = here();
        // A panic on the other thread is carried on here, as one on this thread would be.
        let theirs = spawned
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Some((theirs, mine))
    })
}

/// `update` on two threads, if every node it reads is at hand in `nodes` and the root is an
/// internal node that stays one; None otherwise (the caller then runs `update`). The same
/// `Update` as `update` whenever it gives one: shown by the tests below and the Python
/// differential tests on random blocks.
pub fn update_split<S: SharedNodes>(
    nodes: &S,
    root: Option<&Hash>,
    version: u64,
    writes: &[(&[u8], Option<&[u8]>)],
) -> Option<Update> {
    let (first, second) = writes.split_at(writes.len() / 2);
    let (mut items, rest) = beside(|| hash_writes(first), || hash_writes(second))?;
    items.extend(rest);
    let (keys, values) = sorted_once(items).ok()?;
    let version = version.to_be_bytes();
    let mut at_hand = AtHand(nodes);
    let before = root_record(&mut at_hand, root).ok()?;
    let before = before.filter(|record| record[0] == 0)?;
    let mut root_batch = new_batch(&mut at_hand, version, 1);
    let root_key = node_key(&before[33..], keys.first()?, 0);
    let mut slots = root_batch.load(&root_key, decode_slots).ok()?;
    root_batch.retire(root_key);
    let runs: Vec<(usize, usize, usize)> = slices(&keys, 0).collect();
    // The groups split the keys as evenly as whole slots allow.
    let half = keys.len() / 2;
    let cut = runs.partition_point(|run| run.2 <= half);
    let cut = match runs.get(cut) {
        Some(run) if run.2 - half < half - run.1 => cut + 1,
        _ => cut,
    };
    let (low, high) = runs.split_at(cut);
    let (high, low) = beside(
        || part(nodes, version, &slots, high, &keys, &values),
        || part(nodes, version, &slots, low, &keys, &values),
    )?;
    let (low, high) = (low?, high?);
    for (slot, child) in low.children.iter().chain(&high.children) {
        slots[*slot] = *child;
    }
    let mut present = slots.iter().flatten();
    if let (Some(only), None) = (present.next(), present.next()) {
        if only[0] == 1 {
            // The root collapses into its only child, a leaf that may be either part's
            // write: left to the serial walk (a tree down to one key).
            return None;
        }
    }
    let after = root_batch.finish(&slots, &keys[0], 0).ok()?;
    let mut stale = std::mem::take(&mut root_batch.stale);
    stale.extend(low.stale);
    stale.extend(high.stale);
    let node_writes = merged(
        sorted_writes(root_batch.writes),
        merged(low.node_writes, high.node_writes),
    );
    Some(finished(root, Some(before), after, node_writes, stale))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node store of its own rows, every one at hand: read by the serial update through
    /// `AtHand`, as a split's threads read it.
    #[derive(Default)]
    struct Store(HashMap<Vec<u8>, Vec<u8>>);

    impl SharedNodes for Store {
        fn read_shared<R>(
            &self,
            node_key: &[u8],
            decode: impl FnOnce(&[u8]) -> R,
        ) -> Option<Option<R>> {
            Some(self.0.get(node_key).map(|data| decode(data)))
        }
    }

    /// A store that holds none of the nodes at hand: a split must give way.
    struct NoneAtHand;

    impl SharedNodes for NoneAtHand {
        fn read_shared<R>(&self, _: &[u8], _: impl FnOnce(&[u8]) -> R) -> Option<Option<R>> {
            None
        }
    }

    /// xorshift64*: reproducible keys without a crate.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    type Writes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

    fn borrowed(writes: &Writes) -> Vec<(&[u8], Option<&[u8]>)> {
        writes
            .iter()
            .map(|(key, value)| (key.as_slice(), value.as_deref()))
            .collect()
    }

    /// The serial update of `writes` at `version`, checked against the split one when that
    /// gives one, then written to `store`; whether the split gave one.
    fn step(store: &mut Store, root: &mut Hash, version: u64, writes: &Writes) -> bool {
        let writes = borrowed(writes);
        let serial = update(&mut AtHand(&*store), Some(&*root), version, &writes)
            .ok()
            .expect("a sound store");
        let split = update_split(store, Some(&*root), version, &writes);
        if let Some(split) = &split {
            assert_eq!(split, &serial);
        }
        assert_eq!(
            update_split(&NoneAtHand, Some(&*root), version, &writes),
            None
        );
        for key in &serial.stale {
            store.0.remove(key.as_slice());
        }
        for (key, data) in &serial.node_writes {
            store.0.insert(key.as_slice().to_vec(), data.clone());
        }
        *root = serial.root;
        split.is_some()
    }

    fn puts(keys: impl IntoIterator<Item = u64>, value: u64) -> Writes {
        keys.into_iter()
            .map(|key| {
                (
                    key.to_be_bytes().to_vec(),
                    Some(value.to_be_bytes().to_vec()),
                )
            })
            .collect()
    }

    #[test]
    fn a_split_update_gives_the_serial_updates_nodes_stale_keys_and_root() {
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        let mut store = Store::default();
        let mut root = ZERO;
        // An empty tree, then one of a single leaf: no internal root to split under.
        assert!(!step(&mut store, &mut root, 1, &puts([1], 1)));
        let mut split = 0;
        for version in 2..40u64 {
            let count = (random.next() % 300) as usize + 1;
            let mut writes: Writes = (0..count)
                .map(|_| {
                    let key = (random.next() % 500).to_be_bytes().to_vec();
                    let value = match random.next() % 4 {
                        0 => None,
                        _ => Some(random.next().to_be_bytes().to_vec()),
                    };
                    (key, value)
                })
                .collect();
            writes.sort();
            writes.dedup_by(|a, b| a.0 == b.0);
            split += usize::from(step(&mut store, &mut root, version, &writes));
        }
        assert!(split > 30, "split {split} of 38");
    }

    #[test]
    fn a_split_update_with_every_key_under_one_child_or_one_key_or_a_collapse() {
        let mut store = Store::default();
        let mut root = ZERO;
        let all: Vec<u64> = (0..64).collect();
        assert!(!step(&mut store, &mut root, 1, &puts(all.clone(), 1)));
        // Keys whose hashes share the first nibble: one group holds every run, the other none.
        let nibble = |key: &u64| sha256(&[&key.to_be_bytes()])[0] >> 4;
        let first = nibble(&all[0]);
        let under_one: Vec<u64> = all
            .iter()
            .copied()
            .filter(|key| nibble(key) == first)
            .collect();
        assert!(step(&mut store, &mut root, 2, &puts(under_one, 2)));
        assert!(step(&mut store, &mut root, 3, &puts([7], 3)));
        // Rewrites of equal values: the root is unchanged and nothing is written.
        assert!(step(&mut store, &mut root, 4, &puts([7], 3)));
        // All but two keys deleted, then all but one: the root collapses into a leaf, which
        // the split leaves to the serial walk.
        let deletes = |keys: &[u64]| -> Writes {
            keys.iter()
                .map(|key| (key.to_be_bytes().to_vec(), None))
                .collect()
        };
        let (two, rest) = all.split_at(2);
        assert!(step(&mut store, &mut root, 5, &deletes(rest)));
        assert!(!step(&mut store, &mut root, 6, &deletes(&two[1..])));
        assert!(!step(&mut store, &mut root, 7, &deletes(&two[..1])));
        assert_eq!(root, ZERO);
    }
}
