-- Restore testing: plans that regularly restore recent recovery points into scratch
-- locations and validate them (AWS Backup's restore testing). Same portability rules as 0001.

CREATE TABLE restore_testing_plans (
    arn                       TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    account_id                TEXT NOT NULL,
    region                    TEXT NOT NULL,
    schedule_expression       TEXT NOT NULL,
    schedule_timezone         TEXT NOT NULL,
    start_window_hours        BIGINT NOT NULL,
    -- RecoveryPointSelection as JSON (Algorithm, IncludeVaults, ExcludeVaults, …).
    recovery_point_selection  TEXT NOT NULL,
    tags                      TEXT NOT NULL,
    creator_request_id        TEXT,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT,
    -- The last firing handled (NULL: none yet); guarded updates keep one run per firing.
    last_execution_at         BIGINT
);
-- Plans are addressed by name in their account and Region.
CREATE UNIQUE INDEX restore_testing_plans_name ON restore_testing_plans (account_id, region, name);

CREATE TABLE restore_testing_selections (
    plan_arn                  TEXT NOT NULL REFERENCES restore_testing_plans (arn),
    name                      TEXT NOT NULL,
    protected_resource_type   TEXT NOT NULL,
    -- The rest of the selection as JSON (ProtectedResourceArns, ProtectedResourceConditions,
    -- RestoreMetadataOverrides, ValidationQuery, …).
    document                  TEXT NOT NULL,
    iam_role_arn              TEXT NOT NULL,
    validation_window_hours   BIGINT NOT NULL,
    creator_request_id        TEXT,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT,
    PRIMARY KEY (plan_arn, name)
);

-- What links a restore job to the testing plan that started it, and how its test went.
-- A side table keyed by the restore job, so restore_jobs stays as it is.
CREATE TABLE restore_testing_jobs (
    restore_job_id            TEXT PRIMARY KEY REFERENCES restore_jobs (id),
    plan_arn                  TEXT NOT NULL,
    selection_name            TEXT NOT NULL,
    resource_arn              TEXT NOT NULL,
    -- The plan firing this job belongs to.
    scheduled_at              BIGINT NOT NULL,
    -- SUCCESSFUL, FAILED, TIMED_OUT or VALIDATING (NULL before validation starts).
    validation_status         TEXT,
    validation_status_message TEXT,
    -- DELETING, SUCCESSFUL or FAILED: the scratch copy's clean-up.
    deletion_status           TEXT,
    deletion_status_message   TEXT,
    -- Restore time (connector run only), microseconds.
    restore_duration_us       BIGINT,
    -- Where the scratch copy went (a resource location JSON).
    scratch_location          TEXT NOT NULL
);
CREATE INDEX restore_testing_jobs_plan ON restore_testing_jobs (plan_arn, scheduled_at, restore_job_id);
-- One restore test per resource, selection and firing, however many processes tick.
CREATE UNIQUE INDEX restore_testing_jobs_firing ON restore_testing_jobs (plan_arn, selection_name, resource_arn, scheduled_at);
