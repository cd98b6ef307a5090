//! The audit trail: every call recorded as a CloudTrail event, in an append-only chain
//! that shows any later edit, deletion or reordering, with digests and an anchor signed
//! under the instance master key.
//!
//! Each record's hash is SHA-256 over the previous record's hash and the canonical bytes of
//! the record as stored (its seq and every column, each length-prefixed so no two different
//! rows encode alike). The first record follows 64 zeros. Changing any stored byte breaks
//! that record's hash; deleting or moving a record breaks the seq or the links.
//!
//! A chain recomputed from the edit onwards would still link, so two things are signed with
//! HMAC-SHA256 under keys derived from the instance master key:
//!
//! - every 100 records (and whenever [`AuditTrail::write_digest`] is called, hourly by the
//!   scheduler) a digest of the chain's head, kept for good; a digest is always due at
//!   every hundredth record;
//! - the anchor: how many records and digests the trail holds and the newest record's hash,
//!   moved in the same transaction as every append and digest. A trail rewritten, cut
//!   short or emptied no longer matches it. A copy of it is kept in a file beside a SQLite
//!   catalog ([`ANCHOR_FILE_SUFFIX`]), rewritten atomically after each append and never
//!   moved back, so that deleting the anchor row with everything else is seen too.
//!
//! Whoever can write to the catalog but lacks the master key can neither sign a digest or
//! an anchor for a rewritten trail nor edit an existing one: [`AuditTrail::verify`] finds
//! the trail no longer matching them, or their signatures wrong.
//!
//! A trail that no longer matches its anchor still takes new records, but its anchor is
//! never moved again: re-signing it would bless what was done.
//!
//! A catalog written before the anchor existed has none (and no file copy): it verifies as
//! before (hashes, links, digests), and its first append signs the anchor from where the
//! trail stands. A trail that once had an anchor does not pass for such a catalog while
//! the anchor's file copy is there.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bunker_catalog::{AUDIT_GENESIS_HASH, AuditAnchorRow, AuditDigestRow, AuditEventRow, AuditFilter, Catalog, Tx};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::master_key::random;
use super::{Caller, IdentityType, MasterKey, SecurityError, SecurityResult};
use bunker_clock::Clock;

/// What the digest key is derived for.
const DIGEST_PURPOSE: &str = "bunker audit digest v1";
/// What the anchor key is derived for.
const ANCHOR_PURPOSE: &str = "bunker audit anchor v1";
/// The anchor's copy beside a SQLite catalog is named after it with this suffix
/// (`catalog.db.audit-anchor`).
pub const ANCHOR_FILE_SUFFIX: &str = ".audit-anchor";
/// A digest is written after every this many records.
pub const DIGEST_EVERY: i64 = 100;
/// The CloudTrail record format written.
pub const EVENT_VERSION: &str = "1.11";
/// What a redacted request parameter reads.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";
/// Request parameters whose key contains one of these (case and `_`/`-` ignored) are
/// never stored.
const SECRET_KEY_PARTS: [&str; 6] = ["secret", "password", "token", "plaintext", "privatekey", "code"];
/// Records read per query by [`AuditTrail::verify`].
const VERIFY_BATCH: i64 = 500;
/// `MaxResults` when not given, and its upper bound.
pub const MAX_RESULTS: i64 = 50;

type HmacSha256 = Hmac<Sha256>;

/// CloudTrail's `userIdentity.type` of an identity kind.
fn identity_type_name(t: IdentityType) -> &'static str {
    match t {
        IdentityType::Root => "Root",
        IdentityType::IamUser => "IAMUser",
        IdentityType::AssumedRole => "AssumedRole",
        IdentityType::AwsService => "AWSService",
    }
}

/// Who made the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserIdentity {
    /// Root, IAM user, role session or service.
    pub identity_type: IdentityType,
    /// The caller's ARN (for a service acting through a role, the role's).
    pub principal_arn: String,
    /// CloudTrail's `principalId` (`AIDA…`, `AROA…:session`); for a service, its principal
    /// (`backup.amazonaws.com`). When `None`: the account id for root, else the user name.
    pub principal_id: Option<String>,
    /// The caller's account.
    pub account_id: String,
    /// The access key that signed the call, if any.
    pub access_key_id: Option<String>,
    /// Whether the caller's credentials were obtained with MFA.
    pub mfa_authenticated: bool,
}

impl UserIdentity {
    /// The identity of an authenticated caller.
    pub fn of(caller: &Caller) -> Self {
        Self {
            identity_type: caller.identity_type,
            principal_arn: caller.arn.clone(),
            principal_id: Some(caller.principal_id.clone()),
            account_id: caller.account_id.clone(),
            access_key_id: caller.access_key_id.clone(),
            mfa_authenticated: caller.mfa_authenticated.unwrap_or(false),
        }
    }

    /// CloudTrail's `Username`: `root`, the IAM user's name, the role session's name, or
    /// for a service its principal.
    pub fn username(&self) -> String {
        match self.identity_type {
            IdentityType::Root => "root".to_owned(),
            IdentityType::IamUser | IdentityType::AssumedRole => {
                self.principal_arn.rsplit(['/', ':']).next().unwrap_or_default().to_owned()
            }
            IdentityType::AwsService => self.principal_id().to_owned(),
        }
    }

    /// `principalId`, or what stands in for it.
    fn principal_id(&self) -> &str {
        match (&self.principal_id, self.identity_type) {
            (Some(id), _) => id,
            (None, IdentityType::Root) => &self.account_id,
            (None, IdentityType::AwsService) => &self.principal_arn,
            (None, _) => self.principal_arn.rsplit(['/', ':']).next().unwrap_or_default(),
        }
    }
}

/// A resource a call touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditResource {
    /// Its ARN (CloudTrail's `ResourceName` in lookups).
    pub arn: String,
    /// `AWS::Backup::RecoveryPoint`, `AWS::KMS::Key`, …
    pub resource_type: String,
}

impl AuditResource {
    /// CloudTrail's resource type of an ARN (`AWS::Backup::RecoveryPoint`, …).
    pub fn type_of(arn: &str) -> String {
        let kind = if arn.contains(":recovery-point:") {
            "AWS::Backup::RecoveryPoint"
        } else if arn.contains(":backup-vault:") {
            "AWS::Backup::BackupVault"
        } else if arn.contains(":backup-plan:") {
            "AWS::Backup::BackupPlan"
        } else if arn.starts_with("arn:aws:kms:") {
            "AWS::KMS::Key"
        } else if arn.contains(":user/") {
            "AWS::IAM::User"
        } else if arn.contains(":role/") {
            "AWS::IAM::Role"
        } else {
            "AWS::Bunker::Resource"
        };
        kind.to_owned()
    }
}

/// One call to record.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    /// The service called (`backup.amazonaws.com`, `kms.amazonaws.com`).
    pub event_source: String,
    /// The operation (`DeleteRecoveryPoint`).
    pub event_name: String,
    /// The Region the call was made in.
    pub region: String,
    /// Where the call came from: `cli`, `scheduler` or `api`.
    pub source: String,
    /// The client's address, when known (else the caller's name stands in).
    pub source_ip: Option<String>,
    /// Who called.
    pub user_identity: UserIdentity,
    /// What it touched.
    pub resources: Vec<AuditResource>,
    /// The request; secrets are hidden before anything is stored.
    pub request_parameters: Value,
    /// The response, for calls that changed something.
    pub response_elements: Option<Value>,
    /// Whether the call only read.
    pub read_only: bool,
    /// The authorization decision and what decided it (`allowed by …`, `explicitDeny by
    /// …`, `implicitDeny`).
    pub decision: String,
    /// The exception of a denied or failed call.
    pub error_code: Option<String>,
    /// Its message.
    pub error_message: Option<String>,
}

impl NewAuditEvent {
    /// A call by `caller` to `event_name` of `event_source` in `region`, allowed, touching
    /// nothing in particular; set the other fields as the call goes.
    pub fn new(caller: &Caller, event_source: &str, event_name: &str, region: &str) -> Self {
        Self {
            event_source: event_source.to_owned(),
            event_name: event_name.to_owned(),
            region: region.to_owned(),
            source: caller.source.clone(),
            source_ip: caller.source_ip.clone(),
            user_identity: UserIdentity::of(caller),
            resources: Vec::new(),
            request_parameters: Value::Null,
            response_elements: None,
            read_only: false,
            decision: "allowed".to_owned(),
            error_code: None,
            error_message: None,
        }
    }
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Its place in the chain.
    pub seq: i64,
    /// `eventID`.
    pub event_id: String,
    /// `eventTime`.
    pub event_time: Timestamp,
    /// Its hash (hex).
    pub hash: String,
    /// The CloudTrail record as stored.
    pub record: Value,
}

/// A signed digest of the chain's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDigest {
    /// From 1.
    pub seq: i64,
    /// The last record it covers (0: none).
    pub last_event_seq: i64,
    /// That record's hash.
    pub last_hash: String,
    /// When it was signed.
    pub created_at: Timestamp,
}

/// The trail's signed anchor: what the instance has written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAnchor {
    /// The newest record's seq: how many records the trail holds.
    pub last_seq: i64,
    /// That record's hash.
    pub last_hash: String,
    /// The newest digest's seq (0: none).
    pub digest_seq: i64,
    /// Records already in the trail when it was first anchored (0: anchored from its
    /// start); before it, only the digests vouch for the chain.
    pub anchored_from: i64,
    /// When it was first anchored.
    pub anchored_at: Timestamp,
}

/// The first thing found wrong in the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditProblem {
    /// The first bad record, when one record can be named.
    pub seq: Option<i64>,
    /// Its event id, when it is there to read.
    pub event_id: Option<String>,
    /// The digest involved, for a digest that fails or that the chain no longer matches.
    pub digest_seq: Option<i64>,
    /// What is wrong (`record 17 was edited`).
    pub message: String,
}

/// What [`AuditTrail::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records whose hash and link were checked.
    pub records_checked: u64,
    /// Digests whose signature and hash were checked.
    pub digests_checked: u64,
    /// The last record's seq (0 for an empty trail).
    pub last_seq: i64,
    /// The last record's hash.
    pub last_hash: String,
    /// The anchor the trail was checked against; `None` for a trail written before anchors
    /// existed, until its next append anchors it (or when a problem was found first).
    pub anchor: Option<AuditAnchor>,
    /// `None` when the trail is intact.
    pub problem: Option<AuditProblem>,
}

impl VerifyReport {
    /// Whether nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }

    /// The report when the trail is intact, else `AuditTrailTamperedException` naming the
    /// first bad record.
    ///
    /// # Errors
    /// [`SecurityError::AuditTampered`].
    pub fn ensure_intact(self) -> SecurityResult<Self> {
        match &self.problem {
            None => Ok(self),
            Some(p) => Err(SecurityError::AuditTampered(format!(
                "The audit trail failed verification: {} ({} records and {} digests checked before it)",
                p.message, self.records_checked, self.digests_checked
            ))),
        }
    }
}

/// `LookupAttributes[].AttributeKey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupAttributeKey {
    /// `EventId`.
    EventId,
    /// `EventName`.
    EventName,
    /// `ReadOnly` (`true` or `false`).
    ReadOnly,
    /// `Username` (the user name or the principal's ARN).
    Username,
    /// `ResourceType`.
    ResourceType,
    /// `ResourceName` (the ARN).
    ResourceName,
    /// `EventSource`.
    EventSource,
    /// `AccessKeyId`.
    AccessKeyId,
}

impl LookupAttributeKey {
    /// Every key, in CloudTrail's order.
    pub const ALL: [Self; 8] = [
        Self::EventId,
        Self::EventName,
        Self::ReadOnly,
        Self::Username,
        Self::ResourceType,
        Self::ResourceName,
        Self::EventSource,
        Self::AccessKeyId,
    ];

    /// The key's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventId => "EventId",
            Self::EventName => "EventName",
            Self::ReadOnly => "ReadOnly",
            Self::Username => "Username",
            Self::ResourceType => "ResourceType",
            Self::ResourceName => "ResourceName",
            Self::EventSource => "EventSource",
            Self::AccessKeyId => "AccessKeyId",
        }
    }

    /// The key named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One `LookupAttributes` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupAttribute {
    /// `AttributeKey`.
    pub key: LookupAttributeKey,
    /// `AttributeValue`.
    pub value: String,
}

/// CloudTrail's `LookupEvents` request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupEvents {
    /// `LookupAttributes`: at most one, as CloudTrail allows.
    pub lookup_attributes: Vec<LookupAttribute>,
    /// `StartTime`: events at or after it.
    pub start_time: Option<Timestamp>,
    /// `EndTime`: events at or before it.
    pub end_time: Option<Timestamp>,
    /// `MaxResults`: 1 to 50, 50 when not given.
    pub max_results: Option<i64>,
    /// `NextToken` of the previous page (with the same parameters).
    pub next_token: Option<String>,
}

/// Whose events a lookup returns: CloudTrail shows an account the events of that account;
/// an organization's management account sees every account's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LookupScope {
    /// Every event (the management account, or the instance's own tools).
    #[default]
    All,
    /// The events of one account: those made by its principals (or by the service acting
    /// for it) and those that named one of its resources, whoever made them.
    Account(String),
}

/// `Events[].Resources[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventResource {
    /// `ResourceType`.
    pub resource_type: String,
    /// `ResourceName`.
    pub resource_name: String,
}

/// `Events[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `EventId`.
    pub event_id: String,
    /// `EventName`.
    pub event_name: String,
    /// `ReadOnly`: `"true"` or `"false"`, a string as CloudTrail returns it.
    pub read_only: String,
    /// `AccessKeyId`.
    pub access_key_id: Option<String>,
    /// `EventTime`.
    pub event_time: Timestamp,
    /// `EventSource`.
    pub event_source: String,
    /// `Username`.
    pub username: String,
    /// `Resources`.
    pub resources: Vec<EventResource>,
    /// `CloudTrailEvent`: the whole record, as a JSON string.
    pub cloud_trail_event: String,
}

/// CloudTrail's `LookupEvents` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupEventsOutput {
    /// `Events`, newest first.
    pub events: Vec<Event>,
    /// `NextToken`, when there are more.
    pub next_token: Option<String>,
}

/// The audit trail over the catalog.
#[derive(Clone)]
pub struct AuditTrail {
    catalog: Catalog,
    digest_key: [u8; 32],
    anchor_key: [u8; 32],
    anchor_file: Option<PathBuf>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditTrail(…)")
    }
}

/// The anchor's file copy, as read.
enum AnchorCopy {
    /// No file: a PostgreSQL or in-memory catalog, a trail not anchored yet, or a home
    /// moved without it (the next append writes it again).
    Missing,
    /// Read, and signed under this instance's key.
    Intact(AuditAnchorRow),
    /// What is wrong with it.
    Bad(String),
}

/// Where a trail ends: its last record and its last digest.
struct Ending {
    last_seq: i64,
    last_hash: String,
    digest_seq: i64,
    /// The record the last digest covers.
    digest_event_seq: i64,
}

impl AuditTrail {
    /// The trail in `catalog`, its digests and anchor signed under `master`, times from
    /// `clock`.
    pub fn new(catalog: Catalog, master: MasterKey, clock: Arc<dyn Clock>) -> Self {
        let anchor_file = catalog.file().map(anchor_file_of);
        Self { catalog, digest_key: master.derive(DIGEST_PURPOSE), anchor_key: master.derive(ANCHOR_PURPOSE), anchor_file, clock }
    }

    /// The trail of the security services' catalog, master key and clock.
    pub fn of(security: &super::Security) -> Self {
        Self::new(security.catalog().clone(), security.master_key().clone(), security.clock().clone())
    }

    /// Where the anchor's copy is kept: beside a SQLite catalog file; `None` for other
    /// catalogs, whose database holds the only copy.
    pub fn anchor_file(&self) -> Option<&Path> {
        self.anchor_file.as_deref()
    }

    /// Appends one event (secrets in its request parameters hidden), a digest when it is
    /// the hundredth since the last one, and moves the anchor to it, in one transaction;
    /// then the anchor's file copy.
    ///
    /// A trail that no longer ends where its anchor says still takes the record (what
    /// follows a tampering is worth keeping), but its anchor and the anchor's copy are left
    /// as they are, so that [`AuditTrail::verify`] goes on naming what was done.
    ///
    /// # Errors
    /// The catalog failed (nothing was written); `DependencyFailureException` when the
    /// record was written but the anchor's file copy could not be.
    pub async fn record(&self, event: NewAuditEvent) -> SecurityResult<AuditRecord> {
        let now = self.clock.now();
        let event_id = uuid();
        let record = cloudtrail_record(&event, &event_id, now);
        let (row, resources) = event_row(event, &event_id, &record, now);
        let mut tx = self.catalog.write().await?;
        let (row, anchor) = self.append(&mut tx, row, &resources, now).await?;
        tx.commit().await?;
        if let Some(anchor) = anchor {
            self.write_anchor_copy(&anchor)
                .map_err(|e| SecurityError::Dependency(format!("audit record {} was written, but {e}", row.seq)))?;
        }
        Ok(AuditRecord { seq: row.seq, event_id, event_time: now, hash: row.hash, record })
    }

    /// Proves that an append would succeed now, for a call path that refuses an operation
    /// whose record could not be written: the very writes of [`AuditTrail::record`] (head,
    /// record, lookup indexes, digest when due, anchor) in a transaction then rolled back,
    /// and a file created and removed beside the anchor's copy.
    ///
    /// # Errors
    /// What [`AuditTrail::record`] would fail with.
    pub async fn check_writable(&self) -> SecurityResult<()> {
        let now = self.clock.now();
        let probe = probe_event();
        let record = cloudtrail_record(&probe, "probe", now);
        let (row, resources) = event_row(probe, "probe", &record, now);
        let mut tx = self.catalog.write().await?;
        self.append(&mut tx, row, &resources, now).await?;
        tx.rollback().await?;
        self.probe_anchor_file()
    }

    /// Signs the chain's current head into a new digest (the scheduler calls this hourly,
    /// so a quiet trail's tail is covered too).
    ///
    /// # Errors
    /// As [`AuditTrail::record`].
    pub async fn write_digest(&self) -> SecurityResult<AuditDigest> {
        let now = self.clock.now();
        let mut tx = self.catalog.write().await?;
        let (last_seq, last_hash) = tx.audit_head_for_update().await?;
        let mut anchor = self.anchor_for_append(&mut tx, last_seq, &last_hash, now).await?;
        let digest = self.insert_digest(&mut tx, last_seq, &last_hash, now).await?;
        if let Some(anchor) = &mut anchor {
            anchor.digest_seq = digest.seq;
            self.put_anchor(&mut tx, anchor).await?;
        }
        tx.commit().await?;
        if let Some(anchor) = anchor {
            self.write_anchor_copy(&anchor)
                .map_err(|e| SecurityError::Dependency(format!("audit digest {} was written, but {e}", digest.seq)))?;
        }
        Ok(digest)
    }

    /// One append in `tx`: the record after the head, its lookup indexes, the digest when
    /// due, the anchor moved to it (unless it is kept as evidence: see
    /// [`AuditTrail::anchor_for_append`]).
    async fn append(
        &self,
        tx: &mut Tx,
        mut row: AuditEventRow,
        resources: &[(String, String)],
        now: Timestamp,
    ) -> SecurityResult<(AuditEventRow, Option<AuditAnchorRow>)> {
        let (last_seq, last_hash) = tx.audit_head_for_update().await?;
        let mut anchor = self.anchor_for_append(tx, last_seq, &last_hash, now).await?;
        row.seq = last_seq + 1;
        row.prev_hash = last_hash;
        row.hash = record_hash(&row);
        tx.insert_audit_event(&row, resources).await?;
        tx.insert_audit_event_accounts(row.seq, &event_accounts(&row)).await?;
        tx.set_audit_head(row.seq, &row.hash).await?;
        let digest = if row.seq % DIGEST_EVERY == 0 { Some(self.insert_digest(tx, row.seq, &row.hash, now).await?.seq) } else { None };
        if let Some(anchor) = &mut anchor {
            anchor.last_seq = row.seq;
            anchor.last_hash = row.hash.clone();
            anchor.digest_seq = digest.unwrap_or(anchor.digest_seq);
            self.put_anchor(tx, anchor).await?;
        }
        Ok((row, anchor))
    }

    /// The anchor an append in `tx` (head locked at `head_seq`) moves on from: the stored
    /// one while the trail still ends where it says. `None` when it does not (or its copy
    /// disagrees): re-signing the trail as it now stands would bless the tampering, so the
    /// anchor and its copy stay as the record of what was written.
    ///
    /// A trail with neither an anchor nor a copy was written before anchors existed: it is
    /// anchored from where it stands, and its accounts index derived. Nothing before that
    /// point is vouched for by the anchor (the digests still are), so this needs no walk of
    /// the trail, and a trail that fails verification goes on failing it.
    async fn anchor_for_append(&self, tx: &mut Tx, head_seq: i64, head_hash: &str, now: Timestamp) -> SecurityResult<Option<AuditAnchorRow>> {
        // Read under the head's lock: the copy cannot then be ahead of the committed trail.
        let copy = self.read_anchor_copy();
        let last_digest = tx.last_audit_digest().await?;
        let ending = Ending {
            last_seq: head_seq,
            last_hash: head_hash.to_owned(),
            digest_seq: last_digest.as_ref().map_or(0, |d| d.seq),
            digest_event_seq: last_digest.as_ref().map_or(0, |d| d.last_event_seq),
        };
        let anchor = tx.audit_anchor().await?;
        let copy_hash = match &copy {
            AnchorCopy::Intact(c) if c.last_seq == head_seq => Some(head_hash.to_owned()),
            AnchorCopy::Intact(c) => hash_at(tx, c.last_seq).await?,
            _ => None,
        };
        if self.anchor_problem(&ending, anchor.as_ref(), None, &copy, copy_hash.as_deref()).is_some() {
            return Ok(None);
        }
        if anchor.is_some() {
            return Ok(anchor);
        }
        derive_accounts(tx, head_seq).await?;
        Ok(Some(AuditAnchorRow {
            last_seq: head_seq,
            last_hash: head_hash.to_owned(),
            digest_seq: ending.digest_seq,
            anchored_from: head_seq,
            anchored_at: now.as_microsecond(),
            signature: String::new(),
        }))
    }

    async fn put_anchor(&self, tx: &mut Tx, anchor: &mut AuditAnchorRow) -> SecurityResult<()> {
        anchor.signature = hex::encode(self.anchor_mac(anchor).finalize().into_bytes());
        tx.put_audit_anchor(anchor).await?;
        Ok(())
    }

    async fn insert_digest(&self, tx: &mut Tx, last_event_seq: i64, last_hash: &str, now: Timestamp) -> SecurityResult<AuditDigest> {
        let seq = tx.last_audit_digest().await?.map_or(1, |d| d.seq + 1);
        let mut row = AuditDigestRow {
            seq,
            last_event_seq,
            last_hash: last_hash.to_owned(),
            created_at: now.as_microsecond(),
            signature: String::new(),
        };
        row.signature = hex::encode(self.digest_mac(&row).finalize().into_bytes());
        tx.insert_audit_digest(&row).await?;
        Ok(AuditDigest { seq, last_event_seq, last_hash: row.last_hash, created_at: now })
    }

    fn digest_mac(&self, d: &AuditDigestRow) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.digest_key).expect("HMAC takes a key of any length");
        let mut bytes = Canonical::default();
        bytes.int(d.seq).int(d.last_event_seq).text(&d.last_hash).int(d.created_at);
        mac.update(&bytes.0);
        mac
    }

    fn anchor_mac(&self, a: &AuditAnchorRow) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.anchor_key).expect("HMAC takes a key of any length");
        let mut bytes = Canonical::default();
        bytes.int(a.last_seq).text(&a.last_hash).int(a.digest_seq).int(a.anchored_from).int(a.anchored_at);
        mac.update(&bytes.0);
        mac
    }

    fn anchor_signature_ok(&self, a: &AuditAnchorRow) -> bool {
        hex::decode(&a.signature).is_ok_and(|sig| self.anchor_mac(a).verify_slice(&sig).is_ok())
    }

    /// The anchor file's name, for messages.
    fn anchor_file_name(&self) -> String {
        let name = self.anchor_file.as_deref().and_then(Path::file_name);
        name.map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    fn read_anchor_copy(&self) -> AnchorCopy {
        let Some(path) = &self.anchor_file else { return AnchorCopy::Missing };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return AnchorCopy::Missing,
            Err(e) => return AnchorCopy::Bad(format!("cannot be read: {e}")),
        };
        match parse_anchor_copy(&text) {
            Some(anchor) if self.anchor_signature_ok(&anchor) => AnchorCopy::Intact(anchor),
            _ => AnchorCopy::Bad("was edited: its signature does not match".into()),
        }
    }

    /// Replaces the anchor's file copy (temporary file, fsync, rename) unless it already
    /// shows as much: appenders finishing out of order never move it back. Losing the
    /// rename in a crash leaves an older copy, which is still true.
    fn write_anchor_copy(&self, anchor: &AuditAnchorRow) -> Result<(), String> {
        use std::io::Write;
        let Some(path) = &self.anchor_file else { return Ok(()) };
        if let AnchorCopy::Intact(current) = self.read_anchor_copy()
            && (current.last_seq, current.digest_seq) >= (anchor.last_seq, anchor.digest_seq)
        {
            return Ok(());
        }
        let tmp = temporary_beside(path);
        let written = std::fs::File::create_new(&tmp)
            .and_then(|mut f| f.write_all(anchor_copy_text(anchor).as_bytes()).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::rename(&tmp, path));
        written.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("the audit trail's anchor file {} could not be written: {e}", path.display())
        })
    }

    /// Whether the anchor's file copy could be written now.
    fn probe_anchor_file(&self) -> SecurityResult<()> {
        let Some(path) = &self.anchor_file else { return Ok(()) };
        let tmp = temporary_beside(path);
        let made = std::fs::File::create_new(&tmp).and_then(|f| f.sync_all());
        let _ = std::fs::remove_file(&tmp);
        made.map_err(|e| SecurityError::Dependency(format!("the audit trail's anchor file {} cannot be written: {e}", path.display())))
    }

    /// Walks the whole trail in seq order (a batch at a time, so memory stays flat):
    /// recomputes every record's hash, checks every link, that no seq is missing and that
    /// the lookup indexes match, checks every digest's signature, that the chain still ends
    /// where each digest says and that one is there at every hundredth record; then checks
    /// that the trail ends where its signed anchor (and the anchor's file copy) says.
    /// Stops at the first problem and names it.
    ///
    /// # Errors
    /// The catalog failed (a broken trail is a report, not an error; see
    /// [`VerifyReport::ensure_intact`]).
    pub async fn verify(&self) -> SecurityResult<VerifyReport> {
        // Before the snapshot: the copy is written after each commit, so it cannot be ahead.
        let copy = self.read_anchor_copy();
        let mut tx = self.catalog.read().await?;
        let anchor = tx.audit_anchor().await?;
        self.walk(&mut tx, anchor.as_ref(), &copy).await
    }

    /// [`AuditTrail::verify`] in `tx`, against `anchor` (none: a trail from before anchors,
    /// whose accounts index is not derived yet) and its file copy.
    async fn walk(&self, tx: &mut Tx, anchor: Option<&AuditAnchorRow>, copy: &AnchorCopy) -> SecurityResult<VerifyReport> {
        let head = tx.audit_head_if_any().await?;
        // The chain's hashes where the anchor and its copy end, met on the way.
        let anchor_seq = anchor.map(|a| a.last_seq);
        let copy_seq = match copy {
            AnchorCopy::Intact(c) => Some(c.last_seq),
            _ => None,
        };
        let mut anchor_hash = (anchor_seq == Some(0)).then(|| AUDIT_GENESIS_HASH.to_owned());
        let mut copy_hash = (copy_seq == Some(0)).then(|| AUDIT_GENESIS_HASH.to_owned());
        let mut walk = Walk {
            records_checked: 0,
            digests_checked: 0,
            last_seq: 0,
            last_hash: AUDIT_GENESIS_HASH.to_owned(),
            last_digest_seq: 0,
            last_digest_event_seq: 0,
        };
        let mut digests = DigestCursor::default();
        let problem = 'walk: {
            // Digests signed before the first record.
            if let Some(p) = self.digests_up_to(tx, &mut digests, &mut walk, 0).await? {
                break 'walk Some(p);
            }
            loop {
                let batch = tx.audit_events_after(walk.last_seq, VERIFY_BATCH).await?;
                let Some(last) = batch.last() else { break };
                let mut index: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
                for (seq, resource_type, name) in tx.audit_event_resources_between(walk.last_seq, last.seq).await? {
                    index.entry(seq).or_default().push((resource_type, name));
                }
                let mut accounts: BTreeMap<i64, Vec<String>> = BTreeMap::new();
                if anchor.is_some() {
                    for (seq, account) in tx.audit_event_accounts_between(walk.last_seq, last.seq).await? {
                        accounts.entry(seq).or_default().push(account);
                    }
                }
                for row in &batch {
                    if let Some(p) = check_record(tx, &walk, row).await? {
                        break 'walk Some(p);
                    }
                    let indexed_accounts = anchor.is_some().then(|| accounts.remove(&row.seq).unwrap_or_default());
                    if let Some(p) = check_index(row, index.remove(&row.seq).unwrap_or_default(), indexed_accounts) {
                        break 'walk Some(p);
                    }
                    walk.records_checked += 1;
                    walk.last_seq = row.seq;
                    walk.last_hash = row.hash.clone();
                    if anchor_seq == Some(row.seq) {
                        anchor_hash = Some(row.hash.clone());
                    }
                    if copy_seq == Some(row.seq) {
                        copy_hash = Some(row.hash.clone());
                    }
                    if let Some(p) = self.digests_up_to(tx, &mut digests, &mut walk, row.seq).await? {
                        break 'walk Some(p);
                    }
                    if row.seq % DIGEST_EVERY == 0 && walk.last_digest_event_seq != row.seq {
                        break 'walk Some(AuditProblem {
                            seq: Some(row.seq),
                            event_id: None,
                            digest_seq: None,
                            message: format!("the digest due at record {} is missing (deleted)", row.seq),
                        });
                    }
                }
            }
            let missing = |seq: i64| AuditProblem {
                seq: Some(seq),
                event_id: None,
                digest_seq: None,
                message: format!("record {seq} is missing (deleted)"),
            };
            // Digests beyond the last record: the records they covered were deleted.
            if let Some(d) = digests.next(tx).await? {
                if d.last_event_seq > walk.last_seq && self.signature_ok(&d) {
                    break 'walk Some(missing(walk.last_seq + 1));
                }
                if let Some(p) = self.check_digest(&walk, &d) {
                    break 'walk Some(p);
                }
            }
            let Some((head_seq, head_hash)) = &head else {
                break 'walk Some(AuditProblem {
                    seq: None,
                    event_id: None,
                    digest_seq: None,
                    message: "the trail's head is missing (deleted)".into(),
                });
            };
            if *head_seq > walk.last_seq {
                break 'walk Some(missing(walk.last_seq + 1));
            }
            if *head_seq != walk.last_seq || *head_hash != walk.last_hash {
                break 'walk Some(AuditProblem {
                    seq: Some(walk.last_seq),
                    event_id: None,
                    digest_seq: None,
                    message: format!("the trail's head (record {head_seq}) does not match its last record {}", walk.last_seq),
                });
            }
            self.anchor_problem(&walk.ending(), anchor, anchor_hash.as_deref(), copy, copy_hash.as_deref())
        };
        let report = VerifyReport {
            records_checked: walk.records_checked,
            digests_checked: walk.digests_checked,
            last_seq: walk.last_seq,
            last_hash: walk.last_hash.clone(),
            anchor: anchor.filter(|_| problem.is_none()).map(|a| AuditAnchor {
                last_seq: a.last_seq,
                last_hash: a.last_hash.clone(),
                digest_seq: a.digest_seq,
                anchored_from: a.anchored_from,
                anchored_at: Timestamp::from_microsecond(a.anchored_at).unwrap_or_default(),
            }),
            problem,
        };
        Ok(report)
    }

    /// What is wrong with the trail ending at `end`, against its anchor and the anchor's
    /// file copy (`anchor_hash`, `copy_hash`: the hashes the chain has at their last
    /// records, when known).
    fn anchor_problem(
        &self,
        end: &Ending,
        anchor: Option<&AuditAnchorRow>,
        anchor_hash: Option<&str>,
        copy: &AnchorCopy,
        copy_hash: Option<&str>,
    ) -> Option<AuditProblem> {
        let problem = |seq: Option<i64>, digest_seq: Option<i64>, message: String| Some(AuditProblem { seq, event_id: None, digest_seq, message });
        let file = self.anchor_file_name();
        let copy = match copy {
            AnchorCopy::Bad(why) => return problem(None, None, format!("the trail's anchor file {file} {why}")),
            AnchorCopy::Intact(c) => Some(c),
            AnchorCopy::Missing => None,
        };
        let Some(anchor) = anchor else {
            // With no copy either, the trail predates anchors: its next append anchors it.
            let c = copy?;
            let shows = format!("the anchor file {file} shows {} records written", c.last_seq);
            return if end.last_seq == 0 && c.last_seq > 0 {
                problem(Some(1), None, format!("the trail was emptied and its anchor deleted: {shows}"))
            } else {
                problem(None, None, format!("the trail's anchor is missing (deleted): {shows}"))
            };
        };
        if !self.anchor_signature_ok(anchor) {
            return problem(None, None, "the trail's anchor was edited: its signature does not match".into());
        }
        let (a, e) = (anchor.last_seq, end.last_seq);
        if a > e {
            let message = if e == 0 {
                format!("the trail was emptied: its anchor shows {a} records written, none is left")
            } else {
                format!("{} missing (cut off): the trail's anchor shows {a} records written", records(e + 1, a, "is", "are"))
            };
            return problem(Some(e + 1), None, message);
        }
        if a < e {
            // Records appended to a trail cut short or rewritten (the anchor is left where
            // it was), or records forged after the head.
            return if anchor_hash == Some(anchor.last_hash.as_str()) {
                let added = records(a + 1, e, "was", "were");
                problem(Some(a + 1), None, format!("{added} added without the master key: the trail's anchor shows {a} records written"))
            } else {
                let message = format!("record {a} is not the one the trail's anchor signed: records up to it were cut off or rewritten");
                problem(Some(a), None, message)
            };
        }
        if anchor.last_hash != end.last_hash {
            let from = (end.digest_event_seq + 1).min(a);
            return problem(None, None, format!("the chain no longer matches its anchor: records {from} to {a} were rewritten"));
        }
        if anchor.digest_seq > end.digest_seq {
            let missing = end.digest_seq + 1;
            return problem(None, Some(missing), format!("digest {missing} is missing (deleted)"));
        }
        if anchor.digest_seq < end.digest_seq {
            let message = format!("the trail's anchor shows {} digests, {} are stored", anchor.digest_seq, end.digest_seq);
            return problem(None, Some(anchor.digest_seq + 1), message);
        }
        // The copy may lag behind the anchor, never lead it or disagree with the chain.
        let c = copy?;
        if (c.anchored_from, c.anchored_at) != (anchor.anchored_from, anchor.anchored_at) {
            return problem(None, None, format!("the trail's anchor was replaced: it does not match the anchor file {file}"));
        }
        if c.last_seq > a || c.digest_seq > anchor.digest_seq {
            let message = format!(
                "the trail's anchor was rolled back: it shows {a} records and {} digests, the anchor file {file} shows {} and {}",
                anchor.digest_seq, c.last_seq, c.digest_seq
            );
            return problem(Some(a + 1), None, message);
        }
        if copy_hash != Some(c.last_hash.as_str()) {
            return problem(None, None, format!("the chain no longer matches the anchor file {file}: records up to {} were rewritten", c.last_seq));
        }
        None
    }

    /// Checks, in order, every digest that covers the chain up to `seq` exactly.
    async fn digests_up_to(&self, tx: &mut Tx, cursor: &mut DigestCursor, walk: &mut Walk, seq: i64) -> SecurityResult<Option<AuditProblem>> {
        while let Some(d) = cursor.peek(tx).await? {
            // Later digests wait for the walk to reach the record they claim to cover.
            if d.last_event_seq > seq && d.seq == walk.last_digest_seq + 1 {
                return Ok(None);
            }
            let d = cursor.next(tx).await?.expect("peeked");
            if let Some(p) = self.check_digest(walk, &d) {
                return Ok(Some(p));
            }
            walk.digests_checked += 1;
            walk.last_digest_seq = d.seq;
            walk.last_digest_event_seq = d.last_event_seq;
        }
        Ok(None)
    }

    fn signature_ok(&self, d: &AuditDigestRow) -> bool {
        hex::decode(&d.signature).is_ok_and(|sig| self.digest_mac(d).verify_slice(&sig).is_ok())
    }

    /// A digest met in order, once the chain has been walked up to `walk.last_seq`.
    fn check_digest(&self, walk: &Walk, d: &AuditDigestRow) -> Option<AuditProblem> {
        let problem = |message: String| Some(AuditProblem { seq: None, event_id: None, digest_seq: Some(d.seq), message });
        let expected = walk.last_digest_seq + 1;
        if d.seq > expected {
            return Some(AuditProblem {
                seq: None,
                event_id: None,
                digest_seq: Some(expected),
                message: format!("digest {expected} is missing (deleted)"),
            });
        }
        if !self.signature_ok(d) {
            return problem(format!(
                "digest {} (covering records up to {}) was edited: its signature does not match",
                d.seq, d.last_event_seq
            ));
        }
        if d.last_event_seq < walk.last_digest_event_seq {
            return problem(format!("digest {} covers fewer records than digest {}", d.seq, walk.last_digest_seq));
        }
        if d.last_event_seq != walk.last_seq || d.last_hash != walk.last_hash {
            let from = walk.last_digest_event_seq + 1;
            return problem(format!(
                "the chain no longer matches digest {}: records {from} to {} were rewritten",
                d.seq, d.last_event_seq
            ));
        }
        None
    }

    /// Whose events `caller` may look up: every account's for the organization's
    /// management account, else its own account's (also while there is no organization).
    ///
    /// # Errors
    /// The catalog failed.
    pub async fn scope_of(&self, caller: &Caller) -> SecurityResult<LookupScope> {
        let org = self.catalog.read().await?.organization().await?;
        Ok(match org {
            Some(o) if o.management_account_id.to_string() == caller.account_id => LookupScope::All,
            _ => LookupScope::Account(caller.account_id.clone()),
        })
    }

    /// `LookupEvents` over every account's events (see [`AuditTrail::lookup_events_in`]).
    ///
    /// # Errors
    /// As [`AuditTrail::lookup_events_in`].
    pub async fn lookup_events(&self, request: LookupEvents) -> SecurityResult<LookupEventsOutput> {
        self.lookup_events_in(request, &LookupScope::All).await
    }

    /// `LookupEvents`: the events `scope` may see that match the lookup attribute and time
    /// range, newest first, a page at a time. A page token only continues a lookup with the
    /// same parameters and scope.
    ///
    /// # Errors
    /// `InvalidParameterValueException` for more than one lookup attribute, a `ReadOnly`
    /// value other than `true`/`false`, `MaxResults` outside 1–50, a start after the end,
    /// or a `NextToken` not from the same lookup.
    pub async fn lookup_events_in(&self, request: LookupEvents, scope: &LookupScope) -> SecurityResult<LookupEventsOutput> {
        let bad = |m: String| SecurityError::InvalidParameterValue(m);
        if request.lookup_attributes.len() > 1 {
            return Err(bad("LookupAttributes may contain only one item".into()));
        }
        let limit = request.max_results.unwrap_or(MAX_RESULTS);
        if !(1..=MAX_RESULTS).contains(&limit) {
            return Err(bad(format!("MaxResults must be between 1 and {MAX_RESULTS}, not {limit}")));
        }
        if let (Some(start), Some(end)) = (request.start_time, request.end_time)
            && start > end
        {
            return Err(bad("StartTime must not be after EndTime".into()));
        }
        let account = match scope {
            LookupScope::All => None,
            LookupScope::Account(account) => Some(account.clone()),
        };
        let mut filter = AuditFilter { start: request.start_time, end: request.end_time, account, ..AuditFilter::default() };
        if let Some(a) = request.lookup_attributes.first() {
            let value = Some(a.value.clone());
            match a.key {
                LookupAttributeKey::EventId => filter.event_id = value,
                LookupAttributeKey::EventName => filter.event_name = value,
                LookupAttributeKey::Username => filter.username = value,
                LookupAttributeKey::ResourceType => filter.resource_type = value,
                LookupAttributeKey::ResourceName => filter.resource_name = value,
                LookupAttributeKey::EventSource => filter.event_source = value,
                LookupAttributeKey::AccessKeyId => filter.access_key_id = value,
                LookupAttributeKey::ReadOnly => {
                    filter.read_only = Some(match a.value.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        other => return Err(bad(format!("ReadOnly must be true or false, not {other:?}"))),
                    });
                }
            }
        }
        let fingerprint = filter_fingerprint(&filter);
        let before = request
            .next_token
            .as_deref()
            .map(|t| parse_token(t, &fingerprint).ok_or_else(|| bad("Invalid NextToken: not from a lookup with these parameters".into())))
            .transpose()?;
        let mut tx = self.catalog.read().await?;
        let mut rows = tx.audit_events_page(&filter, before, limit + 1).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_token = if more { rows.last().map(|r| make_token(r.seq, &fingerprint)) } else { None };
        let events = rows.iter().map(event_of_row).collect::<SecurityResult<_>>()?;
        Ok(LookupEventsOutput { events, next_token })
    }
}

/// Where a verification walk is.
struct Walk {
    records_checked: u64,
    digests_checked: u64,
    last_seq: i64,
    last_hash: String,
    last_digest_seq: i64,
    last_digest_event_seq: i64,
}

impl Walk {
    fn ending(&self) -> Ending {
        Ending {
            last_seq: self.last_seq,
            last_hash: self.last_hash.clone(),
            digest_seq: self.last_digest_seq,
            digest_event_seq: self.last_digest_event_seq,
        }
    }
}

/// The digests in seq order, read a batch at a time.
#[derive(Default)]
struct DigestCursor {
    buffer: VecDeque<AuditDigestRow>,
    after: i64,
    exhausted: bool,
}

impl DigestCursor {
    async fn fill(&mut self, tx: &mut Tx) -> SecurityResult<()> {
        if self.buffer.is_empty() && !self.exhausted {
            let batch = tx.audit_digests_after(self.after, VERIFY_BATCH).await?;
            self.exhausted = (batch.len() as i64) < VERIFY_BATCH;
            if let Some(last) = batch.last() {
                self.after = last.seq;
            }
            self.buffer.extend(batch);
        }
        Ok(())
    }

    async fn peek(&mut self, tx: &mut Tx) -> SecurityResult<Option<&AuditDigestRow>> {
        self.fill(tx).await?;
        Ok(self.buffer.front())
    }

    async fn next(&mut self, tx: &mut Tx) -> SecurityResult<Option<AuditDigestRow>> {
        self.fill(tx).await?;
        Ok(self.buffer.pop_front())
    }
}

/// The first thing wrong with `row`, expected to follow the walk's last record.
async fn check_record(tx: &mut Tx, walk: &Walk, row: &AuditEventRow) -> SecurityResult<Option<AuditProblem>> {
    let expected = walk.last_seq + 1;
    let problem = |seq: i64, event_id: Option<&str>, message: String| {
        Ok(Some(AuditProblem { seq: Some(seq), event_id: event_id.map(str::to_owned), digest_seq: None, message }))
    };
    if row.seq != expected {
        return problem(expected, None, format!("record {expected} is missing (deleted)"));
    }
    let intact = record_hash(row) == row.hash;
    let linked = row.prev_hash == walk.last_hash;
    let seq = row.seq;
    match (intact, linked) {
        (true, true) => Ok(None),
        (false, true) => problem(seq, Some(&row.event_id), format!("record {seq} was edited")),
        (true, false) if seq > 1 => {
            // A record that hashes right but does not link: its predecessor was replaced
            // by one whose hash was recomputed.
            let previous = seq - 1;
            problem(previous, None, format!("record {previous} was rewritten: record {seq} no longer follows it"))
        }
        (true, false) => problem(seq, Some(&row.event_id), format!("record {seq} was edited")),
        (false, false) => {
            // Its link points at another stored record: it was moved, not edited.
            if row.prev_hash != AUDIT_GENESIS_HASH && tx.audit_event_seq_by_hash(&row.prev_hash).await?.is_some() {
                let message = match seq {
                    1 => "record 1 does not start the chain (reordered)".to_owned(),
                    _ => format!("record {seq} does not follow record {} (reordered)", seq - 1),
                };
                problem(seq, Some(&row.event_id), message)
            } else {
                problem(seq, Some(&row.event_id), format!("record {seq} was edited"))
            }
        }
    }
}

/// Whether the lookup indexes hold exactly the resources of `row` (already known intact)
/// and, when given, exactly its accounts: else lookups could miss or invent events.
fn check_index(row: &AuditEventRow, mut indexed: Vec<(String, String)>, indexed_accounts: Option<Vec<String>>) -> Option<AuditProblem> {
    let listed: Vec<Value> = serde_json::from_str(&row.resources).unwrap_or_default();
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut expected: Vec<(String, String)> = listed.iter().map(|v| (text(v, "ResourceType"), text(v, "ResourceName"))).collect();
    expected.sort();
    indexed.sort();
    let accounts_match = indexed_accounts.is_none_or(|mut accounts| {
        accounts.sort();
        accounts == event_accounts(row)
    });
    (expected != indexed || !accounts_match).then(|| AuditProblem {
        seq: Some(row.seq),
        event_id: Some(row.event_id.clone()),
        digest_seq: None,
        message: format!("the lookup index of record {} was edited", row.seq),
    })
}

/// The accounts an event belongs to, sorted: its caller's, and the owner of each resource
/// it names (so a cross-account call shows in both accounts' lookups, as in CloudTrail).
fn event_accounts(row: &AuditEventRow) -> Vec<String> {
    let listed: Vec<Value> = serde_json::from_str(&row.resources).unwrap_or_default();
    let owners = listed.iter().filter_map(|v| v.get("ResourceName").and_then(Value::as_str).and_then(arn_account));
    let accounts: BTreeSet<String> =
        std::iter::once(row.account_id.as_str()).chain(owners).filter(|a| !a.is_empty()).map(str::to_owned).collect();
    accounts.into_iter().collect()
}

/// Derives the accounts index of the records up to `up_to` (a trail written before it
/// existed, being anchored).
async fn derive_accounts(tx: &mut Tx, up_to: i64) -> SecurityResult<()> {
    tx.delete_audit_event_accounts_up_to(up_to).await?;
    let mut after = 0;
    while after < up_to {
        let batch = tx.audit_events_after(after, VERIFY_BATCH).await?;
        let Some(last) = batch.last().map(|r| r.seq) else { break };
        for row in batch.iter().filter(|r| r.seq <= up_to) {
            tx.insert_audit_event_accounts(row.seq, &event_accounts(row)).await?;
        }
        after = last;
    }
    Ok(())
}

/// The hash the chain has at record `seq` (the genesis hash at 0), if that record is there.
async fn hash_at(tx: &mut Tx, seq: i64) -> SecurityResult<Option<String>> {
    if seq == 0 {
        return Ok(Some(AUDIT_GENESIS_HASH.to_owned()));
    }
    let row = tx.audit_events_after(seq - 1, 1).await?.into_iter().next();
    Ok(row.filter(|r| r.seq == seq).map(|r| r.hash))
}

/// `record 7 is` or `records 5 to 7 are`.
fn records(from: i64, to: i64, one: &str, many: &str) -> String {
    if from == to { format!("record {from} {one}") } else { format!("records {from} to {to} {many}") }
}

/// The anchor's copy of the catalog at `catalog`: beside it, named after it.
fn anchor_file_of(catalog: &Path) -> PathBuf {
    let mut name = catalog.file_name().unwrap_or_default().to_os_string();
    name.push(ANCHOR_FILE_SUFFIX);
    catalog.with_file_name(name)
}

/// A new file name beside `path`, for writing before a rename.
fn temporary_beside(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", hex::encode(random::<8>())));
    path.with_file_name(name)
}

fn anchor_copy_text(a: &AuditAnchorRow) -> String {
    let copy = json!({
        "LastRecord": a.last_seq,
        "LastHash": a.last_hash,
        "Digests": a.digest_seq,
        "AnchoredFrom": a.anchored_from,
        "AnchoredAt": a.anchored_at,
        "Signature": a.signature,
    });
    format!("{copy}\n")
}

fn parse_anchor_copy(text: &str) -> Option<AuditAnchorRow> {
    let v: Value = serde_json::from_str(text).ok()?;
    let int = |k: &str| v.get(k).and_then(Value::as_i64);
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(AuditAnchorRow {
        last_seq: int("LastRecord")?,
        last_hash: text("LastHash")?,
        digest_seq: int("Digests")?,
        anchored_from: int("AnchoredFrom")?,
        anchored_at: int("AnchoredAt")?,
        signature: text("Signature")?,
    })
}

/// Length-prefixed fields, so that no two different rows give the same bytes.
#[derive(Default)]
struct Canonical(Vec<u8>);

impl Canonical {
    fn int(&mut self, v: i64) -> &mut Self {
        self.0.push(b'i');
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn text(&mut self, v: &str) -> &mut Self {
        self.0.push(b's');
        self.0.extend_from_slice(&(v.len() as u64).to_be_bytes());
        self.0.extend_from_slice(v.as_bytes());
        self
    }
    fn opt(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.text(v),
            None => {
                self.0.push(b'n');
                self
            }
        }
    }
}

/// SHA-256 over the previous hash and every column of the record as stored (hex). Unkeyed:
/// anyone can recompute it, which is why the digests and the anchor are signed.
pub fn record_hash(r: &AuditEventRow) -> String {
    let mut c = Canonical::default();
    c.text(&r.prev_hash)
        .int(r.seq)
        .text(&r.event_id)
        .int(r.event_time)
        .text(&r.event_source)
        .text(&r.event_name)
        .text(&r.account_id)
        .text(&r.principal_arn)
        .text(&r.username)
        .opt(r.access_key_id.as_deref())
        .text(&r.region)
        .text(&r.source)
        .int(r.read_only)
        .text(&r.resources)
        .text(&r.decision)
        .opt(r.error_code.as_deref())
        .text(&r.record);
    hex::encode(Sha256::digest(&c.0))
}

/// The row of an event about to be appended (its seq and hashes set by the append), and
/// its `(type, name)` resource pairs for the lookup index.
fn event_row(event: NewAuditEvent, event_id: &str, record: &Value, now: Timestamp) -> (AuditEventRow, Vec<(String, String)>) {
    let resources_json: Value =
        event.resources.iter().map(|r| json!({"ResourceType": r.resource_type, "ResourceName": r.arn})).collect();
    let resource_index: Vec<(String, String)> = event.resources.iter().map(|r| (r.resource_type.clone(), r.arn.clone())).collect();
    let row = AuditEventRow {
        seq: 0,
        event_id: event_id.to_owned(),
        event_time: now.as_microsecond(),
        event_source: event.event_source,
        event_name: event.event_name,
        account_id: event.user_identity.account_id.clone(),
        principal_arn: event.user_identity.principal_arn.clone(),
        username: event.user_identity.username(),
        access_key_id: event.user_identity.access_key_id.clone(),
        region: event.region,
        source: event.source,
        read_only: i64::from(event.read_only),
        resources: resources_json.to_string(),
        decision: event.decision,
        error_code: event.error_code,
        record: record.to_string(),
        prev_hash: String::new(),
        hash: String::new(),
    };
    (row, resource_index)
}

/// What [`AuditTrail::check_writable`] appends and rolls back: shaped like any record and
/// naming one resource, so that every table an append writes is tried.
fn probe_event() -> NewAuditEvent {
    let service = "bunker.amazonaws.com";
    NewAuditEvent {
        event_source: service.into(),
        event_name: "CheckAuditTrailWritable".into(),
        region: "us-east-1".into(),
        source: "api".into(),
        source_ip: None,
        user_identity: UserIdentity {
            identity_type: IdentityType::AwsService,
            principal_arn: service.into(),
            principal_id: Some(service.into()),
            account_id: "000000000000".into(),
            access_key_id: None,
            mfa_authenticated: false,
        },
        resources: vec![AuditResource { arn: "arn:aws:backup:us-east-1:000000000000:backup-vault:probe".into(), resource_type: "AWS::Backup::BackupVault".into() }],
        request_parameters: Value::Null,
        response_elements: None,
        read_only: false,
        decision: "allowed".into(),
        error_code: None,
        error_message: None,
    }
}

/// A random UUID (version 4), as CloudTrail's event and request ids.
fn uuid() -> String {
    crate::uuid()
}

/// Whether a request parameter's key names a secret.
fn is_secret_key(key: &str) -> bool {
    let key: String = key.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_lowercase();
    SECRET_KEY_PARTS.iter().any(|part| key.contains(part))
}

/// `value` with the value of every secret-named key, at any depth, replaced by
/// [`HIDDEN`].
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), if is_secret_key(k) { Value::String(HIDDEN.into()) } else { redact(v) }))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// CloudTrail's `eventTime`: UTC, to the second.
fn event_time_text(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The CloudTrail record of one call.
fn cloudtrail_record(e: &NewAuditEvent, event_id: &str, now: Timestamp) -> Value {
    let who = &e.user_identity;
    let mut identity = Map::new();
    identity.insert("type".into(), identity_type_name(who.identity_type).into());
    if who.identity_type == IdentityType::AwsService {
        identity.insert("invokedBy".into(), who.principal_id().into());
    } else {
        identity.insert("principalId".into(), who.principal_id().into());
        identity.insert("arn".into(), who.principal_arn.clone().into());
        identity.insert("accountId".into(), who.account_id.clone().into());
        if let Some(key) = &who.access_key_id {
            identity.insert("accessKeyId".into(), key.clone().into());
        }
        if who.identity_type == IdentityType::IamUser {
            identity.insert("userName".into(), who.username().into());
        }
        identity.insert(
            "sessionContext".into(),
            json!({"attributes": {"mfaAuthenticated": if who.mfa_authenticated { "true" } else { "false" }}}),
        );
    }
    // Calls from inside the instance carry no address: as CloudTrail does for calls a
    // service makes itself, the caller's name stands in for it.
    let caller = match e.source.as_str() {
        "scheduler" => e.event_source.clone(),
        other => format!("bunker-{other}"),
    };
    let address = e.source_ip.clone().unwrap_or_else(|| caller.clone());
    let mut record = Map::new();
    record.insert("eventVersion".into(), EVENT_VERSION.into());
    record.insert("userIdentity".into(), Value::Object(identity));
    record.insert("eventTime".into(), event_time_text(now).into());
    record.insert("eventSource".into(), e.event_source.clone().into());
    record.insert("eventName".into(), e.event_name.clone().into());
    record.insert("awsRegion".into(), e.region.clone().into());
    record.insert("sourceIPAddress".into(), address.into());
    record.insert("userAgent".into(), caller.into());
    if let Some(code) = &e.error_code {
        record.insert("errorCode".into(), code.clone().into());
    }
    if let Some(message) = &e.error_message {
        record.insert("errorMessage".into(), message.clone().into());
    }
    let request = match &e.request_parameters {
        Value::Null => Value::Null,
        v => redact(v),
    };
    record.insert("requestParameters".into(), request);
    record.insert("responseElements".into(), e.response_elements.as_ref().map_or(Value::Null, redact));
    record.insert("additionalEventData".into(), json!({"authorizationDecision": e.decision}));
    record.insert("requestID".into(), uuid().into());
    record.insert("eventID".into(), event_id.into());
    record.insert("readOnly".into(), e.read_only.into());
    if !e.resources.is_empty() {
        let resources = e
            .resources
            .iter()
            .map(|r| json!({"accountId": arn_account(&r.arn).unwrap_or(&who.account_id), "type": r.resource_type, "ARN": r.arn}))
            .collect();
        record.insert("resources".into(), Value::Array(resources));
    }
    let event_type = if who.identity_type == IdentityType::AwsService { "AwsServiceEvent" } else { "AwsApiCall" };
    record.insert("eventType".into(), event_type.into());
    record.insert("managementEvent".into(), true.into());
    record.insert("recipientAccountId".into(), who.account_id.clone().into());
    record.insert("eventCategory".into(), "Management".into());
    Value::Object(record)
}

/// The account field of an ARN (`arn:aws:backup:eu-west-1:111111111111:…`), if it has one.
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// A lookup's `Events[]` item.
fn event_of_row(r: &AuditEventRow) -> SecurityResult<Event> {
    let resources: Vec<Value> = serde_json::from_str(&r.resources)
        .map_err(|e| SecurityError::Service(bunker_catalog::CatalogError::Corrupt(format!("audit record {} resources: {e}", r.seq))))?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Event {
        event_id: r.event_id.clone(),
        event_name: r.event_name.clone(),
        read_only: (r.read_only != 0).to_string(),
        access_key_id: r.access_key_id.clone(),
        event_time: r.time()?,
        event_source: r.event_source.clone(),
        username: r.username.clone(),
        resources: resources
            .iter()
            .map(|v| EventResource { resource_type: text(v, "ResourceType"), resource_name: text(v, "ResourceName") })
            .collect(),
        cloud_trail_event: r.record.clone(),
    })
}

/// Binds a page token to the lookup it came from.
fn filter_fingerprint(f: &AuditFilter) -> String {
    hex::encode(&Sha256::digest(format!("{f:?}").as_bytes())[..8])
}

fn make_token(seq: i64, fingerprint: &str) -> String {
    format!("{fingerprint}{seq:x}")
}

fn parse_token(token: &str, fingerprint: &str) -> Option<i64> {
    let rest = token.strip_prefix(fingerprint)?;
    i64::from_str_radix(rest, 16).ok().filter(|seq| *seq > 0)
}


#[cfg(test)]
mod tests {
    use super::*;
    use bunker_clock::ManualClock;

    fn start() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn user(name: &str) -> UserIdentity {
        UserIdentity {
            identity_type: IdentityType::IamUser,
            principal_arn: format!("arn:aws:iam::111111111111:user/{name}"),
            principal_id: None,
            account_id: "111111111111".into(),
            access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
            mfa_authenticated: false,
        }
    }

    fn event(i: usize) -> NewAuditEvent {
        let name = ["DeleteRecoveryPoint", "ListRecoveryPointsByBackupVault", "CreateBackupVault"][i % 3];
        NewAuditEvent {
            event_source: "backup.amazonaws.com".into(),
            event_name: name.into(),
            region: "eu-west-1".into(),
            source: "cli".into(),
            source_ip: None,
            user_identity: user(if i.is_multiple_of(2) { "alice" } else { "bob" }),
            resources: vec![AuditResource {
                arn: format!("arn:aws:backup:eu-west-1:111111111111:backup-vault:v{}", i % 4),
                resource_type: "AWS::Backup::BackupVault".into(),
            }],
            request_parameters: json!({"BackupVaultName": format!("v{}", i % 4)}),
            response_elements: None,
            read_only: name.starts_with("List"),
            decision: "allowed by identity policy p statement 0".into(),
            error_code: None,
            error_message: None,
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        catalog: Catalog,
        clock: ManualClock,
        trail: AuditTrail,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        let catalog = Catalog::open_file(&path).await.unwrap();
        let clock = ManualClock::new(start());
        let trail = AuditTrail::new(catalog.clone(), MasterKey::from_bytes([7; 32]), Arc::new(clock.clone()));
        Fixture { _dir: dir, path, catalog, clock, trail }
    }

    impl Fixture {
        async fn record(&self, n: usize) {
            for i in 0..n {
                self.clock.advance(jiff::SignedDuration::from_secs(1));
                self.trail.record(event(i)).await.unwrap();
            }
        }

        async fn rows(&self) -> Vec<AuditEventRow> {
            self.catalog.read().await.unwrap().audit_events_after(0, 10_000).await.unwrap()
        }

        /// A raw statement on the catalog file, as someone with write access to it could run.
        async fn tamper(&self, sql: &str) {
            use sqlx::ConnectOptions;
            let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&self.path).connect().await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.unwrap();
        }

        async fn problem(&self) -> AuditProblem {
            self.trail.verify().await.unwrap().problem.expect("tampering found")
        }
    }

    #[tokio::test]
    async fn every_record_links_to_the_previous_one() {
        let f = fixture().await;
        let first = f.trail.record(event(0)).await.unwrap();
        assert_eq!(first.seq, 1);
        assert_eq!(first.record["eventID"], first.event_id.as_str());
        assert_eq!(first.record["eventTime"], "2027-01-15T08:00:00Z");
        assert_eq!(first.record["userIdentity"]["userName"], "alice");
        assert_eq!(first.record["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"], "false");
        assert_eq!(first.record["sourceIPAddress"], "bunker-cli");
        f.record(5).await;
        let rows = f.rows().await;
        assert_eq!(rows.len(), 6);
        let mut prev = AUDIT_GENESIS_HASH.to_owned();
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.seq, i as i64 + 1);
            assert_eq!(row.prev_hash, prev);
            assert_eq!(record_hash(row), row.hash);
            prev = row.hash.clone();
        }
        let report = f.trail.verify().await.unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!((report.records_checked, report.last_seq, report.last_hash), (6, 6, prev));
    }

    #[tokio::test]
    async fn service_and_root_calls_read_as_cloudtrail_writes_them() {
        let f = fixture().await;
        let service = Caller::backup_service("111111111111");
        let mut e = NewAuditEvent::new(&service, "backup.amazonaws.com", "StartBackupJob", "eu-west-1");
        e.error_code = Some("AccessDeniedException".into());
        e.error_message = Some("denied by SCP p-1".into());
        e.decision = "explicitDeny by SCP p-1 statement 0".into();
        let r = f.trail.record(e).await.unwrap().record;
        assert_eq!(r["userIdentity"], json!({"type": "AWSService", "invokedBy": "backup.amazonaws.com"}));
        assert_eq!((r["sourceIPAddress"].as_str(), r["userAgent"].as_str()), (Some("backup.amazonaws.com"), Some("backup.amazonaws.com")));
        assert_eq!((r["eventType"].as_str(), r["errorCode"].as_str()), (Some("AwsServiceEvent"), Some("AccessDeniedException")));
        assert_eq!(r["additionalEventData"]["authorizationDecision"], "explicitDeny by SCP p-1 statement 0");
        assert_eq!(f.rows().await[0].username, "backup.amazonaws.com");

        let root = Caller::root("222222222222", "cli");
        let r = f.trail.record(NewAuditEvent::new(&root, "kms.amazonaws.com", "ListKeys", "eu-west-1")).await.unwrap().record;
        assert_eq!(r["userIdentity"]["principalId"], "222222222222");
        assert_eq!(r["userIdentity"]["arn"], "arn:aws:iam::222222222222:root");
        assert_eq!(r["recipientAccountId"], "222222222222");
        assert_eq!(f.rows().await[1].username, "root");
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(&keys[..4], ["eventVersion", "userIdentity", "eventTime", "eventSource"]);
    }

    #[tokio::test]
    async fn an_empty_trail_verifies() {
        let f = fixture().await;
        let report = f.trail.verify().await.unwrap().ensure_intact().unwrap();
        assert_eq!((report.records_checked, report.digests_checked, report.last_seq), (0, 0, 0));
        f.trail.write_digest().await.unwrap();
        assert_eq!(f.trail.verify().await.unwrap().ensure_intact().unwrap().digests_checked, 1);
    }

    #[test]
    fn secrets_are_hidden_at_any_depth() {
        let request = json!({
            "Name": "keep",
            "Password": "hunter2",
            "nested": {"client_secret": "s", "list": [{"SessionToken": "t", "AuthenticationCode1": "123456", "Keep": 1}]},
            "PrivateKey": {"pem": "x"},
            "private-key": "y",
            "Plaintext": "p",
        });
        let hidden = redact(&request);
        assert_eq!(
            hidden,
            json!({
                "Name": "keep",
                "Password": HIDDEN,
                "nested": {"client_secret": HIDDEN, "list": [{"SessionToken": HIDDEN, "AuthenticationCode1": HIDDEN, "Keep": 1}]},
                "PrivateKey": HIDDEN,
                "private-key": HIDDEN,
                "Plaintext": HIDDEN,
            })
        );
    }

    #[tokio::test]
    async fn secrets_never_reach_the_catalog() {
        let f = fixture().await;
        let mut e = event(0);
        e.request_parameters = json!({"UserName": "carol", "Password": "hunter2", "Tags": [{"SecretValue": "hunter3"}]});
        e.response_elements = Some(json!({"AccessKey": {"AccessKeyId": "AKIA1", "SecretAccessKey": "hunter4"}}));
        f.trail.record(e).await.unwrap();
        let row = &f.rows().await[0];
        assert!(!row.record.contains("hunter"), "{}", row.record);
        assert!(row.record.contains("carol") && row.record.contains("AKIA1"));
    }

    #[tokio::test]
    async fn digests_are_signed_every_hundred_records_and_on_demand() {
        let f = fixture().await;
        f.record(99).await;
        assert_eq!(f.catalog.read().await.unwrap().last_audit_digest().await.unwrap(), None);
        f.record(1).await;
        let first = f.catalog.read().await.unwrap().last_audit_digest().await.unwrap().unwrap();
        assert_eq!((first.seq, first.last_event_seq), (1, 100));
        f.record(20).await;
        let hourly = f.trail.write_digest().await.unwrap();
        assert_eq!((hourly.seq, hourly.last_event_seq, hourly.created_at), (2, 120, f.clock.now()));
        let report = f.trail.verify().await.unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!((report.records_checked, report.digests_checked), (120, 2));

        // Signatures made under another instance's master key do not verify.
        let other = AuditTrail::new(f.catalog.clone(), MasterKey::from_bytes([8; 32]), Arc::new(f.clock.clone()));
        let problem = other.verify().await.unwrap().problem.unwrap();
        assert_eq!(problem.digest_seq, Some(1));
        assert!(problem.message.contains("digest 1 (covering records up to 100) was edited"), "{}", problem.message);
    }

    #[tokio::test]
    async fn edits_deletions_and_moves_are_named() {
        let f = fixture().await;
        f.record(30).await;
        f.tamper("UPDATE audit_events SET event_name = 'ListBackupVaults' WHERE seq = 7").await;
        let p = f.problem().await;
        assert_eq!((p.seq, p.message.as_str()), (Some(7), "record 7 was edited"));
        assert_eq!(p.event_id, Some(f.rows().await[6].event_id.clone()));
        let err = f.trail.verify().await.unwrap().ensure_intact().unwrap_err();
        assert_eq!(err.code(), "AuditTrailTamperedException");
        assert!(err.to_string().contains("record 7 was edited (6 records"), "{err}");

        let f = fixture().await;
        f.record(30).await;
        f.tamper("DELETE FROM audit_events WHERE seq = 12").await;
        assert_eq!(f.problem().await.message, "record 12 is missing (deleted)");

        let f = fixture().await;
        f.record(30).await;
        f.tamper("UPDATE audit_events SET seq = -1 WHERE seq = 20; UPDATE audit_events SET seq = 20 WHERE seq = 21; UPDATE audit_events SET seq = 21 WHERE seq = -1").await;
        assert_eq!(f.problem().await.message, "record 20 does not follow record 19 (reordered)");

        // Record 5 replaced by one with a recomputed hash: record 6 no longer follows it.
        let f = fixture().await;
        f.record(30).await;
        let mut row = f.rows().await.remove(4);
        row.event_name = "NothingHappened".into();
        row.hash = record_hash(&row);
        f.tamper(&format!("UPDATE audit_events SET event_name = '{}', hash = '{}' WHERE seq = 5", row.event_name, row.hash)).await;
        let p = f.problem().await;
        assert_eq!((p.seq, p.message.as_str()), (Some(5), "record 5 was rewritten: record 6 no longer follows it"));

        // The lookup index edited, so that a lookup by resource would miss record 9.
        let f = fixture().await;
        f.record(30).await;
        f.tamper("UPDATE audit_event_resources SET resource_name = 'elsewhere' WHERE seq = 9").await;
        assert_eq!(f.problem().await.message, "the lookup index of record 9 was edited");

        // The last record deleted, the head left alone.
        let f = fixture().await;
        f.record(30).await;
        f.tamper("DELETE FROM audit_events WHERE seq = 30").await;
        assert_eq!(f.problem().await.message, "record 30 is missing (deleted)");
    }

    #[tokio::test]
    async fn a_rewritten_chain_is_caught_by_the_next_digest() {
        let f = fixture().await;
        f.record(150).await;
        // Record 40 changed and every hash after it recomputed: the chain links again, but
        // digest 1 signed the old record 100.
        let mut rows = f.rows().await;
        rows[39].event_name = "NothingHappened".into();
        let mut prev = rows[38].hash.clone();
        let mut sql = String::new();
        for row in &mut rows[39..] {
            row.prev_hash = prev.clone();
            row.hash = record_hash(row);
            prev = row.hash.clone();
            sql.push_str(&format!(
                "UPDATE audit_events SET event_name = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};",
                row.event_name, row.prev_hash, row.hash, row.seq
            ));
        }
        sql.push_str(&format!("UPDATE audit_head SET last_hash = '{prev}';"));
        f.tamper(&sql).await;
        let p = f.problem().await;
        assert_eq!(p.digest_seq, Some(1));
        assert_eq!(p.message, "the chain no longer matches digest 1: records 1 to 100 were rewritten");
    }

    /// Two recorders on two connection pools (as two processes) appending at once, then
    /// the whole trail verified.
    async fn two_recorders(a: Catalog, b: Catalog) {
        let clock = Arc::new(ManualClock::new(start()));
        let task = |catalog: Catalog| {
            let trail = AuditTrail::new(catalog, MasterKey::from_bytes([7; 32]), clock.clone());
            tokio::spawn(async move {
                for i in 0..60 {
                    trail.record(event(i)).await.unwrap();
                }
            })
        };
        let (ra, rb) = tokio::join!(task(a.clone()), task(b));
        ra.unwrap();
        rb.unwrap();
        let trail = AuditTrail::new(a, MasterKey::from_bytes([7; 32]), clock);
        let report = trail.verify().await.unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!((report.records_checked, report.digests_checked), (120, 1));
    }

    #[tokio::test]
    async fn concurrent_recorders_keep_one_chain_on_sqlite() {
        let f = fixture().await;
        two_recorders(f.catalog.clone(), Catalog::open_file(&f.path).await.unwrap()).await;
    }

    #[tokio::test]
    async fn concurrent_recorders_keep_one_chain_on_postgres() {
        let Some(server) = bunker_testkit::postgres::PgServer::start() else { return };
        server.create_database("audit");
        let url = server.url("audit");
        two_recorders(Catalog::open(&url).await.unwrap(), Catalog::open(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn lookups_filter_and_page() {
        let f = fixture().await;
        f.record(12).await;
        let names = |out: &LookupEventsOutput| out.events.iter().map(|e| e.event_name.clone()).collect::<Vec<_>>();
        let all = f.trail.lookup_events(LookupEvents::default()).await.unwrap();
        assert_eq!(all.events.len(), 12);
        assert_eq!(all.next_token, None);
        assert_eq!(all.events[0].event_time, f.clock.now());
        assert_eq!(all.events[0].resources[0].resource_type, "AWS::Backup::BackupVault");
        let record: Value = serde_json::from_str(&all.events[0].cloud_trail_event).unwrap();
        assert_eq!(record["eventID"], all.events[0].event_id.as_str());

        let deletes = |token: Option<String>| LookupEvents {
            lookup_attributes: vec![LookupAttribute { key: LookupAttributeKey::EventName, value: "DeleteRecoveryPoint".into() }],
            max_results: Some(3),
            next_token: token,
            ..LookupEvents::default()
        };
        let page1 = f.trail.lookup_events(deletes(None)).await.unwrap();
        assert_eq!(names(&page1), vec!["DeleteRecoveryPoint"; 3]);
        let page2 = f.trail.lookup_events(deletes(page1.next_token.clone())).await.unwrap();
        assert_eq!(page2.events.len(), 1);
        assert_eq!(page2.next_token, None);
        assert!(page1.events[2].event_time > page2.events[0].event_time);

        // A token belongs to its lookup.
        let other = LookupEvents { next_token: page1.next_token.clone(), ..LookupEvents::default() };
        assert!(matches!(f.trail.lookup_events(other).await, Err(SecurityError::InvalidParameterValue(_))));
        let read_only = |v: &str| LookupEvents {
            lookup_attributes: vec![LookupAttribute { key: LookupAttributeKey::ReadOnly, value: v.into() }],
            ..LookupEvents::default()
        };
        let reads = f.trail.lookup_events(read_only("true")).await.unwrap();
        assert_eq!(names(&reads), vec!["ListRecoveryPointsByBackupVault"; 4]);
        assert!(reads.events.iter().all(|e| e.read_only == "true"));
        assert!(f.trail.lookup_events(read_only("maybe")).await.is_err());
        let two = LookupEvents { lookup_attributes: [deletes(None).lookup_attributes, read_only("true").lookup_attributes].concat(), ..LookupEvents::default() };
        assert!(f.trail.lookup_events(two).await.is_err());
        let zero = LookupEvents { max_results: Some(0), ..LookupEvents::default() };
        assert!(f.trail.lookup_events(zero).await.is_err());
        let backwards = LookupEvents { start_time: Some(f.clock.now()), end_time: Some(start()), ..LookupEvents::default() };
        assert!(f.trail.lookup_events(backwards).await.is_err());
    }
}
