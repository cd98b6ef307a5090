//! Copy jobs: after a backup completes, each copy action of its rule copies the recovery point
//! into another vault (another account, another Region); also on demand (`StartCopyJob`).
