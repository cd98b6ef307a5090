//! The BACKUP_POLICY language of AWS Organizations, as Bunker speaks it.
//!
//! Pure logic, no I/O, no async:
//!
//! * [`PolicyDocument::parse`] reads one policy document and checks every documented
//!   rule, reporting each violation with its JSON path ([`PolicyErrors`]).
//! * [`Inheritance`] merges the documents attached from the root down to an account
//!   (`@@assign`, `@@append`, `@@remove`, `@@operators_allowed_for_child_policies`) into an
//!   [`EffectivePolicy`], remembering which policy and target set every value.
//! * [`EffectivePolicy::backup_plans`] turns it into AWS Backup plan documents per region.
//! * [`Region`] is the one parser of Region codes (policies, requests, storage paths).
//! * [`schedule`] parses `cron(...)` / `rate(...)` expressions and computes fire times in
//!   an IANA time zone.
//!
//! ```
//! use bunker_policy::{Attachment, Inheritance, PolicyDocument, Source};
//! let doc = PolicyDocument::parse(r#"{"plans":{"Daily":{"regions":{"@@assign":["us-east-1"]},
//!   "rules":{"R":{"target_backup_vault_name":{"@@assign":"Default"}}}}}}"#).unwrap();
//! let mut inh = Inheritance::new();
//! inh.apply_level(&[Attachment { source: Source::new("p-12345678", "daily", "r-abcd"), document: &doc }]);
//! let effective = inh.finish();
//! assert_eq!(effective.to_json()["plans"]["daily"]["regions"][0], "us-east-1");
//! ```

pub mod effective;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod inherit;
pub mod path;
pub mod plan;
pub mod plan_input;
pub mod region;
pub mod schedule;
pub mod ops;
pub mod schema;
pub mod selection;
pub mod tree;
pub mod document;
mod validate;

pub use document::PolicyDocument;
pub use effective::EffectivePolicy;
pub use error::{PolicyError, PolicyErrors, Rule};
pub use inherit::{Attachment, Inheritance, Source};
pub use path::JsonPath;
pub use plan::{BackupPlan, EffectivePlan};
pub use region::{InvalidRegion, Region};
