//! Passwords out of connection URIs, for anything shown, logged or recorded.
//!
//! Two places hold a password in a URI: the user information
//! (`postgresql://backup:SECRET@host/db`) and a query parameter (`?password=SECRET`).
//! Both are replaced by [`MASK`]; the rest of the URI stays readable.

/// What a hidden password reads.
pub const MASK: &str = "****";

/// `text` with the password of every URI in it replaced by [`MASK`]:
/// `postgresql://backup:SECRET@127.0.0.1:5432/crm?sslpassword=X` →
/// `postgresql://backup:****@127.0.0.1:5432/crm?sslpassword=****`.
///
/// `text` may be one URI or prose or JSON holding URIs. A URI at the very start of `text`
/// runs to the end of `text` (a password with a space or a quote in it stays hidden);
/// one inside runs to the next space or quote. The user information ends at the last `@`
/// before the first `/`, so a password holding an unencoded `@` or `?` is hidden whole.
pub fn redact_uri(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let sep = search + found;
        let start = scheme_start(bytes, sep);
        search = sep + 3;
        let Some(start) = start else { continue };
        if sep < copied {
            continue;
        }
        let whole = start == 0;
        let end = if whole { bytes.len() } else { bytes[sep + 3..].iter().position(|&b| ends_embedded(b)).map_or(bytes.len(), |i| sep + 3 + i) };
        let authority_end = bytes[sep + 3..end].iter().position(|&b| b == b'/').map_or(end, |i| sep + 3 + i);
        out.push_str(&text[copied..sep + 3]);
        copied = sep + 3;
        // User information: `user:password@`.
        let at = bytes[sep + 3..authority_end].iter().rposition(|&b| b == b'@').map(|i| sep + 3 + i);
        if let Some(at) = at
            && let Some(colon) = bytes[sep + 3..at].iter().position(|&b| b == b':').map(|i| sep + 3 + i)
            && colon + 1 < at
        {
            out.push_str(&text[copied..=colon]);
            out.push_str(MASK);
            copied = at;
        }
        // Query parameters naming a secret.
        let after_user = at.map_or(sep + 3, |a| a + 1);
        let query_from = bytes[after_user..end].iter().position(|&b| b == b'?').map(|i| after_user + i);
        if let Some(q) = query_from {
            let query_end = bytes[q..end].iter().position(|&b| b == b'#').map_or(end, |i| q + i);
            let mut param = q + 1;
            while param < query_end {
                let param_end = bytes[param..query_end].iter().position(|&b| b == b'&' || b == b';').map_or(query_end, |i| param + i);
                if let Some(eq) = bytes[param..param_end].iter().position(|&b| b == b'=').map(|i| param + i)
                    && eq + 1 < param_end
                    && is_secret_parameter(&text[param..eq])
                {
                    out.push_str(&text[copied..=eq]);
                    out.push_str(MASK);
                    copied = param_end;
                }
                param = param_end + 1;
            }
        }
        // URIs may nest (`?next=https://u:p@h`): go on after the authority.
        search = copied.max(authority_end);
    }
    out.push_str(&text[copied..]);
    out
}

/// Where the scheme before `://` at `sep` starts: letters, then letters, digits, `+-.`.
fn scheme_start(bytes: &[u8], sep: usize) -> Option<usize> {
    let mut start = sep;
    while start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || matches!(bytes[start - 1], b'+' | b'-' | b'.')) {
        start -= 1;
    }
    // A scheme begins with a letter; skip leading digits and signs of the run.
    while start < sep && !bytes[start].is_ascii_alphabetic() {
        start += 1;
    }
    (start < sep).then_some(start)
}

/// The end of a URI inside other text.
fn ends_embedded(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`' | b'<' | b'>' | b'\\')
}

/// Query parameters that carry a secret: libpq's `password`, `sslpassword`, and the
/// usual names of tokens and signatures.
fn is_secret_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "passwd", "secret", "token", "signature", "credential"].iter().any(|p| name.contains(p))
        || matches!(name.as_str(), "pwd" | "pass")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_user_information_are_masked() {
        let r = redact_uri;
        assert_eq!(r("postgresql://backup:SECRET@127.0.0.1:5432/crm"), "postgresql://backup:****@127.0.0.1:5432/crm");
        assert_eq!(r("postgres://u:p%40ss@h1:5432,h2:5433/db?sslmode=require"), "postgres://u:****@h1:5432,h2:5433/db?sslmode=require");
        // Unencoded `@`, `?` or `:` in the password: hidden whole.
        assert_eq!(r("postgresql://u:p@s?s:x@host/db"), "postgresql://u:****@host/db");
        // A whole-string URI runs to the end: a space does not end the password.
        assert_eq!(r("postgresql://u:two words@host/db"), "postgresql://u:****@host/db");
        // No password: unchanged.
        for plain in ["postgresql://backup@127.0.0.1/crm", "postgresql://127.0.0.1/crm", "postgresql://u:@h/db", "/srv/data", "", "s3://bucket/prefix", "http://h:9000/a@b"] {
            assert_eq!(r(plain), plain);
        }
    }

    #[test]
    fn secret_query_parameters_are_masked() {
        assert_eq!(
            redact_uri("postgresql://h/db?user=u&password=SECRET&sslmode=require#x"),
            "postgresql://h/db?user=u&password=****&sslmode=require#x"
        );
        assert_eq!(redact_uri("https://h/o?X-Amz-Security-Token=T&X-Amz-Signature=S"), "https://h/o?X-Amz-Security-Token=****&X-Amz-Signature=****");
        assert_eq!(redact_uri("postgresql://u:A@h?sslpassword=B"), "postgresql://u:****@h?sslpassword=****");
    }

    #[test]
    fn uris_inside_text_and_json_are_masked() {
        assert_eq!(
            redact_uri(r#"{"Type":"PostgreSQL","Url":"postgresql://u:SECRET@h/db"}"#),
            r#"{"Type":"PostgreSQL","Url":"postgresql://u:****@h/db"}"#
        );
        assert_eq!(
            redact_uri("cannot reach postgresql://a:S1@h/x nor mysql://b:S2@k, see https://docs"),
            "cannot reach postgresql://a:****@h/x nor mysql://b:****@k, see https://docs"
        );
        assert_eq!(redact_uri("Url=postgresql://u:S@h/db"), "Url=postgresql://u:****@h/db");
        assert_eq!(redact_uri("://u:S@h"), "://u:S@h");
        assert_eq!(redact_uri("https://h/login?next=https://u:S@k/"), "https://h/login?next=https://u:****@k/");
        assert_eq!(redact_uri("é postgresql://ü:ß@h/ä"), "é postgresql://ü:****@h/ä");
    }
}
