//! Printing responses the way the AWS CLI does: `--output json|table|text`, and a
//! `--query` that understands the common subset of JMESPath (`Roots[0].Id`,
//! `Accounts[].Id`, `Policy.PolicySummary.Id`).

use std::fmt::Write;

use clap::ValueEnum;
use serde::Serialize;
use serde_json::{Map, Value};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON, indented by four spaces as the AWS CLI prints it.
    Json,
    /// Boxed tables: one row per item of a list.
    Table,
    /// Tab-separated values, for shell scripts.
    Text,
}

/// Renders a response.
pub fn render(value: &Value, format: Format) -> String {
    match format {
        Format::Json => json(value),
        Format::Table => table(value),
        Format::Text => text(value),
    }
}

/// JSON with four-space indentation and a final newline.
pub fn json(value: &Value) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser).expect("serializing a JSON value cannot fail");
    let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
    text.push('\n');
    text
}

// --- --query ---------------------------------------------------------------------------

/// One step of a query.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// `.Name`
    Field(String),
    /// `[n]`, negative from the end.
    Index(i64),
    /// `[]` or `[*]`: apply the rest to every element.
    Project,
}

/// A parsed `--query` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Query(Vec<Step>);

impl Query {
    /// Parses `Name(.Name | [n] | [] | [*])*`.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let mut steps = Vec::new();
        let mut rest = expr.trim();
        while !rest.is_empty() {
            rest = rest.strip_prefix('.').unwrap_or(rest);
            if let Some(inner) = rest.strip_prefix('[') {
                let (index, after) = inner.split_once(']').ok_or_else(|| format!("unclosed [ in {expr:?}"))?;
                steps.push(match index.trim() {
                    "" | "*" => Step::Project,
                    n => Step::Index(n.parse().map_err(|_| format!("bad index [{n}] in {expr:?}"))?),
                });
                rest = after;
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                let name = &rest[..end];
                if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return Err(format!("unsupported query {expr:?}: use names, [n], [] and [*]"));
                }
                steps.push(Step::Field(name.to_owned()));
                rest = &rest[end..];
            }
        }
        Ok(Self(steps))
    }

    /// Applies the query; what does not exist is `null`.
    pub fn apply(&self, value: &Value) -> Value {
        eval(value, &self.0)
    }
}

fn eval(value: &Value, steps: &[Step]) -> Value {
    let Some((step, rest)) = steps.split_first() else { return value.clone() };
    match (step, value) {
        (Step::Field(name), Value::Object(map)) => map.get(name).map_or(Value::Null, |v| eval(v, rest)),
        (Step::Index(i), Value::Array(items)) => {
            let index = if *i < 0 { items.len().checked_sub(i.unsigned_abs() as usize) } else { Some(*i as usize) };
            index.and_then(|i| items.get(i)).map_or(Value::Null, |v| eval(v, rest))
        }
        (Step::Project, Value::Array(items)) => {
            Value::Array(items.iter().map(|v| eval(v, rest)).filter(|v| !v.is_null()).collect())
        }
        _ => Value::Null,
    }
}

// --- text ------------------------------------------------------------------------------

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
        other => other.to_string(),
    }
}

/// Scalars as they are; lists and objects as tab-separated values, one item per line.
fn text(value: &Value) -> String {
    let line = |v: &Value| match v {
        Value::Object(map) => map.values().map(scalar_text).collect::<Vec<_>>().join("\t"),
        other => scalar_text(other),
    };
    let mut out = match value {
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            items.iter().map(scalar_text).collect::<Vec<_>>().join("\t")
        }
        Value::Array(items) => items.iter().map(line).collect::<Vec<_>>().join("\n"),
        Value::Object(map) if map.len() == 1 => return text(map.values().next().expect("one value")),
        other => line(other),
    };
    out.push('\n');
    out
}

// --- table -----------------------------------------------------------------------------

/// Nested objects become dotted keys (`PolicySummary.Id`); lists stay compact JSON.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_owned(), scalar_text(other).replace('\n', " "))),
    }
}

/// A boxed grid with a header row.
fn grid(title: &str, header: &[String], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0))
        .collect();
    let rule = format!("+{}+\n", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("+"));
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!(" {c:<w$} ")).collect();
        format!("|{}|\n", padded.join("|"))
    };
    let mut out = format!("{title}\n{rule}{}{rule}", line(header));
    for row in rows {
        out.push_str(&line(row));
    }
    out.push_str(&rule);
    out
}

/// A list of items: one row each, one column per (flattened) key.
fn list_grid(title: &str, items: &[Value]) -> String {
    let flat: Vec<Vec<(String, String)>> = items
        .iter()
        .map(|item| {
            let mut cells = Vec::new();
            flatten(if item.is_object() { "" } else { title }, item, &mut cells);
            cells
        })
        .collect();
    let mut header: Vec<String> = Vec::new();
    for key in flat.iter().flatten().map(|(k, _)| k) {
        if !header.contains(key) {
            header.push(key.clone());
        }
    }
    let rows: Vec<Vec<String>> = flat
        .iter()
        .map(|cells| {
            header.iter().map(|h| cells.iter().find(|(k, _)| k == h).map(|(_, v)| v.clone()).unwrap_or_default()).collect()
        })
        .collect();
    grid(title, &header, &rows)
}

/// One object: a row per (flattened) key.
fn object_grid(title: &str, map: &Map<String, Value>) -> String {
    let mut cells = Vec::new();
    flatten("", &Value::Object(map.clone()), &mut cells);
    let rows: Vec<Vec<String>> = cells.into_iter().map(|(k, v)| vec![k, v]).collect();
    grid(title, &["Key".into(), "Value".into()], &rows)
}

/// Readable tables: a section per top-level key.
fn table(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) => {
            let mut scalars = Map::new();
            for (key, v) in map {
                match v {
                    Value::Array(items) => out.push_str(&list_grid(key, items)),
                    Value::Object(inner) => out.push_str(&object_grid(key, inner)),
                    other => {
                        scalars.insert(key.clone(), other.clone());
                    }
                }
            }
            if !scalars.is_empty() {
                out.push_str(&object_grid("", &scalars));
            }
        }
        Value::Array(items) => out.push_str(&list_grid("Result", items)),
        other => {
            let _ = writeln!(out, "{}", scalar_text(other));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_is_indented_like_the_aws_cli() {
        assert_eq!(json(&json!({"A": [1]})), "{\n    \"A\": [\n        1\n    ]\n}\n");
    }

    #[test]
    fn queries() {
        let v = json!({"Roots": [{"Id": "r-ab12", "PolicyTypes": []}], "Accounts": [{"Id": "1"}, {"Id": "2"}, {"Name": "x"}]});
        assert_eq!(Query::parse("Roots[0].Id").unwrap().apply(&v), json!("r-ab12"));
        assert_eq!(Query::parse("Accounts[].Id").unwrap().apply(&v), json!(["1", "2"]));
        assert_eq!(Query::parse("Accounts[*].Id").unwrap().apply(&v), json!(["1", "2"]));
        assert_eq!(Query::parse("Accounts[-1].Name").unwrap().apply(&v), json!("x"));
        assert_eq!(Query::parse("Nope.Id").unwrap().apply(&v), Value::Null);
        assert!(Query::parse("Roots[0").is_err());
        assert!(Query::parse("Roots | length(@)").is_err());
    }

    #[test]
    fn text_for_scripts() {
        assert_eq!(text(&json!("r-ab12")), "r-ab12\n");
        assert_eq!(text(&json!(["a", "b"])), "a\tb\n");
        assert_eq!(text(&json!({"Root": {"Id": "r", "Name": "Root"}})), "r\tRoot\n");
    }

    #[test]
    fn tables_have_a_row_per_item() {
        let v = json!({"Accounts": [{"Id": "111111111111", "Name": "Management"}, {"Id": "2", "Email": "e@x.io"}]});
        let t = table(&v);
        assert!(t.starts_with("Accounts\n+"), "{t}");
        assert!(t.contains("| Id           | Name       | Email  |"), "{t}");
        assert!(t.contains("| 2            |            | e@x.io |"), "{t}");
        let nested = table(&json!({"Policy": {"PolicySummary": {"Id": "p-1"}, "Content": "{}"}}));
        assert!(nested.contains("| PolicySummary.Id | p-1   |"), "{nested}");
    }
}
