//! Service tests on a real SQLite catalog in a temporary directory. Every failing
//! operation is checked to leave the whole organization as it was.

use std::fmt::{Debug, Write};
use std::future::Future;
use std::sync::Arc;

use bunker_catalog::{self as catalog, Catalog};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::*;
use crate::clock::ManualClock;
use crate::error::OrgError;

const MGMT: &str = "100000000001";

struct Fixture {
    _dir: tempfile::TempDir,
    svc: Organizations,
    clock: ManualClock,
}

impl Fixture {
    /// A service over an empty catalog, the clock stopped.
    async fn empty() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open_file(&dir.path().join("catalog.db")).await.unwrap();
        let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap());
        let svc = Organizations::new(catalog, Arc::new(clock.clone()));
        Self { _dir: dir, svc, clock }
    }

    /// A service with an organization whose management account is [`MGMT`].
    async fn with_org() -> Self {
        let f = Self::empty().await;
        let req = CreateOrganization { management_account_id: Some(MGMT.into()), ..Default::default() };
        f.svc.create_organization(req).await.unwrap();
        f
    }

    fn tick(&self) {
        self.clock.advance(SignedDuration::from_secs(1));
    }

    async fn root(&self) -> String {
        self.svc.list_roots().await.unwrap()[0].id.clone()
    }

    async fn enable_backup(&self) {
        let root = self.root().await;
        self.svc.enable_policy_type(&root, "BACKUP_POLICY").await.unwrap();
    }

    async fn ou(&self, parent: &str, name: &str) -> String {
        self.tick();
        self.svc.create_organizational_unit(parent, name).await.unwrap().id
    }

    async fn account(&self, id: &str, parent: &str) -> String {
        self.tick();
        let req = CreateAccount {
            account_name: format!("account {id}"),
            email: format!("{id}@example.com"),
            account_id: Some(id.into()),
            parent_id: Some(parent.into()),
        };
        self.svc.create_account(req).await.unwrap().account_id
    }

    /// A backup policy written straight into the catalog, so that tests about attachments
    /// do not depend on the document validator.
    async fn stored_policy(&self, name: &str) -> String {
        self.tick();
        let now = self.clock.now();
        let policy = catalog::Policy {
            id: crate::ids::policy_id(),
            name: name.into(),
            policy_type: PolicyType::Backup,
            description: String::new(),
            content: r#"{"plans":{}}"#.into(),
            aws_managed: false,
            created_at: now,
            last_updated: now,
        };
        let mut tx = self.svc.catalog().write().await.unwrap();
        tx.insert_policy(&policy).await.unwrap();
        tx.commit().await.unwrap();
        policy.id.to_string()
    }

    /// Everything the organization holds, as text: equal snapshots, equal organizations.
    async fn snapshot(&self) -> String {
        let svc = &self.svc;
        let Ok(org) = svc.describe_organization().await else { return "no organization".into() };
        let mut out = format!("{org:?}\n");
        let roots = svc.list_roots().await.unwrap();
        writeln!(out, "{roots:?}").unwrap();
        let mut parents = vec![roots[0].id.clone()];
        while let Some(parent) = parents.pop() {
            let ous = svc.list_organizational_units_for_parent(&parent).await.unwrap();
            let accounts = svc.list_accounts_for_parent(&parent).await.unwrap();
            let policies = svc.list_policies_for_target(&parent, "BACKUP_POLICY").await.unwrap();
            writeln!(out, "{parent}: {ous:?} {accounts:?} {policies:?}").unwrap();
            parents.extend(ous.into_iter().map(|ou| ou.id));
        }
        for account in svc.list_accounts().await.unwrap() {
            let policies = svc.list_policies_for_target(&account.id, "BACKUP_POLICY").await.unwrap();
            writeln!(out, "{account:?} {policies:?}").unwrap();
        }
        for summary in svc.list_policies("BACKUP_POLICY").await.unwrap() {
            let policy = svc.describe_policy(&summary.id).await.unwrap();
            let targets = svc.list_targets_for_policy(&summary.id).await.unwrap();
            writeln!(out, "{policy:?} {targets:?}").unwrap();
        }
        out
    }

    /// Runs `op`, expects it to fail with the AWS exception `code`, and checks that the
    /// organization did not change.
    async fn fails<T: Debug>(&self, code: &str, op: impl Future<Output = Result<T>>) -> OrgError {
        let before = self.snapshot().await;
        self.tick();
        let err = op.await.expect_err("the operation should fail");
        assert_eq!(err.code(), code, "{err}");
        assert_eq!(self.snapshot().await, before, "a failed operation changed the catalog");
        err
    }
}

// --- organization and root -------------------------------------------------------------

#[tokio::test]
async fn create_organization_builds_root_and_management_account() {
    let f = Fixture::empty().await;
    let org = f
        .svc
        .create_organization(CreateOrganization {
            management_account_id: Some(MGMT.into()),
            management_account_email: Some("ops@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(org.id.starts_with("o-"));
    assert_eq!(org.master_account_id, MGMT);
    assert_eq!(org.master_account_email, "ops@example.com");
    assert_eq!(org.arn, format!("arn:bunker:organizations::{MGMT}:organization/{}", org.id));
    assert_eq!(org.master_account_arn, format!("arn:bunker:organizations::{MGMT}:account/{}/{MGMT}", org.id));
    assert_eq!(f.svc.describe_organization().await.unwrap(), org);

    let roots = f.svc.list_roots().await.unwrap();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].name, "Root");
    assert!(roots[0].policy_types.is_empty());
    let accounts = f.svc.list_accounts_for_parent(&roots[0].id).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, MGMT);
    assert_eq!(accounts[0].joined_timestamp, f.clock.now());
}

#[tokio::test]
async fn generated_management_account() {
    let f = Fixture::empty().await;
    let org = f.svc.create_organization(CreateOrganization::default()).await.unwrap();
    assert_eq!(org.master_account_id.len(), 12);
    assert_eq!(org.master_account_email, structure::DEFAULT_MANAGEMENT_EMAIL);
}

#[tokio::test]
async fn nothing_works_before_the_organization_exists() {
    let f = Fixture::empty().await;
    f.fails("AWSOrganizationsNotInUseException", f.svc.list_accounts()).await;
    f.fails("AWSOrganizationsNotInUseException", f.svc.list_roots()).await;
    let req = CreateAccount { account_name: "a".into(), email: "a@example.com".into(), ..Default::default() };
    f.fails("AWSOrganizationsNotInUseException", f.svc.create_account(req)).await;
}

#[tokio::test]
async fn one_organization_only() {
    let f = Fixture::with_org().await;
    f.fails("AlreadyInOrganizationException", f.svc.create_organization(CreateOrganization::default())).await;
}

#[tokio::test]
async fn create_organization_checks_its_input() {
    let f = Fixture::empty().await;
    let billing = CreateOrganization { feature_set: Some("CONSOLIDATED_BILLING".into()), ..Default::default() };
    f.fails("InvalidInputException", f.svc.create_organization(billing)).await;
    let bad_id = CreateOrganization { management_account_id: Some("12345".into()), ..Default::default() };
    f.fails("InvalidInputException", f.svc.create_organization(bad_id)).await;
}

// --- organizational units ----------------------------------------------------------------

#[tokio::test]
async fn organizational_unit_lifecycle() {
    let f = Fixture::with_org().await;
    let root = f.root().await;
    let prod = f.ou(&root, "Production").await;
    let eu = f.ou(&prod, "ProdEU").await;
    assert!(eu.starts_with(&format!("ou-{}-", &root[2..])));

    let under_root = f.svc.list_organizational_units_for_parent(&root).await.unwrap();
    assert_eq!(under_root.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["Production"]);
    let described = f.svc.describe_organizational_unit(&eu).await.unwrap();
    assert_eq!(described.name, "ProdEU");
    assert!(described.arn.ends_with(&format!(":ou/{}/{eu}", f.svc.describe_organization().await.unwrap().id)));

    let parents = f.svc.list_parents(&eu).await.unwrap();
    assert_eq!(parents, vec![shapes::Node { id: prod.clone(), kind: TargetKind::OrganizationalUnit }]);
    let children = f.svc.list_children(&root, "ORGANIZATIONAL_UNIT").await.unwrap();
    assert_eq!(children, vec![shapes::Node { id: prod.clone(), kind: TargetKind::OrganizationalUnit }]);
    let accounts = f.svc.list_children(&root, "ACCOUNT").await.unwrap();
    assert_eq!(accounts, vec![shapes::Node { id: MGMT.into(), kind: TargetKind::Account }]);

    f.fails("OrganizationalUnitNotEmptyException", f.svc.delete_organizational_unit(&prod)).await;
    f.svc.delete_organizational_unit(&eu).await.unwrap();
    f.svc.delete_organizational_unit(&prod).await.unwrap();
    assert!(f.svc.list_organizational_units_for_parent(&root).await.unwrap().is_empty());
    f.fails("OrganizationalUnitNotFoundException", f.svc.describe_organizational_unit(&prod)).await;
}

#[tokio::test]
async fn ou_names_are_unique_per_parent() {
    let f = Fixture::with_org().await;
    let root = f.root().await;
    let prod = f.ou(&root, "Production").await;
    f.ou(&prod, "Production").await;
    let err = f.fails("DuplicateOrganizationalUnitException", f.svc.create_organizational_unit(&root, "Production")).await;
    assert!(err.to_string().contains("Production"), "{err}");
}

#[tokio::test]
async fn ou_parent_must_exist() {
    let f = Fixture::with_org().await;
    let ghost = format!("ou-{}-zzzzzzzz", &f.root().await[2..]);
    let err = f.fails("ParentNotFoundException", f.svc.create_organizational_unit(&ghost, "X")).await;
    assert!(err.to_string().contains(&ghost));
    f.fails("InvalidInputException", f.svc.create_organizational_unit("nonsense", "X")).await;
    f.fails("ParentNotFoundException", f.svc.create_organizational_unit("r-zzzz", "X")).await;
    f.fails("InvalidInputException", f.svc.create_organizational_unit(&f.root().await, "")).await;
}

#[tokio::test]
async fn ous_nest_five_deep_at_most() {
    let f = Fixture::with_org().await;
    let mut parent = f.root().await;
    for level in 1..=5 {
        parent = f.ou(&parent, &format!("L{level}")).await;
    }
    f.fails("ConstraintViolationException", f.svc.create_organizational_unit(&parent, "L6")).await;
}

#[tokio::test]
async fn list_parents_and_children_errors() {
    let f = Fixture::with_org().await;
    let root = f.root().await;
    f.fails("ChildNotFoundException", f.svc.list_parents("999999999999")).await;
    f.fails("InvalidInputException", f.svc.list_parents(&root)).await;
    f.fails("InvalidInputException", f.svc.list_children(&root, "ROOT")).await;
    f.fails("ParentNotFoundException", f.svc.list_children("r-zzzz", "ACCOUNT")).await;
}

// --- accounts ----------------------------------------------------------------------------

#[tokio::test]
async fn create_account_places_it_and_reports_success() {
    let f = Fixture::with_org().await;
    let root = f.root().await;
    let prod = f.ou(&root, "Production").await;
    f.tick();
    let status = f
        .svc
        .create_account(CreateAccount {
            account_name: "prod-web".into(),
            email: "web@example.com".into(),
            account_id: None,
            parent_id: Some(prod.clone()),
        })
        .await
        .unwrap();
    assert!(status.id.starts_with("car-"));
    assert_eq!(status.state, "SUCCEEDED");
    assert_eq!(status.account_id.len(), 12);
    assert_eq!(status.requested_timestamp, f.clock.now());
    let account = f.svc.describe_account(&status.account_id).await.unwrap();
    assert_eq!((account.name.as_str(), account.status.as_str(), account.joined_method.as_str()), ("prod-web", "ACTIVE", "CREATED"));
    assert_eq!(f.svc.list_accounts_for_parent(&prod).await.unwrap(), vec![account]);

    // Without a parent it goes to the root.
    let at_root = f
        .svc
        .create_account(CreateAccount { account_name: "x".into(), email: "x@example.com".into(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(f.svc.list_parents(&at_root.account_id).await.unwrap()[0].id, root);
    assert_eq!(f.svc.list_accounts().await.unwrap().len(), 3);
}

#[tokio::test]
async fn create_account_refusals() {
    let f = Fixture::with_org().await;
    let root = f.root().await;
    f.account("222222222222", &root).await;
    let req = |id: Option<&str>, email: &str, parent: Option<&str>| CreateAccount {
        account_name: "n".into(),
        email: email.into(),
        account_id: id.map(Into::into),
        parent_id: parent.map(Into::into),
    };
    f.fails("DuplicateAccountException", f.svc.create_account(req(Some("222222222222"), "new@example.com", None))).await;
    let err = f.fails("DuplicateAccountException", f.svc.create_account(req(None, "222222222222@EXAMPLE.com", None))).await;
    assert!(err.to_string().contains("222222222222"), "{err}");
    f.fails("ParentNotFoundException", f.svc.create_account(req(None, "new@example.com", Some("r-zzzz")))).await;
    f.fails("InvalidInputException", f.svc.create_account(req(Some("12"), "new@example.com", None))).await;
    f.fails("InvalidInputException", f.svc.create_account(req(None, "not-an-email", None))).await;
    f.fails("AccountNotFoundException", f.svc.describe_account("999999999999")).await;
}

#[tokio::test]
async fn move_account_between_parents() {
    let f = Fixture::with_org().await;
    let root = f.root().await;
    let prod = f.ou(&root, "Production").await;
    let id = f.account("222222222222", &root).await;
    f.svc.move_account(&id, &root, &prod).await.unwrap();
    assert_eq!(f.svc.list_parents(&id).await.unwrap()[0].id, prod);

    let ghost = format!("ou-{}-zzzzzzzz", &root[2..]);
    f.fails("AccountNotFoundException", f.svc.move_account("999999999999", &prod, &root)).await;
    f.fails("SourceParentNotFoundException", f.svc.move_account(&id, &ghost, &root)).await;
    f.fails("SourceParentNotFoundException", f.svc.move_account(&id, &root, &prod)).await;
    f.fails("DestinationParentNotFoundException", f.svc.move_account(&id, &prod, &ghost)).await;
    f.fails("DuplicateAccountException", f.svc.move_account(&id, &prod, &prod)).await;
}

// --- policy types, policies, attachments -------------------------------------------------

#[tokio::test]
async fn policy_type_enable_and_disable() {
    let f = Fixture::with_org().await;
    let root = f.root().await;
    let shown = f.svc.enable_policy_type(&root, "BACKUP_POLICY").await.unwrap();
    assert_eq!(shown.policy_types, vec![shapes::PolicyTypeSummary { policy_type: PolicyType::Backup, status: "ENABLED".into() }]);
    assert_eq!(f.svc.list_roots().await.unwrap()[0], shown);
    f.fails("PolicyTypeAlreadyEnabledException", f.svc.enable_policy_type(&root, "BACKUP_POLICY")).await;
    f.fails("InvalidInputException", f.svc.enable_policy_type(&root, "TAG_POLICY")).await;
    f.fails("InvalidInputException", f.svc.enable_policy_type(&root, "NOPE")).await;
    f.fails("RootNotFoundException", f.svc.enable_policy_type("r-zzzz", "BACKUP_POLICY")).await;

    // Disabling detaches every policy of the type, as AWS does.
    let policy = f.stored_policy("daily").await;
    f.svc.attach_policy(&policy, &root).await.unwrap();
    f.svc.attach_policy(&policy, MGMT).await.unwrap();
    let shown = f.svc.disable_policy_type(&root, "BACKUP_POLICY").await.unwrap();
    assert!(shown.policy_types.is_empty());
    assert!(f.svc.list_targets_for_policy(&policy).await.unwrap().is_empty());
    f.fails("PolicyTypeNotEnabledException", f.svc.disable_policy_type(&root, "BACKUP_POLICY")).await;
}

#[tokio::test]
async fn attaching_needs_the_policy_type_enabled() {
    let f = Fixture::with_org().await;
    let policy = f.stored_policy("daily").await;
    let err = f.fails("PolicyTypeNotEnabledException", f.svc.attach_policy(&policy, MGMT)).await;
    assert!(err.to_string().contains("BACKUP_POLICY"), "{err}");
}

#[tokio::test]
async fn attachments_keep_their_order() {
    let f = Fixture::with_org().await;
    f.enable_backup().await;
    let root = f.root().await;
    let a = f.stored_policy("a-first").await;
    let b = f.stored_policy("b-second").await;
    let c = f.stored_policy("c-third").await;
    for p in [&c, &a, &b] {
        f.tick();
        f.svc.attach_policy(p, MGMT).await.unwrap();
    }
    f.svc.attach_policy(&a, &root).await.unwrap();
    let order: Vec<_> = f.svc.list_policies_for_target(MGMT, "BACKUP_POLICY").await.unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(order, [c.clone(), a.clone(), b.clone()]);

    // Detaching and attaching again moves a policy to the end.
    f.svc.detach_policy(&c, MGMT).await.unwrap();
    f.svc.attach_policy(&c, MGMT).await.unwrap();
    let order: Vec<_> = f.svc.list_policies_for_target(MGMT, "BACKUP_POLICY").await.unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(order, [a.clone(), b, c]);

    let targets = f.svc.list_targets_for_policy(&a).await.unwrap();
    assert_eq!(targets.iter().map(|t| (t.target_id.as_str(), t.kind)).collect::<Vec<_>>(), [(MGMT, TargetKind::Account), (root.as_str(), TargetKind::Root)]);
    assert_eq!(targets[0].name, "Management");
    assert_eq!(targets[1].name, "Root");
    assert!(f.svc.list_policies_for_target(MGMT, "TAG_POLICY").await.unwrap().is_empty());
}

#[tokio::test]
async fn attachment_refusals() {
    let f = Fixture::with_org().await;
    f.enable_backup().await;
    let policy = f.stored_policy("daily").await;
    f.svc.attach_policy(&policy, MGMT).await.unwrap();
    let err = f.fails("TargetNotFoundException", f.svc.attach_policy(&policy, "999999999999")).await;
    assert!(err.to_string().contains("999999999999"));
    f.fails("TargetNotFoundException", f.svc.attach_policy(&policy, "ou-abcd-zzzzzzzz")).await;
    f.fails("InvalidInputException", f.svc.attach_policy(&policy, "bogus")).await;
    f.fails("PolicyNotFoundException", f.svc.attach_policy("p-zzzzzzzz", MGMT)).await;
    f.fails("DuplicatePolicyAttachmentException", f.svc.attach_policy(&policy, MGMT)).await;
    f.fails("PolicyNotAttachedException", f.svc.detach_policy(&policy, &f.root().await)).await;
    f.fails("TargetNotFoundException", f.svc.detach_policy(&policy, "999999999999")).await;
    f.fails("TargetNotFoundException", f.svc.list_policies_for_target("999999999999", "BACKUP_POLICY")).await;
    f.fails("InvalidInputException", f.svc.list_policies("BACKUP")).await;
}

#[tokio::test]
async fn ten_backup_policies_per_target() {
    let f = Fixture::with_org().await;
    f.enable_backup().await;
    for i in 0..10 {
        let p = f.stored_policy(&format!("p{i}")).await;
        f.svc.attach_policy(&p, MGMT).await.unwrap();
    }
    let eleventh = f.stored_policy("p10").await;
    f.fails("ConstraintViolationException", f.svc.attach_policy(&eleventh, MGMT)).await;
}

#[tokio::test]
async fn deleting_an_attached_policy_is_refused() {
    let f = Fixture::with_org().await;
    f.enable_backup().await;
    let policy = f.stored_policy("daily").await;
    f.svc.attach_policy(&policy, MGMT).await.unwrap();
    let err = f.fails("PolicyInUseException", f.svc.delete_policy(&policy)).await;
    assert!(err.to_string().contains(&policy) && err.to_string().contains(MGMT), "{err}");
    f.svc.detach_policy(&policy, MGMT).await.unwrap();
    f.svc.delete_policy(&policy).await.unwrap();
    f.fails("PolicyNotFoundException", f.svc.describe_policy(&policy)).await;
}

#[tokio::test]
async fn deleting_an_ou_detaches_its_policies() {
    let f = Fixture::with_org().await;
    f.enable_backup().await;
    let ou = f.ou(&f.root().await, "Sandbox").await;
    let policy = f.stored_policy("daily").await;
    f.svc.attach_policy(&policy, &ou).await.unwrap();
    f.svc.delete_organizational_unit(&ou).await.unwrap();
    assert!(f.svc.list_targets_for_policy(&policy).await.unwrap().is_empty());
    f.svc.delete_policy(&policy).await.unwrap();
}

#[tokio::test]
async fn create_policy_refusals_that_need_no_document_check() {
    let f = Fixture::with_org().await;
    let req = |policy_type: &str, name: &str| CreatePolicy {
        name: name.into(),
        description: String::new(),
        policy_type: policy_type.into(),
        content: "{}".into(),
    };
    let err = f.fails("InvalidInputException", f.svc.create_policy(req("TAG_POLICY", "tags"))).await;
    assert!(err.to_string().contains("unsupported policy type"), "{err}");
    f.fails("InvalidInputException", f.svc.create_policy(req("NOT_A_TYPE", "x"))).await;
    f.fails("InvalidInputException", f.svc.create_policy(req("BACKUP_POLICY", ""))).await;
    let long = CreatePolicy { description: "d".repeat(513), ..req("BACKUP_POLICY", "x") };
    f.fails("InvalidInputException", f.svc.create_policy(long)).await;
}

// --- with the document validator (the policy crate) --------------------------------------

const DAILY: &str = r#"{"plans":{"Daily":{
    "regions":{"@@assign":["us-east-1"]},
    "rules":{"Nightly":{"schedule_expression":{"@@assign":"cron(0 5 ? * * *)"},
                        "target_backup_vault_name":{"@@assign":"Default"}}},
    "selections":{"tags":{"all":{"iam_role_arn":{"@@assign":"arn:aws:iam::$account:role/Backup"},
                                 "tag_key":{"@@assign":"backup"},"tag_value":{"@@assign":["true"]}}}}}}}"#;

const APPEND_REGION: &str = r#"{"plans":{"Daily":{"regions":{"@@append":["eu-west-1"]}}}}"#;

fn backup_policy(name: &str, content: &str) -> CreatePolicy {
    CreatePolicy { name: name.into(), description: format!("{name} policy"), policy_type: "BACKUP_POLICY".into(), content: content.into() }
}

#[tokio::test]
async fn create_update_describe_list_policies() {
    let f = Fixture::with_org().await;
    let created = f.svc.create_policy(backup_policy("daily", DAILY)).await.unwrap();
    let summary = &created.summary;
    assert!(summary.id.starts_with("p-"));
    assert!(summary.arn.ends_with(&format!("/backup_policy/{}", summary.id)));
    assert_eq!(created.content, DAILY);
    assert!(!summary.aws_managed);
    assert_eq!(f.svc.describe_policy(&summary.id).await.unwrap(), created);
    assert_eq!(f.svc.list_policies("BACKUP_POLICY").await.unwrap(), vec![summary.clone()]);
    assert!(f.svc.list_policies("TAG_POLICY").await.unwrap().is_empty());

    f.fails("DuplicatePolicyException", f.svc.create_policy(backup_policy("daily", DAILY))).await;
    let update = UpdatePolicy { policy_id: summary.id.clone(), name: Some("nightly".into()), ..Default::default() };
    let updated = f.svc.update_policy(update).await.unwrap();
    assert_eq!(updated.summary.name, "nightly");
    assert_eq!(updated.content, DAILY);

    let other = f.svc.create_policy(backup_policy("other", APPEND_REGION)).await.unwrap();
    let clash = UpdatePolicy { policy_id: other.summary.id.clone(), name: Some("nightly".into()), ..Default::default() };
    f.fails("DuplicatePolicyException", f.svc.update_policy(clash)).await;
    let broken = UpdatePolicy { policy_id: other.summary.id.clone(), content: Some("{".into()), ..Default::default() };
    f.fails("MalformedPolicyDocumentException", f.svc.update_policy(broken)).await;
    let missing = UpdatePolicy { policy_id: "p-zzzzzzzz".into(), ..Default::default() };
    f.fails("PolicyNotFoundException", f.svc.update_policy(missing)).await;
}

#[tokio::test]
async fn malformed_documents_carry_every_policy_error() {
    let f = Fixture::with_org().await;
    let content = r#"{"plans":{"Daily":{"regions":{"@@assign":["not a region"]},"bogus":{}}}}"#;
    let expected = bunker_policy::PolicyDocument::parse(content).unwrap_err();
    let err = f.fails("MalformedPolicyDocumentException", f.svc.create_policy(backup_policy("bad", content))).await;
    let OrgError::MalformedPolicyDocument(errors) = &err else { panic!("{err:?}") };
    assert_eq!(errors, &expected);
    for e in expected.errors() {
        assert!(err.to_string().contains(&e.to_string()), "{err}");
    }
}

#[tokio::test]
async fn effective_policy_merges_root_ou_and_account() {
    let f = Fixture::with_org().await;
    f.enable_backup().await;
    let root = f.root().await;
    let ou = f.ou(&root, "Europe").await;
    let account = f.account("222222222222", &ou).await;
    let daily = f.svc.create_policy(backup_policy("daily", DAILY)).await.unwrap().summary.id;
    let append = f.svc.create_policy(backup_policy("eu", APPEND_REGION)).await.unwrap().summary.id;
    f.tick();
    f.svc.attach_policy(&daily, &root).await.unwrap();
    f.tick();
    f.svc.attach_policy(&append, &ou).await.unwrap();
    let attached_last = f.clock.now();
    f.tick();

    let effective = f.svc.describe_effective_policy("BACKUP_POLICY", &account).await.unwrap();
    assert_eq!(effective.target_id, account);
    assert_eq!(effective.policy_type, PolicyType::Backup);
    assert_eq!(effective.last_updated_timestamp, attached_last);
    let content: Value = serde_json::from_str(&effective.policy_content).unwrap();
    assert_eq!(content["plans"]["daily"]["regions"], json!(["us-east-1", "eu-west-1"]));

    // The management account, at the root, gets the root's policy only.
    let mgmt = f.svc.describe_effective_policy("BACKUP_POLICY", MGMT).await.unwrap();
    let content: Value = serde_json::from_str(&mgmt.policy_content).unwrap();
    assert_eq!(content["plans"]["daily"]["regions"], json!(["us-east-1"]));

    let plans = f.svc.list_effective_plans(&account, None).await.unwrap();
    let mut regions: Vec<_> = plans.iter().map(|p| p.region.as_str()).collect();
    regions.sort();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    assert_eq!(f.svc.list_effective_plans(&account, Some("eu-west-1")).await.unwrap().len(), 1);
    assert!(f.svc.list_effective_plans(&account, Some("ap-south-1")).await.unwrap().is_empty());

    let explanation = f.svc.explain_effective_policy(&account).await.unwrap();
    assert!(explanation.to_string().contains(&append), "{explanation}");

    // Editing a policy moves the timestamp.
    let edit = UpdatePolicy { policy_id: daily, description: Some("edited".into()), ..Default::default() };
    f.svc.update_policy(edit).await.unwrap();
    let again = f.svc.describe_effective_policy("BACKUP_POLICY", &account).await.unwrap();
    assert_eq!(again.last_updated_timestamp, f.clock.now());
}

#[tokio::test]
async fn effective_policy_refusals() {
    let f = Fixture::with_org().await;
    f.enable_backup().await;
    let root = f.root().await;
    f.fails("EffectivePolicyNotFoundException", f.svc.describe_effective_policy("BACKUP_POLICY", MGMT)).await;
    f.fails("TargetNotFoundException", f.svc.describe_effective_policy("BACKUP_POLICY", "999999999999")).await;
    f.fails("InvalidInputException", f.svc.describe_effective_policy("BACKUP_POLICY", &root)).await;
    f.fails("InvalidInputException", f.svc.describe_effective_policy("TAG_POLICY", MGMT)).await;
    f.fails("EffectivePolicyNotFoundException", f.svc.explain_effective_policy(MGMT)).await;
    f.fails("AccountNotFoundException", f.svc.list_effective_plans("999999999999", None)).await;
    assert!(f.svc.list_effective_plans(MGMT, None).await.unwrap().is_empty());
}

// --- the AWS test vectors, through the service -------------------------------------------

/// Builds a vector's tree; returns OU ids by name.
async fn build_tree(f: &Fixture, node: &Value, parent: &str, ous: &mut std::collections::HashMap<String, String>) {
    for account in node["accounts"].as_array().unwrap() {
        f.account(account.as_str().unwrap(), parent).await;
    }
    for (name, child) in node["ous"].as_object().unwrap() {
        let id = f.ou(parent, name).await;
        ous.insert(name.clone(), id.clone());
        Box::pin(build_tree(f, child, &id, ous)).await;
    }
}

async fn run_vector(path: &std::path::Path) {
    let vector: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    let f = Fixture::with_org().await;
    f.enable_backup().await;
    let root = f.root().await;
    let mut ous = std::collections::HashMap::new();
    build_tree(&f, &vector["tree"]["root"], &root, &mut ous).await;

    for (i, attachment) in vector["attachments"].as_array().unwrap().iter().enumerate() {
        let content = serde_json::to_string_pretty(&attachment["policy"]).unwrap();
        let created = f.svc.create_policy(backup_policy(&format!("policy-{i}"), &content)).await;
        let policy = match (created, vector.get("expected_error")) {
            (Ok(p), _) => p.summary.id,
            (Err(err), Some(_)) => {
                assert_eq!(err.code(), "MalformedPolicyDocumentException", "{name}: {err}");
                if let Some(path) = vector["error_path"].as_str() {
                    assert!(err.to_string().contains(path), "{name}: {err} should name {path}");
                }
                return;
            }
            (Err(err), None) => panic!("{name}: {err}"),
        };
        let target = match attachment["target"].as_str().unwrap() {
            "root" => root.clone(),
            t if t.starts_with("ou:") => ous[&t[3..]].clone(),
            t => t.trim_start_matches("account:").to_owned(),
        };
        f.svc.attach_policy(&policy, &target).await.unwrap();
    }
    let account = vector["account"].as_str().unwrap();
    let result = f.svc.describe_effective_policy("BACKUP_POLICY", account).await;
    match vector.get("expected_effective") {
        Some(expected) => {
            let effective = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Value = serde_json::from_str(&effective.policy_content).unwrap();
            assert_eq!(&got, expected, "{name}");
        }
        None => assert!(result.is_err(), "{name}: expected {}", vector["expected_error"]),
    }
}

#[tokio::test]
async fn aws_policy_vectors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/policy-vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 16);
    for file in files {
        run_vector(&file).await;
    }
}

#[tokio::test]
async fn service_control_policies_keep_full_access_everywhere_until_replaced() {
    let f = Fixture::with_org().await;
    let root = f.svc.list_roots().await.unwrap().remove(0).id;
    let before = f.svc.create_organizational_unit(&root, "before").await.unwrap().id;
    f.svc.enable_policy_type(&root, "SERVICE_CONTROL_POLICY").await.unwrap();
    let after = f.svc.create_organizational_unit(&root, "after").await.unwrap().id;
    // AWS's FullAWSAccess on the root, the OUs made before and after, and the accounts.
    for target in [root.as_str(), before.as_str(), after.as_str(), MGMT] {
        let attached = f.svc.list_policies_for_target(target, "SERVICE_CONTROL_POLICY").await.unwrap();
        assert_eq!(attached.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["p-FullAWSAccess"], "{target}");
    }
    // The last SCP of a target stays; once another is attached, it may go.
    f.fails("ConstraintViolationException", f.svc.detach_policy("p-FullAWSAccess", &after)).await;
    let deny = CreatePolicy {
        name: "no-deletes".into(),
        description: String::new(),
        policy_type: "SERVICE_CONTROL_POLICY".into(),
        content: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"backup:Delete*","Resource":"*"}]}"#.into(),
    };
    let deny = f.svc.create_policy(deny).await.unwrap().summary.id;
    f.svc.attach_policy(&deny, &after).await.unwrap();
    f.svc.detach_policy("p-FullAWSAccess", &after).await.unwrap();
    // AWS-managed policies cannot be changed or deleted; SCPs name no principals.
    f.fails("AccessDeniedException", f.svc.delete_policy("p-FullAWSAccess")).await;
    let with_principal = CreatePolicy {
        name: "bad".into(),
        description: String::new(),
        policy_type: "SERVICE_CONTROL_POLICY".into(),
        content: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#.into(),
    };
    let err = f.fails("MalformedPolicyDocumentException", f.svc.create_policy(with_principal)).await;
    assert!(err.to_string().contains("Statement[0].Principal"), "{err}");
}

#[tokio::test]
async fn policy_documents_over_their_size_quota_are_refused_before_anything_is_stored() {
    let f = Fixture::with_org().await;
    f.enable_backup().await;
    let root = f.root().await;
    f.svc.enable_policy_type(&root, "SERVICE_CONTROL_POLICY").await.unwrap();
    let req = |policy_type: &str, content: String| CreatePolicy { name: "big".into(), description: String::new(), policy_type: policy_type.into(), content };
    // Valid documents padded (white space counts: the API stores documents as sent).
    let scp = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"backup:Delete*","Resource":"*"}]}"#;
    let backup = r#"{"plans":{}}"#;
    let padded = |doc: &str, total: usize| format!("{doc}{}", " ".repeat(total - doc.len()));
    for (ty, doc, max) in [("SERVICE_CONTROL_POLICY", scp, 5_120), ("BACKUP_POLICY", backup, 10_000)] {
        for content in [padded(doc, max + 1), padded(doc, 10 << 20)] {
            let err = f.fails("ConstraintViolationException", f.svc.create_policy(req(ty, content))).await;
            assert!(err.to_string().starts_with("POLICY_CONTENT_LIMIT_EXCEEDED") && err.to_string().contains(&max.to_string()), "{err}");
        }
        assert!(f.svc.list_policies(ty).await.unwrap().iter().all(|p| p.name != "big"), "{ty}");
        let id = f.svc.create_policy(req(ty, padded(doc, max))).await.unwrap().summary.id;
        let update = UpdatePolicy { policy_id: id.clone(), content: Some(padded(doc, max + 1)), ..Default::default() };
        f.fails("ConstraintViolationException", f.svc.update_policy(update)).await;
        assert_eq!(f.svc.describe_policy(&id).await.unwrap().content.len(), max);
        f.svc.delete_policy(&id).await.unwrap();
    }
}
