//! The [`Vault`] handle: init, open, keys, and reading blobs, trees and snapshots.
//!
//! Operations live in their own modules ([`crate::backup`], [`crate::restore`],
//! [`crate::check`], [`crate::ls`], [`crate::diff`]) as methods on this handle.
//!
//! Locking: a vault may be read by many handles and written by several backups at once,
//! because writers only add immutable, content-named objects. Deleting objects (prune) takes
//! an exclusive lock; the rules and the conflict table are in [`crate::lock`].

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::blob;
use crate::config::{ChunkerParams, CompressionParams, FORMAT_VERSION, VaultConfig};
use crate::crypto::{Cipher, Crypto, MasterKeyMaterial};
use crate::error::{Result, VaultError};
use crate::id::{BlobId, KeyId, SnapshotId, TreeId, find_unique_prefix};
use crate::index::{self, Index};
use crate::keys::{KeyEncryptionKey, KeyInfo, KeyObject, wrap_context};
use crate::snapshot::{self, Snapshot};
use crate::storage::{ObjectKey, ObjectKind, Storage};
use crate::tree::Tree;

/// Settings fixed when a vault is created.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// FastCDC sizes.
    pub chunker: ChunkerParams,
    /// zstd level for new blobs.
    pub compression_level: i32,
    /// AEAD.
    pub cipher: Cipher,
    /// Target pack size in bytes.
    pub pack_size: u32,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            chunker: ChunkerParams::default(),
            compression_level: 3,
            cipher: Cipher::Aes256Gcm,
            pack_size: 16 * 1024 * 1024,
        }
    }
}

/// An open vault.
pub struct Vault {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) config: VaultConfig,
    pub(crate) crypto: Crypto,
    pub(crate) index: RwLock<Index>,
    pub(crate) index_problems: Vec<String>,
    /// Kept so keys can be added or rotated without asking for the old KEK again.
    master: MasterKeyMaterial,
    key_id: KeyId,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("vault_id", &self.config.vault_id).field("storage", &self.storage).finish()
    }
}

impl Vault {
    /// Creates a new vault in empty storage: a fresh master key wrapped by `kek`, then the
    /// `config` (written last, so its presence means the vault is complete).
    ///
    /// # Errors
    /// [`VaultError::AlreadyInitialized`], invalid options, KEK or storage errors.
    pub fn init(storage: Arc<dyn Storage>, kek: &dyn KeyEncryptionKey, options: InitOptions) -> Result<Self> {
        options.chunker.validate()?;
        if !(1024 * 1024..=1024 * 1024 * 1024).contains(&options.pack_size) {
            return Err(VaultError::InvalidOptions { reason: "pack size must be 1 MiB to 1 GiB".into() });
        }
        if !(1..=22).contains(&options.compression_level) {
            return Err(VaultError::InvalidOptions { reason: "zstd level must be 1 to 22".into() });
        }
        if storage.exists(&ObjectKey::Config)? {
            return Err(VaultError::AlreadyInitialized);
        }
        let config = VaultConfig {
            format_version: FORMAT_VERSION,
            vault_id: crate::id::VaultId::random(),
            chunker: options.chunker,
            compression: CompressionParams { algorithm: "zstd".into(), level: options.compression_level },
            cipher: options.cipher,
            id_hash: "blake3-keyed".into(),
            pack_size: options.pack_size,
            created: jiff::Timestamp::now(),
        };
        let master = MasterKeyMaterial::generate();
        let key_id = write_key(storage.as_ref(), &config, &master, kek)?;
        let json = serde_json::to_vec_pretty(&config).expect("config always serializes");
        storage.write(&ObjectKey::Config, &json)?;
        tracing::info!(vault = %config.vault_id, "vault initialized");
        Ok(Self {
            storage,
            crypto: Crypto::new(&master, config.cipher),
            config,
            index: RwLock::new(Index::default()),
            index_problems: Vec::new(),
            master,
            key_id,
        })
    }

    /// Opens an existing vault with any key that `kek` can unwrap, and loads its index.
    ///
    /// # Errors
    /// [`VaultError::NotFound`] without a config, [`VaultError::UnsupportedVersion`],
    /// [`VaultError::WrongKey`], or storage errors.
    pub fn open(storage: Arc<dyn Storage>, kek: &dyn KeyEncryptionKey) -> Result<Self> {
        let config = VaultConfig::parse(&storage.read(&ObjectKey::Config)?)?;
        let context = wrap_context(config.vault_id);
        let mut found = None;
        for info in storage.list(ObjectKind::Key)? {
            let ObjectKey::Key(id) = info.key else { continue };
            let Ok(obj) = serde_json::from_slice::<KeyObject>(&storage.read(&info.key)?) else {
                tracing::warn!(key = %id, "skipping unreadable key object");
                continue;
            };
            if let Some(m) = kek.unwrap(&obj.wrapped, &context)? {
                found = Some((id, m));
                break;
            }
        }
        let (key_id, master) = found.ok_or(VaultError::WrongKey)?;
        let crypto = Crypto::new(&master, config.cipher);
        let (index, problems) = index::load(storage.as_ref(), &crypto)?;
        tracing::debug!(blobs = index.len(), packs = index.packs().len(), "index loaded");
        Ok(Self {
            storage,
            config,
            crypto,
            index: RwLock::new(index),
            index_problems: problems.iter().map(ToString::to_string).collect(),
            master,
            key_id,
        })
    }

    /// The vault's config.
    pub fn config(&self) -> &VaultConfig {
        &self.config
    }

    /// The storage the vault lives in.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The key object this handle was opened with.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub(crate) fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn index_mut(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Where a blob is stored, if indexed.
    pub fn blob_location(&self, id: BlobId) -> Option<crate::index::IndexEntry> {
        self.index().get(&id)
    }

    /// Reloads the index if an index file it was loaded from is gone, which only a prune
    /// does: called after taking a lock, so a writer never dedups against blobs the prune
    /// removed. Index files added by other backups meanwhile are only missed dedup chances.
    /// Returns whether it reloaded.
    ///
    /// # Errors
    /// Storage errors.
    pub fn refresh_index(&self) -> Result<bool> {
        if !self.index_replaced()? {
            return Ok(false);
        }
        self.reload_index()?;
        Ok(true)
    }

    /// Whether an index file the in-memory index was loaded from is gone from storage.
    fn index_replaced(&self) -> Result<bool> {
        let stored: std::collections::HashSet<ObjectKey> =
            self.storage.list(ObjectKind::Index)?.into_iter().map(|i| i.key).collect();
        Ok(!self.index().files().iter().all(|f| stored.contains(&ObjectKey::Index(*f))))
    }

    /// Replaces the in-memory index with what storage holds now.
    pub(crate) fn reload_index(&self) -> Result<()> {
        let (index, problems) = index::load(self.storage.as_ref(), &self.crypto)?;
        for p in &problems {
            tracing::warn!(error = %p, "damaged index file while reloading");
        }
        *self.index_mut() = index;
        Ok(())
    }

    /// Number of blobs in the loaded index.
    pub fn blob_count(&self) -> usize {
        self.index().len()
    }

    // ----- keys -----

    /// Wraps the master key with another KEK (e.g. a second password) under a new key object.
    ///
    /// # Errors
    /// KEK or storage errors.
    pub fn add_key(&self, kek: &dyn KeyEncryptionKey) -> Result<KeyId> {
        let master = self.unwrap_current()?;
        write_key(self.storage.as_ref(), &self.config, &master, kek)
    }

    /// Replaces every key object with one wrapped by `new_kek`: the new one is written
    /// (durably) before the old ones are deleted. Data is not touched.
    ///
    /// # Errors
    /// KEK or storage errors.
    pub fn rotate_key(&mut self, new_kek: &dyn KeyEncryptionKey) -> Result<KeyId> {
        let new_id = self.add_key(new_kek)?;
        for info in self.storage.list(ObjectKind::Key)? {
            if info.key != ObjectKey::Key(new_id) {
                self.storage.delete(&info.key)?;
            }
        }
        self.key_id = new_id;
        Ok(new_id)
    }

    /// Lists key objects.
    ///
    /// # Errors
    /// Storage errors.
    pub fn keys(&self) -> Result<Vec<KeyInfo>> {
        let mut out = Vec::new();
        for info in self.storage.list(ObjectKind::Key)? {
            let ObjectKey::Key(id) = info.key else { continue };
            if let Ok(obj) = serde_json::from_slice::<KeyObject>(&self.storage.read(&info.key)?) {
                out.push(KeyInfo { id, created: obj.created, scheme: obj.scheme_name() });
            }
        }
        Ok(out)
    }

    fn unwrap_current(&self) -> Result<MasterKeyMaterial> {
        Ok(self.master.clone())
    }

    // ----- reading -----

    /// Reads, decrypts, decompresses and verifies one blob.
    ///
    /// # Errors
    /// [`VaultError::BlobMissing`], [`VaultError::CorruptBlob`] or storage errors.
    pub fn read_blob(&self, id: BlobId) -> Result<Vec<u8>> {
        match self.read_indexed_blob(id) {
            // A prune may have moved the blob since this handle loaded its index.
            Err(e @ (VaultError::NotFound { key: ObjectKey::Pack(_) } | VaultError::BlobMissing { .. })) => {
                if self.try_refresh_index() { self.read_indexed_blob(id) } else { Err(e) }
            }
            other => other,
        }
    }

    /// [`Vault::refresh_index`] for read paths: gives up (false) on storage errors, or if
    /// this thread may be holding the index (it must never wait for itself).
    fn try_refresh_index(&self) -> bool {
        if !self.index_replaced().unwrap_or(false) {
            return false;
        }
        let Ok((fresh, _)) = index::load(self.storage.as_ref(), &self.crypto) else { return false };
        match self.index.try_write() {
            Ok(mut index) => {
                *index = fresh;
                true
            }
            Err(_) => false,
        }
    }

    fn read_indexed_blob(&self, id: BlobId) -> Result<Vec<u8>> {
        let e = self.index().get(&id).ok_or(VaultError::BlobMissing { id })?;
        let sealed = self.storage.read_range(&ObjectKey::Pack(e.pack), u64::from(e.offset), u64::from(e.length))?;
        blob::open(&self.crypto, id, e.raw_length, &sealed)
    }

    /// Loads a directory.
    ///
    /// # Errors
    /// As [`Vault::read_blob`], or [`VaultError::CorruptBlob`] if it does not parse.
    pub fn load_tree(&self, id: TreeId) -> Result<Tree> {
        let bytes = self.read_blob(id.into())?;
        Tree::from_bytes(&bytes).map_err(|reason| VaultError::CorruptBlob { id: id.into(), reason })
    }

    /// All snapshots, oldest first. Damaged manifests are skipped with a warning.
    ///
    /// # Errors
    /// Storage errors.
    pub fn snapshots(&self) -> Result<Vec<(SnapshotId, Snapshot)>> {
        let mut out = Vec::new();
        for id in snapshot::list(self.storage.as_ref())? {
            match snapshot::read(self.storage.as_ref(), &self.crypto, id) {
                Ok(s) => out.push((id, s)),
                Err(e @ VaultError::Corrupt { .. }) => tracing::warn!(snapshot = %id, error = %e, "skipping"),
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    /// One snapshot by id.
    ///
    /// # Errors
    /// Storage errors or [`VaultError::Corrupt`].
    pub fn snapshot(&self, id: SnapshotId) -> Result<Snapshot> {
        snapshot::read(self.storage.as_ref(), &self.crypto, id)
    }

    /// Resolves `latest`, a full id or a unique id prefix.
    ///
    /// # Errors
    /// [`VaultError::SnapshotRef`] if nothing or several match.
    pub fn find_snapshot(&self, reference: &str) -> Result<(SnapshotId, Snapshot)> {
        let not_found = || VaultError::SnapshotRef { reference: reference.to_owned(), problem: "not found" };
        if reference == "latest" {
            return self.snapshots()?.pop().ok_or_else(not_found);
        }
        let ids = snapshot::list(self.storage.as_ref())?;
        match find_unique_prefix(ids, reference) {
            Ok(Some(id)) => Ok((id, self.snapshot(id)?)),
            Ok(None) => Err(not_found()),
            Err(_) => Err(VaultError::SnapshotRef { reference: reference.to_owned(), problem: "is ambiguous" }),
        }
    }
}

fn write_key(
    storage: &dyn Storage,
    config: &VaultConfig,
    master: &MasterKeyMaterial,
    kek: &dyn KeyEncryptionKey,
) -> Result<KeyId> {
    let wrapped = kek.wrap(master, &wrap_context(config.vault_id))?;
    let obj = KeyObject { version: 1, created: jiff::Timestamp::now(), wrapped };
    let id = KeyId::random();
    storage.write(&ObjectKey::Key(id), &serde_json::to_vec_pretty(&obj).expect("key objects serialize"))?;
    Ok(id)
}
