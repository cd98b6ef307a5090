//! The audit trail's tables: events (append-only, hash-chained), the resources and
//! accounts indexes used by lookups, signed digests, the chain's one-row head and its
//! signed anchor.
//!
//! The hashing and signing live in the service (`bunker_core::security::audit`); this
//! module only stores and reads rows exactly as they are, so that verification sees what
//! is in the database, edits included. An append goes in one write transaction:
//! [`Tx::audit_head_for_update`] first (on PostgreSQL the head row's lock makes other
//! appenders wait; on SQLite the write transaction already excludes them), then
//! [`Tx::insert_audit_event`], [`Tx::insert_audit_event_accounts`], [`Tx::set_audit_head`]
//! and [`Tx::put_audit_anchor`].

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::plans::opt_db_time;
use crate::{Result, Tx, from_db_time};

/// The previous hash of the first event: 64 zeros.
pub const AUDIT_GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored event, column by column as stored (nothing normalised, so a hash over it
/// covers exactly what is in the database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEventRow {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    /// `eventID`.
    pub event_id: String,
    /// `eventTime`, microseconds since the Unix epoch.
    pub event_time: i64,
    /// `eventSource` (`backup.amazonaws.com`).
    pub event_source: String,
    /// `eventName`: the operation.
    pub event_name: String,
    /// The caller's account.
    pub account_id: String,
    /// The caller's ARN (or service principal).
    pub principal_arn: String,
    /// CloudTrail's `Username`.
    pub username: String,
    /// `userIdentity.accessKeyId`, when the call was signed with one.
    pub access_key_id: Option<String>,
    /// `awsRegion`.
    pub region: String,
    /// Where the call came from: `cli`, `scheduler`, `api`.
    pub source: String,
    /// `readOnly`: 1 for reads, 0 for changes.
    pub read_only: i64,
    /// The resources, a JSON array of `{"ResourceType", "ResourceName"}`.
    pub resources: String,
    /// The authorization decision and what decided it.
    pub decision: String,
    /// `errorCode` of a denied or failed call.
    pub error_code: Option<String>,
    /// The whole CloudTrail record (JSON).
    pub record: String,
    /// The previous event's hash ([`AUDIT_GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// This event's hash (hex).
    pub hash: String,
}

impl AuditEventRow {
    /// `eventTime` as a timestamp.
    pub fn time(&self) -> Result<Timestamp> {
        from_db_time(self.event_time)
    }
}

/// A signed digest: the chain's head at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDigestRow {
    /// From 1 without gaps.
    pub seq: i64,
    /// The last event it covers (0: none yet).
    pub last_event_seq: i64,
    /// That event's hash.
    pub last_hash: String,
    /// When it was signed, microseconds since the Unix epoch.
    pub created_at: i64,
    /// The signature (hex).
    pub signature: String,
}

/// The trail's signed anchor: what the instance has written, as it last signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAnchorRow {
    /// The newest record's seq: how many records the trail holds.
    pub last_seq: i64,
    /// That record's hash ([`AUDIT_GENESIS_HASH`] for none).
    pub last_hash: String,
    /// The newest digest's seq (0: none).
    pub digest_seq: i64,
    /// Records already in the trail when it was first anchored.
    pub anchored_from: i64,
    /// When it was first anchored, microseconds since the Unix epoch.
    pub anchored_at: i64,
    /// The signature (hex).
    pub signature: String,
}

/// What a lookup keeps (all optional, AND-ed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events at or after this time.
    pub start: Option<Timestamp>,
    /// Events at or before this time.
    pub end: Option<Timestamp>,
    /// `EventId`.
    pub event_id: Option<String>,
    /// `EventName`.
    pub event_name: Option<String>,
    /// `Username`: matches the user name or the principal's ARN.
    pub username: Option<String>,
    /// `ResourceType`.
    pub resource_type: Option<String>,
    /// `ResourceName`.
    pub resource_name: Option<String>,
    /// `EventSource`.
    pub event_source: Option<String>,
    /// `AccessKeyId`.
    pub access_key_id: Option<String>,
    /// `ReadOnly`.
    pub read_only: Option<bool>,
    /// Only events belonging to this account (see [`Tx::insert_audit_event_accounts`]).
    pub account: Option<String>,
}

fn event_from_row(row: &AnyRow) -> Result<AuditEventRow> {
    Ok(AuditEventRow {
        seq: row.try_get("seq")?,
        event_id: row.try_get("event_id")?,
        event_time: row.try_get("event_time")?,
        event_source: row.try_get("event_source")?,
        event_name: row.try_get("event_name")?,
        account_id: row.try_get("account_id")?,
        principal_arn: row.try_get("principal_arn")?,
        username: row.try_get("username")?,
        access_key_id: row.try_get("access_key_id")?,
        region: row.try_get("region")?,
        source: row.try_get("source")?,
        read_only: row.try_get("read_only")?,
        resources: row.try_get("resources")?,
        decision: row.try_get("decision")?,
        error_code: row.try_get("error_code")?,
        record: row.try_get("record")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

fn digest_from_row(row: &AnyRow) -> Result<AuditDigestRow> {
    Ok(AuditDigestRow {
        seq: row.try_get("seq")?,
        last_event_seq: row.try_get("last_event_seq")?,
        last_hash: row.try_get("last_hash")?,
        created_at: row.try_get("created_at")?,
        signature: row.try_get("signature")?,
    })
}

fn head_missing() -> crate::CatalogError {
    crate::CatalogError::Corrupt("the audit trail's head row is missing".into())
}

/// A value bound to a lookup's assembled statement.
enum Param {
    Text(String),
    Int(i64),
}

impl Tx {
    /// The chain's head (last seq, last hash), locked for this transaction: call it first
    /// in the write transaction of an append.
    pub async fn audit_head_for_update(&mut self) -> Result<(i64, String)> {
        // A no-op update takes PostgreSQL's row lock; RETURNING reads it in the same step.
        let row = sqlx::query("UPDATE audit_head SET last_seq = last_seq WHERE id = 1 RETURNING last_seq, last_hash")
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(head_missing)?;
        Ok((row.try_get("last_seq")?, row.try_get("last_hash")?))
    }

    /// The chain's head (last seq, last hash), without locking.
    pub async fn audit_head(&mut self) -> Result<(i64, String)> {
        self.audit_head_if_any().await?.ok_or_else(head_missing)
    }

    /// The chain's head, or `None` when its row was deleted.
    pub async fn audit_head_if_any(&mut self) -> Result<Option<(i64, String)>> {
        let row = sqlx::query("SELECT last_seq, last_hash FROM audit_head WHERE id = 1").fetch_optional(&mut *self.tx).await?;
        row.map(|r| Ok((r.try_get("last_seq")?, r.try_get("last_hash")?))).transpose()
    }

    /// Moves the head to the event just appended.
    pub async fn set_audit_head(&mut self, seq: i64, hash: &str) -> Result<()> {
        sqlx::query("UPDATE audit_head SET last_seq = $1, last_hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Appends an event and its resources (`(type, name)` pairs) to the lookup index.
    pub async fn insert_audit_event(&mut self, e: &AuditEventRow, resources: &[(String, String)]) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (seq, event_id, event_time, event_source, event_name, account_id, principal_arn,
                 username, access_key_id, region, source, read_only, resources, decision, error_code, record,
                 prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(e.seq)
        .bind(&e.event_id)
        .bind(e.event_time)
        .bind(&e.event_source)
        .bind(&e.event_name)
        .bind(&e.account_id)
        .bind(&e.principal_arn)
        .bind(&e.username)
        .bind(&e.access_key_id)
        .bind(&e.region)
        .bind(&e.source)
        .bind(e.read_only)
        .bind(&e.resources)
        .bind(&e.decision)
        .bind(&e.error_code)
        .bind(&e.record)
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .execute(&mut *self.tx)
        .await?;
        for (resource_type, resource_name) in resources {
            sqlx::query("INSERT INTO audit_event_resources (seq, resource_type, resource_name) VALUES ($1, $2, $3)")
                .bind(e.seq)
                .bind(resource_type)
                .bind(resource_name)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Records the accounts event `seq` belongs to (each once).
    pub async fn insert_audit_event_accounts(&mut self, seq: i64, accounts: &[String]) -> Result<()> {
        for account in accounts {
            sqlx::query("INSERT INTO audit_event_accounts (seq, account_id) VALUES ($1, $2)")
                .bind(seq)
                .bind(account)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Forgets the accounts of the events up to `up_to_seq` (before they are derived again
    /// for a trail written without them).
    pub async fn delete_audit_event_accounts_up_to(&mut self, up_to_seq: i64) -> Result<()> {
        sqlx::query("DELETE FROM audit_event_accounts WHERE seq <= $1").bind(up_to_seq).execute(&mut *self.tx).await?;
        Ok(())
    }

    /// The `(seq, account)` rows of the events in `(after_seq, up_to_seq]`, by seq.
    pub async fn audit_event_accounts_between(&mut self, after_seq: i64, up_to_seq: i64) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT seq, account_id FROM audit_event_accounts WHERE seq > $1 AND seq <= $2 ORDER BY seq, account_id",
        )
        .bind(after_seq)
        .bind(up_to_seq)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("seq")?, r.try_get("account_id")?))).collect()
    }

    /// The trail's anchor, if one was ever signed (and not deleted).
    pub async fn audit_anchor(&mut self) -> Result<Option<AuditAnchorRow>> {
        let row = sqlx::query("SELECT * FROM audit_anchor WHERE id = 1").fetch_optional(&mut *self.tx).await?;
        row.map(|r| {
            Ok(AuditAnchorRow {
                last_seq: r.try_get("last_seq")?,
                last_hash: r.try_get("last_hash")?,
                digest_seq: r.try_get("digest_seq")?,
                anchored_from: r.try_get("anchored_from")?,
                anchored_at: r.try_get("anchored_at")?,
                signature: r.try_get("signature")?,
            })
        })
        .transpose()
    }

    /// Writes the trail's anchor (creating its row the first time).
    pub async fn put_audit_anchor(&mut self, a: &AuditAnchorRow) -> Result<()> {
        let updated = sqlx::query(
            "UPDATE audit_anchor SET last_seq = $1, last_hash = $2, digest_seq = $3, anchored_from = $4, anchored_at = $5,
                 signature = $6 WHERE id = 1",
        )
        .bind(a.last_seq)
        .bind(&a.last_hash)
        .bind(a.digest_seq)
        .bind(a.anchored_from)
        .bind(a.anchored_at)
        .bind(&a.signature)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO audit_anchor (id, last_seq, last_hash, digest_seq, anchored_from, anchored_at, signature)
                 VALUES (1, $1, $2, $3, $4, $5, $6)",
            )
            .bind(a.last_seq)
            .bind(&a.last_hash)
            .bind(a.digest_seq)
            .bind(a.anchored_from)
            .bind(a.anchored_at)
            .bind(&a.signature)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Up to `limit` events after `after_seq`, in chain order (verification reads the
    /// whole trail this way, a batch at a time).
    pub async fn audit_events_after(&mut self, after_seq: i64, limit: i64) -> Result<Vec<AuditEventRow>> {
        let rows = sqlx::query("SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// The lookup index's `(seq, resource type, resource name)` rows of the events in
    /// `(after_seq, up_to_seq]`, by seq.
    pub async fn audit_event_resources_between(&mut self, after_seq: i64, up_to_seq: i64) -> Result<Vec<(i64, String, String)>> {
        let rows = sqlx::query(
            "SELECT seq, resource_type, resource_name FROM audit_event_resources WHERE seq > $1 AND seq <= $2
             ORDER BY seq, resource_type, resource_name",
        )
        .bind(after_seq)
        .bind(up_to_seq)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("seq")?, r.try_get("resource_type")?, r.try_get("resource_name")?))).collect()
    }

    /// The lowest seq of an event whose hash is `hash`.
    pub async fn audit_event_seq_by_hash(&mut self, hash: &str) -> Result<Option<i64>> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MIN(seq) FROM audit_events WHERE hash = $1")
            .bind(hash)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(seq)
    }

    /// A page of events matching `f`, newest first, below `before_seq` (the previous
    /// page's last seq).
    pub async fn audit_events_page(&mut self, f: &AuditFilter, before_seq: Option<i64>, limit: i64) -> Result<Vec<AuditEventRow>> {
        // Only the conditions asked for, so each lookup can use its index.
        let mut conditions: Vec<String> = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        let mut push = |condition: &str, param: Param| {
            params.push(param);
            conditions.push(condition.replace('?', &format!("${}", params.len())));
        };
        if let Some(t) = opt_db_time(f.start) {
            push("e.event_time >= ?", Param::Int(t));
        }
        if let Some(t) = opt_db_time(f.end) {
            push("e.event_time <= ?", Param::Int(t));
        }
        let texts = [
            ("e.event_id = ?", &f.event_id),
            ("e.event_name = ?", &f.event_name),
            ("e.event_source = ?", &f.event_source),
            ("e.access_key_id = ?", &f.access_key_id),
            ("EXISTS (SELECT 1 FROM audit_event_resources r WHERE r.seq = e.seq AND r.resource_name = ?)", &f.resource_name),
            ("EXISTS (SELECT 1 FROM audit_event_resources r WHERE r.seq = e.seq AND r.resource_type = ?)", &f.resource_type),
        ];
        for (condition, value) in texts {
            if let Some(v) = value {
                push(condition, Param::Text(v.clone()));
            }
        }
        if let Some(name) = &f.username {
            // One parameter used twice.
            push("(e.username = ? OR e.principal_arn = ?)", Param::Text(name.clone()));
        }
        if let Some(read_only) = f.read_only {
            push("e.read_only = ?", Param::Int(i64::from(read_only)));
        }
        if let Some(account) = &f.account {
            push("EXISTS (SELECT 1 FROM audit_event_accounts a WHERE a.seq = e.seq AND a.account_id = ?)", Param::Text(account.clone()));
        }
        if let Some(seq) = before_seq {
            push("e.seq < ?", Param::Int(seq));
        }
        let mut sql = String::from("SELECT e.* FROM audit_events e");
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY e.seq DESC LIMIT ${}", params.len() + 1));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for p in params {
            query = match p {
                Param::Text(s) => query.bind(s),
                Param::Int(i) => query.bind(i),
            };
        }
        let rows = query.bind(limit).fetch_all(&mut *self.tx).await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Records a signed digest.
    pub async fn insert_audit_digest(&mut self, d: &AuditDigestRow) -> Result<()> {
        sqlx::query("INSERT INTO audit_digests (seq, last_event_seq, last_hash, created_at, signature) VALUES ($1, $2, $3, $4, $5)")
            .bind(d.seq)
            .bind(d.last_event_seq)
            .bind(&d.last_hash)
            .bind(d.created_at)
            .bind(&d.signature)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The newest digest.
    pub async fn last_audit_digest(&mut self) -> Result<Option<AuditDigestRow>> {
        let row = sqlx::query("SELECT * FROM audit_digests ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(digest_from_row).transpose()
    }

    /// Up to `limit` digests after `after_seq`, oldest first.
    pub async fn audit_digests_after(&mut self, after_seq: i64, limit: i64) -> Result<Vec<AuditDigestRow>> {
        let rows = sqlx::query("SELECT * FROM audit_digests WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(digest_from_row).collect()
    }
}
