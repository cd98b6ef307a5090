//! `list-recovery-points-by-backup-vault` on a SQLite catalog with 1,000,000 recovery
//! points, through [`BackupService::list_recovery_points_by_backup_vault`] (what the CLI
//! calls), `MaxResults` 100.
//!
//! `cargo bench -p bunker-core --bench list_recovery_points`
//!
//! The catalog: 4 accounts, 9 vaults; one vault holds 600,000 points, the other 8 share
//! 400,000. Points come as a daily scheduler makes them: 2,000 resources backed up each day
//! for 500 days, jobs started in waves (about 30 points of the big vault share each
//! creation time, so the keyset's tie-break on the ARN matters), ARNs in random order
//! relative to time. It is generated once (a few tens of seconds) into
//! `target/bench-data/` and reused while its version below is unchanged; newer
//! migrations apply to it when it is opened.
//!
//! Page requests, each timed from call to return:
//! * the first page of the big vault and of the small ones;
//! * every page of the big vault, following `NextToken` to the end (6,000 requests, the
//!   deepest pages included);
//! * 2,000 resumes at random points of the big vault (a `NextToken` naming a random point).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bunker_catalog::{BackupVault, Catalog, Tags};
use bunker_core::backup::{BackupService, vault_arn};
use bunker_core::{ManualClock, Organizations};
use common::{Samples, test_mode};
use jiff::Timestamp;
use sqlx::Connection;

/// Changes whenever the generated data changes, so that an old file is not reused.
const DATA_VERSION: u32 = 1;
const REGION: &str = "eu-west-1";
const PAGE: i64 = 100;
/// Resources backed up each day.
const RESOURCES: i64 = 2_000;
/// Of every 5 points, 3 go to the big vault; the others spread over 8 vaults.
const SMALL_VAULTS: i64 = 8;

/// 64 random bits from a counter (splitmix64): reproducible, no dependency.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Where the generated catalog is kept: `BUNKER_BENCH_DATA`, else `target/bench-data`
/// next to this binary (`target/release/deps/…`).
fn data_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("BUNKER_BENCH_DATA") {
        return dir.into();
    }
    let exe = std::env::current_exe().expect("own path");
    exe.ancestors().nth(3).expect("target directory").join("bench-data")
}

/// Creates the catalog at `path` with `points` recovery points.
async fn generate(path: &Path, points: i64) {
    let start: Timestamp = "2024-06-01T00:00:00Z".parse().expect("time");
    let clock = ManualClock::new(start);
    let catalog = Catalog::open_file(path).await.expect("catalog");
    let orgs = Organizations::new(catalog.clone(), Arc::new(clock.clone()));
    let accounts = common::workload_accounts(&orgs, 4).await;
    let mut vaults = vec![(accounts[0].clone(), "Default".to_owned())];
    for v in 0..SMALL_VAULTS as usize {
        vaults.push((accounts[v % accounts.len()].clone(), format!("Team-{v}")));
    }
    let mut tx = catalog.write().await.expect("write");
    for (account, name) in &vaults {
        tx.insert_vault(&BackupVault {
            arn: vault_arn(REGION, account, name),
            account_id: account.clone(),
            region: REGION.into(),
            name: name.clone(),
            location: format!("/var/lib/bunker/regions/{REGION}/{account}/{name}"),
            encryption_key_arn: format!("arn:aws:kms:{REGION}:{account}:key/{account}-vault-key"),
            creator_request_id: None,
            tags: Tags::new(),
            created_at: start,
        })
        .await
        .expect("vault");
    }
    tx.commit().await.expect("commit");
    catalog.close().await;

    // The points themselves: one SQL statement through a plain SQLite connection, far
    // faster than a million single-row inserts.
    let url = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    let mut conn = sqlx::SqliteConnection::connect_with(&url).await.expect("sqlite");
    sqlx::query("CREATE TEMP TABLE bench_vaults (k INTEGER PRIMARY KEY, arn TEXT NOT NULL, account TEXT NOT NULL)")
        .execute(&mut conn)
        .await
        .expect("temp table");
    for (k, (account, name)) in vaults.iter().enumerate() {
        sqlx::query("INSERT INTO bench_vaults VALUES ($1, $2, $3)")
            .bind(k as i64)
            .bind(vault_arn(REGION, account, name))
            .bind(account)
            .execute(&mut conn)
            .await
            .expect("temp row");
    }
    let day_us = 86_400_000_000_i64;
    // Point i: day i / RESOURCES, resource i % RESOURCES, started in one of 40 waves a
    // minute apart; vault 0 for 3 in 5, else one of the small vaults.
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}),
         p AS (SELECT i,
                      CASE WHEN i % 5 < 3 THEN 0 ELSE 1 + i % {SMALL_VAULTS} END AS k,
                      {start_us} + (i / {RESOURCES}) * {day_us} + 18000000000 + (i % {RESOURCES} / 50) * 60000000 AS t
               FROM n)
         INSERT INTO recovery_points (arn, vault_arn, account_id, region, resource_arn, resource_type, resource_name,
             backup_job_id, snapshot_id, status, status_message, storage_class, created_at, completed_at, size_bytes,
             lifecycle, move_to_cold_at, delete_at, tags, plan_id, plan_version, rule_id, iam_role_arn,
             source_recovery_point_arn)
         SELECT 'arn:aws:backup:{REGION}:' || v.account || ':recovery-point:' || upper(hex(randomblob(4))) || '-'
                    || upper(hex(randomblob(2))) || '-' || upper(hex(randomblob(2))) || '-' || upper(hex(randomblob(2)))
                    || '-' || upper(hex(randomblob(6))),
                v.arn, v.account, '{REGION}',
                'arn:aws:bunker:{REGION}:' || v.account || ':directory/app-' || (p.i % {RESOURCES}),
                'Directory', 'app-' || (p.i % {RESOURCES}),
                lower(hex(randomblob(16))), lower(hex(randomblob(32))), 'COMPLETED', NULL, 'WARM',
                p.t, p.t + 90000000 + (p.i % 7) * 1000000, 1048576 + (p.i % 997) * 4096,
                CASE WHEN p.i % 30 = 0 THEN '{{\"DeleteAfterDays\":366}}' ELSE '{{\"DeleteAfterDays\":35}}' END,
                NULL,
                CASE WHEN p.i % 30 = 0 THEN p.t + 366 * {day_us} ELSE p.t + 35 * {day_us} END,
                '{{\"backup\":\"daily\",\"env\":\"prod\",\"team\":\"team-' || (p.i % 24) || '\"}}',
                'plan-' || v.account, 'version-1', 'rule-daily',
                'arn:aws:iam::' || v.account || ':role/Backup', NULL
         FROM p JOIN bench_vaults v ON v.k = p.k",
        last = points - 1,
        start_us = start.as_microsecond(),
    );
    let mut tx = conn.begin().await.expect("begin");
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.expect("generate points");
    tx.commit().await.expect("commit");
    conn.close().await.expect("close");
}

/// The catalog file, generated unless a complete one of this version exists.
async fn catalog_file(points: i64, reuse: bool) -> (PathBuf, Option<tempfile::TempDir>) {
    if !reuse {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("catalog.db");
        let started = Instant::now();
        generate(&path, points).await;
        println!("generated {points} recovery points in {:.1} s", started.elapsed().as_secs_f64());
        return (path, Some(dir));
    }
    let dir = data_root().join(format!("list-recovery-points-v{DATA_VERSION}-{points}"));
    let path = dir.join("catalog.db");
    let done = dir.join("complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("data directory");
        let started = Instant::now();
        generate(&path, points).await;
        std::fs::write(&done, b"").expect("marker");
        println!("generated {points} recovery points in {:.1} s (kept in {})", started.elapsed().as_secs_f64(), dir.display());
    } else {
        println!("reusing {}", dir.display());
    }
    (path, None)
}

fn main() {
    let quick = test_mode();
    let points: i64 = if quick { 20_000 } else { 1_000_000 };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (path, _temporary) = rt.block_on(catalog_file(points, !quick));
    let clock = ManualClock::new("2026-01-01T00:00:00Z".parse().expect("time"));
    let data = tempfile::tempdir().expect("temporary directory");
    let catalog = rt.block_on(Catalog::open_file(&path)).expect("catalog");
    let svc = BackupService::new(catalog.clone(), Arc::new(clock), data.path());

    let vaults: Vec<(String, String)> = rt.block_on(async {
        let mut tx = catalog.read().await.expect("read");
        let mut all = tx.vaults(None, Some(REGION)).await.expect("vaults");
        // The big vault first.
        all.sort_by_key(|v| (v.name != "Default", v.name.clone()));
        all.into_iter().map(|v| (v.account_id, v.name)).collect()
    });
    let (big_account, big_name) = vaults[0].clone();
    let total: i64 = rt.block_on(async {
        let mut tx = catalog.read().await.expect("read");
        tx.count_recovery_points_in_vault(&vault_arn(REGION, &big_account, &big_name)).await.expect("count")
    });
    println!("catalog: {points} recovery points in {} vaults; the big one holds {total}", vaults.len());

    let list = |account: &str, name: &str, token: Option<&str>| {
        rt.block_on(svc.list_recovery_points_by_backup_vault(account, REGION, name, Some(PAGE), token)).expect("list")
    };
    // Warm the connections and the page cache as a running service would have them.
    for _ in 0..20 {
        list(&big_account, &big_name, None);
    }

    let mut all = Samples::default();
    let mut first = Samples::default();
    for round in 0..if quick { 2 } else { 50 } {
        for (account, name) in &vaults {
            let start = Instant::now();
            let page = list(account, name, None);
            let took = start.elapsed();
            assert_eq!(page.items.len() as i64, PAGE, "round {round}");
            first.push(took);
            all.push(took);
        }
    }
    println!("{}", first.report("first page (every vault)"));

    // The whole big vault, newest first, by NextToken.
    let mut walk = Samples::default();
    let mut token: Option<String> = None;
    let mut seen = 0_i64;
    let mut previous: Option<(Timestamp, String)> = None;
    let mut resume_points = Vec::new();
    loop {
        let start = Instant::now();
        let page = list(&big_account, &big_name, token.as_deref());
        let took = start.elapsed();
        walk.push(took);
        all.push(took);
        for rp in &page.items {
            let key = (rp.creation_date, rp.recovery_point_arn.clone());
            assert!(previous.as_ref().is_none_or(|p| *p > key), "newest first, no point twice");
            previous = Some(key);
        }
        seen += page.items.len() as i64;
        if let Some(rp) = page.items.get((mix(seen as u64) % page.items.len().max(1) as u64) as usize) {
            resume_points.push(format!("{}~{}", rp.creation_date.as_microsecond(), rp.recovery_point_arn));
        }
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen, total, "every point of the big vault, once");
    println!("{}", walk.report(&format!("every page of the big vault ({seen} points)")));

    // Resumes at random points: a NextToken naming a random recovery point.
    let mut random = Samples::default();
    for k in 0..if quick { 20 } else { 2_000 } {
        let token = &resume_points[(mix(1_000_000 + k) % resume_points.len() as u64) as usize];
        let start = Instant::now();
        let page = list(&big_account, &big_name, Some(token));
        let took = start.elapsed();
        assert!(!page.items.is_empty() || token.ends_with(&previous.as_ref().expect("a last point").1));
        random.push(took);
        all.push(took);
    }
    println!("{}", random.report("resume at a random point of the big vault"));
    println!("{}", all.report("all page requests"));

    // The query alone, without the service's vault check and shaping, for comparison.
    let mut query = Samples::default();
    let arn = vault_arn(REGION, &big_account, &big_name);
    rt.block_on(async {
        for k in 0..if quick { 20 } else { 2_000 } {
            let token = &resume_points[(mix(2_000_000 + k) % resume_points.len() as u64) as usize];
            let (t, id) = token.split_once('~').expect("token");
            let t = Timestamp::from_microsecond(t.parse().expect("micros")).expect("time");
            let start = Instant::now();
            let mut tx = catalog.read().await.expect("read");
            let rows = tx.recovery_points_by_vault(&arn, Some((t, id)), PAGE).await.expect("page");
            drop(tx);
            query.push(start.elapsed());
            assert!(rows.len() as i64 <= PAGE);
        }
    });
    println!("{}", query.report("catalog query alone (random resume points)"));
    // Checkpoints the WAL, so the next run starts from the same file.
    rt.block_on(catalog.close());
}
