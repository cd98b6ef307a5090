//! Region codes. One parser for every place a Region is named: backup policies, ARNs in
//! them, the service's requests, and the storage layout, where a Region's code becomes a
//! directory name (so nothing that is not a plain code may reach a path).

use std::fmt;
use std::str::FromStr;

/// The longest code accepted: a DNS label, since Region codes end up in host names too.
pub const MAX_REGION_LEN: usize = 63;

/// A Region code such as `us-east-1`, `us-gov-west-1` or `eusc-de-east-1`.
///
/// The rule is AWS's shape, slightly widened so that codes AWS may add still parse:
/// `^[a-z]{2,}(-[a-z0-9]+)+-[0-9]{1,2}$`, at most [`MAX_REGION_LEN`] characters. Lowercase
/// ASCII letters, digits and single hyphens only: no dots, slashes or anything else a
/// file system gives a meaning to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

/// A string that is not a Region code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a Region name: a Region code such as us-east-1 (lowercase letters, digits and single hyphens, ending in a number; at most {MAX_REGION_LEN} characters)")]
pub struct InvalidRegion {
    /// The value given.
    pub value: String,
}

fn valid(s: &str) -> bool {
    if s.len() > MAX_REGION_LEN {
        return false;
    }
    let Some((head, number)) = s.rsplit_once('-') else { return false };
    let Some((first, middle)) = head.split_once('-') else { return false };
    first.len() >= 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && middle.split('-').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

impl Region {
    /// Checks the code.
    ///
    /// # Errors
    /// [`InvalidRegion`] naming the value.
    pub fn parse(s: &str) -> Result<Self, InvalidRegion> {
        if valid(s) { Ok(Self(s.to_owned())) } else { Err(InvalidRegion { value: s.to_owned() }) }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Region {
    type Err = InvalidRegion;
    fn from_str(s: &str) -> Result<Self, InvalidRegion> {
        Self::parse(s)
    }
}

impl AsRef<str> for Region {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_codes_parse() {
        for good in ["us-east-1", "ap-northeast-3", "us-gov-west-1", "eu-central-2", "cn-north-1", "us-isob-east-1", "eusc-de-east-1", "ap-southeast-5"] {
            assert_eq!(Region::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn anything_else_is_refused_naming_the_value() {
        let long = format!("us-{}-1", "a".repeat(60));
        for bad in [
            "", "useast1", "US-EAST-1", "us-east", "-east-1", "us--1", "us-east--1", "1-east-1", "u-east-1", "us-east-123",
            "../../x", "us-east-1/..", "us-east-1/../../etc", "..", ".", "us-east-1\0", "us east-1", "us-east-1 ", "us.east-1",
            "us-éast-1", "us-east-1-", long.as_str(),
        ] {
            let err = Region::parse(bad).unwrap_err();
            assert_eq!(err.value, bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
        assert!("eu-west-1".parse::<Region>().is_ok());
    }
}
