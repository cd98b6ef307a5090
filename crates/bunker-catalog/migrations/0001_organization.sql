-- The organization: one per Bunker instance, its root, organizational units, accounts,
-- policies and their attachments.
--
-- Portable between SQLite and PostgreSQL: TEXT ids, BIGINT timestamps (microseconds since
-- the Unix epoch, the precision the AWS CLI prints), BOOLEAN, no AUTOINCREMENT, no
-- SQLite-only syntax.

CREATE TABLE organization (
    id                       TEXT PRIMARY KEY,
    -- At most one row: one organization per instance.
    singleton                INTEGER NOT NULL DEFAULT 1 UNIQUE CHECK (singleton = 1),
    feature_set              TEXT NOT NULL CHECK (feature_set IN ('ALL', 'CONSOLIDATED_BILLING')),
    management_account_id    TEXT NOT NULL,
    management_account_email TEXT NOT NULL,
    created_at               BIGINT NOT NULL
);

-- Every root, OU and account, so that parents and policy targets can be foreign keys.
CREATE TABLE targets (
    id   TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('ROOT', 'ORGANIZATIONAL_UNIT', 'ACCOUNT'))
);

CREATE TABLE roots (
    id              TEXT PRIMARY KEY REFERENCES targets (id),
    organization_id TEXT NOT NULL REFERENCES organization (id),
    name            TEXT NOT NULL
);

CREATE TABLE organizational_units (
    id         TEXT PRIMARY KEY REFERENCES targets (id),
    name       TEXT NOT NULL,
    parent_id  TEXT NOT NULL REFERENCES targets (id),
    created_at BIGINT NOT NULL,
    UNIQUE (parent_id, name)
);

CREATE TABLE accounts (
    id                TEXT PRIMARY KEY REFERENCES targets (id),
    name              TEXT NOT NULL,
    email             TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED', 'PENDING_CLOSURE')),
    joined_method     TEXT NOT NULL CHECK (joined_method IN ('CREATED', 'INVITED')),
    joined_at         BIGINT NOT NULL,
    parent_id         TEXT NOT NULL REFERENCES targets (id),
    create_request_id TEXT NOT NULL UNIQUE,
    requested_at      BIGINT NOT NULL
);
-- Email addresses are unique regardless of case, as in AWS.
CREATE UNIQUE INDEX accounts_email ON accounts (LOWER(email));
CREATE INDEX accounts_parent ON accounts (parent_id);

CREATE TABLE policies (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    policy_type  TEXT NOT NULL,
    description  TEXT NOT NULL,
    content      TEXT NOT NULL,
    aws_managed  BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL,
    last_updated BIGINT NOT NULL
);

-- seq is global and only grows: ordering a target's attachments by it gives attachment
-- order, which decides how policies at one level merge.
CREATE TABLE policy_attachments (
    policy_id   TEXT NOT NULL REFERENCES policies (id),
    target_id   TEXT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL UNIQUE,
    attached_at BIGINT NOT NULL,
    PRIMARY KEY (policy_id, target_id)
);
CREATE INDEX policy_attachments_target ON policy_attachments (target_id, seq);

CREATE TABLE enabled_policy_types (
    root_id     TEXT NOT NULL REFERENCES roots (id),
    policy_type TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('ENABLED', 'PENDING_ENABLE', 'PENDING_DISABLE')),
    PRIMARY KEY (root_id, policy_type)
);
