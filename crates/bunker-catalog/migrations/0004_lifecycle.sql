-- Lifecycle to the cold tier. A point moved there has `snapshot_id` in the vault's cold
-- repository; `warm_snapshot_id` keeps its former warm snapshot until that is forgotten in
-- the warm repository (set in the same write as `storage_class = 'COLD'`, so a crash in
-- between leaves a row the next lifecycle pass finishes).
ALTER TABLE recovery_points ADD COLUMN warm_snapshot_id TEXT;

-- What each lifecycle pass asks, answered from small partial indexes rather than by
-- reading every recovery point: moves due (and the next one), deletions interrupted,
-- warm snapshots still to forget.
CREATE INDEX recovery_points_cold_due ON recovery_points (move_to_cold_at) WHERE storage_class = 'WARM';
CREATE INDEX recovery_points_deleting ON recovery_points (arn) WHERE status = 'DELETING';
CREATE INDEX recovery_points_warm_leftover ON recovery_points (arn) WHERE warm_snapshot_id IS NOT NULL;
