//! Allowed roots on both databases: put replaces the whole list in order, delete says
//! whether there was one, accounts are independent.

use jiff::Timestamp;

use super::harness::{TestDb, suite};
use super::seeded;
use crate::*;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn row(account: &str, roots: &[&str], when: i64) -> AllowedRootsRow {
    AllowedRootsRow { account_id: account.into(), roots: roots.iter().map(|r| (*r).to_owned()).collect(), updated_at: at(when) }
}

async fn allowed_roots_replace_and_delete(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    assert_eq!(tx.allowed_roots("111111111111").await.unwrap(), None);
    tx.put_allowed_roots(&row("111111111111", &["/srv/b", "/srv/a", "/data"], 1)).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = catalog.write().await.unwrap();
    assert_eq!(tx.allowed_roots("111111111111").await.unwrap(), Some(row("111111111111", &["/srv/b", "/srv/a", "/data"], 1)));
    tx.put_allowed_roots(&row("111111111111", &["/srv/c"], 2)).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = catalog.write().await.unwrap();
    assert_eq!(tx.allowed_roots("111111111111").await.unwrap(), Some(row("111111111111", &["/srv/c"], 2)));
    assert!(tx.delete_allowed_roots("111111111111").await.unwrap());
    assert!(!tx.delete_allowed_roots("111111111111").await.unwrap());
    assert_eq!(tx.allowed_roots("111111111111").await.unwrap(), None);
    // Only accounts of the organization have them.
    assert!(tx.put_allowed_roots(&row("999999999999", &["/srv"], 3)).await.is_err());
}

suite! {
    allowed_roots_replace_and_delete,
}
