//! The demo's second half: real data protected by the policies of the first. One
//! production account registers a website directory (tagged for the daily rule) and an
//! orders disk image (tagged critical: the hourly rule), creates the two vaults the
//! policies name, and lives through three simulated days while its data changes; then the
//! newest website backup is restored and compared with what was backed up.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, ensure};
use bunker_catalog::{Catalog, Tags};
use bunker_connectors::Source;
use bunker_core::backup::{RegisterResource, StartRestoreJob};
use bunker_core::{BackupService, ManualClock, Scheduler};
use jiff::{SignedDuration, Timestamp};

use super::columns;

/// The account that protects data, and where.
pub const ACCOUNT: &str = "333333333333";
const REGION: &str = "us-east-1";
/// Days simulated.
const DAYS: i64 = 3;
/// The vaults the organization's policies send backups to.
const VAULTS: [&str; 2] = ["OrgCentralVault", "ProdHourlyVault"];

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn website_page(day: i64) -> String {
    format!("<h1>Orders, day {day}</h1>\n")
}

/// Writes the day's data: a new front page, and new blocks in the disk image.
fn change_data(data: &Path, day: i64) -> anyhow::Result<()> {
    use std::os::unix::fs::FileExt;
    let site = data.join("website");
    std::fs::create_dir_all(site.join("assets"))?;
    std::fs::write(site.join("index.html"), website_page(day))?;
    if day == 0 {
        std::fs::write(site.join("assets/app.js"), "console.log('orders');\n".repeat(2_000))?;
    }
    let disk = std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(data.join("orders.img"))?;
    disk.set_len(4 << 20)?; // 4 MiB, mostly holes
    let block: Vec<u8> = (0..1_u32 << 16).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 ^ day as u8).collect();
    disk.write_all_at(&block, u64::try_from(day).unwrap_or(0) * (1 << 20))?;
    Ok(())
}

/// Runs the protection part in `home` on `catalog`; returns the text to print.
pub async fn run(home: &Path, catalog: Catalog) -> anyhow::Result<String> {
    // Beside the home, never in it: the service backs up nothing from its own home.
    let data = home.with_file_name(format!("{}-data", home.file_name().map_or_else(|| "bunker-demo".into(), |n| n.to_string_lossy().into_owned())));
    let now = Timestamp::now();
    let start = Timestamp::from_second(now.as_second() - now.as_second().rem_euclid(86_400))?;
    let clock = Arc::new(ManualClock::new(start));
    let svc = BackupService::new(catalog, clock.clone(), home);
    for vault in VAULTS {
        svc.create_backup_vault(ACCOUNT, REGION, vault, Tags::new(), None).await?;
    }
    change_data(&data, 0)?;
    let register = |name: &str, source: Source, t: Tags| RegisterResource {
        account_id: ACCOUNT.into(),
        region: REGION.into(),
        name: name.into(),
        source,
        tags: t,
    };
    let website = svc
        .register_resource(register("website", Source::Directory { path: data.join("website") }, tags(&[("backup", "daily"), ("app", "orders")])))
        .await?;
    let disk = svc.register_resource(register("orders-disk", Source::DiskImage { path: data.join("orders.img") }, tags(&[("tier", "critical")]))).await?;
    let scratch = data.join("scratch");
    std::fs::create_dir_all(&scratch)?;
    let untagged = svc.register_resource(register("scratch", Source::Directory { path: scratch }, Tags::new())).await?;

    let mut scheduler = Scheduler::new(svc.clone(), start);
    let mut jobs = 0;
    for day in 0..DAYS {
        if day > 0 {
            change_data(&data, day)?;
        }
        jobs += scheduler.run_until(&clock, start + SignedDuration::from_hours(24 * (day + 1))).await?.jobs_run;
    }

    let mut out = format!(
        "Protecting data in account {ACCOUNT} ({REGION}): {DAYS} simulated days from {start}, {jobs} backup jobs\n\n"
    );
    let mut rows = vec![vec!["resource".to_owned(), "tags".into(), "recovery points".into(), "vault".into(), "newest".into()]];
    let mut newest_website = None;
    for r in [&website, &disk, &untagged] {
        let rps = svc.list_recovery_points_by_resource(&r.arn, Some(1000), None).await?.items;
        let tag_text: Vec<String> = r.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        rows.push(vec![
            r.name.clone(),
            if tag_text.is_empty() { "-".into() } else { tag_text.join(",") },
            rps.len().to_string(),
            rps.first().map_or("-".into(), |p| p.backup_vault_name.clone()),
            rps.first().map_or("-".into(), |p| p.creation_date.to_string()),
        ]);
        if r.arn == website.arn {
            newest_website = rps.into_iter().next();
        }
    }
    out.push_str(&columns(&rows, "  "));
    ensure!(disk.tags.contains_key("tier"), "the disk is tagged critical");

    let newest = newest_website.context("the website has no recovery point")?;
    let target = data.join("website-restored");
    let job = svc
        .start_restore_job(StartRestoreJob {
            recovery_point_arn: newest.recovery_point_arn.clone(),
            metadata: [("Path".to_owned(), target.display().to_string()), ("NewResourceName".to_owned(), "website-restored".to_owned())].into(),
            ..StartRestoreJob::default()
        })
        .await?;
    ensure!(job.status == "COMPLETED", "restore job {}: {}", job.status, job.status_message.unwrap_or_default());
    // The newest point was taken at 05:00 on the last day, after that day's change.
    let restored = std::fs::read_to_string(target.join("index.html"))?;
    ensure!(restored == website_page(DAYS - 1), "the restored page is {restored:?}");
    let created = svc.describe_resource(job.created_resource_arn.as_deref().unwrap_or_default()).await?;
    let _ = writeln!(
        out,
        "\nRestored the newest website backup ({}) to {}: index.html is day {}'s page, as backed up;\nthe restored resource {} carries the original's tags: {:?}\n",
        newest.creation_date,
        target.display(),
        DAYS - 1,
        created.arn,
        created.tags
    );
    Ok(out)
}
