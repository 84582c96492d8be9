//! The binding `metanode._core`: whole batches in, one verdict or value each out, the GIL
//! released while the batch is worked on.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::ed25519;

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

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(verify, module)?)?;
    module.add_function(wrap_pyfunction!(verify_many, module)?)?;
    Ok(())
}
