//! Helpers shared by the vault's integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use bunker_vault::{ChunkerParams, InitOptions};

/// Small chunks and packs, so a few MiB of test data spread over many chunks and packs.
pub fn options() -> InitOptions {
    InitOptions {
        chunker: ChunkerParams { min_size: 16 * 1024, avg_size: 64 * 1024, max_size: 256 * 1024 },
        pack_size: 1024 * 1024,
        ..InitOptions::default()
    }
}

/// Deterministic pseudo-random (incompressible) bytes.
pub use bunker_testkit::noise;

/// Relative paths of everything below `root`, sorted.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in fs::read_dir(root.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                stack.push(r.clone());
            }
            out.push(r);
        }
    }
    out.sort();
    out
}

pub fn set_mtime(path: &Path, secs: i64, nanos: i64) {
    use rustix::fs::{AtFlags, CWD, Timespec, Timestamps};
    let t = Timespec { tv_sec: secs, tv_nsec: nanos };
    rustix::fs::utimensat(CWD, path, &Timestamps { last_access: t, last_modification: t }, AtFlags::SYMLINK_NOFOLLOW)
        .unwrap();
}

/// Builds the reference tree; returns whether user xattrs are supported here.
pub fn make_tree(root: &Path) -> bool {
    fs::create_dir_all(root.join("a/b/c")).unwrap();
    fs::create_dir_all(root.join("empty-dir")).unwrap();
    fs::create_dir_all(root.join("ünïcødé ✓")).unwrap();
    fs::write(root.join("empty"), b"").unwrap();
    fs::write(root.join("a/b/c/deep.txt"), b"deep file").unwrap();
    fs::write(root.join("ünïcødé ✓/日本語.txt"), "こんにちは".repeat(100)).unwrap();
    for i in 0..20u64 {
        fs::write(root.join(format!("a/file{i:02}.bin")), noise(50_000 + i as usize * 3000, i)).unwrap();
    }
    fs::write(root.join("a/b/text.txt"), "the quick brown fox\n".repeat(20_000)).unwrap();
    fs::write(root.join("a/b/big.bin"), noise(1_500_000, 99)).unwrap();
    // Sparse: 24 MiB with two data islands.
    let sparse = fs::File::create(root.join("sparse.img")).unwrap();
    sparse.set_len(24 * 1024 * 1024).unwrap();
    {
        use std::os::unix::fs::FileExt;
        sparse.write_all_at(&noise(100_000, 5), 1024 * 1024).unwrap();
        sparse.write_all_at(&noise(100_000, 6), 20 * 1024 * 1024).unwrap();
    }
    drop(sparse);
    // Links.
    std::os::unix::fs::symlink("a/b/c/deep.txt", root.join("link-rel")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", root.join("link-dangling")).unwrap();
    fs::write(root.join("a/hard1"), b"shared by two names").unwrap();
    fs::hard_link(root.join("a/hard1"), root.join("a/b/hard2")).unwrap();
    // Modes.
    fs::write(root.join("a/exec.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(root.join("a/exec.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(root.join("a/private"), b"secret").unwrap();
    fs::set_permissions(root.join("a/private"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(root.join("a/readonly"), b"ro").unwrap();
    fs::set_permissions(root.join("a/readonly"), fs::Permissions::from_mode(0o444)).unwrap();
    fs::set_permissions(root.join("empty-dir"), fs::Permissions::from_mode(0o750)).unwrap();
    let xattrs = xattr::set(root.join("a/b/text.txt"), "user.bunker", b"tagged").is_ok();
    // mtimes, deepest first so directory times stick.
    let mut all = walk(root);
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for (i, p) in all.iter().enumerate() {
        set_mtime(&root.join(p), 1_600_000_000 + i as i64 * 1000, 123_456_789);
    }
    xattrs
}

/// Asserts that two trees are identical in bytes and metadata.
/// `whole` is false for sub-path restores, where link partners outside the sub-path are absent.
pub fn assert_same_tree(src: &Path, dst: &Path, xattrs: bool, whole: bool) {
    let (a, b) = (walk(src), walk(dst));
    assert_eq!(a, b, "entry lists differ");
    let mut inodes: HashMap<u64, u64> = HashMap::new();
    for rel in &a {
        let (p, q) = (src.join(rel), dst.join(rel));
        let (m, n) = (fs::symlink_metadata(&p).unwrap(), fs::symlink_metadata(&q).unwrap());
        assert_eq!(m.file_type(), n.file_type(), "{rel:?} type");
        assert_eq!((m.mtime(), m.mtime_nsec()), (n.mtime(), n.mtime_nsec()), "{rel:?} mtime");
        if m.file_type().is_symlink() {
            assert_eq!(fs::read_link(&p).unwrap(), fs::read_link(&q).unwrap(), "{rel:?} target");
            continue;
        }
        assert_eq!(m.mode() & 0o7777, n.mode() & 0o7777, "{rel:?} mode");
        if m.is_file() {
            assert_eq!(fs::read(&p).unwrap(), fs::read(&q).unwrap(), "{rel:?} content");
            // Hard-link identity: files sharing an inode in the source share one in the copy.
            if let Some(prev) = inodes.insert(m.ino(), n.ino()) {
                assert_eq!(prev, n.ino(), "{rel:?} hard link");
            }
            if whole {
                assert_eq!(m.nlink(), n.nlink(), "{rel:?} link count");
            }
            // Sparse files stay sparse: all-zero chunks are not written out (chunks that
            // straddle data and holes are, so allow a few chunks' worth).
            if m.blocks() * 512 < m.size() / 8 {
                assert!(n.blocks() * 512 < m.size() / 4, "{rel:?} lost its holes: {} blocks, source {}", n.blocks(), m.blocks());
            }
        }
        if xattrs {
            assert_eq!(xattr::get(&p, "user.bunker").unwrap(), xattr::get(&q, "user.bunker").unwrap(), "{rel:?} xattr");
        }
    }
}
