-- The audit trail's anchor, and the accounts each event belongs to. Same portability
-- rules as 0001.

-- One row: how many records and digests the trail holds and the newest record's hash,
-- signed (HMAC-SHA256) under a key derived from the instance master key and moved in the
-- same transaction as every append and every digest. The hash chain alone can be
-- recomputed by anyone who can write here; this row cannot, so a trail rewritten, cut
-- short or emptied no longer matches it. Absent in a catalog written before it: the
-- service signs it at the first append once the trail verifies.
CREATE TABLE audit_anchor (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    last_seq        BIGINT NOT NULL,
    last_hash       TEXT NOT NULL,
    -- The newest digest's seq (0: none).
    digest_seq      BIGINT NOT NULL,
    -- Records already in the trail when the anchor was first signed (0 when the trail was
    -- anchored from its start): before it, only the digests vouch for the chain.
    anchored_from   BIGINT NOT NULL,
    anchored_at     BIGINT NOT NULL,
    signature       TEXT NOT NULL
);

-- The accounts an event belongs to: the caller's account and the owner of every resource
-- it names, so that a member account's lookup returns exactly its own events. Derived from
-- columns the chain covers; verification checks these rows against them.
CREATE TABLE audit_event_accounts (
    seq             BIGINT NOT NULL,
    account_id      TEXT NOT NULL,
    PRIMARY KEY (seq, account_id)
);
CREATE INDEX audit_event_accounts_account ON audit_event_accounts (account_id, seq);
