//! Replays the `cargo fuzz` corpus (`fuzz/corpus/parse_policy`) through the fuzz entry
//! point, so every input the fuzzer kept stays a regression test without a nightly toolchain.

use std::path::PathBuf;

#[test]
fn fuzz_corpus_replays_without_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/parse_policy");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        bunker_policy::fuzzing::exercise(&data);
        count += 1;
    }
    assert!(count >= 20, "the corpus holds the seeds at least ({count} files)");
}
