//! Policy documents: parsing and validation.
//!
//! INTERFACE (fixed; other crates code against it):
//! - `PolicyDocument::parse(text: &str) -> Result<PolicyDocument, PolicyErrors>`
//! - `PolicyErrors` displays one line per error: "`Statement[1].Condition.StringEqualsX`: unknown condition operator"
//! - `PolicyError { path: String, message: String }`
//! - `Effect { Allow, Deny }` (Serialize as "Allow"/"Deny")
//! - `PolicyDocument` keeps the original JSON (`to_json()`), `statements()`.
//!
//! Paths: `$` is the document itself, `Statement` a single statement object, `Statement[1]`
//! the second of an array, then `.Element`, `[i]` for array members and `.Key` for object
//! members (`Statement[1].Condition.StringEquals.aws:PrincipalOrgID[0]`).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::condition::{self, Condition};
use crate::variables::Template;

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses, whatever grants.
    Deny,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// `Statement[1].Condition.StringEqualsX`.
    pub path: String,
    /// The rule broken.
    pub message: String,
}

impl PolicyError {
    pub(crate) fn new(path: &str, message: &str) -> Self {
        Self {
            path: path.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// Every broken rule of a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.0.iter().map(|e| format!("`{}`: {}", e.path, e.message)).collect::<Vec<_>>().join("\n"))]
pub struct PolicyErrors(pub Vec<PolicyError>);

/// The policy versions AWS accepts; only the first has policy variables.
const VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];

/// A `Principal`/`NotPrincipal` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalEntry {
    /// `"*"` or `{"AWS": "*"}`: everyone.
    Everyone,
    /// A 12-digit account id, or `arn:…:iam::ACCOUNT:root`: every principal of the account.
    Account(String),
    /// An ARN naming one principal (a user, a role, an assumed-role session).
    Arn(String),
    /// `{"Service": "backup.amazonaws.com"}`.
    Service(String),
    /// `Federated` and `CanonicalUser` principals, kept but matching no Bunker principal.
    Other,
}

/// A `Principal` (`negated` false) or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrincipalElement {
    pub(crate) negated: bool,
    pub(crate) entries: Vec<PrincipalEntry>,
}

/// An `Action`/`NotAction` or `Resource`/`NotResource` element: patterns, maybe inverted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternElement<T> {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<T>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub(crate) index: usize,
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) principal: Option<PrincipalElement>,
    pub(crate) action: PatternElement<String>,
    /// `None`: neither `Resource` nor `NotResource` (trust policies): every resource.
    pub(crate) resource: Option<PatternElement<Template>>,
    pub(crate) conditions: Vec<Condition>,
}

impl Statement {
    /// Its position in `Statement` (0 for a single statement object).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The `Sid`, if any.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// `Allow` or `Deny`.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// True when the statement has a `Principal` or `NotPrincipal` element (resource
    /// policies need one; identity policies must not have one).
    pub fn has_principal(&self) -> bool {
        self.principal.is_some()
    }

    /// The condition keys the statement tests, as written.
    pub fn condition_keys(&self) -> impl Iterator<Item = &str> {
        self.conditions.iter().map(Condition::key)
    }
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    json: Value,
    version: Option<String>,
    id: Option<String>,
    statements: Vec<Statement>,
}

impl PolicyDocument {
    /// Parses and validates. The document is not told what kind of policy it is: `Principal`
    /// is accepted everywhere (evaluation ignores it in identity policies and SCPs), and a
    /// statement without `Resource`/`NotResource` (a trust policy's shape) covers every resource.
    ///
    /// # Errors
    /// Every broken rule, with its JSON path.
    pub fn parse(text: &str) -> Result<Self, PolicyErrors> {
        // Counted before decoding: an oversized document costs nothing but this count.
        let max = crate::quotas::POLICY_DOCUMENT_MAX_CHARS;
        if text.len() > max && text.chars().count() > max {
            return Err(PolicyErrors(vec![PolicyError::new(
                "$",
                &format!("the document is {} characters long; IAM accepts at most {max}", text.chars().count()),
            )]));
        }
        let json: Value = serde_json::from_str(text).map_err(|e| {
            PolicyErrors(vec![PolicyError::new("$", &format!("malformed JSON: {e}"))])
        })?;
        Self::from_json(json)
    }

    /// Validates an already decoded document.
    ///
    /// # Errors
    /// Every broken rule, with its JSON path.
    pub fn from_json(json: Value) -> Result<Self, PolicyErrors> {
        let mut errors = Vec::new();
        let (version, id, statements) = match json.as_object() {
            Some(top) => parse_top(top, &mut errors),
            None => {
                errors.push(PolicyError::new(
                    "$",
                    "a policy document must be a JSON object",
                ));
                (None, None, Vec::new())
            }
        };
        if errors.is_empty() {
            Ok(Self {
                json,
                version,
                id,
                statements,
            })
        } else {
            Err(PolicyErrors(errors))
        }
    }

    /// The document as written.
    pub fn to_json(&self) -> Value {
        self.json.clone()
    }

    /// The document as written, borrowed.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// `Version`, if given.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// `Id`, if given.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The statements in order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

type Top = (Option<String>, Option<String>, Vec<Statement>);

fn parse_top(top: &Map<String, Value>, errors: &mut Vec<PolicyError>) -> Top {
    for key in top.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            errors.push(PolicyError::new(
                key,
                "unknown element: expected Version, Id or Statement",
            ));
        }
    }
    let version = match top.get("Version") {
        None => None,
        Some(Value::String(v)) if VERSIONS.contains(&v.as_str()) => Some(v.clone()),
        Some(_) => {
            errors.push(PolicyError::new(
                "Version",
                "must be \"2012-10-17\" or \"2008-10-17\"",
            ));
            None
        }
    };
    let id = match top.get("Id") {
        None => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => {
            errors.push(PolicyError::new("Id", "must be a string"));
            None
        }
    };
    let variables = version.as_deref() == Some(VERSIONS[0]);
    let mut statements = Vec::new();
    match top.get("Statement") {
        None => errors.push(PolicyError::new("Statement", "required")),
        Some(Value::Array(items)) => {
            if items.is_empty() {
                errors.push(PolicyError::new(
                    "Statement",
                    "must hold at least one statement",
                ));
            }
            for (i, item) in items.iter().enumerate() {
                if let Some(s) =
                    parse_statement(item, i, &format!("Statement[{i}]"), variables, errors)
                {
                    statements.push(s);
                }
            }
        }
        Some(item @ Value::Object(_)) => {
            if let Some(s) = parse_statement(item, 0, "Statement", variables, errors) {
                statements.push(s);
            }
        }
        Some(_) => errors.push(PolicyError::new(
            "Statement",
            "must be a statement object or an array of them",
        )),
    }
    let mut seen = std::collections::HashSet::new();
    for s in &statements {
        match &s.sid {
            Some(sid) if !sid.is_empty() && !seen.insert(sid.as_str()) => {
                errors.push(PolicyError::new(
                    &format!("Statement[{}].Sid", s.index),
                    &format!("duplicate Sid `{sid}`"),
                ))
            }
            _ => {}
        }
    }
    (version, id, statements)
}

const STATEMENT_KEYS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn parse_statement(
    value: &Value,
    index: usize,
    path: &str,
    variables: bool,
    errors: &mut Vec<PolicyError>,
) -> Option<Statement> {
    let Some(obj) = value.as_object() else {
        errors.push(PolicyError::new(path, "a statement must be a JSON object"));
        return None;
    };
    let before = errors.len();
    for key in obj.keys() {
        if !STATEMENT_KEYS.contains(&key.as_str()) {
            errors.push(PolicyError::new(
                &format!("{path}.{key}"),
                "unknown element: expected Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource or Condition",
            ));
        }
    }
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(_) => {
            errors.push(PolicyError::new(&format!("{path}.Sid"), "must be a string"));
            None
        }
    };
    let effect = match obj.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Some(Effect::Allow),
        Some(Value::String(e)) if e == "Deny" => Some(Effect::Deny),
        Some(_) => {
            errors.push(PolicyError::new(
                &format!("{path}.Effect"),
                "must be \"Allow\" or \"Deny\"",
            ));
            None
        }
        None => {
            errors.push(PolicyError::new(
                &format!("{path}.Effect"),
                "required: \"Allow\" or \"Deny\"",
            ));
            None
        }
    };

    let principal = match pick(obj, path, "Principal", "NotPrincipal", false, errors) {
        Some((negated, name, v)) => parse_principal(v, &format!("{path}.{name}"), errors)
            .map(|entries| PrincipalElement { negated, entries }),
        None => None,
    };
    let action = match pick(obj, path, "Action", "NotAction", true, errors) {
        Some((negated, name, v)) => {
            let element_path = format!("{path}.{name}");
            let patterns = strings(v, &element_path, errors)
                .into_iter()
                .filter_map(|(text, p)| {
                    if valid_action(&text) {
                        Some(text)
                    } else {
                        errors.push(PolicyError::new(
                            &p,
                            &format!("invalid action `{text}`: expected `*` or `service:ActionName` (wildcards allowed)"),
                        ));
                        None
                    }
                })
                .collect();
            Some(PatternElement { negated, patterns })
        }
        None => None,
    };
    let resource = match pick(obj, path, "Resource", "NotResource", false, errors) {
        Some((negated, name, v)) => {
            let element_path = format!("{path}.{name}");
            let patterns = strings(v, &element_path, errors)
                .into_iter()
                .filter_map(|(text, p)| {
                    if text == "*" || crate::arn::split(&text).is_some() {
                        Some(Template::parse(&text, variables))
                    } else {
                        errors.push(PolicyError::new(
                            &p,
                            &format!("invalid ARN `{text}`: expected `*` or arn:partition:service:region:account:resource"),
                        ));
                        None
                    }
                })
                .collect();
            Some(PatternElement { negated, patterns })
        }
        None => None,
    };
    let conditions = match obj.get("Condition") {
        Some(element) => {
            condition::parse_element(element, &format!("{path}.Condition"), variables, errors)
        }
        None => Vec::new(),
    };
    if errors.len() != before {
        return None;
    }
    Some(Statement {
        index,
        sid,
        effect: effect?,
        principal,
        action: action?,
        resource,
        conditions,
    })
}

/// At most one of `name`/`not_name` (exactly one when `required`): (negated, which, value).
fn pick<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    name: &'static str,
    not_name: &'static str,
    required: bool,
    errors: &mut Vec<PolicyError>,
) -> Option<(bool, &'static str, &'a Value)> {
    match (obj.get(name), obj.get(not_name)) {
        (Some(_), Some(_)) => {
            errors.push(PolicyError::new(
                path,
                &format!("has both {name} and {not_name}: at most one is allowed"),
            ));
            None
        }
        (Some(v), None) => Some((false, name, v)),
        (None, Some(v)) => Some((true, not_name, v)),
        (None, None) => {
            if required {
                errors.push(PolicyError::new(
                    path,
                    &format!("one of {name} or {not_name} is required"),
                ));
            }
            None
        }
    }
}

/// A string or a non-empty array of strings, each with its path.
fn strings(value: &Value, path: &str, errors: &mut Vec<PolicyError>) -> Vec<(String, String)> {
    match value {
        Value::String(s) => vec![(s.clone(), path.to_owned())],
        Value::Array(items) => {
            if items.is_empty() {
                errors.push(PolicyError::new(path, "must not be empty"));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => out.push((s.clone(), format!("{path}[{i}]"))),
                    _ => errors.push(PolicyError::new(
                        &format!("{path}[{i}]"),
                        "must be a string",
                    )),
                }
            }
            out
        }
        _ => {
            errors.push(PolicyError::new(
                path,
                "must be a string or an array of strings",
            ));
            Vec::new()
        }
    }
}

/// `*`, or `service:Action` where the service prefix is letters, digits and dashes and the
/// action part may use wildcards.
fn valid_action(text: &str) -> bool {
    if text == "*" {
        return true;
    }
    let Some((service, action)) = text.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !action.is_empty()
        && !action.contains(':')
        && action
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'?' | b'-' | b'_' | b'.'))
}

fn parse_principal(
    value: &Value,
    path: &str,
    errors: &mut Vec<PolicyError>,
) -> Option<Vec<PrincipalEntry>> {
    let before = errors.len();
    let entries = match value {
        Value::String(s) if s == "*" => vec![PrincipalEntry::Everyone],
        Value::Object(map) => {
            if map.is_empty() {
                errors.push(PolicyError::new(path, "must name at least one principal"));
            }
            let mut entries = Vec::new();
            for (kind, v) in map {
                let kind_path = format!("{path}.{kind}");
                match kind.as_str() {
                    "AWS" => {
                        for (text, p) in strings(v, &kind_path, errors) {
                            match aws_principal(&text) {
                                Some(entry) => entries.push(entry),
                                None => errors.push(PolicyError::new(
                                    &p,
                                    &format!("invalid principal `{text}`: expected `*`, a 12-digit account id or an ARN"),
                                )),
                            }
                        }
                    }
                    "Service" => {
                        for (text, p) in strings(v, &kind_path, errors) {
                            if text.is_empty() || text.contains(char::is_whitespace) {
                                errors.push(PolicyError::new(&p, "invalid service principal"));
                            } else {
                                entries.push(PrincipalEntry::Service(text));
                            }
                        }
                    }
                    "Federated" | "CanonicalUser" => {
                        strings(v, &kind_path, errors);
                        entries.push(PrincipalEntry::Other);
                    }
                    _ => errors.push(PolicyError::new(
                        &kind_path,
                        "unknown principal type: expected AWS, Service, Federated or CanonicalUser",
                    )),
                }
            }
            entries
        }
        _ => {
            errors.push(PolicyError::new(
                path,
                "must be \"*\" or an object such as {\"AWS\": …} or {\"Service\": …}",
            ));
            Vec::new()
        }
    };
    (errors.len() == before).then_some(entries)
}

fn aws_principal(text: &str) -> Option<PrincipalEntry> {
    if text == "*" {
        return Some(PrincipalEntry::Everyone);
    }
    if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(PrincipalEntry::Account(text.to_owned()));
    }
    let [_, _, service, _, account, resource] = crate::arn::split(text)?;
    if service == "iam" && resource == "root" {
        return Some(PrincipalEntry::Account(account.to_owned()));
    }
    Some(PrincipalEntry::Arn(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<(String, String)> {
        PolicyDocument::parse(text)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| (e.path, e.message))
            .collect()
    }

    #[test]
    fn parses_a_vault_policy() {
        let text = r#"{
            "Version": "2012-10-17",
            "Id": "vault",
            "Statement": [{
                "Sid": "AllowOrgCopy",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "backup:CopyIntoBackupVault",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
            }, {
                "Effect": "Deny",
                "Principal": "*",
                "NotAction": ["backup:Describe*", "backup:List*"],
                "NotResource": "arn:aws:backup:*:111122223333:backup-vault:other"
            }]
        }"#;
        let doc = PolicyDocument::parse(text).unwrap();
        assert_eq!(doc.version(), Some("2012-10-17"));
        assert_eq!(doc.id(), Some("vault"));
        assert_eq!(doc.statements().len(), 2);
        assert_eq!(doc.statements()[0].sid(), Some("AllowOrgCopy"));
        assert_eq!(doc.statements()[1].effect(), Effect::Deny);
        assert_eq!(doc.statements()[1].index(), 1);
        assert_eq!(
            doc.statements()[0].condition_keys().collect::<Vec<_>>(),
            ["aws:PrincipalOrgID"]
        );
        assert_eq!(doc.to_json(), serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn single_statement_object_and_no_version() {
        let doc = PolicyDocument::parse(
            r#"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#,
        )
        .unwrap();
        assert_eq!(doc.version(), None);
        assert_eq!(doc.statements().len(), 1);
    }

    #[test]
    fn principal_forms() {
        let doc = PolicyDocument::parse(
            r#"{"Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*", "Principal": {
                "AWS": ["111122223333", "arn:aws:iam::444455556666:root", "arn:aws:iam::444455556666:role/R", "*"],
                "Service": "backup.amazonaws.com"}}}"#,
        )
        .unwrap();
        let entries = &doc.statements()[0].principal.as_ref().unwrap().entries;
        assert_eq!(
            entries,
            &[
                PrincipalEntry::Account("111122223333".into()),
                PrincipalEntry::Account("444455556666".into()),
                PrincipalEntry::Arn("arn:aws:iam::444455556666:role/R".into()),
                PrincipalEntry::Everyone,
                PrincipalEntry::Service("backup.amazonaws.com".into()),
            ]
        );
    }

    #[test]
    fn collects_every_error_with_its_path() {
        let errs = errors(
            r#"{"Version": "2020-01-01", "Extra": 1, "Statement": [
                {"Effect": "Allow", "Action": "backup:List*", "Resource": "*"},
                {"Effect": "Permit", "Action": "nocolon", "Resource": "bucket",
                 "Condition": {"StringEqualz": {"k": "v"}}},
                {"Action": "s3:GetObject", "NotAction": "s3:PutObject", "Resource": "*"},
                {"Effect": "Allow", "Resource": "*", "Principal": {"AWS": "bob"}, "Sid": 3}
            ]}"#,
        );
        let paths: Vec<&str> = errs.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Extra",
                "Version",
                "Statement[1].Effect",
                "Statement[1].Action",
                "Statement[1].Resource",
                "Statement[1].Condition.StringEqualz",
                "Statement[2].Effect",
                "Statement[2]",
                "Statement[3].Sid",
                "Statement[3].Principal.AWS",
                "Statement[3]",
            ],
            "{errs:#?}"
        );
    }

    #[test]
    fn duplicate_sids_are_refused() {
        let errs = errors(
            r#"{"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
                              {"Sid": "A", "Effect": "Deny", "Action": "*", "Resource": "*"}]}"#,
        );
        assert_eq!(
            errs,
            [(
                "Statement[1].Sid".to_owned(),
                "duplicate Sid `A`".to_owned()
            )]
        );
    }

    #[test]
    fn display_is_one_line_per_error() {
        let err = PolicyDocument::parse(r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"X": {}}}, {}]}"#)
            .unwrap_err();
        let text = err.to_string();
        assert_eq!(text.lines().count(), err.0.len());
        assert!(
            text.starts_with("`Statement[0].Condition.X`: unknown condition operator"),
            "{text}"
        );
    }

    #[test]
    fn not_json() {
        assert_eq!(errors("{")[0].0, "$");
        assert_eq!(errors("[]")[0].0, "$");
        assert_eq!(
            errors("{}")[0],
            ("Statement".to_owned(), "required".to_owned())
        );
    }
}
