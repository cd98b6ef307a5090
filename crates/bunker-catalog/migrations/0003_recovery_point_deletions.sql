-- The scheduler asks when lifecycle next deletes a recovery point
-- (`MIN(delete_at) WHERE delete_at > now`) before it sleeps: answered from this index
-- instead of by reading every recovery point.
CREATE INDEX recovery_points_delete_at ON recovery_points (delete_at);
