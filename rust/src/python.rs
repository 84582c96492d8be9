//! The binding `metanode._core`: whole batches in, one verdict or value each out, the GIL
//! released while the batch is worked on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::deflate;
use crate::ed25519;
use crate::index;
use crate::merkle;
use crate::nodecache;
use crate::receipts;
use crate::transaction::{self, Decoded};
use crate::transfers;
use crate::tree;

/// Verdicts of (public key, message, signature) triples under the pinned rule, in order. A key
/// or signature that is not `bytes` is False, as in the reference; a message must be `bytes`.
#[pyfunction]
#[pyo3(signature = (items, threads = 2))]
fn verify_many(
    py: Python<'_>,
    items: Vec<(Bound<'_, PyAny>, Bound<'_, PyBytes>, Bound<'_, PyAny>)>,
    threads: usize,
) -> Vec<bool> {
    let triples: Vec<(&[u8], &[u8], &[u8])> = items
        .iter()
        .map(|(key, message, signature)| {
            (
                bytes_or_empty(key),
                message.as_bytes(),
                bytes_or_empty(signature),
            )
        })
        .collect();
    py.detach(|| ed25519::verify_many(&triples, threads))
}

/// A value's bytes, or none (a length no key or signature has) if it is not `bytes`.
fn bytes_or_empty<'a>(value: &'a Bound<'_, PyAny>) -> &'a [u8] {
    match value.cast::<PyBytes>() {
        Ok(bytes) => bytes.as_bytes(),
        Err(_) => b"",
    }
}

/// Whether `signature` by `public_key` on `message` is valid under the pinned rule.
#[pyfunction]
fn verify(py: Python<'_>, public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    py.detach(|| ed25519::verify(public_key, message, signature))
}

/// Transactions decoded with their stateless checks, the bytes parsed with the GIL released.
/// Per item: a transfer's fields `(chain_id, sender, nonce, fee, expiry_height, to, amount,
/// denom, pq_public_key, signature, sender_address, hash)`, its hash SHA-256(hash_prefix ‖
/// item) (the prefix: `metanode.codec.tags.TX`'s name and 0x00); `(rule, offset)` of the
/// first broken rule, or `("core_panic", None)` if decoding it panicked; or None for a
/// well-formed envelope whose message is not a transfer (the Python decoder takes those).
#[pyfunction]
fn decode_transactions<'py>(
    py: Python<'py>,
    items: Vec<Bound<'py, PyBytes>>,
    registered_tags: Vec<u64>,
    hash_prefix: &[u8],
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let data: Vec<&[u8]> = items.iter().map(|item| item.as_bytes()).collect();
    let decoded: Vec<_> = py.detach(|| {
        data.iter()
            .map(|bytes| {
                transaction::guarded(|| transaction::decode(bytes, &registered_tags, hash_prefix))
            })
            .collect()
    });
    decoded
        .into_iter()
        .map(|result| match result {
            Ok(Decoded::Transfer(tx)) => (
                tx.chain_id,
                PyBytes::new(py, tx.sender),
                tx.nonce,
                tx.fee,
                tx.expiry_height,
                PyBytes::new(py, tx.to),
                tx.amount,
                tx.denom,
                tx.pq_public_key.map(|key| PyBytes::new(py, key)),
                PyBytes::new(py, tx.signature),
                PyBytes::new(py, &tx.sender_address),
                PyBytes::new(py, &tx.hash),
            )
                .into_pyobject(py)
                .map(Bound::into_any),
            Ok(Decoded::Other) => Ok(py.None().into_bound(py)),
            Err(error) => (error.rule, error.offset)
                .into_pyobject(py)
                .map(Bound::into_any),
        })
        .collect()
}

/// `metanode.errors.InvariantViolation(message)`: a broken invariant, which halts the node.
pub(crate) fn invariant_violation(py: Python<'_>, message: String) -> PyErr {
    match py
        .import("metanode.errors")
        .and_then(|errors| errors.getattr("InvariantViolation"))
        .and_then(|kind| kind.call1((message,)))
    {
        Ok(raised) => PyErr::from_value(raised),
        Err(error) => error,
    }
}

/// The node store's `get`, called back for each node the update reads.
struct PythonNodes<'py> {
    get: Bound<'py, PyAny>,
}

impl tree::Nodes for PythonNodes<'_> {
    type Error = PyErr;

    fn read<R>(&mut self, node_key: &[u8], decode: impl FnOnce(&[u8]) -> R) -> PyResult<Option<R>> {
        let found = self.get.call1((PyBytes::new(self.get.py(), node_key),))?;
        if found.is_none() {
            return Ok(None);
        }
        Ok(Some(decode(found.cast::<PyBytes>()?.as_bytes())))
    }
}

/// The store's tree node table in memory between blocks (`rust/src/nodecache.rs`), read by
/// `tree_update` without a call into Python per node. Each use locks it briefly and calls no
/// Python while it holds the lock, so another thread that runs while a miss is read (py-lmdb
/// releases the GIL) finds it free. A committed block's rows are taken on a thread of their
/// own (`apply`), beside what the caller does next; every use of the rows first waits for
/// that thread (`lock`), so none sees them before or while they are taken.
#[pyclass(frozen, module = "metanode._core")]
struct NodeCache {
    inner: Arc<Mutex<nodecache::NodeCache>>,
    /// The thread taking the last `apply`'s rows, until a use of the cache has waited for it.
    taking: Mutex<Option<JoinHandle<()>>>,
    /// Tree updates done on two threads (`tree::update_split`) through this cache.
    splits: AtomicUsize,
}

/// One `apply`'s changes, copied out of their Python objects into one buffer.
struct Changes {
    /// The deleted keys, then each row's key and row, back to back.
    data: Vec<u8>,
    deletes: Vec<usize>,
    rows: Vec<(usize, usize)>,
}

impl Changes {
    fn apply_to(&self, cache: &mut nodecache::NodeCache) {
        let mut at = 0;
        for &length in &self.deletes {
            cache.remove(&self.data[at..at + length]);
            at += length;
        }
        for &(key_length, row_length) in &self.rows {
            let (key, row) = self.data[at..at + key_length + row_length].split_at(key_length);
            cache.put(key, row);
            at += key_length + row_length;
        }
    }
}

/// Work on the cache's rows, done on the thread that takes a committed block's.
type Job = Box<dyn FnOnce(&mut nodecache::NodeCache) + Send>;

fn locked(inner: &Mutex<nodecache::NodeCache>) -> MutexGuard<'_, nodecache::NodeCache> {
    inner.lock().unwrap_or_else(PoisonError::into_inner)
}

impl NodeCache {
    /// The rows, once the last `apply`'s are all taken.
    fn lock(&self) -> MutexGuard<'_, nodecache::NodeCache> {
        // `taking` stays locked while its thread is joined, so a second user waits for the
        // first's join instead of finding no thread and reading the rows before they are
        // taken. The thread takes only `inner` and never the GIL: whoever holds the GIL may
        // wait here.
        let mut taking = self.taking.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(thread) = taking.take() {
            if thread.join().is_err() {
                // Rows half taken: an empty cache answers as the table does (a miss reads it).
                locked(&self.inner).clear();
            }
        }
        drop(taking);
        locked(&self.inner)
    }

    /// Waits for the last `apply`'s thread with the GIL released. A use of the cache from
    /// Python calls this first: joined in `lock` with the GIL held, that wait (the thread
    /// needs a core, which four busy validators may not give it for a while) would stop every
    /// other Python thread of the process too.
    fn settle(&self, py: Python<'_>) {
        let pending = self
            .taking
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        if pending {
            py.detach(|| drop(self.lock()));
        }
    }

    /// `job` done to the rows on a thread of its own, which the next use of the cache waits
    /// for (done here if the system gives no thread).
    fn take_on_thread(&self, job: Job) {
        // Waits for the last apply's thread, and holds the rows until this one's starts.
        let mut cache = self.lock();
        let mut taking = self.taking.lock().unwrap_or_else(PoisonError::into_inner);
        let inner = Arc::clone(&self.inner);
        let (send, receive) = std::sync::mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new().spawn(move || {
            if let Ok(job) = receive.recv() {
                job(&mut locked(&inner));
            }
        });
        match spawned {
            Ok(thread) => {
                drop(cache);
                // The thread waits for this job; it can only have ended by a panic.
                if let Err(std::sync::mpsc::SendError(job)) = send.send(job) {
                    job(&mut locked(&self.inner));
                    return;
                }
                *taking = Some(thread);
            }
            Err(_) => job(&mut cache),
        }
    }

    /// `decode` of the node under `node_key` (None: absent), from the rows held, or else from
    /// `rows` (the table's row at a key, or None), whose row is then held.
    fn read<R>(
        &self,
        rows: &Bound<'_, PyAny>,
        node_key: &[u8],
        decode: impl FnOnce(&[u8]) -> R,
    ) -> PyResult<Option<R>> {
        let py = rows.py();
        let (key, version) = split_key(py, node_key)?;
        if let Some(row) = self.lock().row(key) {
            return Ok(nodecache::node(row, version).map(decode));
        }
        let found = rows.call1((PyBytes::new(py, key),))?;
        if found.is_none() {
            return Ok(None);
        }
        let row = found.cast::<PyBytes>()?.as_bytes();
        self.lock().put(key, row);
        Ok(nodecache::node(row, version).map(decode))
    }
}

#[pymethods]
impl NodeCache {
    /// An empty cache that holds rows up to `capacity_bytes` (keys, rows and each entry's
    /// overhead).
    #[new]
    fn new(capacity_bytes: usize) -> Self {
        NodeCache {
            inner: Arc::new(Mutex::new(nodecache::NodeCache::new(capacity_bytes))),
            taking: Mutex::new(None),
            splits: AtomicUsize::new(0),
        }
    }

    /// A tree `NodeReader`'s `get`, the table's rows read by `rows(key)` on a miss.
    fn get<'py>(
        &self,
        rows: Bound<'py, PyAny>,
        node_key: &[u8],
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let py = rows.py();
        self.settle(py);
        Ok(self
            .read(&rows, node_key, <[u8]>::to_vec)?
            .map(|node| PyBytes::new(py, &node)))
    }

    /// A committed block's changes to the table: the keys it deleted, then the rows it put;
    /// taken on a thread of their own, which the next use of the cache waits for.
    fn apply(&self, py: Python<'_>, rows: Vec<Row<'_>>, deletes: Vec<Bound<'_, PyBytes>>) {
        self.settle(py);
        let size = deletes
            .iter()
            .map(|key| key.as_bytes().len())
            .sum::<usize>()
            + rows
                .iter()
                .map(|(key, row)| key.as_bytes().len() + row.as_bytes().len())
                .sum::<usize>();
        let mut changes = Changes {
            data: Vec::with_capacity(size),
            deletes: Vec::with_capacity(deletes.len()),
            rows: Vec::with_capacity(rows.len()),
        };
        for key in &deletes {
            changes.data.extend_from_slice(key.as_bytes());
            changes.deletes.push(key.as_bytes().len());
        }
        for (key, row) in &rows {
            changes.data.extend_from_slice(key.as_bytes());
            changes.data.extend_from_slice(row.as_bytes());
            changes
                .rows
                .push((key.as_bytes().len(), row.as_bytes().len()));
        }
        self.take_on_thread(Box::new(move |cache| changes.apply_to(cache)));
    }

    /// A committed tree update's changes to the table (`TreeWrites.node_rows`, which the store
    /// wrote), taken from the core's own copy on a thread of their own, as `apply`'s: no
    /// Python object is read.
    fn apply_update(&self, py: Python<'_>, writes: &TreeWrites) {
        self.settle(py);
        let update = Arc::clone(&writes.update);
        self.take_on_thread(Box::new(move |cache| {
            match nodecache::table_changes(&update) {
                Some(changes) => cache.apply(&changes),
                // A key no tree makes: an empty cache answers as the table does.
                None => cache.clear(),
            }
        }));
    }

    fn clear(&self, py: Python<'_>) {
        self.settle(py);
        self.lock().clear();
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.settle(py);
        self.lock().len()
    }

    /// Bytes counted against the capacity.
    #[getter]
    fn bytes(&self, py: Python<'_>) -> usize {
        self.settle(py);
        self.lock().bytes()
    }

    /// Tree updates done on two threads through this cache since it was made.
    #[getter]
    fn splits(&self) -> usize {
        self.splits.load(Ordering::Relaxed)
    }
}

/// Nodes through a `NodeCache`, the table's rows read by `rows` on a miss.
struct CachedNodes<'c, 'py> {
    cache: &'c NodeCache,
    rows: Bound<'py, PyAny>,
}

impl tree::Nodes for CachedNodes<'_, '_> {
    type Error = PyErr;

    fn read<R>(&mut self, node_key: &[u8], decode: impl FnOnce(&[u8]) -> R) -> PyResult<Option<R>> {
        self.cache.read(&self.rows, node_key, decode)
    }
}

/// A tree update's nodes and stale keys (`tree::Update`), held by the core: a block's
/// ≈ 21,000 new nodes and as many stale keys become Python objects only where asked for
/// (`node_writes`, `stale`), and reach the store's node table (`node_rows`) and its cache
/// (`NodeCache.apply_update`) from here.
#[pyclass(frozen, module = "metanode._core")]
struct TreeWrites {
    update: Arc<tree::Update>,
}

#[pymethods]
impl TreeWrites {
    /// The nodes written, (node key, node) sorted by key.
    fn node_writes<'py>(&self, py: Python<'py>) -> Vec<Row<'py>> {
        self.update
            .node_writes
            .iter()
            .map(|(key, data)| (PyBytes::new(py, key.as_slice()), PyBytes::new(py, data)))
            .collect()
    }

    /// The keys of the nodes made stale, in the walk's order.
    fn stale<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
        self.update
            .stale
            .iter()
            .map(|key| PyBytes::new(py, key.as_slice()))
            .collect()
    }

    /// The node table's rows for the update, as `state/store.py` `_node_rows` (the reference)
    /// makes them from `node_writes` and `stale` (`nodecache::table_changes`).
    fn node_rows<'py>(&self, py: Python<'py>) -> PyResult<NodeRows<'py>> {
        let changes = nodecache::table_changes(&self.update)
            .ok_or_else(|| invariant_violation(py, "a state tree node key is too short".into()))?;
        let mut rows = Vec::with_capacity(changes.rows.len());
        for (key, version, node) in &changes.rows {
            let row = match version {
                None => PyBytes::new(py, node),
                Some(version) => PyBytes::new_with(py, version.len() + node.len(), |buffer| {
                    buffer[..version.len()].copy_from_slice(version);
                    buffer[version.len()..].copy_from_slice(node);
                    Ok(())
                })?,
            };
            rows.push((PyBytes::new(py, key), row));
        }
        let deletes = changes
            .deletes
            .iter()
            .map(|(key, version)| {
                (
                    PyBytes::new(py, key),
                    version.map(|version| PyBytes::new(py, version)),
                )
            })
            .collect();
        Ok((rows, deletes))
    }
}

type TreeUpdate<'py> = (Bound<'py, PyBytes>, TreeWrites);

/// `metanode.state.tree.update` as (root, its `TreeWrites`); `get` reads a
/// node (the store's or the overlay's `get`), or with `cache`, the node table's row at a key
/// on a miss; a broken store is an InvariantViolation. With `cache`, a batch of at least
/// `split_writes_min` writes (`metanode.state.tree.SPLIT_WRITES_MIN`) is updated on two
/// threads with the GIL released if every node it reads is held (the same result; see
/// `tree::update_split`), else as below.
#[pyfunction]
#[pyo3(signature = (get, root, version, writes, cache = None, split_writes_min = usize::MAX))]
fn tree_update<'py>(
    py: Python<'py>,
    get: Bound<'py, PyAny>,
    root: Option<[u8; 32]>,
    version: u64,
    writes: Vec<(Bound<'py, PyBytes>, Option<Bound<'py, PyBytes>>)>,
    cache: Option<Bound<'py, NodeCache>>,
    split_writes_min: usize,
) -> PyResult<TreeUpdate<'py>> {
    // Borrowed: pyo3 extracts a `Vec<u8>` from `bytes` one integer at a time.
    let borrowed: Vec<(&[u8], Option<&[u8]>)> = writes
        .iter()
        .map(|(key, value)| (key.as_bytes(), value.as_ref().map(|value| value.as_bytes())))
        .collect();
    if let Some(cache) = cache
        .as_ref()
        .filter(|_| borrowed.len() >= split_writes_min)
    {
        let cache = cache.get();
        // The cache's lock is held, read-only, by this call alone and only while the GIL is
        // released, and nothing here waits for the GIL meanwhile: a thread that holds the GIL
        // and wants the cache waits for the update, never the reverse.
        let split = py.detach(|| {
            let held = cache.lock();
            if held.refused() {
                // A full cache misses rows every block: not worth a try.
                return Ok(None);
            }
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                tree::update_split(&*held, root.as_ref(), version, &borrowed)
            }))
        });
        match split {
            Ok(Some(update)) => {
                cache.splits.fetch_add(1, Ordering::Relaxed);
                return Ok(tree_update_to_python(py, update));
            }
            Ok(None) => {}
            Err(_) => {
                return Err(invariant_violation(
                    py,
                    "the compiled core panicked updating the state tree (a bug)".into(),
                ))
            }
        }
    }
    if let Some(cache) = &cache {
        cache.get().settle(py);
    }
    let update = match &cache {
        Some(cache) => tree::update(
            &mut CachedNodes {
                cache: cache.get(),
                rows: get,
            },
            root.as_ref(),
            version,
            &borrowed,
        ),
        None => tree::update(&mut PythonNodes { get }, root.as_ref(), version, &borrowed),
    }
    .map_err(|error| match error {
        tree::Error::Reader(error) => error,
        tree::Error::Invariant(message) => invariant_violation(py, message),
    })?;
    Ok(tree_update_to_python(py, update))
}

fn tree_update_to_python(py: Python<'_>, update: tree::Update) -> TreeUpdate<'_> {
    (
        PyBytes::new(py, &update.root),
        TreeWrites {
            update: Arc::new(update),
        },
    )
}

/// `data` in zlib's format at level 1 (`rust/src/deflate.rs`), made on a thread of its own,
/// begun by `zlib_compress_begin` and taken by `result`: a stored block's row (state/store.py),
/// compressed while the commit's other rows are made in Python.
#[pyclass(frozen, module = "metanode._core")]
struct Compressing {
    pending: Mutex<Option<Pending>>,
}

enum Pending {
    Running(std::thread::JoinHandle<Vec<u8>>),
    /// Compressed at the start: the system gave no thread.
    Done(Vec<u8>),
}

#[pymethods]
impl Compressing {
    /// The compressed bytes, waited for with the GIL released; once.
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let compressed = match pending {
            Some(Pending::Done(compressed)) => compressed,
            Some(Pending::Running(thread)) => py.detach(|| thread.join()).map_err(|_| {
                invariant_violation(py, "the compiled core panicked compressing (a bug)".into())
            })?,
            None => {
                return Err(invariant_violation(
                    py,
                    "a compression's result taken twice".into(),
                ))
            }
        };
        Ok(PyBytes::new(py, &compressed))
    }
}

/// `data` (copied) compressed in zlib's format at level 1 on a thread of its own, to be taken
/// by the result's `result()`.
#[pyfunction]
fn zlib_compress_begin(data: &[u8]) -> Compressing {
    let owned = data.to_vec();
    let pending = match std::thread::Builder::new().spawn(move || deflate::zlib_level1(&owned)) {
        Ok(thread) => Pending::Running(thread),
        Err(_) => Pending::Done(deflate::zlib_level1(data)),
    };
    Compressing {
        pending: Mutex::new(Some(pending)),
    }
}

/// `metanode.crypto.merkle.root` of `leaves`, hashed with the GIL released.
#[pyfunction]
fn merkle_root<'py>(py: Python<'py>, leaves: Vec<Bound<'py, PyBytes>>) -> Bound<'py, PyBytes> {
    let data: Vec<&[u8]> = leaves.iter().map(|leaf| leaf.as_bytes()).collect();
    let root = py.detach(|| merkle::root(&data));
    PyBytes::new(py, &root)
}

/// A receipt as `metanode.types.Receipt` is, a tuple: (tx_hash, code, fee_charged, events).
/// The machine makes every receipt: codes and fees are uint64s.
type ReceiptInput<'py> = (Bound<'py, PyBytes>, u64, u64, Bound<'py, PyTuple>);

/// `metanode.state.machine.receipts_root`: each receipt encoded and the RFC 6962 root over
/// them hashed with the GIL released. The receipts cross as they are (a tuple each, no copy
/// made in Python); `encode_events(events)` gives a receipt's events as their encoded array,
/// called only for a receipt that has some (a transfer has none).
#[pyfunction]
fn receipts_root<'py>(
    py: Python<'py>,
    receipts: Vec<ReceiptInput<'py>>,
    encode_events: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let events: Vec<Option<Bound<'py, PyBytes>>> = receipts
        .iter()
        .map(|(_, _, _, events)| {
            if events.is_empty() {
                return Ok(None);
            }
            Ok(Some(
                encode_events.call1((events,))?.cast_into::<PyBytes>()?,
            ))
        })
        .collect::<PyResult<_>>()?;
    let borrowed: Vec<receipts::Receipt<'_>> = receipts
        .iter()
        .zip(&events)
        .map(|((tx_hash, code, fee, _), events)| receipts::Receipt {
            tx_hash: tx_hash.as_bytes(),
            code: *code,
            fee: *fee,
            events: events.as_ref().map(|events| events.as_bytes()),
        })
        .collect();
    let root = py.detach(|| receipts::root(&borrowed));
    Ok(PyBytes::new(py, &root))
}

/// `metanode.crypto.merkle.root_from_leaf_hashes`; a hash not of 32 bytes is an
/// InvariantViolation (the callers hand transaction hashes).
#[pyfunction]
fn merkle_root_from_leaf_hashes<'py>(
    py: Python<'py>,
    hashes: Vec<Bound<'py, PyBytes>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let level = hashes
        .iter()
        .map(|hash| {
            tree::Hash::try_from(hash.as_bytes()).map_err(|_| {
                invariant_violation(
                    py,
                    format!("a leaf hash of {} bytes", hash.as_bytes().len()),
                )
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let root = py.detach(|| merkle::root_from_leaf_hashes(level));
    Ok(PyBytes::new(py, &root))
}

/// A holder as `state/transfers.py` sends it: (address, its account's state key, its stored
/// account record or None, module, migrated). Addresses are `bytes`, borrowed: pyo3 would
/// extract a `Vec<u8>` from `bytes` one integer at a time.
type HolderInput<'py> = (
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Option<Bound<'py, PyBytes>>,
    bool,
    bool,
);
/// A transfer: (chain_id, sender, hybrid, signature_ok, nonce, fee, expiry_height, to, amount,
/// denom, size); `sender` and `to` are addresses among the holders'.
type TransferInput<'py> = (
    String,
    Bound<'py, PyBytes>,
    bool,
    bool,
    u64,
    u64,
    u64,
    Bound<'py, PyBytes>,
    u64,
    u8,
    usize,
);
/// (outcomes, fees, changed): `transfers::Executed` with each outcome as its number and each
/// changed holder as (the state key object it was given, its new record): the overlay takes
/// the list as it is.
type Executed<'py> = (
    Vec<u8>,
    u128,
    Vec<(Bound<'py, PyBytes>, Option<Bound<'py, PyBytes>>)>,
);

/// A run's accounts, from its transfers as `execute_transfers` takes them: (every address once
/// in key order, the state key of each one's account (`prefix` ‖ address), the senders among
/// them in the same order, each transfer's addresses for the index: its sender's, and its
/// recipient's when another). The addresses are the items' own `bytes`.
type RunAccounts<'py> = (
    Vec<Bound<'py, PyBytes>>,
    Vec<Bound<'py, PyBytes>>,
    Vec<Bound<'py, PyBytes>>,
    Vec<Bound<'py, PyList>>,
);

/// Where a transfer's sender and recipient are in its `TransferInput`.
const ITEM_SENDER: usize = 1;
const ITEM_TO: usize = 7;

/// `state/transfers.py`'s accounts of a run (its reads in key order: LMDB's tree walked leaf
/// to neighbouring leaf, and the changed records join the overlay as one sorted run).
#[pyfunction]
fn run_accounts<'py>(
    py: Python<'py>,
    items: Vec<Bound<'py, PyTuple>>,
    prefix: &[u8],
) -> PyResult<RunAccounts<'py>> {
    let mut objects = Vec::with_capacity(2 * items.len());
    let mut indexed = Vec::with_capacity(items.len());
    for item in &items {
        let sender = item.get_item(ITEM_SENDER)?.cast_into::<PyBytes>()?;
        let to = item.get_item(ITEM_TO)?.cast_into::<PyBytes>()?;
        indexed.push(if to.as_bytes() == sender.as_bytes() {
            PyList::new(py, [&sender])?
        } else {
            PyList::new(py, [&sender, &to])?
        });
        objects.push(sender);
        objects.push(to);
    }
    // (address, sends, its object): each `as_bytes` is a call into Python's C API under abi3,
    // so once an address, not once a comparison. Senders are even in `objects`, and a sender
    // sorts ahead of a recipient of the same address, so the first of each says it sends.
    let mut addresses: Vec<(&[u8], bool, usize)> = objects
        .iter()
        .enumerate()
        .map(|(index, object)| (object.as_bytes(), index % 2 == 0, index))
        .collect();
    addresses.sort_unstable_by(|(left, sends, _), (right, other_sends, _)| {
        left.cmp(right).then(other_sends.cmp(sends))
    });
    addresses.dedup_by(|later, first| later.0 == first.0);
    let keys = addresses
        .iter()
        .map(|(address, _, _)| {
            PyBytes::new_with(py, prefix.len() + address.len(), |key| {
                key[..prefix.len()].copy_from_slice(prefix);
                key[prefix.len()..].copy_from_slice(address);
                Ok(())
            })
        })
        .collect::<PyResult<_>>()?;
    let senders = addresses
        .iter()
        .filter(|(_, sends, _)| *sends)
        .map(|(_, _, index)| objects[*index].clone())
        .collect();
    Ok((
        addresses
            .iter()
            .map(|(_, _, index)| objects[*index].clone())
            .collect(),
        keys,
        senders,
        indexed,
    ))
}

/// `transfers::execute` on a run of a block's transfers, the GIL released while it runs;
/// a broken invariant (an address no holder has among them), or a panic (a bug of this
/// crate), is an InvariantViolation.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn execute_transfers<'py>(
    py: Python<'py>,
    holders: Vec<HolderInput<'py>>,
    transfers: Vec<TransferInput<'py>>,
    chain_id: String,
    height: u64,
    fee_min: u64,
    hybrid_accounts_required: bool,
    room: Option<(usize, usize)>,
) -> PyResult<Executed<'py>> {
    let slots: HashMap<&[u8], usize> = holders
        .iter()
        .enumerate()
        .map(|(index, holder)| (holder.0.as_bytes(), index))
        .collect();
    let slot = |address: &Bound<'py, PyBytes>| {
        let address = address.as_bytes();
        slots.get(address).copied().ok_or_else(|| {
            invariant_violation(
                py,
                format!("address {address:02x?} is not among the holders"),
            )
        })
    };
    let mut run = Vec::with_capacity(transfers.len());
    for (
        chain_id,
        sender,
        hybrid,
        signature_ok,
        nonce,
        fee,
        expiry_height,
        to,
        amount,
        denom,
        size,
    ) in transfers
    {
        run.push(transfers::Transfer {
            chain_id,
            sender: slot(&sender)?,
            hybrid,
            signature_ok,
            nonce,
            fee,
            expiry_height,
            to: slot(&to)?,
            amount,
            denom,
            size,
        });
    }
    let mut accounts: Vec<transfers::Holder> = holders
        .iter()
        .map(|(address, _key, record, module, migrated)| {
            let account = match record {
                None => transfers::Account::default(),
                Some(record) => transfers::Account::decode(record.as_bytes()).ok_or_else(|| {
                    invariant_violation(
                        py,
                        format!(
                            "the account record of {} is not an array of 5 unsigned integers",
                            tree::hex(address.as_bytes())
                        ),
                    )
                })?,
            };
            Ok(transfers::Holder {
                account,
                module: *module,
                migrated: *migrated,
            })
        })
        .collect::<PyResult<_>>()?;
    let block = transfers::Block {
        chain_id,
        height,
        fee_min,
        hybrid_accounts_required,
        room,
    };
    let executed = py
        .detach(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                transfers::execute(&block, &mut accounts, &run)
            }))
        })
        .unwrap_or_else(|_| {
            Err(transfers::Invariant(
                "the compiled core panicked executing transfers (a bug)".into(),
            ))
        })
        .map_err(|transfers::Invariant(message)| invariant_violation(py, message))?;
    Ok((
        executed
            .outcomes
            .iter()
            .map(|outcome| *outcome as u8)
            .collect(),
        executed.fees,
        executed
            .changed
            .iter()
            .map(|(index, record)| {
                (
                    holders[*index].1.clone(),
                    record.as_deref().map(|data| PyBytes::new(py, data)),
                )
            })
            .collect(),
    ))
}

type Row<'py> = (Bound<'py, PyBytes>, Bound<'py, PyBytes>);
/// (rows to put, (key to delete, the version its stored row must have, or None)).
type NodeRows<'py> = (
    Vec<Row<'py>>,
    Vec<(Bound<'py, PyBytes>, Option<Bound<'py, PyBytes>>)>,
);

/// (tx index rows, address index rows).
type IndexRows<'py> = (Vec<Row<'py>>, Vec<Row<'py>>);

/// A node key as (the node table's key, the version its row carries; None for a root-index
/// entry); a key too short to be a node's is an InvariantViolation.
fn split_key<'a>(py: Python<'_>, node_key: &'a [u8]) -> PyResult<(&'a [u8], Option<&'a [u8]>)> {
    nodecache::split(node_key).ok_or_else(|| {
        invariant_violation(
            py,
            format!("tree node key {} is too short", tree::hex(node_key)),
        )
    })
}

/// The first 8 bytes of a hash or address, the index tables' keys; shorter input is an
/// InvariantViolation (hashes are 32 bytes, addresses 20).
fn index_prefix(py: Python<'_>, bytes: &Bound<'_, PyBytes>) -> PyResult<[u8; 8]> {
    bytes.as_bytes().first_chunk::<8>().copied().ok_or_else(|| {
        invariant_violation(
            py,
            format!(
                "index key {} is shorter than 8 bytes",
                tree::hex(bytes.as_bytes())
            ),
        )
    })
}

/// The slice shift of `slices`, or an InvariantViolation naming a count that is not a power
/// of two dividing 256 (`state/index_runs.py` `shift_of`).
fn index_shift(py: Python<'_>, slices: u32) -> PyResult<u32> {
    index::slice_shift(slices).ok_or_else(|| {
        invariant_violation(
            py,
            format!("{slices} index slices: not a power of two that divides 256"),
        )
    })
}

/// A block's level-0 index rows at `height` (u32), as `state/store.py` `_index_rows` (the
/// reference) makes them: the tx index's and the address index's (one entry per address each
/// transaction touches), each as (slice u8 ‖ height u32, packed records sorted) in key order.
/// Entries are sorted as fixed-size arrays, no allocation per entry.
#[pyfunction]
fn index_rows<'py>(
    py: Python<'py>,
    height: u32,
    tx_hashes: Vec<Bound<'py, PyBytes>>,
    touched: Vec<Vec<Bound<'py, PyBytes>>>,
    slices: u32,
) -> PyResult<IndexRows<'py>> {
    let shift = index_shift(py, slices)?;
    if tx_hashes.len() != touched.len() || tx_hashes.len() > usize::from(u16::MAX) + 1 {
        return Err(invariant_violation(
            py,
            format!(
                "index rows of {} hashes and {} transactions",
                tx_hashes.len(),
                touched.len()
            ),
        ));
    }
    let mut txs = Vec::with_capacity(tx_hashes.len());
    for (position, tx_hash) in (0u16..=u16::MAX).zip(&tx_hashes) {
        txs.push((index_prefix(py, tx_hash)?, position));
    }
    let mut addrs = Vec::with_capacity(2 * touched.len());
    for (position, addresses) in (0u16..=u16::MAX).zip(&touched) {
        for address in addresses {
            addrs.push((index_prefix(py, address)?, position));
        }
    }
    let (txs, addrs) = py.detach(|| {
        (
            index::recent_rows(height, txs, shift),
            index::recent_rows(height, addrs, shift),
        )
    });
    let to_python = |rows: Vec<([u8; index::KEY_BYTES], Vec<u8>)>| -> Vec<Row<'py>> {
        rows.iter()
            .map(|(key, value)| (PyBytes::new(py, key), PyBytes::new(py, value)))
            .collect()
    };
    Ok((to_python(txs), to_python(addrs)))
}

/// Level 1's entries of the level-0 rows a sweep of `table` took, as
/// `state/index_runs.py` `swept` (the reference): (prefix, height u32 ‖ position u16) sorted,
/// and the prefixes once each, sorted; a row this code does not write is an
/// InvariantViolation naming the table and its key. A prefix's `bytes` is shared by its
/// entries and the prefix list.
#[pyfunction]
fn index_swept<'py>(
    py: Python<'py>,
    table: &str,
    rows: Vec<Row<'py>>,
) -> PyResult<(Vec<Row<'py>>, Vec<Bound<'py, PyBytes>>)> {
    let borrowed: Vec<(&[u8], &[u8])> = rows
        .iter()
        .map(|(key, value)| (key.as_bytes(), value.as_bytes()))
        .collect();
    let entries = py.detach(|| index::swept(&borrowed)).map_err(|bad| {
        let (key, value) = borrowed[bad];
        invariant_violation(
            py,
            format!(
                "ledger index {table} row {} is damaged: a {}-byte key and {} bytes of \
                     records of {}",
                tree::hex(key),
                key.len(),
                value.len(),
                index::RECORD_BYTES
            ),
        )
    })?;
    let mut moved: Vec<Row<'py>> = Vec::with_capacity(entries.len());
    let mut prefixes: Vec<Bound<'py, PyBytes>> = Vec::new();
    for (index, (prefix, location)) in entries.iter().enumerate() {
        let key = match prefixes.last() {
            Some(last) if index > 0 && entries[index - 1].0 == *prefix => last.clone(),
            _ => {
                let key = PyBytes::new(py, prefix);
                prefixes.push(key.clone());
                key
            }
        };
        moved.push((key, PyBytes::new(py, location)));
    }
    Ok((moved, prefixes))
}

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(verify, module)?)?;
    module.add_function(wrap_pyfunction!(decode_transactions, module)?)?;
    module.add_function(wrap_pyfunction!(tree_update, module)?)?;
    module.add_function(wrap_pyfunction!(verify_many, module)?)?;
    module.add_function(wrap_pyfunction!(execute_transfers, module)?)?;
    module.add_function(wrap_pyfunction!(run_accounts, module)?)?;
    module.add_function(wrap_pyfunction!(index_rows, module)?)?;
    module.add_function(wrap_pyfunction!(index_swept, module)?)?;
    module.add_function(wrap_pyfunction!(merkle_root, module)?)?;
    module.add_function(wrap_pyfunction!(merkle_root_from_leaf_hashes, module)?)?;
    module.add_function(wrap_pyfunction!(receipts_root, module)?)?;
    module.add_function(wrap_pyfunction!(zlib_compress_begin, module)?)?;
    module.add_class::<Compressing>()?;
    module.add_class::<NodeCache>()?;
    module.add_class::<TreeWrites>()?;
    module.add_class::<crate::python_pool::PoolIndex>()?;
    Ok(())
}
