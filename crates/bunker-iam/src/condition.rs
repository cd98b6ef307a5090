//! The `Condition` element: operators, their value types, and AWS's rules for absent and
//! multi-valued keys.
//!
//! A condition holds when every (operator, key) pair holds; a pair holds when the context
//! value matches any of its policy values. A key absent from the context makes a pair false,
//! except for negated operators (`StringNotEquals`, `ArnNotLike`, `NotIpAddress`, …), which
//! then hold, `…IfExists` (absent: true), `Null` (tests presence itself), and
//! `ForAllValues:` (absent or empty: true).

use std::net::IpAddr;

use ipnet::IpNet;
use jiff::Timestamp;
use serde_json::Value;

use crate::document::PolicyError;
use crate::eval::Context;
use crate::variables::Template;

/// How a pair treats a key with several values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOperator {
    /// No prefix: any context value matching is enough (negated: none may match).
    Single,
    /// `ForAnyValue:`: at least one context value passes; absent or empty: false.
    ForAnyValue,
    /// `ForAllValues:`: every context value passes; absent or empty: true.
    ForAllValues,
}

/// The positive test behind an operator; negated operators test the same and invert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    /// `ArnEquals` and `ArnLike` behave the same in AWS: both take wildcards per ARN part.
    ArnLike,
    Null,
}

/// Operator name → (test, negated).
const OPERATORS: &[(&str, Test, bool)] = &[
    ("StringEquals", Test::StringEquals, false),
    ("StringNotEquals", Test::StringEquals, true),
    (
        "StringEqualsIgnoreCase",
        Test::StringEqualsIgnoreCase,
        false,
    ),
    (
        "StringNotEqualsIgnoreCase",
        Test::StringEqualsIgnoreCase,
        true,
    ),
    ("StringLike", Test::StringLike, false),
    ("StringNotLike", Test::StringLike, true),
    ("NumericEquals", Test::NumericEquals, false),
    ("NumericNotEquals", Test::NumericEquals, true),
    ("NumericLessThan", Test::NumericLessThan, false),
    ("NumericLessThanEquals", Test::NumericLessThanEquals, false),
    ("NumericGreaterThan", Test::NumericGreaterThan, false),
    (
        "NumericGreaterThanEquals",
        Test::NumericGreaterThanEquals,
        false,
    ),
    ("DateEquals", Test::DateEquals, false),
    ("DateNotEquals", Test::DateEquals, true),
    ("DateLessThan", Test::DateLessThan, false),
    ("DateLessThanEquals", Test::DateLessThanEquals, false),
    ("DateGreaterThan", Test::DateGreaterThan, false),
    ("DateGreaterThanEquals", Test::DateGreaterThanEquals, false),
    ("Bool", Test::Bool, false),
    ("BinaryEquals", Test::BinaryEquals, false),
    ("IpAddress", Test::IpAddress, false),
    ("NotIpAddress", Test::IpAddress, true),
    ("ArnEquals", Test::ArnLike, false),
    ("ArnLike", Test::ArnLike, false),
    ("ArnNotEquals", Test::ArnLike, true),
    ("ArnNotLike", Test::ArnLike, true),
    ("Null", Test::Null, false),
];

/// Policy values, parsed once into the operator's type.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    Text(Vec<Template>),
    Number(Vec<f64>),
    Date(Vec<Timestamp>),
    Bool(Vec<bool>),
    Cidr(Vec<IpNet>),
}

/// One (operator, key) pair of a `Condition` element.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    /// The key as written (reported in `missing_context_values`).
    key: String,
    /// The key lower-cased, as [`Context`] stores keys.
    key_lower: String,
    test: Test,
    negated: bool,
    if_exists: bool,
    set: SetOperator,
    values: Values,
}

/// The outcome of one pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Whether the pair holds.
    pub(crate) holds: bool,
    /// The pair failed because its key was absent.
    pub(crate) missing: bool,
}

impl Condition {
    /// The key as written in the policy.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// Evaluates the pair against `context`.
    pub(crate) fn evaluate(&self, context: &Context) -> Outcome {
        let present = context
            .get_lowercase(&self.key_lower)
            .filter(|values| !values.is_empty());
        if self.test == Test::Null {
            let Values::Bool(wanted) = &self.values else {
                unreachable!("Null holds booleans")
            };
            let holds = wanted.iter().any(|&absent| absent == present.is_none());
            return Outcome {
                holds,
                missing: !holds && present.is_none(),
            };
        }
        let Some(values) = present else {
            let holds = self.if_exists
                || match self.set {
                    SetOperator::ForAllValues => true,
                    SetOperator::ForAnyValue => false,
                    SetOperator::Single => self.negated,
                };
            return Outcome {
                holds,
                missing: !holds,
            };
        };
        let passes = |value: &String| self.matches_any(value, context) != self.negated;
        let holds = match self.set {
            // Negated without a set operator: no context value may match any policy value.
            SetOperator::Single if self.negated => values.iter().all(passes),
            SetOperator::Single | SetOperator::ForAnyValue => values.iter().any(passes),
            SetOperator::ForAllValues => values.iter().all(passes),
        };
        Outcome {
            holds,
            missing: false,
        }
    }

    /// Does one context value match any policy value under the positive test?
    fn matches_any(&self, value: &str, context: &Context) -> bool {
        match &self.values {
            Values::Text(patterns) => patterns.iter().any(|pattern| {
                let Some(pattern) = pattern.resolve(context) else {
                    return false;
                };
                match self.test {
                    Test::StringEquals | Test::BinaryEquals => pattern == value,
                    Test::StringEqualsIgnoreCase => eq_ignore_case(&pattern, value),
                    Test::StringLike => crate::wildcard::matches(&pattern, value),
                    Test::ArnLike => crate::arn::arn_like(&pattern, value),
                    _ => false,
                }
            }),
            Values::Number(numbers) => {
                let Ok(value) = value.trim().parse::<f64>() else {
                    return false;
                };
                numbers.iter().any(|&number| match self.test {
                    Test::NumericEquals => value == number,
                    Test::NumericLessThan => value < number,
                    Test::NumericLessThanEquals => value <= number,
                    Test::NumericGreaterThan => value > number,
                    Test::NumericGreaterThanEquals => value >= number,
                    _ => false,
                })
            }
            Values::Date(dates) => {
                let Some(value) = parse_date(value) else {
                    return false;
                };
                dates.iter().any(|&date| match self.test {
                    Test::DateEquals => value == date,
                    Test::DateLessThan => value < date,
                    Test::DateLessThanEquals => value <= date,
                    Test::DateGreaterThan => value > date,
                    Test::DateGreaterThanEquals => value >= date,
                    _ => false,
                })
            }
            Values::Bool(wanted) => parse_bool(value).is_some_and(|value| wanted.contains(&value)),
            Values::Cidr(networks) => {
                let Ok(address) = value.trim().parse::<IpAddr>() else {
                    return false;
                };
                networks.iter().any(|network| network.contains(&address))
            }
        }
    }
}

/// Case-insensitive comparison (Unicode lower case) without allocating.
fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// `true`/`false`, any case.
fn parse_bool(text: &str) -> Option<bool> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Epoch seconds (`1700000000`, fractions allowed) or ISO 8601: `2025-01-31T12:00:00Z`,
/// with an offset, without one (UTC), or a bare date (midnight UTC).
pub(crate) fn parse_date(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Timestamp::from_second(seconds).ok();
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return if seconds.is_finite() {
            // Whole milliseconds are enough for request times.
            Timestamp::from_millisecond((seconds * 1000.0) as i64).ok()
        } else {
            None
        };
    }
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Some(timestamp);
    }
    if let Ok(datetime) = text.parse::<jiff::civil::DateTime>() {
        return jiff::tz::TimeZone::UTC.to_timestamp(datetime).ok();
    }
    None
}

/// An IP address or a CIDR block; a bare address is its own /32 or /128.
fn parse_cidr(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// `ForAnyValue:StringLikeIfExists` → (set operator, test, negated, if-exists).
fn parse_operator(name: &str) -> Option<(SetOperator, Test, bool, bool)> {
    let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
        (SetOperator::ForAnyValue, rest)
    } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
        (SetOperator::ForAllValues, rest)
    } else {
        (SetOperator::Single, name)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    let &(_, test, negated) = OPERATORS
        .iter()
        .find(|(operator, _, _)| *operator == base)?;
    // `Null` already tests presence; it takes neither a suffix nor a set operator.
    if test == Test::Null && (if_exists || set != SetOperator::Single) {
        return None;
    }
    Some((set, test, negated, if_exists))
}

/// Parses a `Condition` element at `path`, recording every broken rule in `errors`.
pub(crate) fn parse_element(
    element: &Value,
    path: &str,
    variables: bool,
    errors: &mut Vec<PolicyError>,
) -> Vec<Condition> {
    let mut conditions = Vec::new();
    let Some(operators) = element.as_object() else {
        errors.push(PolicyError::new(
            path,
            "must be an object of condition operators",
        ));
        return conditions;
    };
    for (operator, block) in operators {
        let operator_path = format!("{path}.{operator}");
        let Some((set, test, negated, if_exists)) = parse_operator(operator) else {
            errors.push(PolicyError::new(
                &operator_path,
                "unknown condition operator",
            ));
            continue;
        };
        let Some(keys) = block.as_object() else {
            errors.push(PolicyError::new(
                &operator_path,
                "must be an object of condition keys to values",
            ));
            continue;
        };
        if keys.is_empty() {
            errors.push(PolicyError::new(
                &operator_path,
                "must name at least one condition key",
            ));
        }
        for (key, raw) in keys {
            let key_path = format!("{operator_path}.{key}");
            if key.is_empty() {
                errors.push(PolicyError::new(
                    &key_path,
                    "condition key must not be empty",
                ));
                continue;
            }
            if let Some(values) = parse_values(raw, &key_path, test, variables, errors) {
                conditions.push(Condition {
                    key: key.clone(),
                    key_lower: key.to_ascii_lowercase(),
                    test,
                    negated,
                    if_exists,
                    set,
                    values,
                });
            }
        }
    }
    conditions
}

/// The values of one key, typed for `test`; `None` when any is broken.
fn parse_values(
    raw: &Value,
    path: &str,
    test: Test,
    variables: bool,
    errors: &mut Vec<PolicyError>,
) -> Option<Values> {
    let mut texts: Vec<(String, String)> = Vec::new();
    let before = errors.len();
    let mut scalar = |value: &Value, path: String| match value {
        Value::String(text) => texts.push((text.clone(), path)),
        Value::Number(number) => texts.push((number.to_string(), path)),
        Value::Bool(flag) => texts.push((flag.to_string(), path)),
        _ => errors.push(PolicyError::new(
            &path,
            "condition values must be strings, numbers or booleans",
        )),
    };
    match raw {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                scalar(item, format!("{path}[{i}]"));
            }
        }
        other => scalar(other, path.to_owned()),
    }
    if raw.as_array().is_some_and(Vec::is_empty) {
        errors.push(PolicyError::new(path, "must hold at least one value"));
    }
    let mut typed = |parse: &dyn Fn(&str) -> bool, rule: &str| {
        for (text, path) in &texts {
            if !parse(text) {
                errors.push(PolicyError::new(path, &format!("`{text}` {rule}")));
            }
        }
    };
    let values = match test {
        Test::StringEquals
        | Test::StringEqualsIgnoreCase
        | Test::StringLike
        | Test::BinaryEquals => Values::Text(
            texts
                .iter()
                .map(|(text, _)| Template::parse(text, variables))
                .collect(),
        ),
        Test::ArnLike => {
            typed(
                &|text| text == "*" || text.contains("${") || crate::arn::split(text).is_some(),
                "is an invalid ARN: expected arn:partition:service:region:account:resource",
            );
            Values::Text(
                texts
                    .iter()
                    .map(|(text, _)| Template::parse(text, variables))
                    .collect(),
            )
        }
        Test::NumericEquals
        | Test::NumericLessThan
        | Test::NumericLessThanEquals
        | Test::NumericGreaterThan
        | Test::NumericGreaterThanEquals => {
            typed(
                &|text| text.trim().parse::<f64>().is_ok_and(f64::is_finite),
                "is not a number",
            );
            Values::Number(
                texts
                    .iter()
                    .filter_map(|(text, _)| text.trim().parse().ok())
                    .collect(),
            )
        }
        Test::DateEquals
        | Test::DateLessThan
        | Test::DateLessThanEquals
        | Test::DateGreaterThan
        | Test::DateGreaterThanEquals => {
            typed(
                &|text| parse_date(text).is_some(),
                "is not a date: expected ISO 8601 or epoch seconds",
            );
            Values::Date(
                texts
                    .iter()
                    .filter_map(|(text, _)| parse_date(text))
                    .collect(),
            )
        }
        Test::Bool | Test::Null => {
            typed(
                &|text| parse_bool(text).is_some(),
                "is not a boolean: expected true or false",
            );
            Values::Bool(
                texts
                    .iter()
                    .filter_map(|(text, _)| parse_bool(text))
                    .collect(),
            )
        }
        Test::IpAddress => {
            typed(
                &|text| parse_cidr(text).is_some(),
                "is not an IP address or CIDR block",
            );
            Values::Cidr(
                texts
                    .iter()
                    .filter_map(|(text, _)| parse_cidr(text))
                    .collect(),
            )
        }
    };
    (errors.len() == before).then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(operator: &str, key: &str, values: Value) -> Condition {
        let mut errors = Vec::new();
        let element = serde_json::json!({ operator: { key: values } });
        let mut conditions = parse_element(&element, "Condition", true, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        conditions.remove(0)
    }

    fn ctx(pairs: &[(&str, &[&str])]) -> Context {
        let mut context = Context::new();
        for (key, values) in pairs {
            context.set_all(key, values.iter().map(|v| (*v).to_owned()).collect());
        }
        context
    }

    fn holds(condition: &Condition, context: &Context) -> bool {
        condition.evaluate(context).holds
    }

    #[test]
    fn strings() {
        let c = one("StringEquals", "aws:PrincipalOrgID", "o-abc".into());
        assert!(holds(&c, &ctx(&[("aws:principalorgid", &["o-abc"])])));
        assert!(!holds(&c, &ctx(&[("aws:PrincipalOrgID", &["O-ABC"])])));
        assert!(!holds(&c, &Context::new()));
        assert!(c.evaluate(&Context::new()).missing);
        let c = one("StringEqualsIgnoreCase", "k", "Ünïcode".into());
        assert!(holds(&c, &ctx(&[("k", &["üNÏCODE"])])));
        let c = one("StringLike", "k", serde_json::json!(["a*", "b?"]));
        assert!(holds(&c, &ctx(&[("k", &["abc"])])));
        assert!(holds(&c, &ctx(&[("k", &["bc"])])));
        assert!(!holds(&c, &ctx(&[("k", &["bcd"])])));
    }

    #[test]
    fn negated_operators_hold_when_the_key_is_absent() {
        let c = one("StringNotEquals", "k", "x".into());
        assert!(holds(&c, &Context::new()));
        assert!(!holds(&c, &ctx(&[("k", &["x"])])));
        assert!(holds(&c, &ctx(&[("k", &["y"])])));
        // Several values: none may match.
        assert!(!holds(&c, &ctx(&[("k", &["y", "x"])])));
        let c = one(
            "ArnNotLike",
            "aws:PrincipalArn",
            "arn:aws:iam::*:role/BackupAdmin".into(),
        );
        assert!(holds(&c, &Context::new()));
        assert!(!holds(
            &c,
            &ctx(&[("aws:PrincipalArn", &["arn:aws:iam::1:role/BackupAdmin"])])
        ));
    }

    #[test]
    fn if_exists_and_null() {
        let c = one("BoolIfExists", "aws:MultiFactorAuthPresent", false.into());
        assert!(holds(&c, &Context::new()));
        assert!(holds(
            &c,
            &ctx(&[("aws:MultiFactorAuthPresent", &["false"])])
        ));
        assert!(!holds(
            &c,
            &ctx(&[("aws:MultiFactorAuthPresent", &["true"])])
        ));
        let c = one("Null", "aws:TokenIssueTime", "true".into());
        assert!(holds(&c, &Context::new()));
        assert!(!holds(&c, &ctx(&[("aws:TokenIssueTime", &["x"])])));
        let c = one("Null", "aws:TokenIssueTime", false.into());
        assert!(!holds(&c, &Context::new()));
        assert!(c.evaluate(&Context::new()).missing);
    }

    #[test]
    fn set_operators() {
        let all = one(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            serde_json::json!(["env", "team"]),
        );
        assert!(holds(&all, &Context::new()));
        assert!(holds(&all, &ctx(&[("aws:TagKeys", &[])])));
        assert!(holds(&all, &ctx(&[("aws:TagKeys", &["env"])])));
        assert!(!holds(&all, &ctx(&[("aws:TagKeys", &["env", "cost"])])));
        let any = one(
            "ForAnyValue:StringLike",
            "aws:PrincipalOrgPaths",
            "o-1/r-1/ou-a/*".into(),
        );
        assert!(!holds(&any, &Context::new()));
        assert!(holds(
            &any,
            &ctx(&[("aws:PrincipalOrgPaths", &["o-2/r-2/", "o-1/r-1/ou-a/ou-b/"])])
        ));
        let none = one(
            "ForAllValues:StringNotEquals",
            "aws:TagKeys",
            "secret".into(),
        );
        assert!(holds(&none, &ctx(&[("aws:TagKeys", &["a", "b"])])));
        assert!(!holds(&none, &ctx(&[("aws:TagKeys", &["a", "secret"])])));
        let some = one(
            "ForAnyValue:StringNotEquals",
            "aws:TagKeys",
            "secret".into(),
        );
        assert!(holds(&some, &ctx(&[("aws:TagKeys", &["a", "secret"])])));
        assert!(!holds(&some, &ctx(&[("aws:TagKeys", &["secret"])])));
    }

    #[test]
    fn numbers_dates_addresses() {
        let c = one("NumericLessThanIfExists", "backup:RetentionDays", 35.into());
        assert!(holds(&c, &ctx(&[("backup:RetentionDays", &["30"])])));
        assert!(!holds(&c, &ctx(&[("backup:RetentionDays", &["35"])])));
        assert!(!holds(&c, &ctx(&[("backup:RetentionDays", &["many"])])));
        assert!(holds(&c, &Context::new()));
        let c = one(
            "DateLessThan",
            "aws:CurrentTime",
            "2026-01-01T00:00:00Z".into(),
        );
        assert!(holds(
            &c,
            &ctx(&[("aws:CurrentTime", &["2025-12-31T23:59:59Z"])])
        ));
        assert!(!holds(
            &c,
            &ctx(&[("aws:CurrentTime", &["2026-01-01T00:00:00Z"])])
        ));
        assert!(holds(&c, &ctx(&[("aws:CurrentTime", &["1700000000"])])));
        let c = one("DateGreaterThanEquals", "k", "2026-01-01".into());
        assert!(holds(&c, &ctx(&[("k", &["2026-01-01T00:00:00+00:00"])])));
        let c = one(
            "IpAddress",
            "aws:SourceIp",
            serde_json::json!(["203.0.113.0/24", "2001:db8::/32", "198.51.100.7"]),
        );
        assert!(holds(&c, &ctx(&[("aws:SourceIp", &["203.0.113.9"])])));
        assert!(holds(&c, &ctx(&[("aws:SourceIp", &["2001:db8::1"])])));
        assert!(holds(&c, &ctx(&[("aws:SourceIp", &["198.51.100.7"])])));
        assert!(!holds(&c, &ctx(&[("aws:SourceIp", &["198.51.100.8"])])));
        let c = one("NotIpAddress", "aws:SourceIp", "10.0.0.0/8".into());
        assert!(holds(&c, &ctx(&[("aws:SourceIp", &["192.168.1.1"])])));
        assert!(!holds(&c, &ctx(&[("aws:SourceIp", &["10.1.2.3"])])));
    }

    #[test]
    fn variables_in_values() {
        let c = one(
            "StringEquals",
            "aws:ResourceTag/owner",
            "${aws:username}".into(),
        );
        assert!(holds(
            &c,
            &ctx(&[
                ("aws:username", &["alice"]),
                ("aws:ResourceTag/owner", &["alice"])
            ])
        ));
        assert!(!holds(
            &c,
            &ctx(&[
                ("aws:username", &["bob"]),
                ("aws:ResourceTag/owner", &["alice"])
            ])
        ));
        assert!(!holds(&c, &ctx(&[("aws:ResourceTag/owner", &["alice"])])));
    }

    #[test]
    fn operator_names() {
        assert!(parse_operator("ForAnyValue:StringLikeIfExists").is_some());
        assert!(parse_operator("StringEqualz").is_none());
        assert!(parse_operator("NullIfExists").is_none());
        assert!(parse_operator("ForAllValues:Null").is_none());
        assert!(parse_operator("stringequals").is_none());
        for (name, _, _) in OPERATORS {
            assert!(parse_operator(name).is_some());
            if *name != "Null" {
                assert!(parse_operator(&format!("{name}IfExists")).is_some());
            }
        }
    }

    #[test]
    fn bad_values_name_their_path() {
        let mut errors = Vec::new();
        let element = serde_json::json!({
            "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "10.0.0.0/33"]},
            "DateLessThan": {"aws:CurrentTime": "yesterday"},
            "NumericLessThan": {"n": "ten"},
            "Bool": {"b": "maybe"},
            "StringEquals": {"s": {"nested": 1}},
        });
        parse_element(&element, "Statement[0].Condition", true, &mut errors);
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Statement[0].Condition.IpAddress.aws:SourceIp[1]",
                "Statement[0].Condition.DateLessThan.aws:CurrentTime",
                "Statement[0].Condition.NumericLessThan.n",
                "Statement[0].Condition.Bool.b",
                "Statement[0].Condition.StringEquals.s",
            ]
        );
    }
}
