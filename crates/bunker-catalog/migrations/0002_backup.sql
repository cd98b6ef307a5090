-- What each account protects and keeps: resources, backup vaults, backup plans (with every
-- version) and selections, backup and restore jobs, recovery points.
--
-- Same portability rules as 0001. Tags and AWS documents are stored as JSON text, verbatim
-- in the AWS shape, since they are read and written whole; what queries filter or sort on
-- has its own column and index.

CREATE TABLE resources (
    arn           TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    region        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    name          TEXT NOT NULL,
    -- Where the data is (the connector's JSON: path, database URL, bucket).
    location      TEXT NOT NULL,
    -- {"key": "value", ...}
    tags          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (account_id, region, resource_type, name)
);
CREATE INDEX resources_account ON resources (account_id, region);

CREATE TABLE backup_vaults (
    arn                 TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts (id),
    region              TEXT NOT NULL,
    name                TEXT NOT NULL,
    -- The vault engine's storage root: a directory or s3://bucket/prefix.
    location            TEXT NOT NULL,
    encryption_key_arn  TEXT NOT NULL,
    creator_request_id  TEXT,
    tags                TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    UNIQUE (account_id, region, name)
);

CREATE TABLE backup_plans (
    id                  TEXT PRIMARY KEY,
    arn                 TEXT NOT NULL UNIQUE,
    account_id          TEXT NOT NULL REFERENCES accounts (id),
    region              TEXT NOT NULL,
    name                TEXT NOT NULL,
    -- The current version (a row of backup_plan_versions).
    version_id          TEXT NOT NULL,
    -- NULL for local plans; the plan name in the effective organization policy for plans
    -- derived from it (read-only to the account).
    policy_plan_name    TEXT,
    creator_request_id  TEXT,
    created_at          BIGINT NOT NULL,
    deleted_at          BIGINT,
    last_execution_at   BIGINT
);
-- A name is taken while its plan is not deleted.
CREATE UNIQUE INDEX backup_plans_live_name ON backup_plans (account_id, region, name) WHERE deleted_at IS NULL;

CREATE TABLE backup_plan_versions (
    plan_id     TEXT NOT NULL REFERENCES backup_plans (id),
    version_id  TEXT NOT NULL,
    -- The AWS BackupPlan document of this version (rules with their RuleIds).
    document    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    deleted_at  BIGINT,
    PRIMARY KEY (plan_id, version_id)
);

CREATE TABLE backup_selections (
    id                  TEXT PRIMARY KEY,
    plan_id             TEXT NOT NULL REFERENCES backup_plans (id),
    name                TEXT NOT NULL,
    -- The AWS BackupSelection document.
    document            TEXT NOT NULL,
    creator_request_id  TEXT,
    created_at          BIGINT NOT NULL
);
CREATE INDEX backup_selections_plan ON backup_selections (plan_id);

CREATE TABLE backup_jobs (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL,
    region               TEXT NOT NULL,
    vault_arn            TEXT NOT NULL,
    resource_arn         TEXT NOT NULL,
    resource_type        TEXT NOT NULL,
    -- NULL for on-demand jobs.
    plan_id              TEXT,
    plan_version         TEXT,
    rule_id              TEXT,
    rule_name            TEXT,
    -- One job per resource per scheduled firing, whichever plans select it.
    schedule_key         TEXT UNIQUE,
    state                TEXT NOT NULL,
    status_message       TEXT,
    created_at           BIGINT NOT NULL,
    start_by             BIGINT NOT NULL,
    -- CompleteBy = start + this, once the job starts.
    completion_window_minutes BIGINT NOT NULL,
    complete_by          BIGINT,
    started_at           BIGINT,
    completed_at         BIGINT,
    attempt              BIGINT NOT NULL,
    recovery_point_arn   TEXT,
    bytes_transferred    BIGINT NOT NULL,
    backup_size          BIGINT NOT NULL,
    -- {"MoveToColdStorageAfterDays": n, "DeleteAfterDays": n}
    lifecycle            TEXT NOT NULL,
    recovery_point_tags  TEXT NOT NULL,
    iam_role_arn         TEXT NOT NULL
);
CREATE INDEX backup_jobs_state ON backup_jobs (state, created_at);
CREATE INDEX backup_jobs_created ON backup_jobs (created_at, id);
CREATE INDEX backup_jobs_resource ON backup_jobs (resource_arn, created_at);

CREATE TABLE recovery_points (
    arn                  TEXT PRIMARY KEY,
    vault_arn            TEXT NOT NULL REFERENCES backup_vaults (arn),
    account_id           TEXT NOT NULL,
    region               TEXT NOT NULL,
    resource_arn         TEXT NOT NULL,
    resource_type        TEXT NOT NULL,
    resource_name        TEXT NOT NULL,
    backup_job_id        TEXT,
    -- The vault engine's snapshot id.
    snapshot_id          TEXT NOT NULL,
    status               TEXT NOT NULL,
    status_message       TEXT,
    storage_class        TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    completed_at         BIGINT,
    size_bytes           BIGINT NOT NULL,
    lifecycle            TEXT NOT NULL,
    -- When lifecycle moves / deletes it (NULL: never); kept in columns for the sweeper.
    move_to_cold_at      BIGINT,
    delete_at            BIGINT,
    tags                 TEXT NOT NULL,
    plan_id              TEXT,
    plan_version         TEXT,
    rule_id              TEXT,
    iam_role_arn         TEXT NOT NULL,
    source_recovery_point_arn TEXT
);
-- Paging by vault and by resource, newest first, in a stable order.
CREATE INDEX recovery_points_vault ON recovery_points (vault_arn, created_at, arn);
CREATE INDEX recovery_points_resource ON recovery_points (resource_arn, created_at, arn);

CREATE TABLE restore_jobs (
    id                    TEXT PRIMARY KEY,
    account_id            TEXT NOT NULL,
    region                TEXT NOT NULL,
    recovery_point_arn    TEXT NOT NULL,
    resource_type         TEXT NOT NULL,
    state                 TEXT NOT NULL,
    status_message        TEXT,
    created_at            BIGINT NOT NULL,
    completed_at          BIGINT,
    -- The restore metadata given (AWS `Metadata`: the new location, …).
    metadata              TEXT NOT NULL,
    -- 0 or 1 (BIGINT rather than BOOLEAN: one type on both databases).
    copy_source_tags      BIGINT NOT NULL,
    backup_size           BIGINT NOT NULL,
    created_resource_arn  TEXT,
    iam_role_arn          TEXT NOT NULL
);
CREATE INDEX restore_jobs_created ON restore_jobs (created_at, id);
