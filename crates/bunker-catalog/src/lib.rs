//! The catalog database.
