//! Properties of the evaluation that must hold for every policy set: a Deny statement can
//! only take access away, an Allow statement can never lift an explicit deny, and no input
//! makes parsing (or evaluating what parsed) panic.

use bunker_iam::{
    Context, Decision, EvalDecision, NamedPolicy, PolicyDocument, PolicySet, Principal, Request,
    evaluate,
};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

const ACCOUNT_A: &str = "111122223333";
const ACCOUNT_B: &str = "444455556666";

const ACTIONS: &[&str] = &[
    "*",
    "backup:*",
    "backup:Delete*",
    "backup:DeleteRecoveryPoint",
    "backup:List*",
    "backup:?etBackupVaultAccessPolicy",
    "kms:Decrypt",
    "BACKUP:copyintobackupvault",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:backup:eu-west-1:111122223333:backup-vault:central",
    "arn:aws:backup:*:111122223333:backup-vault:*",
    "arn:aws:backup:*:*:recovery-point:*",
    "arn:aws:kms:*:111122223333:key/*",
    "arn:aws:backup:*:*:backup-vault:${aws:username}",
];
const REQUEST_ACTIONS: &[&str] = &[
    "backup:DeleteRecoveryPoint",
    "backup:ListBackupVaults",
    "backup:GetBackupVaultAccessPolicy",
    "backup:CopyIntoBackupVault",
    "kms:Decrypt",
];
const REQUEST_RESOURCES: &[&str] = &[
    "arn:aws:backup:eu-west-1:111122223333:backup-vault:central",
    "arn:aws:backup:eu-west-1:111122223333:backup-vault:alice",
    "arn:aws:backup:eu-west-1:444455556666:recovery-point:rp-1",
    "arn:aws:kms:eu-west-1:111122223333:key/k-1",
    "*",
];

fn principal_element() -> impl Strategy<Value = Value> {
    select(vec![
        json!("*"),
        json!({"AWS": "*"}),
        json!({"AWS": ACCOUNT_A}),
        json!({"AWS": ACCOUNT_B}),
        json!({"AWS": "arn:aws:iam::111122223333:root"}),
        json!({"AWS": "arn:aws:iam::111122223333:user/alice"}),
        json!({"AWS": ["arn:aws:iam::111122223333:role/BackupAdmin", "arn:aws:iam::444455556666:user/carol"]}),
        json!({"Service": "backup.amazonaws.com"}),
    ])
}

fn condition_element() -> impl Strategy<Value = Value> {
    select(vec![
        json!({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
        json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
        json!({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BackupAdmin"}}),
        json!({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
        json!({"Bool": {"aws:MultiFactorAuthPresent": true}}),
        json!({"Null": {"aws:ResourceTag/env": "true"}}),
        json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}),
        json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/*"}}),
        json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
        json!({"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}),
        json!({"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}),
        json!({"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": 3600}}),
        json!({"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}),
    ])
}

/// A statement of the given effect built from the vocabularies above; `with_principal` for
/// resource policies.
fn statement(effect: &'static str, with_principal: bool) -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(select(ACTIONS), 1..3),
        any::<bool>(),
        prop::collection::vec(select(RESOURCES), 1..3),
        any::<bool>(),
        proptest::option::of(condition_element()),
        principal_element(),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            move |(
                actions,
                not_action,
                resources,
                not_resource,
                condition,
                principal,
                not_principal,
            )| {
                let mut s = serde_json::Map::new();
                s.insert("Effect".into(), json!(effect));
                s.insert(
                    if not_action { "NotAction" } else { "Action" }.into(),
                    json!(actions),
                );
                s.insert(
                    if not_resource {
                        "NotResource"
                    } else {
                        "Resource"
                    }
                    .into(),
                    json!(resources),
                );
                if let Some(condition) = condition {
                    s.insert("Condition".into(), condition);
                }
                if with_principal {
                    s.insert(
                        if not_principal {
                            "NotPrincipal"
                        } else {
                            "Principal"
                        }
                        .into(),
                        principal,
                    );
                }
                Value::Object(s)
            },
        )
}

fn any_statement(with_principal: bool) -> impl Strategy<Value = Value> {
    prop_oneof![3 => statement("Allow", with_principal), 1 => statement("Deny", with_principal)]
}

fn policy(with_principal: bool) -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(any_statement(with_principal), 1..4)
}

/// Policies as statement lists, so that a statement can be added before parsing.
#[derive(Debug, Clone)]
struct Set {
    identity: Vec<Vec<Value>>,
    scps: Vec<Vec<Vec<Value>>>,
    resource: Option<Vec<Value>>,
    kms: bool,
}

fn set() -> impl Strategy<Value = Set> {
    (
        prop::collection::vec(policy(false), 0..3),
        // SCP levels, each policy often led by FullAWSAccess as attached by default.
        prop::collection::vec(
            prop::collection::vec(
                (policy(false), prop::bool::weighted(0.6)).prop_map(
                    |(mut statements, full_access)| {
                        if full_access {
                            statements.insert(
                                0,
                                json!({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                            );
                        }
                        statements
                    },
                ),
                0..3,
            ),
            0..3,
        ),
        proptest::option::of(policy(true)),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(identity, scps, resource, kms)| Set {
            identity,
            scps,
            resource,
            kms,
        })
}

#[derive(Debug, Clone)]
struct Req {
    principal: Principal,
    action: &'static str,
    resource: &'static str,
    resource_account: &'static str,
    context: Context,
}

fn request() -> impl Strategy<Value = Req> {
    let principals = vec![
        Principal {
            arn: "arn:aws:iam::111122223333:user/alice".into(),
            account: ACCOUNT_A.into(),
            service: None,
        },
        Principal {
            arn: "arn:aws:sts::111122223333:assumed-role/BackupAdmin/s".into(),
            account: ACCOUNT_A.into(),
            service: None,
        },
        Principal {
            arn: "arn:aws:iam::444455556666:user/carol".into(),
            account: ACCOUNT_B.into(),
            service: None,
        },
        Principal {
            arn: "arn:aws:iam::111122223333:role/service-role/backup".into(),
            account: ACCOUNT_A.into(),
            service: Some("backup.amazonaws.com".into()),
        },
    ];
    let context_entries: Vec<(&'static str, Vec<&'static str>)> = vec![
        ("aws:PrincipalOrgID", vec!["o-a1b2c3d4e5"]),
        (
            "aws:PrincipalArn",
            vec!["arn:aws:iam::111122223333:role/BackupAdmin"],
        ),
        ("aws:MultiFactorAuthPresent", vec!["true"]),
        ("aws:MultiFactorAuthPresent", vec!["false"]),
        ("aws:ResourceTag/env", vec!["prod"]),
        ("aws:TagKeys", vec!["env", "cost"]),
        ("aws:TagKeys", vec![]),
        ("aws:PrincipalOrgPaths", vec!["o-a1b2c3d4e5/r-1/ou-1/"]),
        ("aws:SourceIp", vec!["203.0.113.7"]),
        ("aws:SourceIp", vec!["2001:db8::1"]),
        ("aws:CurrentTime", vec!["2026-11-26T01:00:00Z"]),
        ("aws:MultiFactorAuthAge", vec!["7200"]),
        ("aws:username", vec!["alice"]),
        ("aws:ResourceTag/owner", vec!["alice"]),
    ];
    (
        select(principals),
        select(REQUEST_ACTIONS),
        select(REQUEST_RESOURCES),
        select(vec![ACCOUNT_A, ACCOUNT_B]),
        prop::sample::subsequence(context_entries.clone(), 0..context_entries.len()),
    )
        .prop_map(|(principal, action, resource, resource_account, entries)| {
            let mut context = Context::new();
            for (key, values) in entries {
                context.set_all(key, values.into_iter().map(str::to_owned).collect());
            }
            Req {
                principal,
                action,
                resource,
                resource_account,
                context,
            }
        })
}

fn document(statements: &[Value]) -> PolicyDocument {
    let json = json!({"Version": "2012-10-17", "Statement": statements});
    PolicyDocument::from_json(json.clone())
        .unwrap_or_else(|e| panic!("generated policy does not parse: {e}\n{json}"))
}

fn decide(set: &Set, req: &Req) -> Decision {
    let identity: Vec<PolicyDocument> = set.identity.iter().map(|p| document(p)).collect();
    let scps: Vec<Vec<PolicyDocument>> = set
        .scps
        .iter()
        .map(|level| level.iter().map(|p| document(p)).collect())
        .collect();
    let resource = set.resource.as_ref().map(|p| document(p));
    let policies = PolicySet {
        identity: identity
            .iter()
            .map(|document| NamedPolicy {
                name: "identity",
                document,
            })
            .collect(),
        scp_levels: scps
            .iter()
            .map(|level| {
                level
                    .iter()
                    .map(|document| NamedPolicy {
                        name: "scp",
                        document,
                    })
                    .collect()
            })
            .collect(),
        resource: resource.as_ref().map(|document| NamedPolicy {
            name: "resource",
            document,
        }),
        resource_policy_required: set.kms,
    };
    let request = Request {
        principal: &req.principal,
        action: req.action,
        resource: req.resource,
        resource_account: req.resource_account,
        context: &req.context,
    };
    evaluate(&request, &policies)
}

/// Adds `extra` to the policy `target` picks (identity, an SCP, the resource policy, or a new
/// identity policy when the set has nowhere else to put it).
fn with_statement(set: &Set, target: usize, extra: Value) -> Set {
    let mut set = set.clone();
    let mut slots: Vec<&mut Vec<Value>> = Vec::new();
    slots.extend(set.identity.iter_mut());
    for level in &mut set.scps {
        slots.extend(level.iter_mut());
    }
    if let Some(resource) = &mut set.resource {
        slots.push(resource);
    }
    let count = slots.len();
    if count == 0 || target % (count + 1) == count {
        drop(slots);
        set.identity.push(vec![extra]);
    } else {
        slots[target % (count + 1)].push(extra);
    }
    set
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// A Deny statement only ever takes access away.
    #[test]
    fn adding_a_deny_never_allows(
        set in set(),
        req in request(),
        target in 0usize..16,
        deny in statement("Deny", true),
    ) {
        let before = decide(&set, &req);
        // Identity policies and SCPs must not carry a principal; strip it there.
        let after_set = with_statement(&set, target, deny.clone());
        let mut deny_without_principal = deny;
        deny_without_principal.as_object_mut().unwrap().retain(|k, _| k != "Principal" && k != "NotPrincipal");
        let plain_set = with_statement(&set, target, deny_without_principal);
        for after in [decide(&after_set, &req), decide(&plain_set, &req)] {
            if !before.allowed() {
                prop_assert!(!after.allowed(), "deny turned {:?} into Allowed: {}", before.eval_decision, after.reason);
            }
            if before.eval_decision == EvalDecision::ExplicitDeny {
                prop_assert_eq!(after.eval_decision, EvalDecision::ExplicitDeny);
            }
        }
    }

    /// An Allow statement never lifts an explicit deny.
    #[test]
    fn adding_an_allow_never_lifts_an_explicit_deny(
        set in set(),
        req in request(),
        target in 0usize..16,
        allow in statement("Allow", true),
    ) {
        let before = decide(&set, &req);
        let after = decide(&with_statement(&set, target, allow), &req);
        if before.eval_decision == EvalDecision::ExplicitDeny {
            prop_assert_eq!(after.eval_decision, EvalDecision::ExplicitDeny);
            prop_assert_eq!(after.matched_statements, before.matched_statements);
        }
    }

    /// Decisions are consistent with their own report.
    #[test]
    fn decisions_explain_themselves(set in set(), req in request()) {
        let decision = decide(&set, &req);
        prop_assert!(!decision.reason.is_empty());
        match decision.eval_decision {
            EvalDecision::Allowed => prop_assert!(decision.matched_statements.iter().all(|m| m.effect == bunker_iam::Effect::Allow)
                && !decision.matched_statements.is_empty()),
            EvalDecision::ExplicitDeny => prop_assert!(decision.matched_statements.iter().all(|m| m.effect == bunker_iam::Effect::Deny)
                && !decision.matched_statements.is_empty()),
            EvalDecision::ImplicitDeny => prop_assert!(decision.matched_statements.is_empty()),
        }
    }

    /// No text makes the parser panic.
    #[test]
    fn parsing_arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = PolicyDocument::parse(&text);
    }

    /// No JSON value makes the parser panic, and whatever parses can be evaluated.
    #[test]
    fn parsing_arbitrary_json_never_panics(json in arbitrary_json(), req in request()) {
        let text = json.to_string();
        let parsed = PolicyDocument::parse(&text);
        prop_assert_eq!(parsed.is_ok(), PolicyDocument::from_json(json).is_ok());
        if let Ok(document) = parsed {
            let named = NamedPolicy { name: "p", document: &document };
            for policies in [
                PolicySet { identity: vec![named], ..PolicySet::default() },
                PolicySet { scp_levels: vec![vec![named]], ..PolicySet::default() },
                PolicySet { resource: Some(named), resource_policy_required: true, ..PolicySet::default() },
            ] {
                let request = Request {
                    principal: &req.principal,
                    action: req.action,
                    resource: req.resource,
                    resource_account: req.resource_account,
                    context: &req.context,
                };
                let _ = evaluate(&request, &policies);
            }
        } else {
            let errors = parsed.unwrap_err();
            prop_assert!(!errors.0.is_empty());
            prop_assert_eq!(errors.to_string().lines().count(), errors.0.len());
        }
    }
}

/// JSON shaped like policies often enough to reach deep into the parser: keys and strings
/// come mostly from the policy vocabulary.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let words = select(vec![
        "*",
        "Allow",
        "Deny",
        "2012-10-17",
        "2008-10-17",
        "backup:*",
        "backup:Delete?",
        "bad action",
        "arn:aws:iam::111122223333:root",
        "arn:aws:backup:*:*:backup-vault:*",
        "arn:bad",
        "111122223333",
        "10.0.0.0/8",
        "::1",
        "10.0.0.0/40",
        "2026-01-01T00:00:00Z",
        "1700000000",
        "yesterday",
        "true",
        "false",
        "3.5",
        "${aws:username}",
        "${aws:username, 'x'}",
        "${",
        "${*}",
        "é?*",
    ]);
    let keys = select(vec![
        "Version",
        "Id",
        "Statement",
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "AWS",
        "Service",
        "Federated",
        "StringEquals",
        "StringLike",
        "ForAllValues:StringLike",
        "ForAnyValue:StringEquals",
        "NullIfExists",
        "Null",
        "IpAddress",
        "DateLessThan",
        "NumericLessThanIfExists",
        "BoolIfExists",
        "ArnLike",
        "BinaryEquals",
        "aws:SourceIp",
        "aws:CurrentTime",
        "aws:TagKeys",
        "",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        words.prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![4 => keys.clone().prop_map(String::from), 1 => ".{0,8}"],
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// The generators reach all three outcomes often enough for the properties to mean something.
#[test]
fn generated_sets_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (sets, requests) = (set(), request());
    let mut counts = [0usize; 3];
    for _ in 0..600 {
        let s = sets.new_tree(&mut runner).unwrap().current();
        let r = requests.new_tree(&mut runner).unwrap().current();
        counts[match decide(&s, &r).eval_decision {
            EvalDecision::Allowed => 0,
            EvalDecision::ExplicitDeny => 1,
            EvalDecision::ImplicitDeny => 2,
        }] += 1;
    }
    eprintln!("allowed / explicit / implicit: {counts:?}");
    assert!(
        counts.iter().all(|&n| n >= 20),
        "allowed / explicit / implicit: {counts:?}"
    );
}
