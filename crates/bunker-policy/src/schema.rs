//! The shape of a BACKUP_POLICY document.
