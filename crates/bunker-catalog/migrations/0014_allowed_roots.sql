-- Allowed roots: the directories an account's resources must lie under, and its restores
-- must write under, as the management account sets them. No row for an account: no such
-- restriction (the instance's home stays refused all the same). The list is replaced
-- whole on every change; `position` keeps the order it was given in. Same portability
-- rules as 0001.

CREATE TABLE allowed_roots (
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    position    BIGINT NOT NULL,
    root        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, position)
);
