//! The AWS-documented inheritance examples in `testdata/policy-vectors`, run through the
//! library directly (the CLI runs them too, in `bunker-cli/tests/policy_vectors.rs`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use bunker_policy::{Attachment, Inheritance, PolicyDocument, Rule, Source};
use serde_json::Value;

fn vectors() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/policy-vectors");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .expect("vector directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 16, "expected the 16 documented vectors");
    out
}

/// The rule a vector's `expected_error` description names.
fn expected_rule(description: &str) -> Rule {
    if description.contains("+ 90") {
        Rule::ColdStorageMinimum
    } else if description.contains("enable_continuous_backup") {
        Rule::ContinuousBackupLimit
    } else if description.contains("cron") {
        Rule::InvalidSchedule
    } else {
        panic!("no rule mapped for expected_error {description:?}")
    }
}

/// The path from the root to `account`: the list of target names (`root`, `ou:X`, …, `account:N`).
fn path_to(tree: &Value, account: &str) -> Vec<String> {
    fn walk(node: &Value, account: &str, trail: &mut Vec<String>) -> bool {
        if node["accounts"].as_array().into_iter().flatten().any(|a| a == account) {
            trail.push(format!("account:{account}"));
            return true;
        }
        for (name, ou) in node["ous"].as_object().into_iter().flatten() {
            trail.push(format!("ou:{name}"));
            if walk(ou, account, trail) {
                return true;
            }
            trail.pop();
        }
        false
    }
    let mut trail = vec!["root".to_owned()];
    assert!(walk(&tree["root"], account, &mut trail), "account {account} not in tree");
    trail
}

#[test]
fn every_vector_gives_the_documented_result() {
    for (file, v) in vectors() {
        let mut docs: BTreeMap<String, Vec<(usize, PolicyDocument)>> = BTreeMap::new();
        let mut parse_error = None;
        for (i, a) in v["attachments"].as_array().unwrap().iter().enumerate() {
            match PolicyDocument::parse(&a["policy"].to_string()) {
                Ok(doc) => docs.entry(a["target"].as_str().unwrap().to_owned()).or_default().push((i, doc)),
                Err(e) => parse_error = Some(e),
            }
        }
        if let Some(expected) = v.get("expected_error").and_then(Value::as_str) {
            let errors = parse_error.unwrap_or_else(|| panic!("{file}: the document must be rejected"));
            let rule = expected_rule(expected);
            let hit = errors.errors().iter().find(|e| e.rule == rule).unwrap_or_else(|| panic!("{file}: expected rule {rule}, got {errors}"));
            if let Some(path) = v.get("error_path").and_then(Value::as_str) {
                assert_eq!(hit.path.to_string(), path, "{file}");
            }
            continue;
        }
        assert!(parse_error.is_none(), "{file}: {parse_error:?}");
        let mut inh = Inheritance::new();
        for target in path_to(&v["tree"], v["account"].as_str().unwrap()) {
            let level: Vec<Attachment<'_>> = docs
                .get(&target)
                .into_iter()
                .flatten()
                .map(|(i, d)| Attachment { source: Source::new(&format!("p-{i:08}"), &format!("policy{i}"), &target), document: d })
                .collect();
            inh.apply_level(&level);
        }
        let effective = inh.finish().to_json();
        assert_eq!(effective, v["expected_effective"], "{file}:\n got {}\nwant {}", effective, v["expected_effective"]);
    }
}
