//! `metanode._core.PoolIndex`: the pool's hot index (`rust/src/pool.rs`) holding the pool's
//! Python entries, the same methods as the reference `metanode.mempool.index.Index`.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::pool;

type Entry = pool::Entry<Py<PyAny>>;
type Inserted = (u8, Option<Py<PyAny>>, Vec<(Py<PyAny>, bool)>);

/// Pending entries by hash and by sender and nonce, the run each sender can have included now,
/// the fee and expiry heaps; each entry holds the pool's own entry object (`payload`).
#[pyclass(module = "metanode._core")]
pub struct PoolIndex {
    inner: pool::Index<Py<PyAny>>,
}

fn payloads(py: Python<'_>, entries: &[&Entry]) -> Vec<Py<PyAny>> {
    entries
        .iter()
        .map(|entry| entry.payload.clone_ref(py))
        .collect()
}

fn owned(entries: Vec<Entry>) -> Vec<Py<PyAny>> {
    entries.into_iter().map(|entry| entry.payload).collect()
}

#[pymethods]
impl PoolIndex {
    #[new]
    fn new() -> Self {
        PoolIndex {
            inner: pool::Index::default(),
        }
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __contains__(&self, hash: &[u8]) -> bool {
        self.inner.get(hash).is_some()
    }

    #[getter]
    fn ready(&self) -> u64 {
        self.inner.ready()
    }

    #[getter]
    fn bytes(&self) -> u64 {
        self.inner.bytes()
    }

    fn heaps(&self) -> (usize, usize) {
        self.inner.heaps()
    }

    fn get(&self, py: Python<'_>, hash: &[u8]) -> Option<Py<PyAny>> {
        self.inner
            .get(hash)
            .map(|entry| entry.payload.clone_ref(py))
    }

    fn at(&self, py: Python<'_>, sender: &[u8], nonce: u64) -> Option<Py<PyAny>> {
        let entry = self.inner.at(sender, nonce);
        entry.map(|entry| entry.payload.clone_ref(py))
    }

    fn count(&self, sender: &[u8]) -> usize {
        self.inner.count(sender)
    }

    fn missing_for(&self, hash: &[u8]) -> Option<u128> {
        self.inner.missing_for(hash)
    }

    fn next_nonce(&self, sender: &[u8], committed: u64) -> u128 {
        self.inner.next_nonce(sender, committed)
    }

    fn spent(&self, sender: &[u8], denom: u8) -> u128 {
        self.inner.spent(sender, denom)
    }

    /// The pool's insertion after the signature (`rust/src/pool.rs` `insert`): `(refusal,
    /// payload, moves)`, the refusal 0 (none), 1 (replacement_fee_too_low: the payload of the
    /// pending entry it would replace), 2 (the clients' share taken) or 3 (pool_full: the
    /// payload of the lowest entry, if any); `moves` the payloads that left (False) and came
    /// (True), in order. A hash pending already is an InvariantViolation, and changes nothing.
    #[allow(clippy::too_many_arguments)] // one value a field
    fn insert(
        &mut self,
        py: Python<'_>,
        payload: Py<PyAny>,
        hash: &Bound<'_, PyBytes>,
        sender: &Bound<'_, PyBytes>,
        nonce: u64,
        fee: u64,
        expiry: u64,
        size: u64,
        arrival: u64,
        costs: Vec<(u8, u64)>,
        committed: u64,
        share_taken: bool,
        txs_max: usize,
        bytes_max: u64,
        bump_percent: u64,
    ) -> PyResult<Inserted> {
        let entry = pool::Entry {
            payload,
            sender: sender.as_bytes().to_vec(),
            nonce,
            fee,
            expiry,
            size,
            arrival,
            costs,
        };
        let bounds = pool::Bounds {
            txs_max,
            bytes_max,
            bump_percent,
        };
        let clone = |payload: &Py<PyAny>| payload.clone_ref(py);
        let inserted = self
            .inner
            .insert(
                hash.as_bytes().to_vec(),
                entry,
                committed,
                share_taken,
                &bounds,
                clone,
            )
            .map_err(|pool::Broken(broken)| {
                crate::python::invariant_violation(py, broken.into())
            })?;
        let (code, other) = match inserted.refused {
            None => (0, None),
            Some(pool::Refusal::ReplacementFeeTooLow(pending)) => (1, Some(pending)),
            Some(pool::Refusal::ShareTaken) => (2, None),
            Some(pool::Refusal::PoolFull(lowest)) => (3, lowest),
        };
        Ok((code, other, inserted.moves))
    }

    /// Remove the entries with `hashes` (a block's) in order: the removed payloads, and the
    /// positions in `hashes` of those not pending.
    fn remove_many(&mut self, hashes: Vec<Bound<'_, PyBytes>>) -> (Vec<Py<PyAny>>, Vec<usize>) {
        let (removed, absent) = self.inner.remove_many(hashes.iter().map(|h| h.as_bytes()));
        (owned(removed), absent)
    }

    fn lowest(&mut self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.inner.lowest().map(|entry| entry.payload.clone_ref(py))
    }

    fn reap(&self, py: Python<'_>, txs_max: usize, bytes_max: u64) -> Vec<Py<PyAny>> {
        payloads(py, &self.inner.reap(txs_max, bytes_max))
    }

    fn run_to(&self, py: Python<'_>, sender: &[u8], nonce: u64) -> Option<Vec<Py<PyAny>>> {
        self.inner
            .run_to(sender, nonce)
            .map(|run| payloads(py, &run))
    }

    fn ready_entries(&self, py: Python<'_>) -> Vec<Py<PyAny>> {
        payloads(py, &self.inner.ready_entries())
    }

    fn drop_below(&mut self, sender: &[u8], next_nonce: u64) -> Vec<Py<PyAny>> {
        owned(self.inner.drop_below(sender, next_nonce))
    }

    fn expire(&mut self, height: u64) -> Vec<Py<PyAny>> {
        owned(self.inner.expire(height))
    }

    fn compact(&mut self, slack_max: usize) {
        self.inner.compact(slack_max);
    }
}
