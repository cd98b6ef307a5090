#!/usr/bin/env python3
"""Splits a `perf record -g` profile of bunker into pipeline stages, per thread.

    perf record -e cpu-clock -F 999 -g -o p.data -- bunker vault … ; benches/perf-stages.py p.data

Each sample is classified by the first matching frame of its call chain (leaf first), so a
memcpy inside zstd counts as compression and a kernel copy under read() counts as reading.
"""
import collections
import subprocess
import sys

STAGES = [  # (stage, substrings of a frame name), first match from the leaf wins
    ("argon2 key derivation", ["argon2"]),
    ("zstd decompress", ["ZSTD_decompress", "ZSTD_decode", "HUF_decompress", "HUF_decode", "FSE_decode",
                         "ZSTD_execSequence", "zstd_safe::DCtx", "ZSTD_copy"]),
    ("zstd compress", ["ZSTD_", "HUF_", "FSE_", "HIST_"]),
    ("AES-GCM", ["aes::", "polyval", "Aes256", "aes_gcm", "ghash"]),
    ("BLAKE3", ["blake3"]),
    ("FastCDC", ["cut_gear", "fastcdc"]),
    ("fsync", ["fsync", "sync_file", "sync_data"]),
    ("write (pack files / restored files)", ["ksys_write", "ksys_pwrite", "__x64_sys_write", "__x64_sys_pwrite", "copy_folio_from_iter"]),
    ("read (source files / packs)", ["read_to_end", "ksys_read", "ksys_pread", "__x64_sys_read", "__x64_sys_pread", "filemap_read"]),
    ("metadata (stat, open, xattr, readdir, mkdir, chmod, utimes)", ["statx", "xattr", "openat", "getdents", "mkdir", "chmod", "utimensat", "fchown", "chown", "unlink", "__x64_sys_close", "newfstat", "__x64_sys_ftruncate", "fallocate"]),
    ("channel / scheduling", ["crossbeam", "futex", "schedule", "finish_task_switch"]),
    ("serde / trees / index", ["serde", "Tree", "tree::", "index::"]),
    ("allocation / memcpy", ["malloc", "free", "memmove", "memcpy", "memset", "realloc"]),
]


def stage_of(frames):
    for frame in frames:
        for stage, keys in STAGES:
            if any(k in frame for k in keys):
                return stage
    return "other"


def main():
    data = sys.argv[1]
    out = subprocess.run(["perf", "script", "-i", data, "-F", "tid,ip,sym"], capture_output=True, text=True).stdout
    per = collections.defaultdict(collections.Counter)
    total = collections.Counter()
    frames, tid = [], None
    for line in out.splitlines() + [""]:
        if not line.strip():
            if tid is not None:
                s = stage_of(frames)
                per[tid][s] += 1
                total[s] += 1
            frames, tid = [], None
            continue
        if not line.startswith("\t"):
            tid = line.split()[0]
        else:
            parts = line.split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "")
    n = sum(total.values())
    print(f"{n} samples")
    for t, c in sorted(per.items(), key=lambda kv: -sum(kv[1].values())):
        m = sum(c.values())
        print(f"thread {t}: {m} samples ({m / n * 100:.0f} %)")
        for s, k in c.most_common(8):
            print(f"    {k / m * 100:5.1f} %  {s}")
    print("all threads:")
    for s, k in total.most_common():
        print(f"    {k / n * 100:5.1f} %  {s}")


if __name__ == "__main__":
    main()
