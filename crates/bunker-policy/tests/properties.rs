//! Property tests of the policy language.

use std::collections::BTreeMap;

use bunker_policy::{Attachment, Inheritance, PolicyDocument, Source};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const REGIONS: &[&str] = &["us-east-1", "us-west-2", "eu-north-1", "eu-central-1", "ap-northeast-3", "sa-east-1"];
const SCHEDULES: &[&str] = &["cron(0 5 ? * * *)", "cron(0 0/1 ? * * *)", "cron(30 2 ? * MON-FRI *)", "cron(0 5 1 * ? *)", "rate(12 hours)"];

fn assign(v: Value) -> Value {
    json!({ "@@assign": v })
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_.-]{0,12}"
}

fn regions() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(REGIONS, 1..=REGIONS.len()).prop_map(|r| r.into_iter().map(str::to_owned).collect())
}

/// A number the way AWS examples write it (a string) or as JSON wants it.
fn number(n: i64, as_string: bool) -> Value {
    if as_string { Value::String(n.to_string()) } else { json!(n) }
}

/// A rule using only `@@assign`, and the same rule as the effective policy shows it.
fn rule() -> impl Strategy<Value = (Value, Value)> {
    (
        proptest::sample::select(SCHEDULES),
        "[A-Za-z0-9_-]{2,20}",
        60i64..5000,
        proptest::option::of((1i64..400, 0i64..400, any::<bool>())),
        any::<bool>(),
    )
        .prop_map(|(schedule, vault, start, lifecycle, strings)| {
            let mut doc = Map::new();
            let mut eff = Map::new();
            let mut set = |k: &str, v: Value| {
                doc.insert(k.into(), assign(v.clone()));
                eff.insert(k.into(), v);
            };
            set("schedule_expression", json!(schedule));
            set("target_backup_vault_name", json!(vault));
            set("start_backup_window_minutes", number(start, strings));
            set("complete_backup_window_minutes", number(start + 60, strings));
            if let Some((cold, extra, with_cold)) = lifecycle {
                let delete = if with_cold { cold + 90 + extra } else { cold };
                let mut lc_doc = Map::new();
                let mut lc_eff = Map::new();
                if with_cold {
                    lc_doc.insert("move_to_cold_storage_after_days".into(), assign(number(cold, strings)));
                    lc_eff.insert("move_to_cold_storage_after_days".into(), number(cold, strings));
                }
                lc_doc.insert("delete_after_days".into(), assign(number(delete, strings)));
                lc_eff.insert("delete_after_days".into(), number(delete, strings));
                doc.insert("lifecycle".into(), Value::Object(lc_doc));
                eff.insert("lifecycle".into(), Value::Object(lc_eff));
            }
            (Value::Object(doc), Value::Object(eff))
        })
}

/// Named entries whose names differ even ignoring case.
fn named<T: std::fmt::Debug + Clone>(inner: impl Strategy<Value = T>, n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<(String, T)>> {
    proptest::collection::btree_map(name().prop_map(|n| n.to_lowercase()), inner, n).prop_flat_map(|m| {
        // Random case in the written name; the effective policy lower-cases it.
        let entries: Vec<_> = m.into_iter().collect();
        let len = entries.len();
        proptest::collection::vec(any::<bool>(), len).prop_map(move |upper| {
            entries.iter().zip(upper).map(|((k, v), up)| (if up { k.to_uppercase() } else { k.clone() }, v.clone())).collect()
        })
    })
}

/// A complete policy with only `@@assign` (lists and scalars), and its expected effective form.
fn assign_only_policy() -> impl Strategy<Value = (Value, Value)> {
    let plan = (regions(), named(rule(), 1..=3), "[a-zA-Z]{1,10}", proptest::collection::vec("[A-Z]{1,6}", 1..4));
    named(plan, 1..=3).prop_map(|plans| {
        let mut doc = Map::new();
        let mut eff = Map::new();
        for (plan_name, (regions, rules, tag_key, tag_values)) in plans {
            let (rules_doc, rules_eff): (Map<_, _>, Map<_, _>) =
                (rules.iter().map(|(n, (d, _))| (n.clone(), d.clone())).collect(), rules.iter().map(|(n, (_, e))| (n.to_lowercase(), e.clone())).collect());
            let role = "arn:aws:iam::$account:role/Backup";
            doc.insert(plan_name.clone(), json!({
                "regions": assign(json!(regions)),
                "rules": rules_doc,
                "selections": {"tags": {"Sel": {"iam_role_arn": assign(json!(role)), "tag_key": assign(json!(tag_key)), "tag_value": assign(json!(tag_values))}}}
            }));
            eff.insert(plan_name.to_lowercase(), json!({
                "regions": regions,
                "rules": rules_eff,
                "selections": {"tags": {"sel": {"iam_role_arn": role, "tag_key": tag_key, "tag_value": tag_values}}}
            }));
        }
        (json!({ "plans": doc }), json!({ "plans": eff }))
    })
}

fn effective(levels: &[Vec<&PolicyDocument>]) -> Value {
    let mut inh = Inheritance::new();
    for (i, level) in levels.iter().enumerate() {
        let atts: Vec<_> = level
            .iter()
            .enumerate()
            .map(|(j, d)| Attachment { source: Source::new(&format!("p-{i}{j:07}"), "p", &format!("t{i}")), document: d })
            .collect();
        inh.apply_level(&atts);
    }
    inh.finish().to_json()
}

fn parse(v: &Value) -> PolicyDocument {
    PolicyDocument::parse(&v.to_string()).unwrap_or_else(|e| panic!("{e}\n{v:#}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A policy with only @@assign, attached at an account (below empty root and OU
    /// levels), comes back as the effective policy.
    #[test]
    fn assign_only_policy_is_its_own_effective_policy((doc, expected) in assign_only_policy()) {
        let d = parse(&doc);
        prop_assert_eq!(effective(&[vec![], vec![], vec![&d]]), expected);
        prop_assert!(Inheritance::new().finish().is_empty());
    }

    /// Whatever a lower policy does, it cannot use an operator that a policy above
    /// forbade on that node, even when a level in between declares @@all.
    #[test]
    fn a_child_cannot_loosen_child_control(
        base in regions(),
        allowed in proptest::sample::subsequence(&["@@assign", "@@append", "@@remove"][..], 0..=3),
        vault_locked in any::<bool>(),
        child_ops in proptest::collection::vec((0usize..3, regions()), 0..4),
        child_vault in proptest::option::of("[A-Za-z]{2,10}"),
        child_plan in any::<bool>(),
        middle_widens in any::<bool>(),
    ) {
        let allowed_ops: Vec<&str> = if allowed.is_empty() { vec!["@@none"] } else { allowed.clone() };
        let root = parse(&json!({"plans": {
            "@@operators_allowed_for_child_policies": ["@@none"],
            "Main": {
            "regions": {"@@operators_allowed_for_child_policies": allowed_ops, "@@assign": base},
            "rules": {"R": {"target_backup_vault_name": {
                "@@operators_allowed_for_child_policies": [if vault_locked { "@@none" } else { "@@all" }],
                "@@assign": "Central"}}}}}}));
        let middle = parse(&json!({"plans": {
            "@@operators_allowed_for_child_policies": ["@@all"],
            "Main": {"regions": {"@@operators_allowed_for_child_policies": [if middle_widens { "@@all" } else { "@@append" }]}}}}));
        let mut regions_node = Map::new();
        for (op, values) in &child_ops {
            regions_node.insert(["@@assign", "@@append", "@@remove"][*op].into(), json!(values));
        }
        let mut child_plan_body = json!({"regions": Value::Object(regions_node)});
        if let Some(v) = &child_vault {
            child_plan_body["rules"] = json!({"R": {"target_backup_vault_name": {"@@assign": v}}});
        }
        let mut child_plans = json!({"MAIN": child_plan_body});
        if child_plan {
            child_plans["Extra"] = json!({"regions": {"@@assign": ["us-east-1"]}});
        }
        let child = parse(&json!({"plans": child_plans}));
        let eff = effective(&[vec![&root], vec![&middle], vec![&child]]);
        let before = effective(&[vec![&root], vec![&middle]]);

        // `plans` is @@none: no plan can be added.
        prop_assert!(eff["plans"].get("extra").is_none());
        // The vault: locked means unchanged.
        if vault_locked {
            prop_assert_eq!(&eff["plans"]["main"]["rules"]["r"]["target_backup_vault_name"], "Central");
        }
        let got: Vec<Value> = eff["plans"]["main"]["regions"].as_array().cloned().unwrap_or_default();
        let had: Vec<Value> = before["plans"]["main"]["regions"].as_array().cloned().unwrap_or_default();
        let can = |op: &str| allowed.contains(&op);
        if !can("@@assign") && !can("@@remove") {
            // Nothing inherited can disappear.
            prop_assert!(had.iter().all(|v| got.contains(v)), "lost values: had {:?} got {:?}", had, got);
        }
        if !can("@@assign") && !can("@@append") {
            // Nothing new can appear.
            prop_assert!(got.iter().all(|v| had.contains(v)), "new values: had {:?} got {:?}", had, got);
        }
        if allowed.is_empty() {
            prop_assert_eq!(got, had);
        }
    }

    /// Parsing never panics, whatever the JSON.
    #[test]
    fn validation_never_panics_on_arbitrary_json(v in arbitrary_json()) {
        let _ = PolicyDocument::parse(&v.to_string());
        let _ = PolicyDocument::parse(&json!({"plans": v}).to_string());
    }

    /// Nor on arbitrary text.
    #[test]
    fn validation_never_panics_on_arbitrary_text(s in ".{0,300}") {
        let _ = PolicyDocument::parse(&s);
    }

    /// Whatever valid documents are stacked, inheritance, rendering, plans and
    /// explanations never panic.
    #[test]
    fn merging_valid_documents_never_panics(docs in proptest::collection::vec(arbitrary_json(), 1..5)) {
        let parsed: Vec<PolicyDocument> = docs.iter().filter_map(|d| PolicyDocument::parse(&json!({"plans": d}).to_string()).ok()).collect();
        let levels: Vec<Vec<&PolicyDocument>> = parsed.iter().map(|d| vec![d]).collect();
        let mut inh = Inheritance::new();
        for (i, level) in levels.iter().enumerate() {
            let atts: Vec<_> = level.iter().map(|d| Attachment { source: Source::new("p-00000000", "p", &format!("t{i}")), document: d }).collect();
            inh.apply_level(&atts);
        }
        let eff = inh.finish();
        let _ = (eff.to_json(), eff.explain(), eff.problems(), eff.backup_plans("111111111111"));
    }
}

/// JSON built from the policy vocabulary, so generated documents reach deep into the
/// syntax instead of failing at the first key.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    const KEYS: &[&str] = &[
        "Plan", "plan", "regions", "rules", "Rule", "selections", "tags", "resources", "schedule_expression", "schedule_expression_timezone",
        "target_backup_vault_name", "start_backup_window_minutes", "complete_backup_window_minutes", "enable_continuous_backup", "lifecycle",
        "move_to_cold_storage_after_days", "delete_after_days", "copy_actions", "arn:aws:backup:us-east-1:$account:backup-vault:V",
        "target_backup_vault_arn", "recovery_point_tags", "tag_key", "tag_value", "iam_role_arn", "conditions", "string_like",
        "advanced_backup_settings", "ec2", "windows_vss", "@@assign", "@@append", "@@remove", "@@operators_allowed_for_child_policies", "@@all", "x",
    ];
    const STRINGS: &[&str] = &[
        "us-east-1", "cron(0 5 ? * * *)", "cron(0 5 * * * *)", "cron(0 0 L * ? *)", "rate(1 hour)", "60", "180", "-1", "99999999999999999999",
        "Europe/Berlin", "arn:aws:iam::$account:role/R", "@@none", "@@append", "enabled", "true", "", "$account",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        proptest::sample::select(STRINGS).prop_map(|s| json!(s)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(proptest::sample::select(KEYS).prop_map(str::to_owned), inner, 0..5)
                .prop_map(|m: BTreeMap<String, Value>| Value::Object(m.into_iter().collect())),
        ]
    })
}
