//! Lifecycle of recovery points: the move to the cold tier, deletion, and the operations that
//! change either (`UpdateRecoveryPointLifecycle`, `DeleteRecoveryPoint`).
