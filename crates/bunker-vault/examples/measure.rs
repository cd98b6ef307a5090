//! Quick throughput measurements behind the defaults in `docs/vault-format.md`.
//!
//! `cargo run --release -p bunker-vault --example measure [MiB]` reads up to MiB (default 256)
//! of real files from `/usr` into memory and times each stage alone and the whole in-memory
//! pipeline. Not a benchmark against peers; that harness comes with the later work.

use std::sync::Arc;
use std::time::Instant;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use bunker_vault::{ChunkerParams, Cipher, InitOptions, MemoryStorage, NoProgress, StreamOptions, Vault};

fn corpus(limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(limit);
    let mut stack = vec![std::path::PathBuf::from("/usr/lib"), std::path::PathBuf::from("/usr/share")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                if let Ok(b) = std::fs::read(e.path()) {
                    out.extend_from_slice(&b[..b.len().min(limit - out.len())]);
                }
                if out.len() >= limit {
                    return out;
                }
            }
        }
    }
    out
}

fn mibs(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / secs
}

/// `measure tree <DIR> <WORKDIR>`: back up DIR into a vault on disk, check it, restore it.
fn tree(src: &str, work: &str) {
    let work = std::path::Path::new(work);
    let storage = Arc::new(bunker_vault::LocalStorage::new(work.join("vault")));
    let kek = bunker_vault::PasswordKek::with_cost("x", 256, 1, 1);
    let vault = Vault::init(storage, &kek, InitOptions::default()).unwrap();
    let t = Instant::now();
    let s = vault.backup(&[src], &bunker_vault::BackupOptions::default(), &NoProgress).unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "backup {src}: {} files, {:.0} MiB read in {secs:.1} s = {:.0} MiB/s, stored {:.0} MiB",
        s.files,
        s.bytes_read as f64 / 1048576.0,
        mibs(s.bytes_read as usize, secs),
        s.bytes_added as f64 / 1048576.0
    );
    let t = Instant::now();
    let s2 = vault
        .backup(&[src], &bunker_vault::BackupOptions { parent: Some(s.snapshot_id), ..Default::default() }, &NoProgress)
        .unwrap();
    println!("second backup (unchanged, with parent): {:.2} s, added {} bytes", t.elapsed().as_secs_f64(), s2.bytes_added);
    let t = Instant::now();
    let r = vault.check(&bunker_vault::CheckOptions { read_data: true, ..Default::default() }, &NoProgress).unwrap();
    println!("check --read-data: ok={} in {:.1} s", r.is_ok(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let rs = vault.restore(s.snapshot_id, &bunker_vault::RestoreOptions::new(work.join("restore")), &NoProgress).unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!("restore: {:.0} MiB in {secs:.1} s = {:.0} MiB/s", rs.bytes as f64 / 1048576.0, mibs(rs.bytes as usize, secs));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("tree") {
        return tree(&args[2], &args[3]);
    }
    let mib: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(256);
    let data = corpus(mib * 1024 * 1024);
    let n = data.len();
    println!("corpus: {:.1} MiB of /usr files", n as f64 / 1048576.0);

    // AEADs on 1 MiB messages.
    let key = [7u8; 32];
    let nonce = [1u8; 12];
    let mut buf = vec![0u8; 1 << 20];
    let aes = aes_gcm::Aes256Gcm::new(&key.into());
    let t = Instant::now();
    for c in data.chunks(1 << 20) {
        buf[..c.len()].copy_from_slice(c);
        aes.encrypt_in_place_detached(&nonce.into(), b"", &mut buf[..c.len()]).unwrap();
    }
    println!("aes-256-gcm        {:8.0} MiB/s", mibs(n, t.elapsed().as_secs_f64()));
    let cha = chacha20poly1305::ChaCha20Poly1305::new(&key.into());
    let t = Instant::now();
    for c in data.chunks(1 << 20) {
        buf[..c.len()].copy_from_slice(c);
        cha.encrypt_in_place_detached(&nonce.into(), b"", &mut buf[..c.len()]).unwrap();
    }
    println!("chacha20-poly1305  {:8.0} MiB/s", mibs(n, t.elapsed().as_secs_f64()));

    let t = Instant::now();
    for c in data.chunks(1 << 20) {
        std::hint::black_box(blake3::keyed_hash(&key, c));
    }
    println!("blake3 keyed       {:8.0} MiB/s", mibs(n, t.elapsed().as_secs_f64()));

    for level in [1, 2, 3, 6] {
        let t = Instant::now();
        let mut out = 0usize;
        let mut comp = zstd::bulk::Compressor::new(level).unwrap();
        for c in data.chunks(1 << 20) {
            out += comp.compress(c).unwrap().len().min(c.len());
        }
        println!(
            "zstd -{level}            {:8.0} MiB/s  stored {:.1} %",
            mibs(n, t.elapsed().as_secs_f64()),
            out as f64 * 100.0 / n as f64
        );
    }

    // Chunker sizes: speed, and new bytes after 64 scattered 100-byte edits + 1 insertion.
    let mut edited = data.clone();
    for i in 0..64 {
        let at = (i * 7919 * 4099) % (n - 200);
        edited[at..at + 100].fill(0xee);
    }
    edited.splice(n / 3..n / 3, vec![0x55; 3000]);
    for (min, avg, max) in [(64, 256, 1024), (128, 512, 2048), (256, 1024, 4096), (512, 1024, 8192)] {
        let p = |k: u32| k * 1024;
        let t = Instant::now();
        let ids: std::collections::HashSet<blake3::Hash> =
            fastcdc::v2020::FastCDC::new(&data, p(min), p(avg), p(max)).map(|c| blake3::hash(&data[c.offset..c.offset + c.length])).collect();
        let secs = t.elapsed().as_secs_f64();
        let count = ids.len();
        let new: usize = fastcdc::v2020::FastCDC::new(&edited, p(min), p(avg), p(max))
            .filter(|c| !ids.contains(&blake3::hash(&edited[c.offset..c.offset + c.length])))
            .map(|c| c.length)
            .sum();
        println!(
            "fastcdc {min}K/{avg}K/{max}K  chunk+hash {:6.0} MiB/s  mean chunk {:5.0} KiB  re-stored after edits {:5.1} MiB",
            mibs(n, secs),
            n as f64 / count as f64 / 1024.0,
            new as f64 / 1048576.0
        );
    }

    // The whole pipeline into memory: 2 workers, default sizes.
    for (cipher, level) in [(Cipher::Aes256Gcm, 1), (Cipher::Aes256Gcm, 3), (Cipher::ChaCha20Poly1305, 3)] {
        let storage = Arc::new(MemoryStorage::default());
        let kek = bunker_vault::PasswordKek::with_cost("x", 256, 1, 1);
        // BUNKER_MEASURE_AVG_KIB=1024 measures min = avg/4, max = avg*4 instead of the default.
        let chunker = match std::env::var("BUNKER_MEASURE_AVG_KIB").ok().and_then(|v| v.parse::<u32>().ok()) {
            Some(avg) => ChunkerParams { min_size: avg * 256, avg_size: avg * 1024, max_size: avg * 4096 },
            None => ChunkerParams::default(),
        };
        let opts = InitOptions { cipher, compression_level: level, chunker, ..InitOptions::default() };
        let vault = Vault::init(storage, &kek, opts).unwrap();
        let t = Instant::now();
        let s = vault
            .backup_stream(&data[..], &StreamOptions { name: "corpus".into(), threads: Some(2), ..Default::default() }, &NoProgress)
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut sink = std::io::sink();
        vault.restore_stream(s.snapshot_id, &mut sink).unwrap();
        let rsecs = t.elapsed().as_secs_f64();
        println!(
            "pipeline {cipher:?} zstd-{level}: backup {:6.0} MiB/s, stored {:.1} %; stream restore (1 thread) {:6.0} MiB/s",
            mibs(n, secs),
            s.bytes_added as f64 * 100.0 / n as f64,
            mibs(n, rsecs)
        );
    }
}
