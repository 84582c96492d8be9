//! The pinned rule against every CCTV and Wycheproof Ed25519 case in ../shared/vectors, read in
//! place (the Python suite checks the same files against the reference).

use std::path::PathBuf;

use _core::ed25519::{verify, verify_many};
use _core::merkle;
use serde_json::Value;

const ACCEPTED_FLAGS: [&str; 2] = ["low_order_component_A", "low_order_component_R"];

fn load(relative: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vectors")
        .join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "test vectors not found at {}: clone the project with ../shared beside it ({error})",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("vector file is JSON")
}

fn hex(text: &Value) -> Vec<u8> {
    let text = text.as_str().expect("hex string");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

struct Case {
    key: Vec<u8>,
    message: Vec<u8>,
    signature: Vec<u8>,
    valid: bool,
    flags: Vec<String>,
}

fn cctv() -> Vec<Case> {
    let cases = load("cctv-ed25519/ed25519vectors.json");
    cases
        .as_array()
        .expect("a list")
        .iter()
        .map(|case| {
            let flags: Vec<String> = case["flags"]
                .as_array()
                .map(|flags| {
                    flags
                        .iter()
                        .map(|flag| flag.as_str().expect("flag").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            Case {
                key: hex(&case["key"]),
                message: case["msg"].as_str().expect("msg").as_bytes().to_vec(),
                signature: hex(&case["sig"]),
                valid: flags
                    .iter()
                    .all(|flag| ACCEPTED_FLAGS.contains(&flag.as_str())),
                flags,
            }
        })
        .collect()
}

fn triples(cases: &[Case]) -> Vec<(&[u8], &[u8], &[u8])> {
    cases
        .iter()
        .map(|case| {
            (
                case.key.as_slice(),
                case.message.as_slice(),
                case.signature.as_slice(),
            )
        })
        .collect()
}

#[test]
fn every_cctv_case_one_by_one_and_in_a_batch() {
    let cases = cctv();
    assert_eq!(cases.len(), 914);
    for case in &cases {
        assert_eq!(
            verify(&case.key, &case.message, &case.signature),
            case.valid,
            "flags {:?}",
            case.flags
        );
    }
    let expected: Vec<bool> = cases.iter().map(|case| case.valid).collect();
    assert_eq!(verify_many(&triples(&cases), 2), expected);
}

#[test]
fn every_wycheproof_case() {
    let file = load("wycheproof/ed25519_test.json");
    let mut count = 0;
    for group in file["testGroups"].as_array().expect("groups") {
        let key = hex(&group["publicKey"]["pk"]);
        for test in group["tests"].as_array().expect("tests") {
            let result = test["result"].as_str().expect("result");
            assert_ne!(
                result, "acceptable",
                "the rule has no acceptable cases to decide"
            );
            let verdict = verify(&key, &hex(&test["msg"]), &hex(&test["sig"]));
            assert_eq!(verdict, result == "valid", "tcId {}", test["tcId"]);
            count += 1;
        }
    }
    assert_eq!(count, 151);
}

#[test]
fn the_libraries_batch_equation_is_looser_than_the_rule() {
    // Why `verify_many` checks one by one: a signature whose cofactorless equation misses by a
    // torsion point (flag low_order_residue, rejected by the rule) passes the library's batch
    // check whenever the random coefficient is a multiple of the torsion point's order.
    let cases = cctv();
    let loose = cases
        .iter()
        .filter(|case| {
            case.flags.contains(&"low_order_residue".to_owned())
                && !case.flags.iter().any(|flag| {
                    flag.starts_with("low_order_A")
                        || flag.starts_with("low_order_R")
                        || flag.starts_with("non_canonical")
                })
        })
        .find(|case| {
            let key = ed25519_dalek::VerifyingKey::from_bytes(
                case.key.as_slice().try_into().expect("32"),
            )
            .expect("a point");
            let signature = ed25519_dalek::Signature::from_slice(&case.signature).expect("64");
            ed25519_dalek::verify_batch(&[case.message.as_slice()], &[signature], &[key]).is_ok()
        });
    let case = loose.expect("some low_order_residue case passes the batch equation");
    assert!(!verify(&case.key, &case.message, &case.signature));
}

#[test]
fn every_rfc6962_root() {
    let tree = load("merkle/rfc6962_ct.json");
    let leaves: Vec<Vec<u8>> = tree["leaf_inputs_hex"]
        .as_array()
        .expect("leaves")
        .iter()
        .map(hex)
        .collect();
    let roots = tree["roots_by_size"].as_object().expect("roots");
    assert!(roots.len() > 1);
    for (size, root) in roots {
        let size: usize = size.parse().expect("a size");
        let data: Vec<&[u8]> = leaves[..size].iter().map(Vec::as_slice).collect();
        assert_eq!(merkle::root(&data).to_vec(), hex(root), "size {size}");
        let hashes = data.iter().map(|leaf| merkle::leaf_hash(leaf)).collect();
        assert_eq!(merkle::root_from_leaf_hashes(hashes).to_vec(), hex(root));
    }
}
