//! JSON paths as policy errors and provenance print them: `plans.PII_Backup_Plan.rules.Hourly`.

use std::fmt;

/// A path into a policy document: object keys and array indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsonPath(Vec<Segment>);

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

impl JsonPath {
    /// The empty path (the document itself).
    pub fn root() -> Self {
        Self::default()
    }
    /// This path extended by an object key.
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_owned()));
        p
    }
    /// This path extended by an array index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }
    /// The segments, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }
    /// Whether this is the document itself.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("$");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                // Keys such as copy-action ARNs hold dots: bracket them so the path stays
                // unambiguous.
                Segment::Key(k) if k.contains(['.', ' ', '[', ']']) || k.is_empty() => write!(f, "[{k:?}]")?,
                Segment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let p = JsonPath::root().key("plans").key("P").key("regions").index(2);
        assert_eq!(p.to_string(), "plans.P.regions[2]");
        assert_eq!(JsonPath::root().to_string(), "$");
        let arn = JsonPath::root().key("copy_actions").key("arn:aws:backup:x.y");
        assert_eq!(arn.to_string(), "copy_actions[\"arn:aws:backup:x.y\"]");
    }
}
