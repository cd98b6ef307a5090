-- Guardrails on deletion: AWS Backup Vault Lock and legal holds.
--
-- A vault's lock is one row. `lock_date` is set only for compliance mode (the lock was put
-- with ChangeableForDays): from that instant on the row never changes nor goes. Without it
-- the lock is in governance mode and may be changed or removed at any time. The row goes
-- with its vault (only an empty vault can be deleted).
CREATE TABLE backup_vault_locks (
    vault_arn            TEXT PRIMARY KEY REFERENCES backup_vaults (arn) ON DELETE CASCADE,
    min_retention_days   BIGINT,
    max_retention_days   BIGINT,
    changeable_for_days  BIGINT,
    lock_date            BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

-- Legal holds. The recovery points a hold covers are chosen once, when it is created (as
-- AWS does: existing points matching the selection), and kept in legal_hold_points; an
-- ACTIVE hold keeps each of them from deletion, by anyone and by lifecycle.
CREATE TABLE legal_holds (
    id                   TEXT PRIMARY KEY,
    arn                  TEXT NOT NULL UNIQUE,
    account_id           TEXT NOT NULL,
    region               TEXT NOT NULL,
    title                TEXT NOT NULL,
    description          TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('CREATING', 'ACTIVE', 'CANCELING', 'CANCELED')),
    cancel_description   TEXT,
    -- The AWS RecoveryPointSelection document, as given (normalised).
    selection            TEXT NOT NULL,
    tags                 TEXT NOT NULL,
    idempotency_token    TEXT,
    created_at           BIGINT NOT NULL,
    cancelled_at         BIGINT,
    -- A cancelled hold's record is shown until then (NULL: forever).
    retain_record_until  BIGINT
);
CREATE INDEX legal_holds_place ON legal_holds (account_id, region, created_at, id);
CREATE UNIQUE INDEX legal_holds_token ON legal_holds (account_id, region, idempotency_token);

-- No reference to recovery_points: a point deleted after its hold was cancelled leaves its
-- line, which lists skip.
CREATE TABLE legal_hold_points (
    legal_hold_id        TEXT NOT NULL REFERENCES legal_holds (id) ON DELETE CASCADE,
    recovery_point_arn   TEXT NOT NULL,
    PRIMARY KEY (legal_hold_id, recovery_point_arn)
);
CREATE INDEX legal_hold_points_point ON legal_hold_points (recovery_point_arn);
