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
//! Also small data helpers every crate's tests share ([`noise`]).

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
