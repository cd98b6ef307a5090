-- The key service: KMS keys of each account and Region, their key material versions
-- (sealed by the instance master key), aliases and grants. Same portability rules as 0001.

CREATE TABLE kms_keys (
    arn                  TEXT PRIMARY KEY,
    key_id               TEXT NOT NULL UNIQUE,
    account_id           TEXT NOT NULL,
    region               TEXT NOT NULL,
    description          TEXT NOT NULL,
    -- 'Deleted' rows stay (without material) so that what was encrypted under them can say
    -- which key it needed.
    state                TEXT NOT NULL
        CHECK (state IN ('Enabled', 'Disabled', 'PendingDeletion', 'Deleted')),
    -- CUSTOMER, or AWS for the default keys the services create (alias/aws/backup).
    key_manager          TEXT NOT NULL CHECK (key_manager IN ('CUSTOMER', 'AWS')),
    created_at           BIGINT NOT NULL,
    deletion_date        BIGINT,
    pending_window_days  BIGINT,
    rotation_enabled     BOOLEAN NOT NULL,
    rotation_period_days BIGINT NOT NULL,
    next_rotation_at     BIGINT,
    -- The key policy document (JSON text).
    policy               TEXT NOT NULL
);
CREATE INDEX kms_keys_scope ON kms_keys (account_id, region, created_at);
CREATE INDEX kms_keys_state ON kms_keys (state);

CREATE TABLE kms_key_versions (
    key_arn    TEXT NOT NULL REFERENCES kms_keys (arn),
    version    BIGINT NOT NULL,
    -- 32 bytes sealed by the instance master key (hex), bound to the key ARN and version.
    material   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (key_arn, version)
);

CREATE TABLE kms_aliases (
    account_id   TEXT NOT NULL,
    region       TEXT NOT NULL,
    -- `alias/…`.
    name         TEXT NOT NULL,
    key_arn      TEXT NOT NULL REFERENCES kms_keys (arn),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, name)
);
CREATE INDEX kms_aliases_key ON kms_aliases (key_arn);

CREATE TABLE kms_grants (
    grant_id           TEXT PRIMARY KEY,
    key_arn            TEXT NOT NULL REFERENCES kms_keys (arn),
    name               TEXT,
    grantee_principal  TEXT NOT NULL,
    retiring_principal TEXT,
    -- Operation names, comma-separated (`Encrypt,Decrypt`).
    operations         TEXT NOT NULL,
    issuing_account    TEXT NOT NULL,
    created_at         BIGINT NOT NULL
);
CREATE INDEX kms_grants_key ON kms_grants (key_arn, grantee_principal);
