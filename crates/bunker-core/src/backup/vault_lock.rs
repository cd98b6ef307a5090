//! (being written)

use super::BackupService;

impl BackupService {}
