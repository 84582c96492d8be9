//! The transaction pool's hot index (`metanode.mempool.index` is the reference): pending
//! entries by hash, each sender's by nonce with the run a block can include now, and the fee and
//! expiry heaps. The pool's rules (the admission ladder, what to evict, the answers) stay in
//! `metanode.mempool.pool`, which calls this for what it reads and changes per transaction.
//!
//! Every order that reaches an answer is the reference's: the heaps order by (fee, hash) and
//! (expiry, hash) as Python's tuples do, the reap by (fee, admission order), a sender's entries
//! by nonce; the hash maps are only looked up, never walked into an answer (`ready_entries`
//! sorts what it collects by admission order, which is unique per entry).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

/// One pending transaction: what the index orders and counts it by, and the caller's `payload`
/// (the pool's entry, which holds the transaction itself).
pub struct Entry<P> {
    pub payload: P,
    pub sender: Vec<u8>,
    pub nonce: u64,
    pub fee: u64,
    pub expiry: u64,
    pub size: u64,
    /// Admission order: among equal fees the first come is reaped first.
    pub arrival: u64,
    /// What it takes from its sender's balances if it succeeds, by denomination's code.
    pub costs: Vec<(u8, u64)>,
}

/// One sender's pending entries by nonce. `nonce` is its account's next nonce in committed state
/// as the pool last read it; `ready` counts the run from it with no gap.
struct Row {
    txs: BTreeMap<u64, Vec<u8>>,
    nonce: u64,
    ready: u64,
    /// What its pending entries take from each balance, by denomination's code.
    spends: Vec<(u8, u128)>,
}

impl Row {
    /// Its first missing nonce; u128, as the reference's integers: past a nonce of 2^64 - 1.
    fn missing(&self) -> u128 {
        u128::from(self.nonce) + u128::from(self.ready)
    }

    fn holds(&self, nonce: u128) -> bool {
        u64::try_from(nonce).is_ok_and(|nonce| self.txs.contains_key(&nonce))
    }
}

/// A change the index refuses because it would break what the index holds: a bug of its caller.
#[derive(Debug, PartialEq, Eq)]
pub struct Broken(pub &'static str);

/// The pool's bounds that an insertion keeps.
pub struct Bounds {
    pub txs_max: usize,
    pub bytes_max: u64,
    /// A replacement pays at least this much more fee than the entry it replaces.
    pub bump_percent: u64,
}

/// Why `insert` refused an entry; the pool writes the detail.
pub enum Refusal<P> {
    /// The sender's pending entry at its nonce pays too much for it (that entry's payload).
    ReplacementFeeTooLow(P),
    /// A client's new entry while the clients' share of the pool is taken.
    ShareTaken,
    /// Full, and nothing pays less (the lowest entry's payload, if any).
    PoolFull(Option<P>),
}

/// What `insert` did: the entries that left (false) and came (true), in order, and its refusal.
pub struct Insertion<P> {
    pub moves: Vec<(P, bool)>,
    pub refused: Option<Refusal<P>>,
}

pub struct Index<P> {
    by_hash: HashMap<Vec<u8>, Entry<P>>,
    by_sender: HashMap<Vec<u8>, Row>,
    ready: u64,
    bytes: u64,
    // Lazily cleaned: a departed entry's key stays until it reaches the top or `compact`.
    by_fee: BinaryHeap<Reverse<(u64, Vec<u8>)>>,
    by_expiry: BinaryHeap<Reverse<(u64, Vec<u8>)>>,
}

impl<P> Default for Index<P> {
    fn default() -> Self {
        Index {
            by_hash: HashMap::new(),
            by_sender: HashMap::new(),
            ready: 0,
            bytes: 0,
            by_fee: BinaryHeap::new(),
            by_expiry: BinaryHeap::new(),
        }
    }
}

impl<P> Index<P> {
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Pending entries a block can include now.
    pub fn ready(&self) -> u64 {
        self.ready
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The lengths of the fee and expiry heaps, departed keys included.
    pub fn heaps(&self) -> (usize, usize) {
        (self.by_fee.len(), self.by_expiry.len())
    }

    /// The pending entry with `hash` and the index's own copy of the hash.
    fn held(&self, hash: &[u8]) -> Option<(&[u8], &Entry<P>)> {
        self.by_hash
            .get_key_value(hash)
            .map(|(key, entry)| (key.as_slice(), entry))
    }

    pub fn get(&self, hash: &[u8]) -> Option<&Entry<P>> {
        self.by_hash.get(hash)
    }

    /// The sender's pending entry with `nonce`.
    pub fn at(&self, sender: &[u8], nonce: u64) -> Option<&Entry<P>> {
        let hash = self.by_sender.get(sender)?.txs.get(&nonce)?;
        self.by_hash.get(hash)
    }

    /// How many entries the sender has pending.
    pub fn count(&self, sender: &[u8]) -> usize {
        self.by_sender.get(sender).map_or(0, |row| row.txs.len())
    }

    /// The sender's committed nonce as the index holds it, if it has entries.
    pub fn committed(&self, sender: &[u8]) -> Option<u64> {
        self.by_sender.get(sender).map(|row| row.nonce)
    }

    /// The first nonce past the sender's ready run (what it lacks), if it has entries.
    pub fn missing(&self, sender: &[u8]) -> Option<u128> {
        self.by_sender.get(sender).map(Row::missing)
    }

    /// The first missing nonce of the sender of the pending entry with `hash`, if pending.
    pub fn missing_for(&self, hash: &[u8]) -> Option<u128> {
        self.missing(&self.by_hash.get(hash)?.sender)
    }

    /// The first nonce from `committed` on that the sender has no entry for.
    pub fn next_nonce(&self, sender: &[u8], committed: u64) -> u128 {
        let mut nonce = u128::from(committed);
        if let Some(row) = self.by_sender.get(sender) {
            while row.holds(nonce) {
                nonce += 1;
            }
        }
        nonce
    }

    /// What the sender's pending entries take from the balance of `denom`.
    pub fn spent(&self, sender: &[u8], denom: u8) -> u128 {
        self.by_sender.get(sender).map_or(0, |row| {
            row.spends
                .iter()
                .find(|(spent, _)| *spent == denom)
                .map_or(0, |(_, amount)| *amount)
        })
    }

    /// Insert `entry`; `next_nonce` is its sender's next nonce in committed state.
    fn add(&mut self, hash: Vec<u8>, entry: Entry<P>, next_nonce: u64) -> Result<(), Broken> {
        if self.by_hash.contains_key(&hash) {
            return Err(Broken("an entry with this hash is pending already"));
        }
        if self
            .by_sender
            .get(&entry.sender)
            .is_some_and(|row| row.txs.contains_key(&entry.nonce))
        {
            return Err(Broken(
                "the sender has an entry with this nonce pending already",
            ));
        }
        let row = self
            .by_sender
            .entry(entry.sender.clone())
            .or_insert_with(|| Row {
                txs: BTreeMap::new(),
                nonce: next_nonce,
                ready: 0,
                spends: Vec::new(),
            });
        row.txs.insert(entry.nonce, hash.clone());
        for &(denom, amount) in &entry.costs {
            match row.spends.iter_mut().find(|(spent, _)| *spent == denom) {
                Some((_, total)) => *total += u128::from(amount),
                None => row.spends.push((denom, u128::from(amount))),
            }
        }
        self.ready = count_ready(self.ready, row, next_nonce);
        self.bytes += entry.size;
        self.by_fee.push(Reverse((entry.fee, hash.clone())));
        self.by_expiry.push(Reverse((entry.expiry, hash.clone())));
        self.by_hash.insert(hash, entry);
        Ok(())
    }

    /// The pool's insertion, after the signature: the replacement rung (an entry with the nonce
    /// of a pending one of its sender replaces it only for `bump_percent` more fee), the clients'
    /// share (`share_taken`, a new entry only), then room made by evicting lower fees (the
    /// replaced entry put back if none is low enough), then `entry` in. `committed` is its
    /// sender's next nonce in committed state, if the index holds none for the sender; `clone`
    /// copies a payload for the answer.
    pub fn insert(
        &mut self,
        hash: Vec<u8>,
        entry: Entry<P>,
        committed: u64,
        share_taken: bool,
        bounds: &Bounds,
        clone: impl Fn(&P) -> P,
    ) -> Result<Insertion<P>, Broken> {
        if self.by_hash.contains_key(&hash) {
            return Err(Broken("an entry with this hash is pending already"));
        }
        let mut moves = Vec::new();
        let pending = self.at(&entry.sender, entry.nonce);
        if let Some(replaced) = pending {
            let bump = 100 + u128::from(bounds.bump_percent);
            if u128::from(entry.fee) * 100 < u128::from(replaced.fee) * bump {
                let refused = Some(Refusal::ReplacementFeeTooLow(clone(&replaced.payload)));
                return Ok(Insertion { moves, refused });
            }
        } else if share_taken {
            let refused = Some(Refusal::ShareTaken);
            return Ok(Insertion { moves, refused });
        }
        let next_nonce = self.committed(&entry.sender).unwrap_or(committed);
        let replaced_hash = self
            .by_sender
            .get(&entry.sender)
            .and_then(|row| row.txs.get(&entry.nonce))
            .cloned();
        let replaced = replaced_hash.and_then(|h| self.remove(&h).map(|removed| (h, removed)));
        if let Some((_, removed)) = &replaced {
            moves.push((clone(&removed.payload), false));
        }
        while self.len() >= bounds.txs_max || self.bytes + entry.size > bounds.bytes_max {
            let lowest = self.lowest_key();
            match lowest {
                Some((fee, lowest)) if fee < entry.fee => {
                    if let Some(evicted) = self.remove(&lowest) {
                        moves.push((evicted.payload, false));
                    }
                }
                _ => {
                    let lowest = self.lowest().map(|lowest| clone(&lowest.payload));
                    if let Some((h, removed)) = replaced {
                        moves.push((clone(&removed.payload), true));
                        self.add(h, removed, next_nonce)?;
                    }
                    let refused = Some(Refusal::PoolFull(lowest));
                    return Ok(Insertion { moves, refused });
                }
            }
        }
        moves.push((clone(&entry.payload), true));
        self.add(hash, entry, next_nonce)?;
        Ok(Insertion {
            moves,
            refused: None,
        })
    }

    /// The fee and hash of the pending entry with the lowest fee.
    fn lowest_key(&mut self) -> Option<(u64, Vec<u8>)> {
        self.lowest()?;
        self.by_fee
            .peek()
            .map(|Reverse((fee, hash))| (*fee, hash.clone()))
    }

    /// Remove the entry with `hash`, if pending.
    pub fn remove(&mut self, hash: &[u8]) -> Option<Entry<P>> {
        let entry = self.by_hash.remove(hash)?;
        if let Some(row) = self.by_sender.get_mut(&entry.sender) {
            row.txs.remove(&entry.nonce);
            for &(denom, amount) in &entry.costs {
                if let Some((_, total)) = row.spends.iter_mut().find(|(spent, _)| *spent == denom) {
                    *total = total.saturating_sub(u128::from(amount));
                }
            }
            if row.nonce <= entry.nonce && u128::from(entry.nonce) < row.missing() {
                // The gap now starts here.
                self.ready = self
                    .ready
                    .saturating_sub(row.ready - (entry.nonce - row.nonce));
                row.ready = entry.nonce - row.nonce;
            }
            if row.txs.is_empty() {
                self.by_sender.remove(&entry.sender);
            }
        }
        self.bytes = self.bytes.saturating_sub(entry.size);
        Some(entry)
    }

    /// Remove the entries with `hashes` (a block's) in order: the removed ones, and the
    /// positions in `hashes` of those not pending.
    pub fn remove_many<'h>(
        &mut self,
        hashes: impl IntoIterator<Item = &'h [u8]>,
    ) -> (Vec<Entry<P>>, Vec<usize>) {
        let mut removed = Vec::new();
        let mut absent = Vec::new();
        for (position, hash) in hashes.into_iter().enumerate() {
            match self.remove(hash) {
                Some(entry) => removed.push(entry),
                None => absent.push(position),
            }
        }
        (removed, absent)
    }

    /// Move the sender's run to start at `next_nonce` and extend it over the nonces present.
    pub fn count_ready(&mut self, sender: &[u8], next_nonce: u64) {
        if let Some(row) = self.by_sender.get_mut(sender) {
            self.ready = count_ready(self.ready, row, next_nonce);
        }
    }

    /// The pending entry with the lowest fee (the lowest hash among equal fees).
    pub fn lowest(&mut self) -> Option<&Entry<P>> {
        while let Some(Reverse((_, hash))) = self.by_fee.peek() {
            if self.by_hash.contains_key(hash) {
                return self.by_hash.get(hash);
            }
            self.by_fee.pop();
        }
        None
    }

    /// Ready entries, highest fee first across senders and the first admitted first among equal
    /// fees, nonce order within one sender; at most `txs_max` of them and `bytes_max` bytes (an
    /// entry that does not fit ends its sender's run; others may still fit).
    pub fn reap(&self, txs_max: usize, bytes_max: u64) -> Vec<&Entry<P>> {
        // (fee, admission order) is unique per entry, so the heap never compares the hashes,
        // and the order in which the senders are walked does not reach the answer.
        let mut heads: BinaryHeap<(u64, Reverse<u64>, &[u8])> = BinaryHeap::new();
        for row in self.by_sender.values() {
            if row.ready > 0 {
                if let Some((hash, entry)) = row.txs.get(&row.nonce).and_then(|h| self.held(h)) {
                    heads.push((entry.fee, Reverse(entry.arrival), hash));
                }
            }
        }
        let mut chosen = Vec::new();
        let mut size: u64 = 0;
        while chosen.len() < txs_max {
            let Some((_, _, hash)) = heads.pop() else {
                break;
            };
            let Some(entry) = self.by_hash.get(hash) else {
                continue;
            };
            if size.saturating_add(entry.size) > bytes_max {
                continue;
            }
            chosen.push(entry);
            size += entry.size;
            let following = self
                .by_sender
                .get(&entry.sender)
                .zip(entry.nonce.checked_add(1))
                .and_then(|(row, nonce)| row.txs.get(&nonce))
                .and_then(|hash| self.held(hash));
            if let Some((hash, following)) = following {
                heads.push((following.fee, Reverse(following.arrival), hash));
            }
        }
        chosen
    }

    /// The sender's ready run from its committed nonce up to `nonce`, if `nonce` is in it.
    pub fn run_to(&self, sender: &[u8], nonce: u64) -> Option<Vec<&Entry<P>>> {
        let row = self.by_sender.get(sender)?;
        if !(row.nonce <= nonce && u128::from(nonce) < row.missing()) {
            return None;
        }
        row.txs
            .range(row.nonce..=nonce)
            .map(|(_, hash)| self.by_hash.get(hash))
            .collect()
    }

    /// Every ready entry, the first admitted first.
    pub fn ready_entries(&self) -> Vec<&Entry<P>> {
        let mut found: Vec<&Entry<P>> =
            Vec::with_capacity(usize::try_from(self.ready).unwrap_or(0));
        for row in self.by_sender.values() {
            // The run is the `ready` nonces from the committed one, with no gap.
            let run = row.txs.range(row.nonce..);
            let run = run.take(usize::try_from(row.ready).unwrap_or(usize::MAX));
            found.extend(run.filter_map(|(_, hash)| self.by_hash.get(hash)));
        }
        found.sort_unstable_by_key(|entry| entry.arrival);
        found
    }

    /// Remove the sender's entries below `next_nonce` (in nonce order), then start its run there.
    pub fn drop_below(&mut self, sender: &[u8], next_nonce: u64) -> Vec<Entry<P>> {
        let passed: Vec<Vec<u8>> = match self.by_sender.get(sender) {
            Some(row) => row
                .txs
                .range(..next_nonce)
                .map(|(_, h)| h.clone())
                .collect(),
            None => return Vec::new(),
        };
        let removed = passed.iter().filter_map(|hash| self.remove(hash)).collect();
        self.count_ready(sender, next_nonce);
        removed
    }

    /// Remove the entries that expire before `height`, in (expiry, hash) order.
    pub fn expire(&mut self, height: u64) -> Vec<Entry<P>> {
        let mut removed = Vec::new();
        while let Some(Reverse((expiry, _))) = self.by_expiry.peek() {
            if *expiry >= height {
                break;
            }
            let Some(Reverse((_, hash))) = self.by_expiry.pop() else {
                break;
            };
            if self.by_hash.get(&hash).is_some_and(|e| e.expiry < height) {
                removed.extend(self.remove(&hash));
            }
        }
        removed
    }

    /// Rebuild the heaps once they hold more than four keys a live entry and `slack_max` more.
    pub fn compact(&mut self, slack_max: usize) {
        let live = self.by_hash.len();
        if self.by_fee.len() + self.by_expiry.len() <= 4 * live + slack_max {
            return;
        }
        let by_fee = self
            .by_hash
            .iter()
            .map(|(h, e)| Reverse((e.fee, h.clone())));
        self.by_fee = by_fee.collect();
        let by_expiry = self
            .by_hash
            .iter()
            .map(|(h, e)| Reverse((e.expiry, h.clone())));
        self.by_expiry = by_expiry.collect();
    }
}

/// `ready` (the index's count) after moving `row`'s run to start at `next_nonce` and extending
/// it over the nonces present.
fn count_ready(mut ready: u64, row: &mut Row, next_nonce: u64) -> u64 {
    if next_nonce != row.nonce {
        ready = ready.saturating_sub(row.ready);
        row.nonce = next_nonce;
        row.ready = 0;
    }
    while row.holds(row.missing()) {
        row.ready += 1;
        ready += 1;
    }
    ready
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sender: u8, nonce: u64, fee: u64, arrival: u64) -> (Vec<u8>, Entry<u64>) {
        let hash = vec![sender, nonce as u8, fee as u8];
        let entry = Entry {
            payload: arrival,
            sender: vec![sender],
            nonce,
            fee,
            expiry: 10 + nonce,
            size: 100,
            arrival,
            costs: vec![(3, fee), (3, 5)],
        };
        (hash, entry)
    }

    fn filled() -> Index<u64> {
        let mut index = Index::default();
        for (arrival, (sender, nonce, fee)) in
            [(1, 0, 5), (1, 1, 9), (2, 0, 7), (2, 2, 8), (3, 4, 1)]
                .into_iter()
                .enumerate()
        {
            let (hash, entry) = entry(sender, nonce, fee, arrival as u64);
            index.add(hash, entry, 0).unwrap();
        }
        index
    }

    #[test]
    fn the_reap_goes_by_fee_across_senders_and_by_nonce_within_one() {
        let index = filled();
        assert_eq!(index.ready(), 3);
        let reaped: Vec<u64> = index.reap(10, 1_000).iter().map(|e| e.payload).collect();
        assert_eq!(reaped, vec![2, 0, 1]);
        assert_eq!(index.reap(10, 250).len(), 2);
    }

    #[test]
    fn a_removal_ends_the_run_and_a_new_committed_nonce_moves_it() {
        let mut index = filled();
        assert_eq!(index.spent(&[1], 3), 5 + 5 + 9 + 5);
        assert!(index.remove(&[1, 0, 5]).is_some());
        assert_eq!((index.ready(), index.missing(&[1])), (1, Some(0)));
        index.count_ready(&[1], 1);
        assert_eq!((index.ready(), index.next_nonce(&[1], 1)), (2, 2));
        assert_eq!(index.lowest().map(|e| e.fee), Some(1));
        let (removed, absent) = index.remove_many([&[9][..], &[3, 4, 1], &[9]]);
        assert_eq!((removed.len(), absent), (1, vec![0, 2]));
        let dropped = index.drop_below(&[2], 3);
        assert_eq!(dropped.len(), 2);
        assert_eq!(index.count(&[2]), 0);
        assert_eq!(index.expire(14).len(), 1);
        assert_eq!(index.len(), 0);
    }

    #[test]
    fn a_second_entry_at_a_pending_hash_or_nonce_is_refused() {
        let mut index = filled();
        let (hash, again) = entry(1, 0, 5, 9);
        assert!(index.add(hash, again, 0).is_err());
        let (_, same_nonce) = entry(1, 0, 6, 9);
        assert!(index.add(vec![0], same_nonce, 0).is_err());
        assert_eq!(index.len(), 5);
    }
}
