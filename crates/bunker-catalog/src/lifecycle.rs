//! Recovery point lifecycle rows: storage class, cold moves, deletions in progress.
