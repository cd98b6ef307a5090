//! In-memory storage for tests and for measuring the pipeline without disk.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{ObjectInfo, ObjectKey, ObjectKind, Storage};
use crate::error::{Result, VaultError};

/// Objects in a hash map; nothing is persisted.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    objects: Mutex<HashMap<ObjectKey, Vec<u8>>>,
}

impl MemoryStorage {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectKey, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.objects.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies `f` to an object's bytes in place, for corruption tests.
    pub fn tamper(&self, key: &ObjectKey, f: impl FnOnce(&mut Vec<u8>)) -> bool {
        self.map().get_mut(key).map(f).is_some()
    }
}

impl Storage for MemoryStorage {
    fn list(&self, kind: ObjectKind) -> Result<Vec<ObjectInfo>> {
        Ok(self
            .map()
            .iter()
            .filter(|(k, _)| k.kind() == kind)
            .map(|(k, v)| ObjectInfo { key: *k, size: v.len() as u64 })
            .collect())
    }

    fn read(&self, key: &ObjectKey) -> Result<Vec<u8>> {
        self.map().get(key).cloned().ok_or(VaultError::NotFound { key: *key })
    }

    fn read_range(&self, key: &ObjectKey, offset: u64, len: u64) -> Result<Vec<u8>> {
        let map = self.map();
        let data = map.get(key).ok_or(VaultError::NotFound { key: *key })?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
        data.get(start..end).map(<[u8]>::to_vec).ok_or_else(|| VaultError::Storage {
            op: "read range",
            key: *key,
            retryable: false,
            source: std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
        })
    }

    fn write(&self, key: &ObjectKey, data: &[u8]) -> Result<()> {
        self.map().insert(*key, data.to_vec());
        Ok(())
    }

    fn delete(&self, key: &ObjectKey) -> Result<()> {
        self.map().remove(key);
        Ok(())
    }

    fn exists(&self, key: &ObjectKey) -> Result<bool> {
        Ok(self.map().contains_key(key))
    }
}
