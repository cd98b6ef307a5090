-- The two-person rule: in an account that enables it, the most destructive actions
-- (scheduling a key's deletion, bypassing a governance-mode Vault Lock, turning the rule
-- off) need a second principal's approval. Same portability rules as 0001.

CREATE TABLE two_person_rules (
    account_id TEXT PRIMARY KEY,
    enabled_at BIGINT NOT NULL
);

CREATE TABLE approval_requests (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource      TEXT NOT NULL,
    requester_arn TEXT NOT NULL,
    approver_arn  TEXT,
    status        TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'USED')),
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    decided_at    BIGINT
);
CREATE INDEX approval_requests_by_account ON approval_requests (account_id, created_at);
