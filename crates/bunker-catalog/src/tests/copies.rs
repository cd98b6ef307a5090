//! The copies tables on both databases.
