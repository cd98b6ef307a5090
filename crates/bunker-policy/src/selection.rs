//! Which resources a `BackupSelection` assigns to its plan.
//!
//! AWS documents the parts separately; Bunker combines them as follows (the AWS console and
//! `assigning-resources` examples behave the same way):
//!
//! 1. Candidates: resources matching any `Resources` pattern **or** any `ListOfTags`
//!    entry; with neither given, every resource of the account and Region.
//! 2. Every `Conditions` entry must hold (AND): `StringEquals`, `StringNotEquals`,
//!    `StringLike`, `StringNotLike` on `aws:ResourceTag/<key>`. A missing tag fails
//!    `StringEquals`/`StringLike` and satisfies `StringNotEquals`/`StringNotLike`.
//! 3. Resources matching any `NotResources` pattern are removed.
//!
//! Patterns use `*` (any run of characters, `:` and `/` included) and `?` (one character),
//! as AWS ARN patterns and `StringLike` do. Tag values and keys compare case-sensitively.

use std::collections::BTreeMap;

use crate::plan::BackupSelection;

/// Whether `selection` assigns the resource with this ARN and these tags.
pub fn matches(selection: &BackupSelection, arn: &str, tags: &BTreeMap<String, String>) -> bool {
    let by_resources = selection.resources.iter().any(|p| like(p, arn));
    let by_tags = selection.list_of_tags.iter().any(|t| {
        let key = t.condition_key.strip_prefix("aws:ResourceTag/").unwrap_or(&t.condition_key);
        tags.get(key).is_some_and(|v| *v == t.condition_value)
    });
    let unrestricted = selection.resources.is_empty() && selection.list_of_tags.is_empty();
    if !(unrestricted || by_resources || by_tags) {
        return false;
    }
    let tag = |key: &str| key.strip_prefix("aws:ResourceTag/").and_then(|k| tags.get(k));
    let c = &selection.conditions;
    let all = c.string_equals.iter().all(|p| tag(&p.condition_key).is_some_and(|v| *v == p.condition_value))
        && c.string_not_equals.iter().all(|p| tag(&p.condition_key).is_none_or(|v| *v != p.condition_value))
        && c.string_like.iter().all(|p| tag(&p.condition_key).is_some_and(|v| like(&p.condition_value, v)))
        && c.string_not_like.iter().all(|p| tag(&p.condition_key).is_none_or(|v| !like(&p.condition_value, v)));
    all && !selection.not_resources.iter().any(|p| like(p, arn))
}

/// `*` / `?` wildcard match of the whole text (iterative, linear in practice). ASCII
/// (ARNs, most tags) is matched on bytes without allocating; otherwise `?` is one character.
pub fn like(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        return wildcard(pattern.as_bytes(), text.as_bytes(), b'?', b'*');
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    wildcard(&p, &t, '?', '*')
}

fn wildcard<T: PartialEq + Copy>(p: &[T], t: &[T], one: T, any: T) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == one || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == any {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan_input::parse_backup_selection;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn sel(body: &str) -> BackupSelection {
        parse_backup_selection(&format!(r#"{{"SelectionName":"s","IamRoleArn":"arn:aws:iam::1:role/r"{body}}}"#)).unwrap()
    }

    const DB: &str = "arn:aws:bunker:eu-west-1:111122223333:sqlite/orders";
    const DIR: &str = "arn:aws:bunker:eu-west-1:111122223333:directory/home";

    #[test]
    fn wildcards() {
        assert!(like("*", ""));
        assert!(like("arn:aws:bunker:*:*:sqlite/*", DB));
        assert!(!like("arn:aws:bunker:*:*:sqlite/*", DIR));
        assert!(like("d?ily", "daily"));
        assert!(like("*ly", "daily") && !like("*ly", "dailyx"));
        assert!(like("a*b*c", "aXXbYYc") && !like("a*b*c", "aXXbYY"));
    }

    #[test]
    fn tags_are_or_conditions_are_and_not_resources_win() {
        let s = sel(r#","ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"backup","ConditionValue":"daily"},
                                       {"ConditionType":"STRINGEQUALS","ConditionKey":"aws:ResourceTag/tier","ConditionValue":"gold"}]"#);
        assert!(matches(&s, DB, &tags(&[("backup", "daily")])));
        assert!(matches(&s, DB, &tags(&[("tier", "gold")])));
        assert!(!matches(&s, DB, &tags(&[("backup", "weekly")])));
        assert!(!matches(&s, DB, &tags(&[])));

        let s = sel(r#","Resources":["arn:aws:bunker:*:*:sqlite/*"],
                       "Conditions":{"StringEquals":[{"ConditionKey":"aws:ResourceTag/backup","ConditionValue":"daily"}],
                                     "StringNotLike":[{"ConditionKey":"aws:ResourceTag/env","ConditionValue":"test*"}]}"#);
        assert!(matches(&s, DB, &tags(&[("backup", "daily")])));
        assert!(matches(&s, DB, &tags(&[("backup", "daily"), ("env", "prod")])));
        assert!(!matches(&s, DB, &tags(&[("backup", "daily"), ("env", "testing")])));
        assert!(!matches(&s, DIR, &tags(&[("backup", "daily")])), "Resources restricts");

        let s = sel(r#","Resources":["*"],"NotResources":["*:directory/*"]"#);
        assert!(matches(&s, DB, &tags(&[])) && !matches(&s, DIR, &tags(&[])));
        let everything = sel("");
        assert!(matches(&everything, DIR, &tags(&[])));
    }
}
