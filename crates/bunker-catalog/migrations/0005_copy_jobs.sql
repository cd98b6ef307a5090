-- Copy jobs: a recovery point copied into another vault (another account, another Region),
-- as AWS Backup's CopyJob. Same portability rules as 0001.

CREATE TABLE copy_jobs (
    id                              TEXT PRIMARY KEY,
    -- The account that asked for the copy (the source's).
    account_id                      TEXT NOT NULL,
    region                          TEXT NOT NULL,
    source_vault_arn                TEXT NOT NULL,
    source_recovery_point_arn       TEXT NOT NULL,
    destination_vault_arn           TEXT NOT NULL,
    -- Set when the copy is recorded in the destination vault.
    destination_recovery_point_arn  TEXT,
    resource_arn                    TEXT NOT NULL,
    resource_type                   TEXT NOT NULL,
    state                           TEXT NOT NULL
        CHECK (state IN ('CREATED', 'RUNNING', 'COMPLETED', 'FAILED', 'PARTIAL')),
    status_message                  TEXT,
    created_at                      BIGINT NOT NULL,
    started_at                      BIGINT,
    -- Refreshed while a process runs the copy: a RUNNING job whose heartbeat is old was
    -- left by a process that stopped.
    heartbeat_at                    BIGINT,
    completed_at                    BIGINT,
    attempt                         BIGINT NOT NULL,
    backup_size                     BIGINT NOT NULL,
    bytes_transferred               BIGINT NOT NULL,
    iam_role_arn                    TEXT NOT NULL,
    -- CreatedBy (copies made by a plan's copy action; NULL on demand).
    plan_id                         TEXT,
    plan_version                    TEXT,
    rule_id                         TEXT,
    -- The destination point's lifecycle: {"MoveToColdStorageAfterDays": n, "DeleteAfterDays": n}
    lifecycle                       TEXT NOT NULL
);
CREATE INDEX copy_jobs_state ON copy_jobs (state, created_at);
CREATE INDEX copy_jobs_created ON copy_jobs (created_at, id);
CREATE INDEX copy_jobs_source ON copy_jobs (source_recovery_point_arn);
