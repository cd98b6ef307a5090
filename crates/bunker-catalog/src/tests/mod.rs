//! The catalog suite. Every case runs against a real SQLite file in a temporary directory
//! (one test each) and against a real PostgreSQL server started for the run
//! (`whole_suite_on_postgres`: one server, a fresh database per case).

mod harness;
use harness::{TestDb, suite};

use jiff::Timestamp;

use super::*;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

fn root_id() -> RootId {
    RootId::parse("r-ab12").unwrap()
}

fn account(id: &str, email: &str, parent: &ParentId, when: i64) -> Account {
    Account {
        id: AccountId::parse(id).unwrap(),
        name: format!("account {id}"),
        email: email.into(),
        status: "ACTIVE".into(),
        joined_method: "CREATED".into(),
        joined_at: at(when),
        parent_id: parent.clone(),
        create_request_id: CreateAccountRequestId::parse(&format!("car-{id}")).unwrap(),
        requested_at: at(when),
    }
}

fn ou(id: &str, name: &str, parent: &ParentId, when: i64) -> OrganizationalUnit {
    OrganizationalUnit { id: OuId::parse(id).unwrap(), name: name.into(), parent_id: parent.clone(), created_at: at(when) }
}

fn policy(id: &str, name: &str, when: i64) -> Policy {
    Policy {
        id: PolicyId::parse(id).unwrap(),
        name: name.into(),
        policy_type: PolicyType::Backup,
        description: String::new(),
        content: r#"{"plans":{}}"#.into(),
        aws_managed: false,
        created_at: at(when),
        last_updated: at(when),
    }
}

/// A catalog holding an organization, its root and its management account.
async fn seeded(db: &TestDb) -> Catalog {
    let catalog = db.open().await;
    let org = Organization {
        id: OrganizationId::parse("o-abcdefgh12").unwrap(),
        feature_set: "ALL".into(),
        management_account_id: AccountId::parse("111111111111").unwrap(),
        management_account_email: "mgmt@example.com".into(),
        created_at: at(0),
    };
    let root = Root { id: root_id(), name: "Root".into() };
    let mut tx = catalog.write().await.unwrap();
    tx.insert_organization(&org, &root).await.unwrap();
    tx.insert_account(&account("111111111111", "mgmt@example.com", &ParentId::Root(root_id()), 0)).await.unwrap();
    tx.commit().await.unwrap();
    catalog
}

async fn migrations_apply_to_an_empty_database(db: TestDb) {
    let catalog = db.open().await;
    let mut tx = catalog.read().await.unwrap();
    assert_eq!(tx.organization().await.unwrap(), None);
    assert!(tx.roots().await.unwrap().is_empty());
    assert!(tx.accounts().await.unwrap().is_empty());
}

#[tokio::test]
async fn urls_open_sqlite_and_refuse_others() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    let catalog = Catalog::open(&url).await.unwrap();
    assert_eq!(catalog.backend(), Backend::Sqlite);
    assert!(catalog.read().await.unwrap().organization().await.unwrap().is_none());
    let memory = Catalog::open("sqlite::memory:").await.unwrap();
    assert!(memory.read().await.unwrap().roots().await.unwrap().is_empty());
    assert!(matches!(Catalog::open("mysql://localhost/x").await, Err(CatalogError::UnsupportedUrl(_))));
    // Nothing listens there: a clear error naming the place, without the password.
    let port = bunker_testkit::free_port();
    let err = Catalog::open(&format!("postgresql://app:hunter2@127.0.0.1:{port}/x")).await.unwrap_err().to_string();
    assert!(err.contains(&format!("postgresql://app@127.0.0.1:{port}/x")) && !err.contains("hunter2"), "{err}");
}

async fn reopening_keeps_the_data(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    tx.insert_ou(&ou("ou-ab12-aaaaaaaa", "Prod", &ParentId::Root(root_id()), 1)).await.unwrap();
    tx.insert_policy(&policy("p-aaaaaaaa", "daily", 2)).await.unwrap();
    tx.commit().await.unwrap();
    catalog.close().await;

    let again = db.open().await;
    let mut tx = again.read().await.unwrap();
    let org = tx.organization().await.unwrap().unwrap();
    assert_eq!(org.id.as_str(), "o-abcdefgh12");
    assert_eq!(org.created_at, at(0));
    assert_eq!(tx.all_ous().await.unwrap()[0].name, "Prod");
    assert_eq!(tx.policies(PolicyType::Backup).await.unwrap()[0].name, "daily");
    assert_eq!(tx.target_kind("111111111111").await.unwrap(), Some(TargetKind::Account));
}

async fn only_one_organization(db: TestDb) {
    let catalog = seeded(&db).await;
    let org = Organization {
        id: OrganizationId::parse("o-zzzzzzzzzz").unwrap(),
        feature_set: "ALL".into(),
        management_account_id: AccountId::parse("222222222222").unwrap(),
        management_account_email: "other@example.com".into(),
        created_at: at(5),
    };
    let root = Root { id: RootId::parse("r-zz99").unwrap(), name: "Root".into() };
    let mut tx = catalog.write().await.unwrap();
    let err = tx.insert_organization(&org, &root).await.unwrap_err();
    assert!(matches!(err, CatalogError::Duplicate(_)), "{err}");
}

async fn ou_names_are_unique_per_parent(db: TestDb) {
    let catalog = seeded(&db).await;
    let root = ParentId::Root(root_id());
    let mut tx = catalog.write().await.unwrap();
    tx.insert_ou(&ou("ou-ab12-aaaaaaaa", "Prod", &root, 1)).await.unwrap();
    let prod = ParentId::parse("ou-ab12-aaaaaaaa").unwrap();
    tx.insert_ou(&ou("ou-ab12-bbbbbbbb", "Prod", &prod, 2)).await.unwrap();
    let err = tx.insert_ou(&ou("ou-ab12-cccccccc", "Prod", &root, 3)).await.unwrap_err();
    assert!(matches!(err, CatalogError::Duplicate(_)), "{err}");
}

async fn emails_are_unique_regardless_of_case(db: TestDb) {
    let catalog = seeded(&db).await;
    let root = ParentId::Root(root_id());
    let mut tx = catalog.write().await.unwrap();
    let err = tx.insert_account(&account("222222222222", "MGMT@example.com", &root, 1)).await.unwrap_err();
    assert!(matches!(err, CatalogError::Duplicate(_)), "{err}");
    drop(tx); // a failed statement ends a PostgreSQL transaction
    assert!(catalog.read().await.unwrap().account_by_email("Mgmt@Example.com").await.unwrap().is_some());
}

async fn a_parent_must_exist(db: TestDb) {
    let catalog = seeded(&db).await;
    let ghost = ParentId::parse("ou-ab12-zzzzzzzz").unwrap();
    let mut tx = catalog.write().await.unwrap();
    let err = tx.insert_account(&account("222222222222", "a@example.com", &ghost, 1)).await.unwrap_err();
    assert!(matches!(err, CatalogError::Reference(_)), "{err}");
}

async fn attachments_keep_their_order_and_guard_deletes(db: TestDb) {
    let catalog = seeded(&db).await;
    let target = TargetId::parse("111111111111").unwrap();
    let mut tx = catalog.write().await.unwrap();
    for (i, id) in ["p-cccccccc", "p-aaaaaaaa", "p-bbbbbbbb"].iter().enumerate() {
        tx.insert_policy(&policy(id, id, i as i64)).await.unwrap();
        tx.attach_policy(&PolicyId::parse(id).unwrap(), &target, at(10)).await.unwrap();
    }
    let order: Vec<_> = tx.attached_policies(&target, PolicyType::Backup).await.unwrap();
    let names: Vec<_> = order.iter().map(|(_, p)| p.name.as_str()).collect();
    assert_eq!(names, ["p-cccccccc", "p-aaaaaaaa", "p-bbbbbbbb"]);

    tx.commit().await.unwrap();

    // Each refused statement in a transaction of its own: it ends the transaction on
    // PostgreSQL.
    let attached = PolicyId::parse("p-aaaaaaaa").unwrap();
    let mut tx = catalog.write().await.unwrap();
    assert!(matches!(tx.delete_policy(&attached).await, Err(CatalogError::Reference(_))));
    drop(tx);
    let mut tx = catalog.write().await.unwrap();
    assert!(matches!(tx.attach_policy(&attached, &target, at(11)).await, Err(CatalogError::Duplicate(_))));
    drop(tx);
    let mut tx = catalog.write().await.unwrap();
    assert!(tx.detach_policy(&attached, &target).await.unwrap());
    assert!(!tx.detach_policy(&attached, &target).await.unwrap());
    assert!(tx.delete_policy(&attached).await.unwrap());
    assert_eq!(tx.detach_all_of_type(PolicyType::Backup).await.unwrap(), 2);
}

async fn deleting_an_ou_drops_its_attachments(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    tx.insert_ou(&ou("ou-ab12-aaaaaaaa", "Prod", &ParentId::Root(root_id()), 1)).await.unwrap();
    tx.insert_policy(&policy("p-aaaaaaaa", "daily", 2)).await.unwrap();
    let id = PolicyId::parse("p-aaaaaaaa").unwrap();
    tx.attach_policy(&id, &TargetId::parse("ou-ab12-aaaaaaaa").unwrap(), at(3)).await.unwrap();
    assert!(tx.delete_ou(&OuId::parse("ou-ab12-aaaaaaaa").unwrap()).await.unwrap());
    assert!(tx.attachments_for_policy(&id).await.unwrap().is_empty());
    assert_eq!(tx.target_kind("ou-ab12-aaaaaaaa").await.unwrap(), None);
}

async fn an_uncommitted_transaction_leaves_nothing(db: TestDb) {
    let catalog = seeded(&db).await;
    {
        let mut tx = catalog.write().await.unwrap();
        tx.insert_policy(&policy("p-aaaaaaaa", "daily", 2)).await.unwrap();
    }
    let mut tx = catalog.read().await.unwrap();
    assert!(tx.policies(PolicyType::Backup).await.unwrap().is_empty());
}

async fn policy_types_on_the_root(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    let enabled = PolicyTypeStatus { policy_type: PolicyType::Backup, status: "ENABLED".into() };
    tx.insert_policy_type(&root_id(), &enabled).await.unwrap();
    assert_eq!(tx.policy_types(&root_id()).await.unwrap(), vec![enabled.clone()]);
    tx.commit().await.unwrap();
    let mut tx = catalog.write().await.unwrap();
    assert!(matches!(tx.insert_policy_type(&root_id(), &enabled).await, Err(CatalogError::Duplicate(_))));
    drop(tx);
    let mut tx = catalog.write().await.unwrap();
    assert!(tx.delete_policy_type(&root_id(), PolicyType::Backup).await.unwrap());
    assert!(tx.policy_types(&root_id()).await.unwrap().is_empty());
}

async fn moving_an_account(db: TestDb) {
    let catalog = seeded(&db).await;
    let mut tx = catalog.write().await.unwrap();
    tx.insert_ou(&ou("ou-ab12-aaaaaaaa", "Prod", &ParentId::Root(root_id()), 1)).await.unwrap();
    let prod = ParentId::parse("ou-ab12-aaaaaaaa").unwrap();
    let id = AccountId::parse("111111111111").unwrap();
    assert!(tx.set_account_parent(&id, &prod).await.unwrap());
    assert_eq!(tx.accounts_in(&prod).await.unwrap()[0].id, id);
    assert!(tx.accounts_in(&ParentId::Root(root_id())).await.unwrap().is_empty());
}

suite! {
    migrations_apply_to_an_empty_database,
    reopening_keeps_the_data,
    only_one_organization,
    ou_names_are_unique_per_parent,
    emails_are_unique_regardless_of_case,
    a_parent_must_exist,
    attachments_keep_their_order_and_guard_deletes,
    deleting_an_ou_drops_its_attachments,
    an_uncommitted_transaction_leaves_nothing,
    policy_types_on_the_root,
    moving_an_account
}

mod allowed_roots;
mod audit;
mod backup_tables;
mod copies;
mod guardrails;
mod keys;
mod lifecycle;
mod restore_testing;
mod security;
