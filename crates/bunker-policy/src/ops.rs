//! The inheritance operators and sets of them.

use std::fmt;

/// A value-setting operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Op {
    /// `@@assign`: replace the inherited value.
    #[serde(rename = "@@assign")]
    Assign,
    /// `@@append`: add to the inherited list.
    #[serde(rename = "@@append")]
    Append,
    /// `@@remove`: take values out of the inherited list.
    #[serde(rename = "@@remove")]
    Remove,
}

impl Op {
    /// The operator as written in a document.
    pub fn keyword(self) -> &'static str {
        match self {
            Op::Assign => "@@assign",
            Op::Append => "@@append",
            Op::Remove => "@@remove",
        }
    }
    /// Parses an operator keyword.
    pub fn from_keyword(s: &str) -> Option<Op> {
        match s {
            "@@assign" => Some(Op::Assign),
            "@@append" => Some(Op::Append),
            "@@remove" => Some(Op::Remove),
            _ => None,
        }
    }
    fn bit(self) -> u8 {
        match self {
            Op::Assign => 1,
            Op::Append => 2,
            Op::Remove => 4,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// The child-control keyword.
pub const CHILD_CONTROL: &str = "@@operators_allowed_for_child_policies";

/// A set of value-setting operators, as `@@operators_allowed_for_child_policies` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpSet(u8);

impl OpSet {
    /// `@@all`.
    pub const ALL: OpSet = OpSet(7);
    /// `@@none`.
    pub const NONE: OpSet = OpSet(0);

    /// Whether `op` is in the set.
    pub fn contains(self, op: Op) -> bool {
        self.0 & op.bit() != 0
    }
    /// The operators in both sets.
    pub fn intersect(self, other: OpSet) -> OpSet {
        OpSet(self.0 & other.0)
    }
    /// The set with `op` added.
    pub fn with(self, op: Op) -> OpSet {
        OpSet(self.0 | op.bit())
    }
    /// The operators, as keywords (`["@@all"]` / `["@@none"]` for the extremes).
    pub fn keywords(self) -> Vec<&'static str> {
        match self {
            OpSet::ALL => vec!["@@all"],
            OpSet::NONE => vec!["@@none"],
            _ => [Op::Assign, Op::Append, Op::Remove]
                .into_iter()
                .filter(|op| self.contains(*op))
                .map(Op::keyword)
                .collect(),
        }
    }
}

impl Default for OpSet {
    fn default() -> Self {
        OpSet::ALL
    }
}
