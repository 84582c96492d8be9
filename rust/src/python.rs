//! The binding `metanode._core`: whole batches in, one verdict or value each out, the GIL
//! released while the batch is worked on.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::ed25519;
use crate::transaction::{self, Decoded};

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
/// denom, pq_public_key, signature)`; `(rule, offset)` of the first broken rule; or None for a
/// well-formed envelope whose message is not a transfer (the Python decoder takes those).
#[pyfunction]
fn decode_transactions<'py>(
    py: Python<'py>,
    items: Vec<Bound<'py, PyBytes>>,
    registered_tags: Vec<u64>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let data: Vec<&[u8]> = items.iter().map(|item| item.as_bytes()).collect();
    let decoded: Vec<_> = py.detach(|| {
        data.iter()
            .map(|bytes| transaction::decode(bytes, &registered_tags))
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

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(verify, module)?)?;
    module.add_function(wrap_pyfunction!(decode_transactions, module)?)?;
    module.add_function(wrap_pyfunction!(verify_many, module)?)?;
    Ok(())
}
