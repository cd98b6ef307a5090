//! Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'default'}`, `${*}`) in
//! `Resource` and condition values. Only documents of version `2012-10-17` have them; in
//! older documents `${…}` is literal text, as in AWS.

use std::borrow::Cow;

use crate::eval::Context;

/// A string that may hold policy variables, split once at parse time so that evaluation
/// only has to look keys up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    raw: String,
    /// `None`: no variables, `raw` is the value.
    parts: Option<Vec<Part>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// A condition key (lower-cased) and the default used when it has no single value.
    Variable {
        key: String,
        default: Option<String>,
    },
}

impl Template {
    /// Splits `raw`; with `variables` false (older policy versions) it stays literal.
    pub(crate) fn parse(raw: &str, variables: bool) -> Self {
        let parts = if variables && raw.contains("${") {
            split(raw)
        } else {
            None
        };
        Self {
            raw: raw.to_owned(),
            parts,
        }
    }

    /// The value with variables replaced from `context`; `None` when a variable has neither a
    /// single value in the context nor a default (AWS: the value then matches nothing).
    pub(crate) fn resolve<'a>(&'a self, context: &Context) -> Option<Cow<'a, str>> {
        let Some(parts) = &self.parts else {
            return Some(Cow::Borrowed(&self.raw));
        };
        let mut out = String::with_capacity(self.raw.len() + 16);
        for part in parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Variable { key, default } => match (context.get_lowercase(key), default) {
                    (Some([value]), _) => out.push_str(value),
                    (_, Some(default)) => out.push_str(default),
                    _ => return None,
                },
            }
        }
        Some(Cow::Owned(out))
    }
}

/// Splits at `${…}`; `None` when nothing in `raw` is a well-formed variable. A malformed
/// `${` stays literal text.
fn split(raw: &str) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = raw;
    let mut found = false;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some((inner, consumed)) = variable_body(after) else {
            literal.push_str(&rest[..start + 2]);
            rest = after;
            continue;
        };
        literal.push_str(&rest[..start]);
        match inner.trim() {
            // The escapes for characters that would otherwise be special.
            special @ ("*" | "?" | "$") => literal.push_str(special),
            body => match parse_body(body) {
                Some(variable) => {
                    found = true;
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(variable);
                }
                None => literal.push_str(&rest[start..start + 2 + consumed]),
            },
        }
        rest = &after[consumed..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    // `${*}` alone still needs the parts (it turns into a literal `*`), so keep them when
    // anything was rewritten.
    let rewritten = parts.len() != 1 || !matches!(&parts[0], Part::Literal(text) if text == raw);
    (found || rewritten).then_some(parts)
}

/// The text between `${` and its `}` (quotes in a default may hold `}`), and how many bytes
/// that consumed including the `}`.
fn variable_body(after: &str) -> Option<(&str, usize)> {
    let mut in_quote = false;
    for (i, c) in after.char_indices() {
        match c {
            '\'' => in_quote = !in_quote,
            '}' if !in_quote => return Some((&after[..i], i + 1)),
            _ => {}
        }
    }
    None
}

/// `key` or `key, 'default'` (a `''` inside the default is one quote).
fn parse_body(body: &str) -> Option<Part> {
    let (key, default) = match body.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let quoted = default.strip_prefix('\'')?.strip_suffix('\'')?;
            (key.trim(), Some(quoted.replace("''", "'")))
        }
        None => (body, None),
    };
    let valid = !key.is_empty()
        && key.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '-' | '_' | '.' | '@' | '+' | '=')
        });
    valid.then(|| Part::Variable {
        key: key.to_ascii_lowercase(),
        default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        let mut c = Context::new();
        c.set("aws:username", "alice");
        c.set_all("aws:TagKeys", vec!["a".into(), "b".into()]);
        c
    }

    #[test]
    fn substitutes_from_the_context() {
        let t = Template::parse("arn:aws:iam::1:user/${aws:username}", true);
        assert_eq!(t.resolve(&ctx()).unwrap(), "arn:aws:iam::1:user/alice");
        let t = Template::parse("home/${AWS:UserName}/*", true);
        assert_eq!(t.resolve(&ctx()).unwrap(), "home/alice/*");
    }

    #[test]
    fn missing_or_multi_valued_keys_do_not_resolve_without_a_default() {
        assert!(
            Template::parse("${aws:userid}", true)
                .resolve(&ctx())
                .is_none()
        );
        assert!(
            Template::parse("${aws:TagKeys}", true)
                .resolve(&ctx())
                .is_none()
        );
        let t = Template::parse("team/${aws:PrincipalTag/team, 'it''s shared'}", true);
        assert_eq!(t.resolve(&ctx()).unwrap(), "team/it's shared");
    }

    #[test]
    fn escapes_and_malformed_variables_are_literal() {
        assert_eq!(
            Template::parse("a${*}b${$}", true).resolve(&ctx()).unwrap(),
            "a*b$"
        );
        assert_eq!(
            Template::parse("a${oops", true).resolve(&ctx()).unwrap(),
            "a${oops"
        );
        assert_eq!(
            Template::parse("a${bad key}", true)
                .resolve(&ctx())
                .unwrap(),
            "a${bad key}"
        );
    }

    #[test]
    fn old_versions_have_no_variables() {
        let t = Template::parse("user/${aws:username}", false);
        assert_eq!(t.resolve(&Context::new()).unwrap(), "user/${aws:username}");
    }
}
