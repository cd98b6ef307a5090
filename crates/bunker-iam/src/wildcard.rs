//! The IAM wildcard language: `*` matches any sequence (also empty), `?` exactly one
//! character, everything else itself. Matching runs in place over the bytes, without
//! allocating, because it runs for every statement of every request.

/// Does `text` match `pattern`, case-sensitively?
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    matches_bytes(pattern.as_bytes(), text.as_bytes(), false)
}

/// Does `text` match `pattern`, ignoring ASCII case (action names)?
pub(crate) fn matches_ignore_ascii_case(pattern: &str, text: &str) -> bool {
    matches_bytes(pattern.as_bytes(), text.as_bytes(), true)
}

/// The length in bytes of the UTF-8 character starting with `lead`, so that `?` consumes one
/// character, not one byte.
fn char_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        _ => 2,
    }
}

/// Greedy matching with one backtrack point: on a mismatch after a `*`, the `*` absorbs one
/// more character and matching resumes. Linear in practice, O(n·m) at worst, no recursion.
/// Both inputs are valid UTF-8, so literal bytes only ever pair up within whole characters.
fn matches_bytes(pattern: &[u8], text: &[u8], ignore_case: bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, text index it starts at).
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    p += 1;
                    resume = Some((p, t));
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += char_len(text[t]);
                    continue;
                }
                c => {
                    let same = if ignore_case {
                        c.eq_ignore_ascii_case(&text[t])
                    } else {
                        c == text[t]
                    };
                    if same {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
        }
        match resume {
            Some((rp, rt)) => {
                let next = rt + char_len(text[rt]);
                resume = Some((rp, next));
                p = rp;
                t = next;
            }
            None => return false,
        }
    }
    // Text consumed (a `?` may have stepped past the end only on a truncated char, which
    // valid UTF-8 excludes); what is left of the pattern must be all `*`.
    t == text.len() && pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_wildcards() {
        assert!(matches("abc", "abc"));
        assert!(!matches("abc", "abd"));
        assert!(!matches("abc", "ab"));
        assert!(!matches("ab", "abc"));
        assert!(matches("*", ""));
        assert!(matches("*", "anything"));
        assert!(matches("a*", "a"));
        assert!(matches("a*c", "abbbc"));
        assert!(!matches("a*c", "abbbd"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*b*b*", "abcbd"));
        assert!(matches("**a", "a"));
        assert!(matches("a*b?d", "axxbxbcd"));
        assert!(!matches("", "a"));
        assert!(matches("", ""));
    }

    #[test]
    fn question_mark_takes_one_character_not_one_byte() {
        assert!(matches("caf?", "café"));
        assert!(matches("?", "é"));
        assert!(!matches("??", "é"));
        assert!(matches("*é", "aé"));
        assert!(matches("é*", "é"));
    }

    #[test]
    fn case() {
        assert!(!matches("Backup:*", "backup:List"));
        assert!(matches_ignore_ascii_case(
            "Backup:Delete*",
            "backup:deleterecoverypoint"
        ));
        assert!(!matches_ignore_ascii_case("backup:Get*", "backup:ListX"));
    }
}
