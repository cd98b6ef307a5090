//! The restore testing tables on both databases.
