-- The audit trail: every call recorded as a CloudTrail event, append-only and hash-chained
-- (each row's hash covers the previous row's hash and every column of its own), with
-- digests signed under the instance master key. Same portability rules as 0001.

CREATE TABLE audit_events (
    -- 1, 2, 3, … without gaps: a gap is a deleted record.
    seq             BIGINT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    event_time      BIGINT NOT NULL,
    event_source    TEXT NOT NULL,
    event_name      TEXT NOT NULL,
    -- The caller's account.
    account_id      TEXT NOT NULL,
    principal_arn   TEXT NOT NULL,
    -- CloudTrail's Username: the user, the role session, `root`, or the service.
    username        TEXT NOT NULL,
    access_key_id   TEXT,
    region          TEXT NOT NULL,
    -- Where the call came from: cli, scheduler, api.
    source          TEXT NOT NULL,
    read_only       BIGINT NOT NULL,
    -- The resources as a JSON array of {"ResourceType", "ResourceName"}.
    resources       TEXT NOT NULL,
    -- The authorization decision and what decided it.
    decision        TEXT NOT NULL,
    error_code      TEXT,
    -- The whole CloudTrail-shaped record (JSON).
    record          TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (event_time, seq);
CREATE INDEX audit_events_name ON audit_events (event_name, seq);
CREATE INDEX audit_events_source ON audit_events (event_source, seq);
CREATE INDEX audit_events_username ON audit_events (username, seq);
CREATE INDEX audit_events_principal ON audit_events (principal_arn, seq);
CREATE INDEX audit_events_access_key ON audit_events (access_key_id, seq);
CREATE INDEX audit_events_event_id ON audit_events (event_id);
CREATE INDEX audit_events_read_only ON audit_events (read_only, seq);
-- Verification names a record that was moved by finding where its predecessor went.
CREATE INDEX audit_events_hash ON audit_events (hash);

-- The resources of each event, for lookups by resource name or type. The chain covers
-- `audit_events.resources`; verification checks these rows against it, so that edits here
-- cannot hide events from lookups. No foreign key, so that nothing stops (or hides) the
-- deletion of an event.
CREATE TABLE audit_event_resources (
    seq             BIGINT NOT NULL,
    resource_type   TEXT NOT NULL,
    resource_name   TEXT NOT NULL
);
CREATE INDEX audit_event_resources_seq ON audit_event_resources (seq);
CREATE INDEX audit_event_resources_name ON audit_event_resources (resource_name, seq);
CREATE INDEX audit_event_resources_type ON audit_event_resources (resource_type, seq);

-- Signed digests: every 100 events and hourly, the chain's head signed with a key derived
-- from the instance master key.
CREATE TABLE audit_digests (
    seq             BIGINT PRIMARY KEY,
    last_event_seq  BIGINT NOT NULL,
    last_hash       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    signature       TEXT NOT NULL
);
CREATE INDEX audit_digests_last_event ON audit_digests (last_event_seq);

-- The chain's head: one row, updated first by every append, so that concurrent appenders
-- (other processes, other connections) take turns.
CREATE TABLE audit_head (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    last_seq        BIGINT NOT NULL,
    last_hash       TEXT NOT NULL
);
INSERT INTO audit_head (id, last_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
