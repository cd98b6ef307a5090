-- Principals and resource policies: IAM users and roles per account, their policies, access
-- keys (long-term, and the temporary ones STS hands out), MFA devices, vault access
-- policies, delegated administrators. Secrets are sealed by the instance master key before
-- they reach the catalog. Same portability rules as 0001.

CREATE TABLE iam_principals (
    arn                 TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('USER', 'ROLE')),
    name                TEXT NOT NULL,
    path                TEXT NOT NULL,
    -- AIDA… for users, AROA… for roles, as AWS shows them.
    principal_id        TEXT NOT NULL,
    -- Roles: who may assume them (an IAM policy document).
    trust_policy        TEXT,
    max_session_seconds BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    UNIQUE (account_id, kind, name)
);

CREATE TABLE iam_principal_policies (
    principal_arn TEXT NOT NULL,
    -- An inline policy's name, or a managed policy's ARN.
    policy_name   TEXT NOT NULL,
    -- Set for attached managed policies.
    policy_arn    TEXT,
    document      TEXT NOT NULL,
    PRIMARY KEY (principal_arn, policy_name)
);

CREATE TABLE iam_access_keys (
    access_key_id      TEXT PRIMARY KEY,
    principal_arn      TEXT NOT NULL,
    -- Hex of the secret sealed by the instance master key (bound to the key id).
    secret_sealed      TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    created_at         BIGINT NOT NULL,
    -- Temporary credentials: SHA-256 of the session token, expiry, the session's ARN
    -- (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`) and whether MFA was shown.
    session_token_hash TEXT,
    expires_at         BIGINT,
    session_arn        TEXT,
    mfa_authenticated  BOOLEAN NOT NULL
);
CREATE INDEX iam_access_keys_by_principal ON iam_access_keys (principal_arn);

CREATE TABLE iam_mfa_devices (
    serial_number  TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    -- The user it is enabled for (NULL until enabled).
    principal_arn  TEXT,
    seed_sealed    TEXT NOT NULL,
    enabled        BOOLEAN NOT NULL,
    -- The last TOTP time step accepted: a code is good once.
    last_used_step BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE backup_vault_access_policies (
    vault_arn  TEXT PRIMARY KEY,
    document   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE delegated_administrators (
    account_id        TEXT NOT NULL,
    service_principal TEXT NOT NULL,
    registered_at     BIGINT NOT NULL,
    PRIMARY KEY (account_id, service_principal)
);
