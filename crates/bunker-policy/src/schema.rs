//! The shape of a BACKUP_POLICY document: which keys exist where, which hold named
//! entries, and what kind of value each setting takes.
//!
//! One static tree drives validation, merging and rendering, so the three can never
//! disagree about the syntax.

/// A node of the document shape.
#[derive(Debug)]
pub enum Shape {
    /// An object with fixed keywords (`lifecycle`, a rule body, …).
    Object(&'static [(&'static str, &'static Shape)]),
    /// An object of user-chosen names, each holding an entry of the same shape
    /// (`plans`, `rules`, `copy_actions`, tag maps, …). Names match case-insensitively
    /// and are shown lower-cased in the effective policy.
    Map(NameKind, &'static Shape),
    /// A setting that holds value-setting operators.
    Leaf(Leaf),
}

/// What the user-chosen names of a [`Shape::Map`] must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// Plan, rule and selection names: `^[a-zA-Z0-9\-_.]{1,50}$` (AWS Backup API).
    Identifier,
    /// Copy-action keys: the destination vault ARN.
    VaultArn,
    /// Tag and condition identifiers: 1–128 characters.
    Tag,
}

/// The kind of value a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// A list of Region codes.
    Regions,
    /// `cron(...)` or `rate(...)`.
    Schedule,
    /// An IANA time zone name.
    Timezone,
    /// `start_backup_window_minutes`: at least 60, at most 100 years.
    StartWindow,
    /// `complete_backup_window_minutes`: at least 60, at most 100 years.
    CompleteWindow,
    /// Lifecycle days: 1 to 36,500.
    Days,
    /// A backup vault name: `^[a-zA-Z0-9\-_]{2,50}$`.
    VaultName,
    /// A backup vault ARN (`$account` allowed).
    VaultArn,
    /// An IAM role ARN (`$account` allowed).
    RoleArn,
    /// `true` / `false` (or the strings `"true"` / `"false"`).
    Bool,
    /// A string (tag keys and values, condition keys and values).
    Text,
    /// A list of strings (`tag_value` of a tag selection).
    TextList,
    /// A list of resource ARNs or ARN patterns (`$account` allowed).
    ArnList,
    /// `enabled` / `disabled`.
    EnabledDisabled,
}

impl Leaf {
    /// Whether the setting is multi-valued, so `@@append` / `@@remove` apply.
    pub fn is_list(self) -> bool {
        matches!(self, Leaf::Regions | Leaf::TextList | Leaf::ArnList)
    }
}

/// The document root: `{"plans": {…}}`.
pub static DOCUMENT: Shape = Shape::Object(&[("plans", &PLANS)]);

static PLANS: Shape = Shape::Map(NameKind::Identifier, &PLAN);

static PLAN: Shape = Shape::Object(&[
    ("regions", &Shape::Leaf(Leaf::Regions)),
    ("rules", &RULES),
    ("selections", &SELECTIONS),
    ("advanced_backup_settings", &ADVANCED),
    ("backup_plan_tags", &TAGS),
]);

static RULES: Shape = Shape::Map(NameKind::Identifier, &RULE);

static RULE: Shape = Shape::Object(&[
    ("schedule_expression", &Shape::Leaf(Leaf::Schedule)),
    ("schedule_expression_timezone", &Shape::Leaf(Leaf::Timezone)),
    ("start_backup_window_minutes", &Shape::Leaf(Leaf::StartWindow)),
    ("complete_backup_window_minutes", &Shape::Leaf(Leaf::CompleteWindow)),
    ("target_backup_vault_name", &Shape::Leaf(Leaf::VaultName)),
    ("enable_continuous_backup", &Shape::Leaf(Leaf::Bool)),
    ("lifecycle", &LIFECYCLE),
    ("recovery_point_tags", &TAGS),
    ("copy_actions", &COPY_ACTIONS),
]);

static LIFECYCLE: Shape = Shape::Object(&[
    ("move_to_cold_storage_after_days", &Shape::Leaf(Leaf::Days)),
    ("delete_after_days", &Shape::Leaf(Leaf::Days)),
    ("opt_in_to_archive_for_supported_resources", &Shape::Leaf(Leaf::Bool)),
]);

static COPY_ACTIONS: Shape = Shape::Map(NameKind::VaultArn, &COPY_ACTION);

static COPY_ACTION: Shape = Shape::Object(&[
    ("target_backup_vault_arn", &Shape::Leaf(Leaf::VaultArn)),
    ("lifecycle", &LIFECYCLE),
]);

static TAGS: Shape = Shape::Map(NameKind::Tag, &TAG);

static TAG: Shape = Shape::Object(&[
    ("tag_key", &Shape::Leaf(Leaf::Text)),
    ("tag_value", &Shape::Leaf(Leaf::Text)),
]);

static SELECTIONS: Shape = Shape::Object(&[
    ("tags", &Shape::Map(NameKind::Identifier, &TAG_SELECTION)),
    ("resources", &Shape::Map(NameKind::Identifier, &RESOURCE_SELECTION)),
]);

static TAG_SELECTION: Shape = Shape::Object(&[
    ("iam_role_arn", &Shape::Leaf(Leaf::RoleArn)),
    ("tag_key", &Shape::Leaf(Leaf::Text)),
    ("tag_value", &Shape::Leaf(Leaf::TextList)),
]);

static RESOURCE_SELECTION: Shape = Shape::Object(&[
    ("iam_role_arn", &Shape::Leaf(Leaf::RoleArn)),
    ("resource_types", &Shape::Leaf(Leaf::ArnList)),
    ("not_resource_types", &Shape::Leaf(Leaf::ArnList)),
    ("conditions", &CONDITIONS),
]);

static CONDITIONS: Shape = Shape::Object(&[
    ("string_equals", &CONDITION_MAP),
    ("string_not_equals", &CONDITION_MAP),
    ("string_like", &CONDITION_MAP),
    ("string_not_like", &CONDITION_MAP),
]);

static CONDITION_MAP: Shape = Shape::Map(NameKind::Tag, &CONDITION);

static CONDITION: Shape = Shape::Object(&[
    ("condition_key", &Shape::Leaf(Leaf::Text)),
    ("condition_value", &Shape::Leaf(Leaf::Text)),
]);

static ADVANCED: Shape = Shape::Object(&[("ec2", &EC2)]);

static EC2: Shape = Shape::Object(&[("windows_vss", &Shape::Leaf(Leaf::EnabledDisabled))]);

impl Shape {
    /// The shape under `key`, if the key is allowed here.
    pub fn child(&self, key: &str) -> Option<&'static Shape> {
        match self {
            Shape::Object(fields) => fields.iter().find(|(k, _)| *k == key).map(|(_, s)| *s),
            Shape::Map(_, entry) => Some(entry),
            Shape::Leaf(_) => None,
        }
    }
    /// The keywords of an object shape (for error messages).
    pub fn keywords(&self) -> Vec<&'static str> {
        match self {
            Shape::Object(fields) => fields.iter().map(|(k, _)| *k).collect(),
            _ => Vec::new(),
        }
    }
}
