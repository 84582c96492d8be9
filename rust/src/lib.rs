//! Metanode's compiled core: the per-transaction work done for whole batches, so that Python
//! crosses into it once per batch. `metanode._core` is the Python binding (feature `python`);
//! the Python implementation stays the reference (`METANODE_CORE=python`).

pub mod cbor;
pub mod deflate;
pub mod ed25519;
pub mod index;
pub mod merkle;
pub mod nodecache;
pub mod pool;
pub mod receipts;
pub mod transaction;
pub mod transfers;
pub mod tree;

#[cfg(feature = "python")]
mod python;
#[cfg(feature = "python")]
mod python_pool;
