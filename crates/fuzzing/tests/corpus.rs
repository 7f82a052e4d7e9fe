//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the functions the fuzz
//! targets call, on the stable toolchain: every input that ever found a defect stays a test.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let bytes = std::fs::read(&path).expect("corpus file");
            (path, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs", dir.display());
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{} fails", path.display());
    }
}

#[test]
fn form_corpus() {
    replay("form", clickbill_fuzzing::form);
}

#[test]
fn signature_corpus() {
    replay("signature", clickbill_fuzzing::signature);
}

#[test]
fn api_corpus() {
    replay("api", clickbill_fuzzing::api_request);
}
