//! The lifecycle tables on both databases.
