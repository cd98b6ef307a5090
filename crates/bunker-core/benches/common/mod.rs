//! What the benchmarks of this crate share: timing many runs and reporting percentiles.

#![allow(dead_code)] // each benchmark uses a part

use std::time::{Duration, Instant};

/// `cargo bench -- --test` (what `scripts/test` passes): one quick run on small data, to
/// keep the benchmark working without timing it.
pub fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// Durations of repeated runs.
#[derive(Default)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    /// Times `f` once and records it; returns its result.
    pub fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.push(start.elapsed());
        out
    }

    fn quantile(sorted: &[Duration], q: f64) -> Duration {
        // Nearest rank: the smallest sample with at least q of the samples at or below it.
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    /// `name: n runs, min, p50, p99, max, mean`, in milliseconds.
    pub fn report(&self, name: &str) -> String {
        let mut s = self.0.clone();
        s.sort();
        if s.is_empty() {
            return format!("{name}: no runs");
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mean = s.iter().sum::<Duration>() / s.len() as u32;
        format!(
            "{name}: {} runs, min {:.2} ms, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {:.2} ms",
            s.len(),
            ms(s[0]),
            ms(Self::quantile(&s, 0.50)),
            ms(Self::quantile(&s, 0.99)),
            ms(s[s.len() - 1]),
            ms(mean)
        )
    }
}

/// A new organization on `orgs` with `n` workload accounts in its root; their ids.
pub async fn workload_accounts(orgs: &bunker_core::Organizations, n: usize) -> Vec<String> {
    use bunker_core::{CreateAccount, CreateOrganization};
    orgs.create_organization(CreateOrganization::default()).await.expect("organization");
    let root = orgs.list_roots().await.expect("roots").remove(0).id;
    let mut accounts = Vec::new();
    for a in 0..n {
        let status = orgs
            .create_account(CreateAccount {
                account_name: format!("workload-{a}"),
                email: format!("workload-{a}@example.com"),
                account_id: None,
                parent_id: Some(root.clone()),
            })
            .await
            .expect("account");
        accounts.push(status.account_id);
    }
    accounts
}
