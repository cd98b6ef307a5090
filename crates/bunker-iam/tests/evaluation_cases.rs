//! AWS policy evaluation, case by case, as the IAM User Guide documents it ("Policy
//! evaluation logic", "Cross-account policy evaluation logic", "SCP evaluation", "IAM JSON
//! policy elements: Condition operators", "AWS global condition context keys"). Each case is
//! data: the documents, the request, and the decision AWS documents for it.

use bunker_iam::{
    Context, EvalDecision, NamedPolicy, PolicyDocument, PolicySet, Principal, Request, evaluate,
};

use EvalDecision::{Allowed, ExplicitDeny, ImplicitDeny};

/// The account whose resources most cases touch.
const A: &str = "111122223333";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const BOB: &str = "arn:aws:iam::111122223333:user/bob";
const ADMIN_SESSION: &str = "arn:aws:sts::111122223333:assumed-role/BackupAdmin/nightly";
/// A principal of another account of the same organization.
const CAROL_B: &str = "arn:aws:iam::444455556666:user/carol";
/// A principal of an account outside the organization.
const MALLORY_C: &str = "arn:aws:iam::777788889999:user/mallory";

const VAULT: &str = "arn:aws:backup:eu-west-1:111122223333:backup-vault:central";
const OTHER_VAULT: &str = "arn:aws:backup:eu-west-1:111122223333:backup-vault:scratch";
const RECOVERY_POINT: &str = "arn:aws:backup:eu-west-1:111122223333:recovery-point:rp-1";
const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

const ALLOW_BACKUP: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowBackup", "Effect": "Allow", "Action": "backup:*", "Resource": "*"}]}"#;
const ALLOW_COPY: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowCopy", "Effect": "Allow", "Action": "backup:CopyIntoBackupVault", "Resource": "*"}]}"#;
const ALLOW_KMS: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowKms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}]}"#;
const DENY_DELETE: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyDelete", "Effect": "Deny", "Action": "backup:Delete*", "Resource": "*"}]}"#;
const FULL_ACCESS_SCP: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;
const S3_ONLY_SCP: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "S3Only", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}"#;
const BACKUP_READ_SCP: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "BackupRead", "Effect": "Allow", "Action": ["backup:List*", "backup:Describe*", "backup:Get*"], "Resource": "*"}]}"#;
/// The reference guardrail: nobody but the BackupAdmin role deletes recovery points or vaults.
const DENY_DELETE_EXCEPT_ADMIN_SCP: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyDeleteExceptBackupAdmin", "Effect": "Deny",
     "Action": ["backup:DeleteRecoveryPoint", "backup:DeleteBackupVault"], "Resource": "*",
     "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BackupAdmin"}}}]}"#;
/// The same guardrail written with StringNotLike.
const DENY_DELETE_EXCEPT_ADMIN_STRING_SCP: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyDeleteExceptBackupAdmin", "Effect": "Deny",
     "Action": ["backup:DeleteRecoveryPoint", "backup:DeleteBackupVault"], "Resource": "*",
     "Condition": {"StringNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/BackupAdmin"]}}}]}"#;
/// The reference vault access policy: principals of the organization may copy into the vault.
const ORG_COPY_VAULT_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowOrgCopy", "Effect": "Allow", "Principal": {"AWS": "*"},
     "Action": "backup:CopyIntoBackupVault", "Resource": "*",
     "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}]}"#;
const VAULT_POLICY_ALICE: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "AliceLists", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"},
     "Action": "backup:ListRecoveryPointsByBackupVault", "Resource": "*"}]}"#;
const VAULT_POLICY_EVERYONE: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "AnyoneLists", "Effect": "Allow", "Principal": "*",
     "Action": "backup:ListRecoveryPointsByBackupVault", "Resource": "*"}]}"#;
const VAULT_POLICY_ADMIN_ROLE: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "AdminRole", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/ops/BackupAdmin"},
     "Action": "backup:*", "Resource": "*"}]}"#;
const VAULT_POLICY_ACCOUNT_B: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "AccountB", "Effect": "Allow", "Principal": {"AWS": "444455556666"},
     "Action": "backup:CopyIntoBackupVault", "Resource": "*"}]}"#;
const VAULT_POLICY_DENY_DELETE_ALL: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "Lock", "Effect": "Deny", "Principal": "*", "Action": "backup:DeleteRecoveryPoint", "Resource": "*"}]}"#;
const VAULT_POLICY_NOT_PRINCIPAL: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "OnlyAdminDeletes", "Effect": "Deny",
     "NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:role/BackupAdmin", "arn:aws:sts::111122223333:assumed-role/BackupAdmin/nightly"]},
     "Action": "backup:DeleteRecoveryPoint", "Resource": "*"}]}"#;
const VAULT_POLICY_SERVICE: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "BackupService", "Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"},
     "Action": "backup:CopyIntoBackupVault", "Resource": "*"}]}"#;
const KEY_POLICY_ROOT: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
     "Action": "kms:*", "Resource": "*"}]}"#;
const KEY_POLICY_ALICE: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "AliceUses", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"},
     "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}"#;
const KEY_POLICY_BOB: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "BobUses", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/bob"},
     "Action": "kms:*", "Resource": "*"}]}"#;
const KEY_POLICY_ACCOUNT_B: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
     "Action": "kms:*", "Resource": "*"},
    {"Sid": "AccountBUses", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
     "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}]}"#;

/// One case: documents, request, expected outcome.
struct Case {
    name: &'static str,
    identity: &'static [&'static str],
    /// SCP levels from the root down; empty: no SCP bound.
    scps: &'static [&'static [&'static str]],
    resource_policy: Option<&'static str>,
    kms: bool,
    principal: &'static str,
    service: Option<&'static str>,
    action: &'static str,
    resource: &'static str,
    resource_account: &'static str,
    context: &'static [(&'static str, &'static [&'static str])],
    expect: EvalDecision,
    /// When non-empty: the Sids the decision must name, in order.
    sids: &'static [&'static str],
    /// When non-empty: the missing context keys the decision must report.
    missing: &'static [&'static str],
}

const BASE: Case = Case {
    name: "",
    identity: &[],
    scps: &[],
    resource_policy: None,
    kms: false,
    principal: ALICE,
    service: None,
    action: "backup:ListBackupVaults",
    resource: VAULT,
    resource_account: A,
    context: &[],
    expect: ImplicitDeny,
    sids: &[],
    missing: &[],
};

fn cases() -> Vec<Case> {
    vec![
        // ── Basics ("Determining whether a request is allowed or denied within an account") ──
        // An identity-based policy that allows the action allows the request.
        Case {
            name: "identity allow",
            identity: &[ALLOW_BACKUP],
            expect: Allowed,
            sids: &["AllowBackup"],
            ..BASE
        },
        // By default all requests are implicitly denied.
        Case {
            name: "no policy at all: implicit deny",
            expect: ImplicitDeny,
            ..BASE
        },
        // A policy that does not cover the action does not allow it.
        Case {
            name: "identity allows another action only",
            identity: &[ALLOW_COPY],
            action: "backup:DeleteBackupVault",
            expect: ImplicitDeny,
            ..BASE
        },
        // An explicit deny in any policy overrides any allow.
        Case {
            name: "explicit deny wins over allow",
            identity: &[ALLOW_BACKUP, DENY_DELETE],
            action: "backup:DeleteRecoveryPoint",
            resource: RECOVERY_POINT,
            expect: ExplicitDeny,
            sids: &["DenyDelete"],
            ..BASE
        },
        // The same deny leaves actions it does not name allowed.
        Case {
            name: "deny of other actions leaves the allow",
            identity: &[ALLOW_BACKUP, DENY_DELETE],
            action: "backup:StartBackupJob",
            expect: Allowed,
            ..BASE
        },
        // Action names are case-insensitive ("IAM JSON policy elements: Action").
        Case {
            name: "action match ignores case",
            identity: &[
                r#"{"Statement": {"Effect": "Allow", "Action": "BACKUP:listbackupvaults", "Resource": "*"}}"#,
            ],
            expect: Allowed,
            ..BASE
        },
        // `?` matches exactly one character in actions.
        Case {
            name: "single-character wildcard in an action",
            identity: &[
                r#"{"Statement": {"Effect": "Allow", "Action": "backup:?etBackupVaultAccessPolicy", "Resource": "*"}}"#,
            ],
            action: "backup:GetBackupVaultAccessPolicy",
            expect: Allowed,
            ..BASE
        },
        // …and only one: `?et` does not match `Put`.
        Case {
            name: "single-character wildcard is one character",
            identity: &[
                r#"{"Statement": {"Effect": "Allow", "Action": "backup:?etBackupVaultAccessPolicy", "Resource": "*"}}"#,
            ],
            action: "backup:PutBackupVaultAccessPolicy",
            expect: ImplicitDeny,
            ..BASE
        },
        // NotAction with Allow allows everything but the listed actions ("NotAction").
        Case {
            name: "Allow NotAction covers other actions",
            identity: &[
                r#"{"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}"#,
            ],
            action: "backup:StartBackupJob",
            expect: Allowed,
            ..BASE
        },
        // …and not the listed ones.
        Case {
            name: "Allow NotAction excludes the listed action",
            identity: &[
                r#"{"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}"#,
            ],
            action: "iam:CreateUser",
            resource: "*",
            expect: ImplicitDeny,
            ..BASE
        },
        // Deny with NotAction denies everything except the listed actions.
        Case {
            name: "Deny NotAction denies the unlisted action",
            identity: &[
                ALLOW_BACKUP,
                r#"{"Statement": {"Sid": "ReadOnly", "Effect": "Deny", "NotAction": ["backup:List*", "backup:Describe*"], "Resource": "*"}}"#,
            ],
            action: "backup:DeleteBackupVault",
            expect: ExplicitDeny,
            sids: &["ReadOnly"],
            ..BASE
        },
        // Resource ARNs take wildcards.
        Case {
            name: "resource wildcard matches",
            identity: &[
                r#"{"Statement": {"Effect": "Allow", "Action": "backup:*", "Resource": "arn:aws:backup:*:111122223333:backup-vault:cent*"}}"#,
            ],
            expect: Allowed,
            ..BASE
        },
        // A resource the statement does not name is not allowed.
        Case {
            name: "resource outside the pattern",
            identity: &[
                r#"{"Statement": {"Effect": "Allow", "Action": "backup:*", "Resource": "arn:aws:backup:*:111122223333:backup-vault:cent*"}}"#,
            ],
            resource: OTHER_VAULT,
            expect: ImplicitDeny,
            ..BASE
        },
        // Deny with NotResource denies every resource but the listed ones.
        Case {
            name: "Deny NotResource",
            identity: &[
                ALLOW_BACKUP,
                r#"{"Statement": {"Sid": "OnlyCentral", "Effect": "Deny", "Action": "backup:*", "NotResource": "arn:aws:backup:eu-west-1:111122223333:backup-vault:central"}}"#,
            ],
            resource: OTHER_VAULT,
            expect: ExplicitDeny,
            sids: &["OnlyCentral"],
            ..BASE
        },
        // Policy variables resolve from the request context ("Variables and tags").
        Case {
            name: "policy variable in Resource",
            identity: &[
                r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "backup:*", "Resource": "arn:aws:backup:*:*:backup-vault:${aws:username}"}}"#,
            ],
            resource: "arn:aws:backup:eu-west-1:111122223333:backup-vault:alice",
            context: &[("aws:username", &["alice"])],
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "policy variable in Resource: someone else's vault",
            identity: &[
                r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "backup:*", "Resource": "arn:aws:backup:*:*:backup-vault:${aws:username}"}}"#,
            ],
            resource: "arn:aws:backup:eu-west-1:111122223333:backup-vault:bob",
            context: &[("aws:username", &["alice"])],
            expect: ImplicitDeny,
            ..BASE
        },
        // ── SCPs ("SCP evaluation") ──
        // SCPs never grant; with FullAWSAccess the identity policy decides.
        Case {
            name: "SCP FullAWSAccess and identity allow",
            identity: &[ALLOW_BACKUP],
            scps: &[&[FULL_ACCESS_SCP]],
            expect: Allowed,
            ..BASE
        },
        // Identity allows but the SCP does not: implicit deny.
        Case {
            name: "SCP bounds identity",
            identity: &[ALLOW_BACKUP],
            scps: &[&[S3_ONLY_SCP]],
            expect: ImplicitDeny,
            ..BASE
        },
        // The SCP allows but no identity policy does: implicit deny (SCPs do not grant).
        Case {
            name: "SCP alone grants nothing",
            scps: &[&[FULL_ACCESS_SCP]],
            expect: ImplicitDeny,
            ..BASE
        },
        // Every level from the root to the account must allow; one level lacking an allow denies.
        Case {
            name: "one SCP level without an allow",
            identity: &[ALLOW_BACKUP],
            scps: &[&[FULL_ACCESS_SCP], &[BACKUP_READ_SCP], &[FULL_ACCESS_SCP]],
            action: "backup:DeleteBackupVault",
            expect: ImplicitDeny,
            ..BASE
        },
        Case {
            name: "every SCP level allows",
            identity: &[ALLOW_BACKUP],
            scps: &[
                &[FULL_ACCESS_SCP],
                &[BACKUP_READ_SCP],
                &[FULL_ACCESS_SCP, S3_ONLY_SCP],
            ],
            action: "backup:ListBackupVaults",
            expect: Allowed,
            ..BASE
        },
        // A level where no SCP is attached allows nothing.
        Case {
            name: "SCP level with nothing attached",
            identity: &[ALLOW_BACKUP],
            scps: &[&[FULL_ACCESS_SCP], &[]],
            expect: ImplicitDeny,
            ..BASE
        },
        // A Deny in an SCP is an explicit deny, whatever the identity policy allows.
        Case {
            name: "SCP explicit deny",
            identity: &[ALLOW_BACKUP],
            scps: &[&[FULL_ACCESS_SCP, DENY_DELETE]],
            action: "backup:DeleteRecoveryPoint",
            resource: RECOVERY_POINT,
            expect: ExplicitDeny,
            sids: &["DenyDelete"],
            ..BASE
        },
        // SCPs do not affect the management account: no levels bound it.
        Case {
            name: "management account is exempt",
            identity: &[ALLOW_BACKUP],
            scps: &[],
            action: "backup:DeleteBackupVault",
            expect: Allowed,
            ..BASE
        },
        // SCPs also bound what a resource-based policy grants to principals of the account.
        Case {
            name: "SCP bounds a resource-policy grant",
            scps: &[&[S3_ONLY_SCP]],
            resource_policy: Some(VAULT_POLICY_ALICE),
            action: "backup:ListRecoveryPointsByBackupVault",
            expect: ImplicitDeny,
            ..BASE
        },
        // The guardrail denies deletes to anyone but BackupAdmin…
        Case {
            name: "guardrail SCP (ArnNotLike) denies alice",
            identity: &[ALLOW_BACKUP],
            scps: &[&[FULL_ACCESS_SCP, DENY_DELETE_EXCEPT_ADMIN_SCP]],
            action: "backup:DeleteRecoveryPoint",
            resource: RECOVERY_POINT,
            context: &[("aws:PrincipalArn", &[ALICE])],
            expect: ExplicitDeny,
            sids: &["DenyDeleteExceptBackupAdmin"],
            ..BASE
        },
        // …and lets the BackupAdmin role through (aws:PrincipalArn is the role's ARN for a session).
        Case {
            name: "guardrail SCP (ArnNotLike) lets BackupAdmin delete",
            identity: &[ALLOW_BACKUP],
            scps: &[&[FULL_ACCESS_SCP, DENY_DELETE_EXCEPT_ADMIN_SCP]],
            principal: ADMIN_SESSION,
            action: "backup:DeleteRecoveryPoint",
            resource: RECOVERY_POINT,
            context: &[(
                "aws:PrincipalArn",
                &["arn:aws:iam::111122223333:role/BackupAdmin"],
            )],
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "guardrail SCP (StringNotLike) denies alice",
            identity: &[ALLOW_BACKUP],
            scps: &[&[FULL_ACCESS_SCP, DENY_DELETE_EXCEPT_ADMIN_STRING_SCP]],
            action: "backup:DeleteBackupVault",
            context: &[("aws:PrincipalArn", &[ALICE])],
            expect: ExplicitDeny,
            ..BASE
        },
        Case {
            name: "guardrail SCP (StringNotLike) lets BackupAdmin delete",
            identity: &[ALLOW_BACKUP],
            scps: &[&[FULL_ACCESS_SCP, DENY_DELETE_EXCEPT_ADMIN_STRING_SCP]],
            principal: ADMIN_SESSION,
            action: "backup:DeleteBackupVault",
            context: &[(
                "aws:PrincipalArn",
                &["arn:aws:iam::111122223333:role/BackupAdmin"],
            )],
            expect: Allowed,
            ..BASE
        },
        // A negated operator holds when the key is absent, so the guardrail denies.
        Case {
            name: "guardrail SCP denies when aws:PrincipalArn is absent",
            identity: &[ALLOW_BACKUP],
            scps: &[&[FULL_ACCESS_SCP, DENY_DELETE_EXCEPT_ADMIN_SCP]],
            principal: ADMIN_SESSION,
            action: "backup:DeleteRecoveryPoint",
            resource: RECOVERY_POINT,
            expect: ExplicitDeny,
            ..BASE
        },
        // ── Resource-based policies, same account ──
        // A resource policy naming the principal grants alone within the account.
        Case {
            name: "same-account resource policy grant alone",
            resource_policy: Some(VAULT_POLICY_ALICE),
            action: "backup:ListRecoveryPointsByBackupVault",
            expect: Allowed,
            sids: &["AliceLists"],
            ..BASE
        },
        Case {
            name: "resource policy naming someone else",
            resource_policy: Some(VAULT_POLICY_ALICE),
            principal: BOB,
            action: "backup:ListRecoveryPointsByBackupVault",
            expect: ImplicitDeny,
            ..BASE
        },
        Case {
            name: "resource policy with Principal *",
            resource_policy: Some(VAULT_POLICY_EVERYONE),
            principal: BOB,
            action: "backup:ListRecoveryPointsByBackupVault",
            expect: Allowed,
            ..BASE
        },
        // A role session is matched by a policy naming the role (even with a path).
        Case {
            name: "resource policy naming the role matches its session",
            resource_policy: Some(VAULT_POLICY_ADMIN_ROLE),
            principal: ADMIN_SESSION,
            action: "backup:DeleteBackupVault",
            expect: Allowed,
            ..BASE
        },
        // An explicit deny in the resource policy overrides the identity allow.
        Case {
            name: "resource policy deny overrides identity allow",
            identity: &[ALLOW_BACKUP],
            resource_policy: Some(VAULT_POLICY_DENY_DELETE_ALL),
            action: "backup:DeleteRecoveryPoint",
            resource: RECOVERY_POINT,
            expect: ExplicitDeny,
            sids: &["Lock"],
            ..BASE
        },
        // NotPrincipal with Deny denies everyone except the listed principals.
        Case {
            name: "NotPrincipal deny hits alice",
            identity: &[ALLOW_BACKUP],
            resource_policy: Some(VAULT_POLICY_NOT_PRINCIPAL),
            action: "backup:DeleteRecoveryPoint",
            resource: RECOVERY_POINT,
            expect: ExplicitDeny,
            ..BASE
        },
        Case {
            name: "NotPrincipal deny spares BackupAdmin",
            identity: &[ALLOW_BACKUP],
            resource_policy: Some(VAULT_POLICY_NOT_PRINCIPAL),
            principal: ADMIN_SESSION,
            action: "backup:DeleteRecoveryPoint",
            resource: RECOVERY_POINT,
            expect: Allowed,
            ..BASE
        },
        // A service principal is matched by a `Service` entry.
        Case {
            name: "service principal",
            resource_policy: Some(VAULT_POLICY_SERVICE),
            principal: "arn:aws:iam::111122223333:role/aws-service-role/backup.amazonaws.com/AWSServiceRoleForBackup",
            service: Some("backup.amazonaws.com"),
            action: "backup:CopyIntoBackupVault",
            expect: Allowed,
            ..BASE
        },
        // ── Cross-account ("Cross-account policy evaluation logic") ──
        // Both the resource policy (trusting the account) and the identity policy must allow.
        Case {
            name: "cross-account needs both: both allow",
            identity: &[ALLOW_COPY],
            resource_policy: Some(VAULT_POLICY_ACCOUNT_B),
            principal: CAROL_B,
            action: "backup:CopyIntoBackupVault",
            expect: Allowed,
            sids: &["AccountB", "AllowCopy"],
            ..BASE
        },
        Case {
            name: "cross-account: resource policy only",
            resource_policy: Some(VAULT_POLICY_ACCOUNT_B),
            principal: CAROL_B,
            action: "backup:CopyIntoBackupVault",
            expect: ImplicitDeny,
            ..BASE
        },
        Case {
            name: "cross-account: identity policy only",
            identity: &[ALLOW_COPY],
            principal: CAROL_B,
            action: "backup:CopyIntoBackupVault",
            expect: ImplicitDeny,
            ..BASE
        },
        Case {
            name: "cross-account: resource policy trusts another account",
            identity: &[ALLOW_COPY],
            resource_policy: Some(VAULT_POLICY_ACCOUNT_B),
            principal: MALLORY_C,
            action: "backup:CopyIntoBackupVault",
            expect: ImplicitDeny,
            ..BASE
        },
        // The reference vault policy: copies from the organization are allowed…
        Case {
            name: "org vault policy: principal of the organization",
            identity: &[ALLOW_COPY],
            resource_policy: Some(ORG_COPY_VAULT_POLICY),
            principal: CAROL_B,
            action: "backup:CopyIntoBackupVault",
            context: &[("aws:PrincipalOrgID", &["o-a1b2c3d4e5"])],
            expect: Allowed,
            ..BASE
        },
        // …from outside the organization they are not.
        Case {
            name: "org vault policy: account outside the organization",
            identity: &[ALLOW_COPY],
            resource_policy: Some(ORG_COPY_VAULT_POLICY),
            principal: MALLORY_C,
            action: "backup:CopyIntoBackupVault",
            context: &[("aws:PrincipalOrgID", &["o-zzzzzzzzzz"])],
            expect: ImplicitDeny,
            ..BASE
        },
        // A principal outside any organization has no aws:PrincipalOrgID: the condition fails.
        Case {
            name: "org vault policy: no organization at all",
            identity: &[ALLOW_COPY],
            resource_policy: Some(ORG_COPY_VAULT_POLICY),
            principal: MALLORY_C,
            action: "backup:CopyIntoBackupVault",
            expect: ImplicitDeny,
            missing: &["aws:PrincipalOrgID"],
            ..BASE
        },
        // ── KMS key policies ──
        // The key policy delegating to the account root lets IAM policies decide.
        Case {
            name: "key policy delegates to IAM, identity allows",
            identity: &[ALLOW_KMS],
            resource_policy: Some(KEY_POLICY_ROOT),
            kms: true,
            action: "kms:Decrypt",
            resource: KEY,
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "key policy delegates to IAM, identity silent",
            resource_policy: Some(KEY_POLICY_ROOT),
            kms: true,
            action: "kms:Decrypt",
            resource: KEY,
            expect: ImplicitDeny,
            ..BASE
        },
        // A key policy naming the principal grants alone.
        Case {
            name: "key policy names the principal",
            resource_policy: Some(KEY_POLICY_ALICE),
            kms: true,
            action: "kms:Decrypt",
            resource: KEY,
            expect: Allowed,
            sids: &["AliceUses"],
            ..BASE
        },
        // Without an allow in the key policy even an identity allow is not enough.
        Case {
            name: "KMS key policy required",
            identity: &[ALLOW_KMS],
            resource_policy: Some(KEY_POLICY_BOB),
            kms: true,
            action: "kms:Decrypt",
            resource: KEY,
            expect: ImplicitDeny,
            ..BASE
        },
        Case {
            name: "KMS key without a key policy",
            identity: &[ALLOW_KMS],
            kms: true,
            action: "kms:Decrypt",
            resource: KEY,
            expect: ImplicitDeny,
            ..BASE
        },
        // Cross-account key use: the key policy trusts the account and its IAM policy allows.
        Case {
            name: "cross-account key use: both allow",
            identity: &[ALLOW_KMS],
            resource_policy: Some(KEY_POLICY_ACCOUNT_B),
            kms: true,
            principal: CAROL_B,
            action: "kms:GenerateDataKeyWithoutPlaintext",
            resource: KEY,
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "cross-account key use: identity silent",
            resource_policy: Some(KEY_POLICY_ACCOUNT_B),
            kms: true,
            principal: CAROL_B,
            action: "kms:Decrypt",
            resource: KEY,
            expect: ImplicitDeny,
            ..BASE
        },
        // ── Conditions ("Condition operators", "global condition context keys") ──
        // The documented MFA pattern: deny unless MFA; BoolIfExists also denies when the key is
        // absent (long-term access keys carry no aws:MultiFactorAuthPresent).
        Case {
            name: "BoolIfExists MFA deny: key absent",
            identity: &[ALLOW_BACKUP, DENY_WITHOUT_MFA],
            action: "backup:DeleteBackupVault",
            expect: ExplicitDeny,
            sids: &["DenyWithoutMfa"],
            ..BASE
        },
        Case {
            name: "BoolIfExists MFA deny: MFA false",
            identity: &[ALLOW_BACKUP, DENY_WITHOUT_MFA],
            action: "backup:DeleteBackupVault",
            context: &[("aws:MultiFactorAuthPresent", &["false"])],
            expect: ExplicitDeny,
            ..BASE
        },
        Case {
            name: "BoolIfExists MFA deny: MFA true",
            identity: &[ALLOW_BACKUP, DENY_WITHOUT_MFA],
            action: "backup:DeleteBackupVault",
            context: &[("aws:MultiFactorAuthPresent", &["true"])],
            expect: Allowed,
            ..BASE
        },
        // Bool without IfExists: an absent key fails an Allow condition, and is reported missing.
        Case {
            name: "Bool allow with the key absent",
            identity: &[ALLOW_WITH_MFA],
            action: "backup:DeleteBackupVault",
            expect: ImplicitDeny,
            missing: &["aws:MultiFactorAuthPresent"],
            ..BASE
        },
        Case {
            name: "Bool allow with MFA",
            identity: &[ALLOW_WITH_MFA],
            action: "backup:DeleteBackupVault",
            context: &[("aws:MultiFactorAuthPresent", &["true"])],
            expect: Allowed,
            ..BASE
        },
        // DateLessThan on aws:CurrentTime: access until a date.
        Case {
            name: "DateLessThan before the date",
            identity: &[ALLOW_UNTIL_2027],
            context: &[("aws:CurrentTime", &["2026-11-26T01:00:00Z"])],
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "DateLessThan after the date",
            identity: &[ALLOW_UNTIL_2027],
            context: &[("aws:CurrentTime", &["2027-01-01T00:00:01Z"])],
            expect: ImplicitDeny,
            ..BASE
        },
        // IpAddress on aws:SourceIp.
        Case {
            name: "IpAddress inside the range",
            identity: &[ALLOW_FROM_OFFICE],
            context: &[("aws:SourceIp", &["203.0.113.45"])],
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "IpAddress outside the range",
            identity: &[ALLOW_FROM_OFFICE],
            context: &[("aws:SourceIp", &["198.51.100.1"])],
            expect: ImplicitDeny,
            ..BASE
        },
        // The documented NotIpAddress deny: requests from elsewhere are denied.
        Case {
            name: "NotIpAddress deny from outside",
            identity: &[ALLOW_BACKUP, DENY_OUTSIDE_OFFICE],
            context: &[("aws:SourceIp", &["198.51.100.1"])],
            expect: ExplicitDeny,
            ..BASE
        },
        Case {
            name: "NotIpAddress deny spares the office (IPv6)",
            identity: &[ALLOW_BACKUP, DENY_OUTSIDE_OFFICE],
            context: &[("aws:SourceIp", &["2001:db8:85a3::8a2e:370:7334"])],
            expect: Allowed,
            ..BASE
        },
        // aws:ResourceTag/key: attribute-based access control.
        Case {
            name: "ResourceTag matches",
            identity: &[ALLOW_PROD_TAGGED],
            context: &[("aws:ResourceTag/env", &["prod"])],
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "ResourceTag differs",
            identity: &[ALLOW_PROD_TAGGED],
            context: &[("aws:ResourceTag/env", &["dev"])],
            expect: ImplicitDeny,
            ..BASE
        },
        // aws:RequestTag/key with a policy variable: a tag must name the caller.
        Case {
            name: "RequestTag equals the caller's name",
            identity: &[ALLOW_OWN_TAG],
            action: "backup:TagResource",
            context: &[
                ("aws:RequestTag/owner", &["alice"]),
                ("aws:username", &["alice"]),
            ],
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "RequestTag names someone else",
            identity: &[ALLOW_OWN_TAG],
            action: "backup:TagResource",
            context: &[
                ("aws:RequestTag/owner", &["bob"]),
                ("aws:username", &["alice"]),
            ],
            expect: ImplicitDeny,
            ..BASE
        },
        // ForAnyValue:StringLike on the multi-valued aws:PrincipalOrgPaths.
        Case {
            name: "ForAnyValue:StringLike org path matches",
            identity: &[ALLOW_COPY],
            resource_policy: Some(ORG_PATH_VAULT_POLICY),
            principal: CAROL_B,
            action: "backup:CopyIntoBackupVault",
            context: &[(
                "aws:PrincipalOrgPaths",
                &["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/"],
            )],
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "ForAnyValue:StringLike org path absent",
            identity: &[ALLOW_COPY],
            resource_policy: Some(ORG_PATH_VAULT_POLICY),
            principal: CAROL_B,
            action: "backup:CopyIntoBackupVault",
            expect: ImplicitDeny,
            missing: &["aws:PrincipalOrgPaths"],
            ..BASE
        },
        // ForAllValues:StringEquals on aws:TagKeys: only the listed tag keys may be used…
        Case {
            name: "ForAllValues tag keys within the list",
            identity: &[ALLOW_ONLY_TAG_KEYS],
            action: "backup:TagResource",
            context: &[("aws:TagKeys", &["env", "team"])],
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "ForAllValues tag key outside the list",
            identity: &[ALLOW_ONLY_TAG_KEYS],
            action: "backup:TagResource",
            context: &[("aws:TagKeys", &["env", "cost-center"])],
            expect: ImplicitDeny,
            ..BASE
        },
        // …and, as documented, ForAllValues holds for an empty or absent set.
        Case {
            name: "ForAllValues with no tag keys at all",
            identity: &[ALLOW_ONLY_TAG_KEYS],
            action: "backup:TagResource",
            context: &[("aws:TagKeys", &[])],
            expect: Allowed,
            ..BASE
        },
        // Null: true means "the key is absent" — deny untagged resources.
        Case {
            name: "Null deny on an untagged resource",
            identity: &[ALLOW_BACKUP, DENY_UNTAGGED],
            expect: ExplicitDeny,
            sids: &["DenyUntagged"],
            ..BASE
        },
        Case {
            name: "Null deny spares a tagged resource",
            identity: &[ALLOW_BACKUP, DENY_UNTAGGED],
            context: &[("aws:ResourceTag/env", &["prod"])],
            expect: Allowed,
            ..BASE
        },
        // NumericLessThanIfExists: holds when the key is absent, compares when present.
        Case {
            name: "NumericLessThanIfExists with the key absent",
            identity: &[ALLOW_RECENT_MFA],
            action: "backup:DeleteBackupVault",
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "NumericLessThanIfExists with recent MFA",
            identity: &[ALLOW_RECENT_MFA],
            action: "backup:DeleteBackupVault",
            context: &[("aws:MultiFactorAuthAge", &["600"])],
            expect: Allowed,
            ..BASE
        },
        Case {
            name: "NumericLessThanIfExists with old MFA",
            identity: &[ALLOW_RECENT_MFA],
            action: "backup:DeleteBackupVault",
            context: &[("aws:MultiFactorAuthAge", &["7200"])],
            expect: ImplicitDeny,
            ..BASE
        },
        // Condition keys are case-insensitive.
        Case {
            name: "condition key case does not matter",
            identity: &[
                r#"{"Statement": {"Effect": "Allow", "Action": "backup:*", "Resource": "*",
                "Condition": {"StringEquals": {"AWS:RESOURCETAG/env": "prod"}}}}"#,
            ],
            context: &[("aws:ResourceTag/env", &["prod"])],
            expect: Allowed,
            ..BASE
        },
        // Values are case-sensitive unless the operator says IgnoreCase.
        Case {
            name: "condition values are case-sensitive",
            identity: &[ALLOW_PROD_TAGGED],
            context: &[("aws:ResourceTag/env", &["PROD"])],
            expect: ImplicitDeny,
            ..BASE
        },
        Case {
            name: "StringEqualsIgnoreCase",
            identity: &[
                r#"{"Statement": {"Effect": "Allow", "Action": "backup:*", "Resource": "*",
                "Condition": {"StringEqualsIgnoreCase": {"aws:ResourceTag/env": "prod"}}}}"#,
            ],
            context: &[("aws:ResourceTag/env", &["PROD"])],
            expect: Allowed,
            ..BASE
        },
    ]
}

const DENY_WITHOUT_MFA: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyWithoutMfa", "Effect": "Deny", "Action": "backup:Delete*", "Resource": "*",
     "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}"#;
const ALLOW_WITH_MFA: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "backup:*", "Resource": "*",
     "Condition": {"Bool": {"aws:MultiFactorAuthPresent": true}}}]}"#;
const ALLOW_UNTIL_2027: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "backup:*", "Resource": "*",
     "Condition": {"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}}]}"#;
const ALLOW_FROM_OFFICE: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "backup:*", "Resource": "*",
     "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8:85a3::/48"]}}}]}"#;
const DENY_OUTSIDE_OFFICE: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyOutsideOffice", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8:85a3::/48"]}}}]}"#;
const ALLOW_PROD_TAGGED: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "backup:*", "Resource": "*",
     "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}}]}"#;
const ALLOW_OWN_TAG: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "backup:TagResource", "Resource": "*",
     "Condition": {"StringEquals": {"aws:RequestTag/owner": "${aws:username}"}}}]}"#;
const ORG_PATH_VAULT_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowOu", "Effect": "Allow", "Principal": "*", "Action": "backup:CopyIntoBackupVault", "Resource": "*",
     "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}}}]}"#;
const ALLOW_ONLY_TAG_KEYS: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "backup:TagResource", "Resource": "*",
     "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}}]}"#;
const DENY_UNTAGGED: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyUntagged", "Effect": "Deny", "Action": "backup:*", "Resource": "*",
     "Condition": {"Null": {"aws:ResourceTag/env": "true"}}}]}"#;
const ALLOW_RECENT_MFA: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "backup:*", "Resource": "*",
     "Condition": {"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "3600"}}}]}"#;

fn parse(text: &str, case: &str) -> PolicyDocument {
    PolicyDocument::parse(text).unwrap_or_else(|e| panic!("{case}: policy does not parse:\n{e}"))
}

fn run(case: &Case) -> bunker_iam::Decision {
    let account = case.principal.split(':').nth(4).unwrap().to_owned();
    let principal = Principal {
        arn: case.principal.to_owned(),
        account,
        service: case.service.map(str::to_owned),
    };
    let mut context = Context::new();
    for (key, values) in case.context {
        context.set_all(key, values.iter().map(|v| (*v).to_owned()).collect());
    }
    let identity_docs: Vec<PolicyDocument> =
        case.identity.iter().map(|t| parse(t, case.name)).collect();
    let identity_names: Vec<String> = (0..identity_docs.len())
        .map(|i| format!("identity:{i}"))
        .collect();
    let scp_docs: Vec<Vec<PolicyDocument>> = case
        .scps
        .iter()
        .map(|level| level.iter().map(|t| parse(t, case.name)).collect())
        .collect();
    let scp_names: Vec<Vec<String>> = scp_docs
        .iter()
        .enumerate()
        .map(|(l, level)| (0..level.len()).map(|i| format!("scp:{l}-{i}")).collect())
        .collect();
    let resource_doc = case.resource_policy.map(|t| parse(t, case.name));

    let set = PolicySet {
        identity: identity_docs
            .iter()
            .zip(&identity_names)
            .map(|(document, name)| NamedPolicy { name, document })
            .collect(),
        scp_levels: scp_docs
            .iter()
            .zip(&scp_names)
            .map(|(docs, names)| {
                docs.iter()
                    .zip(names)
                    .map(|(document, name)| NamedPolicy { name, document })
                    .collect()
            })
            .collect(),
        resource: resource_doc.as_ref().map(|document| NamedPolicy {
            name: "resource-policy",
            document,
        }),
        resource_policy_required: case.kms,
    };
    let request = Request {
        principal: &principal,
        action: case.action,
        resource: case.resource,
        resource_account: case.resource_account,
        context: &context,
    };
    evaluate(&request, &set)
}

#[test]
fn documented_evaluation_cases() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let decision = run(case);
        if decision.eval_decision != case.expect {
            failures.push(format!(
                "{}: expected {:?}, got {:?} ({})",
                case.name, case.expect, decision.eval_decision, decision.reason
            ));
            continue;
        }
        if !case.sids.is_empty() {
            let sids: Vec<&str> = decision
                .matched_statements
                .iter()
                .filter_map(|m| m.sid.as_deref())
                .collect();
            if sids != case.sids {
                failures.push(format!(
                    "{}: expected statements {:?}, got {:?}",
                    case.name, case.sids, sids
                ));
            }
        }
        if !case.missing.is_empty() && decision.missing_context_values != case.missing {
            failures.push(format!(
                "{}: expected missing {:?}, got {:?}",
                case.name, case.missing, decision.missing_context_values
            ));
        }
        if decision.reason.is_empty() {
            failures.push(format!("{}: empty reason", case.name));
        }
        match decision.eval_decision {
            Allowed => {
                if decision.matched_statements.is_empty() {
                    failures.push(format!("{}: allowed without naming a statement", case.name));
                }
            }
            ImplicitDeny => {
                if !decision.matched_statements.is_empty() {
                    failures.push(format!("{}: implicit deny names statements", case.name));
                }
            }
            ExplicitDeny => {
                if decision
                    .matched_statements
                    .iter()
                    .any(|m| m.effect != bunker_iam::Effect::Deny)
                {
                    failures.push(format!(
                        "{}: explicit deny names an Allow statement",
                        case.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn case_names_are_unique() {
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len());
}

#[test]
fn reasons_name_the_deciding_policy() {
    let cases = cases();
    let by_name = |name: &str| cases.iter().find(|c| c.name == name).unwrap();
    let deny = run(by_name("SCP explicit deny"));
    assert!(
        deny.reason.contains("scp:0-1") && deny.reason.contains("DenyDelete"),
        "{}",
        deny.reason
    );
    let level = run(by_name("one SCP level without an allow"));
    assert!(
        level.reason.contains("level 2") && level.reason.contains("scp:1-0"),
        "{}",
        level.reason
    );
    let cross = run(by_name("cross-account: resource policy only"));
    assert!(
        cross.reason.contains("cross-account") && cross.reason.contains("identity"),
        "{}",
        cross.reason
    );
    let json = serde_json::to_value(&deny).unwrap();
    assert_eq!(json["EvalDecision"], "explicitDeny");
    assert_eq!(json["MatchedStatements"][0]["SourcePolicyId"], "scp:0-1");
}
