//! IAM policy documents and AWS's policy evaluation logic, free of I/O.
//!
//! * [`PolicyDocument::parse`] reads an IAM JSON policy (`Version`, `Statement[]` with `Sid`,
//!   `Effect`, `Principal`/`NotPrincipal`, `Action`/`NotAction`, `Resource`/`NotResource`,
//!   `Condition`) and refuses a malformed one naming the JSON path and the rule broken.
//! * [`evaluate`] decides one [`Request`] against a [`PolicySet`] the way AWS does: an
//!   explicit deny anywhere wins; every SCP level on the path from the root to the account
//!   must allow; a resource policy grants same-account access alone and cross-account access
//!   only together with the caller's identity policy; otherwise implicit deny.
//! * [`quotas`] holds IAM's documented size quotas; the parser refuses any document past the
//!   API's length constraint before decoding it.
//! * The [`Decision`] names the statements that decided, for `bunker iam simulate`, and the
//!   condition keys the request lacked.
//!
//! Conditions follow AWS: a key absent from the [`Context`] fails a condition, except under a
//! negated operator (`StringNotEquals`, `ArnNotLike`, …), `…IfExists`, `Null` and
//! `ForAllValues:`. Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'default'}`)
//! in `Resource` and in string and ARN condition values resolve from the context in documents
//! of version `2012-10-17`. Wildcards (`*`, `?`) are matched in place, without regexes.

mod arn;
mod condition;
mod document;
mod eval;
pub mod quotas;
mod variables;
mod wildcard;

pub use arn::{Arn, InvalidArn};
pub use document::{Effect, PolicyDocument, PolicyError, PolicyErrors, Statement};
pub use eval::{
    Context, Decision, EvalDecision, MatchedStatement, NamedPolicy, PolicySet, Principal, Request,
    evaluate,
};
