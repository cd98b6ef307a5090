//! Copy jobs: a recovery point copied into another account's or Region's vault.
