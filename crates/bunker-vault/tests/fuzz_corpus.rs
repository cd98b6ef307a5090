//! Replays the `cargo fuzz` corpora of the vault parsers (`fuzz/corpus/vault_*`) through
//! the fuzz entry points, so the inputs the fuzzer kept stay regression tests without a
//! nightly toolchain. `cargo test -p bunker-vault --test fuzz_corpus -- --ignored` writes
//! fresh seeds from a real vault.

use std::path::PathBuf;
use std::sync::Arc;

use bunker_vault::{BackupOptions, FileKek, InitOptions, LocalStorage, NoProgress, Vault, fuzzing};

type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 4] =
    [("vault_pack", fuzzing::pack), ("vault_index", fuzzing::index), ("vault_tree", fuzzing::tree), ("vault_manifest", fuzzing::manifest)];

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target)
}

#[test]
fn fuzz_corpora_replay_without_panic() {
    for (target, run) in TARGETS {
        let mut count = 0;
        for entry in std::fs::read_dir(corpus(target)).unwrap_or_else(|e| panic!("{target}: {e}")) {
            run(&std::fs::read(entry.unwrap().path()).unwrap());
            count += 1;
        }
        assert!(count > 0, "{target}: empty corpus");
    }
}

#[test]
#[ignore = "writes seed files into fuzz/corpus"]
fn write_fuzz_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), b"hello").unwrap();
    std::fs::write(src.join("sub/b.bin"), vec![7u8; 300_000]).unwrap();
    std::os::unix::fs::symlink("a.txt", src.join("link")).unwrap();
    let kek = FileKek::generate(dir.path().join("key")).unwrap();
    let vault = Vault::init(Arc::new(LocalStorage::new(dir.path().join("vault"))), &kek, InitOptions::default()).unwrap();
    vault.backup(&[src], &BackupOptions::default(), &NoProgress).unwrap();
    for (i, (target, bytes)) in fuzzing::seeds(&vault).unwrap().into_iter().enumerate() {
        std::fs::create_dir_all(corpus(target)).unwrap();
        std::fs::write(corpus(target).join(format!("seed-{i}")), bytes).unwrap();
    }
}
