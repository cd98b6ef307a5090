//! AWS's evaluation logic over identity policies, SCPs and a resource policy.
//!
//! INTERFACE (fixed; other crates code against it):

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Effect;
use crate::document::{
    PatternElement, PolicyDocument, PrincipalElement, PrincipalEntry, Statement,
};
use crate::variables::Template;

/// Who is asking, as resource-policy `Principal` elements match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The principal's ARN: `arn:aws:iam::111122223333:user/alice`,
    /// `arn:aws:iam::111122223333:role/Admin`, `arn:aws:sts::111122223333:assumed-role/Admin/session`
    /// (matched by resource policies naming the role ARN too), `arn:aws:iam::111122223333:root`.
    pub arn: String,
    /// Its account.
    pub account: String,
    /// A service principal (`backup.amazonaws.com`) acting for the account, if any.
    pub service: Option<String>,
}

/// The request context: condition keys (case-insensitive: stored lower-cased) to one or more
/// values. `aws:CurrentTime`, `aws:PrincipalOrgID`, `aws:ResourceTag/env`, …
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    values: BTreeMap<String, Vec<String>>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a single-valued key.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.values
            .insert(key.to_ascii_lowercase(), vec![value.into()]);
        self
    }

    /// Sets a multi-valued key (`aws:PrincipalOrgPaths`, `aws:TagKeys`).
    pub fn set_all(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        self.values.insert(key.to_ascii_lowercase(), values);
        self
    }

    /// The values of a key; `None` when absent.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    /// The values of a key already lower-cased (parsed policies keep their keys so), without
    /// allocating.
    pub(crate) fn get_lowercase(&self, key: &str) -> Option<&[String]> {
        self.values.get(key).map(Vec::as_slice)
    }

    /// Every key and its values (lower-cased keys).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// One request to decide.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Who.
    pub principal: &'a Principal,
    /// `backup:DeleteRecoveryPoint` (service prefix case-insensitive, as in AWS).
    pub action: &'a str,
    /// The resource ARN (or `*` for actions without a resource).
    pub resource: &'a str,
    /// The account owning the resource (decides same- vs cross-account).
    pub resource_account: &'a str,
    /// Condition keys.
    pub context: &'a Context,
}

/// A policy with the name the decision reports it by (`scp:p-abc123`,
/// `user:alice/inline:Ops`, `vault-access-policy:central`).
#[derive(Debug, Clone, Copy)]
pub struct NamedPolicy<'a> {
    /// How a decision names it.
    pub name: &'a str,
    /// The document.
    pub document: &'a PolicyDocument,
}

/// Everything that applies to one request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'a> {
    /// The principal's identity policies (of the user, or of the role a session assumed).
    pub identity: Vec<NamedPolicy<'a>>,
    /// SCPs, one level per node from the root down to the principal's account; each level
    /// must allow the action. Empty: no SCP bound (the management account, or SCPs not
    /// enabled).
    pub scp_levels: Vec<Vec<NamedPolicy<'a>>>,
    /// The resource's policy (a vault access policy, a key policy), if any.
    pub resource: Option<NamedPolicy<'a>>,
    /// KMS semantics: without an allow in the key policy nothing is allowed, even in the
    /// key's account (the key policy may delegate to IAM by allowing `arn:aws:iam::ACCOUNT:root`).
    pub resource_policy_required: bool,
}

/// AWS's `EvalDecision` words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EvalDecision {
    /// Allowed.
    Allowed,
    /// A Deny statement matched.
    ExplicitDeny,
    /// Nothing allowed it (or an SCP level did not).
    ImplicitDeny,
}

/// A statement that took part in the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MatchedStatement {
    /// The policy's name in the [`PolicySet`].
    pub source_policy_id: String,
    /// The statement's `Sid`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Its index in `Statement`.
    pub index: usize,
    /// `Allow` or `Deny`.
    pub effect: crate::Effect,
}

/// The decision and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Decision {
    /// The outcome.
    pub eval_decision: EvalDecision,
    /// The statements that decided: the matching Deny statements for an explicit deny, the
    /// Allow statements that granted for an allow, none for an implicit deny.
    pub matched_statements: Vec<MatchedStatement>,
    /// One sentence a person can read: "explicitly denied by scp:p-1 statement
    /// DenyDelete", "no SCP at level ou-…", "cross-account: the identity policy does not
    /// allow it", …
    pub reason: String,
    /// Condition keys the matching statements needed but the context lacked.
    pub missing_context_values: Vec<String>,
}

impl Decision {
    /// True when allowed.
    pub fn allowed(&self) -> bool {
        self.eval_decision == EvalDecision::Allowed
    }
}

/// Decides `request` against `policies`.
///
/// In order: a matching Deny statement anywhere (identity, SCP, resource policy) is an
/// explicit deny; then every SCP level must hold a matching Allow; then, with
/// `resource_policy_required` (KMS), the resource policy must allow, either naming the
/// principal (enough in the key's account) or delegating to the principal's account (then an
/// identity policy must allow too); otherwise, in the resource's account, an identity Allow or
/// a resource-policy Allow naming the principal grants, and across accounts both the resource
/// policy (naming the principal or its account) and an identity policy must allow.
/// Identity policies and SCPs ignore `Principal`.
pub fn evaluate(request: &Request<'_>, policies: &PolicySet<'_>) -> Decision {
    let mut missing: Vec<&str> = Vec::new();
    let mut denies = Vec::new();

    let mut identity_allows = Vec::new();
    for policy in &policies.identity {
        scan(
            policy,
            request,
            false,
            &mut missing,
            |statement, _| match statement.effect {
                Effect::Deny => denies.push(matched(policy, statement)),
                Effect::Allow => identity_allows.push(matched(policy, statement)),
            },
        );
    }

    let mut scp_allowed = Vec::with_capacity(policies.scp_levels.len());
    for level in &policies.scp_levels {
        let mut allowed = false;
        for policy in level {
            scan(
                policy,
                request,
                false,
                &mut missing,
                |statement, _| match statement.effect {
                    Effect::Deny => denies.push(matched(policy, statement)),
                    Effect::Allow => allowed = true,
                },
            );
        }
        scp_allowed.push(allowed);
    }

    // Resource-policy allows, split by how they name the caller.
    let mut named_allows = Vec::new();
    let mut account_allows = Vec::new();
    if let Some(policy) = &policies.resource {
        scan(
            policy,
            request,
            true,
            &mut missing,
            |statement, how| match (statement.effect, how) {
                (Effect::Deny, _) => denies.push(matched(policy, statement)),
                (Effect::Allow, PrincipalMatch::Named) => {
                    named_allows.push(matched(policy, statement))
                }
                (Effect::Allow, _) => account_allows.push(matched(policy, statement)),
            },
        );
    }

    let missing_context_values = dedup_keys(missing);
    let decide = |eval_decision, matched_statements, reason: String| Decision {
        eval_decision,
        matched_statements,
        reason,
        missing_context_values: missing_context_values.clone(),
    };
    let action = request.action;
    let resource = request.resource;

    if !denies.is_empty() {
        let reason = format!("explicitly denied by {}", list(&denies));
        return decide(EvalDecision::ExplicitDeny, denies, reason);
    }

    for (i, allowed) in scp_allowed.iter().enumerate() {
        if !allowed {
            let level = &policies.scp_levels[i];
            let reason = if level.is_empty() {
                format!(
                    "no SCP is attached at SCP level {}, so it allows nothing",
                    i + 1
                )
            } else {
                let names: Vec<&str> = level.iter().map(|p| p.name).collect();
                format!(
                    "no SCP at SCP level {} ({}) allows {action}",
                    i + 1,
                    names.join(", ")
                )
            };
            return decide(EvalDecision::ImplicitDeny, Vec::new(), reason);
        }
    }

    let same_account = request.principal.account == request.resource_account;
    let resource_name = policies.resource.map_or("the resource policy", |p| p.name);

    if policies.resource_policy_required {
        if named_allows.is_empty() && account_allows.is_empty() {
            let reason = match policies.resource {
                Some(p) => format!(
                    "the key policy {} does not allow {action} to {}",
                    p.name, request.principal.arn
                ),
                None => format!("the resource has no key policy, so {action} is not allowed"),
            };
            return decide(EvalDecision::ImplicitDeny, Vec::new(), reason);
        }
        if same_account && !named_allows.is_empty() {
            let reason = format!("allowed by {}", list(&named_allows));
            return decide(EvalDecision::Allowed, named_allows, reason);
        }
        if identity_allows.is_empty() {
            let reason = if same_account {
                format!(
                    "the key policy {resource_name} delegates to the account's IAM policies, but no identity policy allows {action}"
                )
            } else {
                format!(
                    "cross-account: the key policy {resource_name} allows the account, but no identity policy allows {action}"
                )
            };
            return decide(EvalDecision::ImplicitDeny, Vec::new(), reason);
        }
        let mut granted = named_allows;
        granted.extend(account_allows);
        let reason = format!(
            "allowed by {} together with {}",
            list(&granted),
            list(&identity_allows)
        );
        granted.extend(identity_allows);
        return decide(EvalDecision::Allowed, granted, reason);
    }

    if same_account {
        if identity_allows.is_empty() && named_allows.is_empty() {
            let reason = if policies.identity.is_empty() && policies.resource.is_none() {
                format!("no policy applies, so {action} on {resource} is implicitly denied")
            } else {
                format!("no identity-based or resource-based policy allows {action} on {resource}")
            };
            return decide(EvalDecision::ImplicitDeny, Vec::new(), reason);
        }
        let mut granted = identity_allows;
        granted.extend(named_allows);
        let reason = format!("allowed by {}", list(&granted));
        return decide(EvalDecision::Allowed, granted, reason);
    }

    // Cross-account: both sides must agree.
    let mut granted = named_allows;
    granted.extend(account_allows);
    if granted.is_empty() {
        let reason = match policies.resource {
            Some(p) => format!(
                "cross-account: the resource policy {} does not allow {action} to {}",
                p.name, request.principal.arn
            ),
            None => format!(
                "cross-account: the resource in account {} has no resource policy",
                request.resource_account
            ),
        };
        return decide(EvalDecision::ImplicitDeny, Vec::new(), reason);
    }
    if identity_allows.is_empty() {
        let reason = format!(
            "cross-account: {resource_name} allows it, but no identity policy allows {action}"
        );
        return decide(EvalDecision::ImplicitDeny, Vec::new(), reason);
    }
    let reason = format!(
        "allowed cross-account by {} together with {}",
        list(&granted),
        list(&identity_allows)
    );
    granted.extend(identity_allows);
    decide(EvalDecision::Allowed, granted, reason)
}

/// How a resource-policy statement's `Principal` covers the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PrincipalMatch {
    No,
    /// Through its account (an account id or the account's `root` ARN): a delegation to
    /// the account's own IAM policies.
    Account,
    /// By `*`, its ARN (or its role's, for a session), or its service.
    Named,
}

/// Calls `found` for every statement of `policy` that applies to `request`, collecting the
/// keys of conditions that failed for want of a context value.
fn scan<'p>(
    policy: &NamedPolicy<'p>,
    request: &Request<'_>,
    resource_policy: bool,
    missing: &mut Vec<&'p str>,
    mut found: impl FnMut(&'p Statement, PrincipalMatch),
) {
    for statement in policy.document.statements() {
        if !action_matches(&statement.action, request.action)
            || !resource_matches(statement.resource.as_ref(), request)
        {
            continue;
        }
        let how = if resource_policy {
            principal_match(
                statement.principal.as_ref(),
                statement.effect,
                request.principal,
            )
        } else {
            PrincipalMatch::Named
        };
        if how == PrincipalMatch::No {
            continue;
        }
        let mut holds = true;
        for condition in &statement.conditions {
            let outcome = condition.evaluate(request.context);
            if !outcome.holds {
                if outcome.missing {
                    missing.push(condition.key());
                }
                holds = false;
                break;
            }
        }
        if holds {
            found(statement, how);
        }
    }
}

fn action_matches(element: &PatternElement<String>, action: &str) -> bool {
    let any = element.patterns.iter().any(|pattern| {
        pattern == "*" || crate::wildcard::matches_ignore_ascii_case(pattern, action)
    });
    any != element.negated
}

fn resource_matches(element: Option<&PatternElement<Template>>, request: &Request<'_>) -> bool {
    let Some(element) = element else { return true };
    let any = element.patterns.iter().any(|pattern| {
        let Some(pattern) = pattern.resolve(request.context) else {
            return false;
        };
        pattern == "*"
            || pattern == request.resource
            || crate::arn::arn_like(&pattern, request.resource)
    });
    any != element.negated
}

fn principal_match(
    element: Option<&PrincipalElement>,
    effect: Effect,
    principal: &Principal,
) -> PrincipalMatch {
    let Some(element) = element else {
        // A resource-policy statement without a principal is malformed in AWS; fail safe:
        // such a Deny applies to everyone and such an Allow to no one.
        return if effect == Effect::Deny {
            PrincipalMatch::Named
        } else {
            PrincipalMatch::No
        };
    };
    let best = element
        .entries
        .iter()
        .map(|entry| entry_match(entry, principal))
        .max()
        .unwrap_or(PrincipalMatch::No);
    if element.negated {
        if best == PrincipalMatch::No {
            PrincipalMatch::Named
        } else {
            PrincipalMatch::No
        }
    } else {
        best
    }
}

fn entry_match(entry: &PrincipalEntry, principal: &Principal) -> PrincipalMatch {
    match entry {
        PrincipalEntry::Everyone => PrincipalMatch::Named,
        PrincipalEntry::Account(account) if *account == principal.account => {
            PrincipalMatch::Account
        }
        PrincipalEntry::Arn(arn)
            if *arn == principal.arn || session_of_role(arn, &principal.arn) =>
        {
            PrincipalMatch::Named
        }
        PrincipalEntry::Service(service)
            if principal
                .service
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(service)) =>
        {
            PrincipalMatch::Named
        }
        _ => PrincipalMatch::No,
    }
}

/// Is `session` (`arn:aws:sts::A:assumed-role/R/S`) a session of `role`
/// (`arn:aws:iam::A:role/R`, maybe with a path: `role/path/R`)?
fn session_of_role(role: &str, session: &str) -> bool {
    let (Some(role), Some(session)) = (crate::arn::split(role), crate::arn::split(session)) else {
        return false;
    };
    let (Some(role_path), Some(session_rest)) = (
        role[5].strip_prefix("role/"),
        session[5].strip_prefix("assumed-role/"),
    ) else {
        return false;
    };
    let role_name = role_path.rsplit('/').next().unwrap_or(role_path);
    let session_role = session_rest.split('/').next().unwrap_or(session_rest);
    role[1] == session[1]
        && role[2] == "iam"
        && session[2] == "sts"
        && role[4] == session[4]
        && role_name == session_role
}

fn matched(policy: &NamedPolicy<'_>, statement: &Statement) -> MatchedStatement {
    MatchedStatement {
        source_policy_id: policy.name.to_owned(),
        sid: statement.sid.clone(),
        index: statement.index,
        effect: statement.effect,
    }
}

/// "scp:p-1 statement DenyDelete, user:alice statement #2".
fn list(statements: &[MatchedStatement]) -> String {
    let parts: Vec<String> = statements
        .iter()
        .map(|m| match m.sid.as_deref() {
            Some(sid) if !sid.is_empty() => format!("{} statement {sid}", m.source_policy_id),
            _ => format!("{} statement #{}", m.source_policy_id, m.index),
        })
        .collect();
    parts.join(", ")
}

/// Keys as first written, once each (keys compare case-insensitively).
fn dedup_keys(mut keys: Vec<&str>) -> Vec<String> {
    keys.sort_by_key(|k| k.to_ascii_lowercase());
    keys.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    keys.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(arn: &str) -> Principal {
        Principal {
            arn: arn.to_owned(),
            account: arn.split(':').nth(4).unwrap().to_owned(),
            service: None,
        }
    }

    #[test]
    fn sessions_match_their_role() {
        let session = "arn:aws:sts::111122223333:assumed-role/BackupAdmin/nightly";
        assert!(session_of_role(
            "arn:aws:iam::111122223333:role/BackupAdmin",
            session
        ));
        assert!(session_of_role(
            "arn:aws:iam::111122223333:role/ops/team/BackupAdmin",
            session
        ));
        assert!(!session_of_role(
            "arn:aws:iam::444455556666:role/BackupAdmin",
            session
        ));
        assert!(!session_of_role(
            "arn:aws:iam::111122223333:role/BackupAdmins",
            session
        ));
        assert!(!session_of_role(
            "arn:aws-cn:iam::111122223333:role/BackupAdmin",
            session
        ));
        assert!(!session_of_role(
            "arn:aws:iam::111122223333:user/BackupAdmin",
            session
        ));
        assert!(!session_of_role(
            "arn:aws:iam::111122223333:role/BackupAdmin",
            "arn:aws:iam::111122223333:user/BackupAdmin"
        ));
    }

    #[test]
    fn principal_entries() {
        let alice = principal("arn:aws:iam::111122223333:user/alice");
        let m = |entry: PrincipalEntry| entry_match(&entry, &alice);
        assert_eq!(m(PrincipalEntry::Everyone), PrincipalMatch::Named);
        assert_eq!(
            m(PrincipalEntry::Account("111122223333".into())),
            PrincipalMatch::Account
        );
        assert_eq!(
            m(PrincipalEntry::Account("444455556666".into())),
            PrincipalMatch::No
        );
        assert_eq!(
            m(PrincipalEntry::Arn(alice.arn.clone())),
            PrincipalMatch::Named
        );
        assert_eq!(
            m(PrincipalEntry::Arn(
                "arn:aws:iam::111122223333:user/bob".into()
            )),
            PrincipalMatch::No
        );
        assert_eq!(
            m(PrincipalEntry::Service("backup.amazonaws.com".into())),
            PrincipalMatch::No
        );
        assert_eq!(m(PrincipalEntry::Other), PrincipalMatch::No);
        let service = Principal {
            service: Some("backup.amazonaws.com".into()),
            ..alice.clone()
        };
        assert_eq!(
            entry_match(
                &PrincipalEntry::Service("Backup.AmazonAWS.com".into()),
                &service
            ),
            PrincipalMatch::Named
        );
    }

    #[test]
    fn not_principal_and_missing_principal() {
        let alice = principal("arn:aws:iam::111122223333:user/alice");
        let not_bob = PrincipalElement {
            negated: true,
            entries: vec![PrincipalEntry::Arn(
                "arn:aws:iam::111122223333:user/bob".into(),
            )],
        };
        assert_eq!(
            principal_match(Some(&not_bob), Effect::Deny, &alice),
            PrincipalMatch::Named
        );
        let not_account = PrincipalElement {
            negated: true,
            entries: vec![PrincipalEntry::Account("111122223333".into())],
        };
        assert_eq!(
            principal_match(Some(&not_account), Effect::Deny, &alice),
            PrincipalMatch::No
        );
        // A resource-policy statement without a principal: a Deny binds everyone, an Allow no one.
        assert_eq!(
            principal_match(None, Effect::Deny, &alice),
            PrincipalMatch::Named
        );
        assert_eq!(
            principal_match(None, Effect::Allow, &alice),
            PrincipalMatch::No
        );
    }

    #[test]
    fn missing_keys_are_reported_once() {
        assert_eq!(
            dedup_keys(vec!["aws:SourceIp", "aws:PrincipalOrgID", "AWS:SOURCEIP"]),
            ["aws:PrincipalOrgID", "aws:SourceIp"]
        );
    }

    #[test]
    fn context_keys_are_case_insensitive() {
        let mut context = Context::new();
        context
            .set("AWS:PrincipalOrgID", "o-1")
            .set_all("aws:TagKeys", vec!["a".into(), "b".into()]);
        assert_eq!(
            context.get("aws:principalorgid"),
            Some(&["o-1".to_owned()][..])
        );
        assert_eq!(
            context.get_lowercase("aws:tagkeys").map(<[String]>::len),
            Some(2)
        );
        assert_eq!(
            context.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["aws:principalorgid", "aws:tagkeys"]
        );
    }
}
