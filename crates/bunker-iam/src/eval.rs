//! AWS's evaluation logic over identity policies, SCPs and a resource policy.
//!
//! INTERFACE (fixed; other crates code against it):

use std::collections::BTreeMap;

use serde::Serialize;

use crate::document::PolicyDocument;

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
        self.values.insert(key.to_ascii_lowercase(), vec![value.into()]);
        self
    }

    /// Sets a multi-valued key (`aws:PrincipalOrgPaths`, `aws:TagKeys`).
    pub fn set_all(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        self.values.insert(key.to_ascii_lowercase(), values);
        self
    }

    /// The values of a key; `None` when absent.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
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
pub fn evaluate(request: &Request<'_>, policies: &PolicySet<'_>) -> Decision {
    let _ = (request, policies);
    unimplemented!("evaluation")
}
