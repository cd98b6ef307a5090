//! Real servers for tests, each started on 127.0.0.1 on a free port by the test that needs
//! it and stopped when its handle is dropped.
//!
//! * [`postgres::PgServer`]: a throw-away PostgreSQL cluster (`initdb` + `pg_ctl` in a
//!   temporary directory).
//! * [`moto::Moto`]: moto's S3 server (`moto_server`), installed by `scripts/test` into
//!   `.venv`.
//!
//! When a server's binaries are missing, `start` returns `None` after saying so loudly, so
//! a developer without them can still run the rest; `scripts/test` sets
//! `BUNKER_REQUIRE_POSTGRES=1` / `BUNKER_REQUIRE_S3=1`, which turn that into a failure.
//!
//! Also small data helpers every crate's tests share ([`noise`], [`Rng`], [`read_files`]).

pub mod moto;
pub mod postgres;

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// `n` deterministic pseudo-random bytes (xorshift64 from `seed`): incompressible and
/// unlike any other seed's, so chunks never deduplicate by accident.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Says loudly that a test is skipped, or panics when `require_var` is set.
pub fn skip_or_fail(require_var: &str, what: &str) {
    assert!(std::env::var_os(require_var).is_none(), "{require_var} is set but {what}");
    use std::io::Write;
    // Straight to the stream: `eprintln!` would be captured and hidden for a passing test.
    let _ = writeln!(std::io::stderr(), "\n!!!!!!!! SKIPPED: {what} !!!!!!!!\n");
}

/// xorshift64*: seeded, tiny, good enough for test data and kill delays.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift never leaves it).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)] // not an iterator: it never ends
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A duration uniform in `[0, d)`.
    pub fn below(&mut self, d: std::time::Duration) -> std::time::Duration {
        #[allow(clippy::cast_precision_loss)]
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        d.mul_f64(unit)
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// The files directly in `dir`, by name, with their bytes (a flat tree to compare).
///
/// # Panics
/// If `dir` or a file in it cannot be read.
pub fn read_files(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| {
            let e = e.expect("directory entry");
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("file"))
        })
        .collect()
}
