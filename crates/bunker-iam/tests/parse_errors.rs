//! A malformed policy is refused with every broken rule, each named by its JSON path, so a
//! `put-backup-vault-access-policy` or `create-policy` caller can find and fix it.

use bunker_iam::{PolicyDocument, PolicyErrors};

fn refuse(text: &str) -> PolicyErrors {
    match PolicyDocument::parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(errors) => errors,
    }
}

/// (path, message) of every error.
fn pairs(errors: &PolicyErrors) -> Vec<(&str, &str)> {
    errors
        .0
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect()
}

#[test]
fn malformed_json() {
    let errors = refuse(r#"{"Version": "2012-10-17", "Statement": [ {"Effect": "Allow",, ]}"#);
    assert_eq!(errors.0.len(), 1);
    assert_eq!(errors.0[0].path, "$");
    assert!(
        errors.0[0].message.starts_with("malformed JSON"),
        "{errors}"
    );
    assert!(errors.0[0].message.contains("line 1"), "{errors}");
}

#[test]
fn not_an_object() {
    let errors = refuse(r#"["Statement"]"#);
    assert_eq!(
        pairs(&errors),
        [("$", "a policy document must be a JSON object")]
    );
}

#[test]
fn unknown_condition_operator() {
    let errors = refuse(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "backup:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "backup:*", "Resource": "*",
             "Condition": {"StringEqualz": {"aws:PrincipalOrgID": "o-1"}}}]}"#,
    );
    assert_eq!(
        pairs(&errors),
        [(
            "Statement[1].Condition.StringEqualz",
            "unknown condition operator"
        )]
    );
    assert_eq!(
        errors.to_string(),
        "`Statement[1].Condition.StringEqualz`: unknown condition operator"
    );
}

#[test]
fn null_takes_no_if_exists() {
    let errors = refuse(
        r#"{"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"NullIfExists": {"aws:TokenIssueTime": "true"}}}}"#,
    );
    assert_eq!(
        pairs(&errors),
        [(
            "Statement.Condition.NullIfExists",
            "unknown condition operator"
        )]
    );
}

#[test]
fn invalid_arn() {
    let errors = refuse(
        r#"{"Statement": [{"Effect": "Allow", "Action": "backup:*",
            "Resource": ["arn:aws:backup:eu-west-1:111122223333:backup-vault:ok", "backup-vault:central"]}]}"#,
    );
    assert_eq!(errors.0.len(), 1);
    assert_eq!(errors.0[0].path, "Statement[0].Resource[1]");
    assert!(
        errors.0[0]
            .message
            .starts_with("invalid ARN `backup-vault:central`"),
        "{errors}"
    );
}

#[test]
fn invalid_arn_in_not_resource_and_conditions() {
    let errors = refuse(
        r#"{"Statement": [{"Effect": "Deny", "Action": "backup:*", "NotResource": "vault",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": ["role/BackupAdmin"]}}}]}"#,
    );
    let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "Statement[0].NotResource",
            "Statement[0].Condition.ArnNotLike.aws:PrincipalArn[0]"
        ]
    );
    assert!(
        errors.0.iter().all(|e| e.message.contains("invalid ARN")),
        "{errors}"
    );
}

#[test]
fn missing_effect() {
    let errors = refuse(r#"{"Statement": [{"Action": "backup:*", "Resource": "*"}]}"#);
    assert_eq!(
        pairs(&errors),
        [("Statement[0].Effect", "required: \"Allow\" or \"Deny\"")]
    );
}

#[test]
fn wrong_effect() {
    let errors =
        refuse(r#"{"Statement": [{"Effect": "allow", "Action": "backup:*", "Resource": "*"}]}"#);
    assert_eq!(
        pairs(&errors),
        [("Statement[0].Effect", "must be \"Allow\" or \"Deny\"")]
    );
}

#[test]
fn both_action_and_not_action() {
    let errors = refuse(
        r#"{"Statement": [{"Effect": "Allow", "Action": "backup:*", "NotAction": "iam:*", "Resource": "*"}]}"#,
    );
    assert_eq!(
        pairs(&errors),
        [(
            "Statement[0]",
            "has both Action and NotAction: at most one is allowed"
        )]
    );
}

#[test]
fn neither_action_nor_not_action() {
    let errors = refuse(r#"{"Statement": [{"Effect": "Allow", "Resource": "*"}]}"#);
    assert_eq!(
        pairs(&errors),
        [("Statement[0]", "one of Action or NotAction is required")]
    );
}

#[test]
fn both_principal_and_not_principal() {
    let errors = refuse(
        r#"{"Statement": [{"Effect": "Deny", "Principal": "*", "NotPrincipal": {"AWS": "111122223333"},
            "Action": "backup:*", "Resource": "*"}]}"#,
    );
    assert_eq!(
        pairs(&errors),
        [(
            "Statement[0]",
            "has both Principal and NotPrincipal: at most one is allowed"
        )]
    );
}

#[test]
fn unknown_elements() {
    let errors = refuse(
        r#"{"Version": "2012-10-17", "Statment": [], "Statement": [
            {"Effect": "Allow", "Actions": "backup:*", "Action": "backup:*", "Resource": "*"}]}"#,
    );
    let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["Statment", "Statement[0].Actions"]);
}

#[test]
fn bad_version_and_types() {
    let errors = refuse(
        r#"{"Version": "2024-01-01", "Id": 7, "Statement": [
            {"Sid": ["x"], "Effect": "Allow", "Action": [], "Resource": 5},
            "not a statement"]}"#,
    );
    assert_eq!(
        pairs(&errors),
        [
            ("Version", "must be \"2012-10-17\" or \"2008-10-17\""),
            ("Id", "must be a string"),
            ("Statement[0].Sid", "must be a string"),
            ("Statement[0].Action", "must not be empty"),
            (
                "Statement[0].Resource",
                "must be a string or an array of strings"
            ),
            ("Statement[1]", "a statement must be a JSON object"),
        ]
    );
}

#[test]
fn bad_condition_values() {
    let errors = refuse(
        r#"{"Statement": [{"Effect": "Allow", "Action": "backup:*", "Resource": "*", "Condition": {
            "IpAddress": {"aws:SourceIp": "10.0.0.0/33"},
            "DateGreaterThan": {"aws:CurrentTime": "next tuesday"},
            "NumericLessThanEquals": {"aws:MultiFactorAuthAge": "an hour"},
            "Bool": {"aws:SecureTransport": "yes"},
            "StringEquals": {"aws:PrincipalTag/team": null},
            "ForAllValues:StringEquals": "aws:TagKeys"
        }}]}"#,
    );
    assert_eq!(
        pairs(&errors),
        [
            (
                "Statement[0].Condition.IpAddress.aws:SourceIp",
                "`10.0.0.0/33` is not an IP address or CIDR block"
            ),
            (
                "Statement[0].Condition.DateGreaterThan.aws:CurrentTime",
                "`next tuesday` is not a date: expected ISO 8601 or epoch seconds"
            ),
            (
                "Statement[0].Condition.NumericLessThanEquals.aws:MultiFactorAuthAge",
                "`an hour` is not a number"
            ),
            (
                "Statement[0].Condition.Bool.aws:SecureTransport",
                "`yes` is not a boolean: expected true or false"
            ),
            (
                "Statement[0].Condition.StringEquals.aws:PrincipalTag/team",
                "condition values must be strings, numbers or booleans"
            ),
            (
                "Statement[0].Condition.ForAllValues:StringEquals",
                "must be an object of condition keys to values"
            ),
        ]
    );
}

#[test]
fn bad_principals() {
    let errors = refuse(
        r#"{"Statement": [{"Effect": "Allow", "Action": "backup:*", "Resource": "*",
            "Principal": {"AWS": ["12345", "arn:aws:iam::111122223333:user/ok"], "Users": "x"}}]}"#,
    );
    let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "Statement[0].Principal.AWS[0]",
            "Statement[0].Principal.Users"
        ]
    );
}

#[test]
fn bad_actions() {
    let errors = refuse(
        r#"{"Statement": [{"Effect": "Allow", "Action": ["backup", "backup:", ":List", "backup:*"], "Resource": "*"}]}"#,
    );
    let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "Statement[0].Action[0]",
            "Statement[0].Action[1]",
            "Statement[0].Action[2]"
        ]
    );
}

#[test]
fn every_error_is_collected_across_statements() {
    let errors = refuse(
        r#"{"Statement": [
            {"Effect": "Allow", "Action": "backup:*", "Resource": "nope"},
            {"Effect": "Maybe", "Action": "backup:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "backup:*", "Resource": "*", "Condition": {"Bogus": {}}}]}"#,
    );
    let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "Statement[0].Resource",
            "Statement[1].Effect",
            "Statement[2].Condition.Bogus"
        ]
    );
    assert_eq!(errors.to_string().lines().count(), 3);
}

#[test]
fn valid_documents_keep_their_json() {
    let text = r#"{"Version": "2008-10-17", "Statement": [{"Sid": "1", "Effect": "Allow",
        "Principal": {"AWS": ["111122223333"], "Service": ["backup.amazonaws.com"]},
        "Action": ["backup:CopyIntoBackupVault"], "Resource": "*",
        "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-1/*"]},
                      "DateGreaterThanEquals": {"aws:EpochTime": 1700000000},
                      "Null": {"aws:ResourceTag/env": false}}}]}"#;
    let document = PolicyDocument::parse(text).unwrap();
    assert_eq!(
        document.to_json(),
        serde_json::from_str::<serde_json::Value>(text).unwrap()
    );
    // preserve_order keeps the keys in the order written.
    assert!(
        document
            .to_json()
            .to_string()
            .starts_with(r#"{"Version":"2008-10-17","Statement""#)
    );
}
