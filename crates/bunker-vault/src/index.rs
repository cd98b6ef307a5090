//! The index: where every blob lives (pack, offset, length, plaintext length).
//!
//! Index files are written after the packs they name are durable, and hold a list of packs
//! with their blobs, exactly what the packs' own headers say; so the index is a cache of the
//! pack headers and can always be rebuilt from them. In memory the pack ids are interned so
//! an entry costs one `u32` for its pack.
//!
//! Index file plaintext (sealed with the `index` associated data):
//! `"BKIX" ‖ version (u8 = 1) ‖ pack count (u32 LE) ‖ { pack id (32) ‖ blob count (u32 LE) ‖
//! { kind (u8) ‖ blob id (32) ‖ offset (u32 LE) ‖ length (u32 LE) ‖ raw length (u32 LE) } }`.

use std::collections::HashMap;

use crate::blob::BlobKind;
use crate::crypto::{Aad, Crypto};
use crate::error::{Result, VaultError};
use crate::id::{BlobId, IndexId, PackId};
use crate::pack::PackBlob;
use crate::storage::{ObjectKey, ObjectKind, Storage};

const INDEX_MAGIC: &[u8; 4] = b"BKIX";
const INDEX_VERSION: u8 = 1;
const ENTRY_LEN: usize = 45;

/// Where one blob is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// The pack holding it.
    pub pack: PackId,
    /// Data or tree.
    pub kind: BlobKind,
    /// Offset of the sealed blob in the pack.
    pub offset: u32,
    /// Sealed length.
    pub length: u32,
    /// Plaintext length.
    pub raw_length: u32,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    pack: u32,
    kind: BlobKind,
    offset: u32,
    length: u32,
    raw_length: u32,
}

/// All blobs of a vault, in memory.
#[derive(Debug, Default, Clone)]
pub struct Index {
    packs: Vec<PackId>,
    pack_pos: HashMap<PackId, u32>,
    blobs: HashMap<BlobId, Slot>,
    files: Vec<IndexId>,
}

impl Index {
    /// Looks a blob up.
    pub fn get(&self, id: &BlobId) -> Option<IndexEntry> {
        self.blobs.get(id).map(|s| IndexEntry {
            pack: self.packs[s.pack as usize],
            kind: s.kind,
            offset: s.offset,
            length: s.length,
            raw_length: s.raw_length,
        })
    }

    /// Whether the blob is stored.
    pub fn contains(&self, id: &BlobId) -> bool {
        self.blobs.contains_key(id)
    }

    /// Number of blobs.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Packs named by the index.
    pub fn packs(&self) -> &[PackId] {
        &self.packs
    }

    /// Index files this was loaded from.
    pub fn files(&self) -> &[IndexId] {
        &self.files
    }

    /// Every blob with its location.
    pub fn iter(&self) -> impl Iterator<Item = (BlobId, IndexEntry)> + '_ {
        self.blobs.keys().filter_map(|id| Some((*id, self.get(id)?)))
    }

    /// Records a pack's blobs; a blob already known keeps its first location.
    pub fn add_pack(&mut self, pack: PackId, blobs: &[PackBlob]) {
        let next = u32::try_from(self.packs.len()).expect("fewer than 4 billion packs");
        let pos = *self.pack_pos.entry(pack).or_insert_with(|| {
            self.packs.push(pack);
            next
        });
        for b in blobs {
            self.blobs.entry(b.id).or_insert(Slot {
                pack: pos,
                kind: b.kind,
                offset: b.offset,
                length: b.length,
                raw_length: b.raw_length,
            });
        }
    }
}

/// Encodes an index file's plaintext.
pub(crate) fn encode(packs: &[(PackId, Vec<PackBlob>)]) -> Vec<u8> {
    let n: usize = packs.iter().map(|(_, b)| 36 + b.len() * ENTRY_LEN).sum();
    let mut out = Vec::with_capacity(9 + n);
    out.extend_from_slice(INDEX_MAGIC);
    out.push(INDEX_VERSION);
    out.extend_from_slice(&u32::try_from(packs.len()).expect("pack count").to_le_bytes());
    for (id, blobs) in packs {
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&u32::try_from(blobs.len()).expect("blob count").to_le_bytes());
        for b in blobs {
            out.push(b.kind.to_byte());
            out.extend_from_slice(b.id.as_bytes());
            out.extend_from_slice(&b.offset.to_le_bytes());
            out.extend_from_slice(&b.length.to_le_bytes());
            out.extend_from_slice(&b.raw_length.to_le_bytes());
        }
    }
    out
}

/// Decodes an index file's plaintext.
pub(crate) fn decode(plain: &[u8]) -> std::result::Result<Vec<(PackId, Vec<PackBlob>)>, String> {
    struct Cursor<'a>(&'a [u8]);
    impl Cursor<'_> {
        fn take<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
            if self.0.len() < N {
                return Err("truncated".into());
            }
            let (a, b) = self.0.split_at(N);
            self.0 = b;
            Ok(a.try_into().expect("length checked"))
        }
        fn u32(&mut self) -> std::result::Result<u32, String> {
            self.take::<4>().map(u32::from_le_bytes)
        }
    }
    let mut c = Cursor(plain);
    if &c.take::<4>()? != INDEX_MAGIC {
        return Err("bad index magic".into());
    }
    let [version] = c.take::<1>()?;
    if version != INDEX_VERSION {
        return Err(format!("index version {version} not supported"));
    }
    let count = c.u32()? as usize;
    let mut out = Vec::with_capacity(count.min(plain.len() / 36));
    for _ in 0..count {
        let pack = PackId::from_bytes(c.take::<32>()?);
        let n = c.u32()? as usize;
        if c.0.len() < n.saturating_mul(ENTRY_LEN) {
            return Err("truncated".into());
        }
        let mut blobs = Vec::with_capacity(n);
        for _ in 0..n {
            let [k] = c.take::<1>()?;
            let kind = BlobKind::from_byte(k).ok_or_else(|| format!("unknown blob kind {k}"))?;
            let id = BlobId::from_bytes(c.take::<32>()?);
            blobs.push(PackBlob { kind, id, offset: c.u32()?, length: c.u32()?, raw_length: c.u32()? });
        }
        out.push((pack, blobs));
    }
    if !c.0.is_empty() {
        return Err("trailing bytes".into());
    }
    Ok(out)
}

/// Seals and stores an index file naming `packs`, which must already be durable.
///
/// # Errors
/// Storage errors.
pub(crate) fn write(storage: &dyn Storage, crypto: &Crypto, packs: &[(PackId, Vec<PackBlob>)]) -> Result<IndexId> {
    let sealed = crypto.seal(Aad::Index, &encode(packs));
    let id = IndexId::from_bytes(*blake3::hash(&sealed).as_bytes());
    storage.write(&ObjectKey::Index(id), &sealed)?;
    Ok(id)
}

/// Reads and decodes one index file.
///
/// # Errors
/// Storage errors, or [`VaultError::Corrupt`].
pub(crate) fn read(storage: &dyn Storage, crypto: &Crypto, id: IndexId) -> Result<Vec<(PackId, Vec<PackBlob>)>> {
    let key = ObjectKey::Index(id);
    let sealed = storage.read(&key)?;
    let plain = crypto.open(Aad::Index, &sealed).map_err(|_| VaultError::corrupt(key, "authentication failed"))?;
    decode(&plain).map_err(|r| VaultError::corrupt(key, r))
}

/// Loads every index file; damaged ones are skipped and returned as problems, so a vault
/// with one bad index file still opens (its blobs look missing until the index is rebuilt).
///
/// # Errors
/// Storage errors other than damage.
pub(crate) fn load(storage: &dyn Storage, crypto: &Crypto) -> Result<(Index, Vec<VaultError>)> {
    let mut index = Index::default();
    let mut problems = Vec::new();
    for info in storage.list(ObjectKind::Index)? {
        let ObjectKey::Index(id) = info.key else { continue };
        match read(storage, crypto, id) {
            Ok(packs) => {
                for (pack, blobs) in &packs {
                    index.add_pack(*pack, blobs);
                }
                index.files.push(id);
            }
            Err(e @ VaultError::Corrupt { .. }) => {
                tracing::warn!(index = %id, error = %e, "skipping damaged index file");
                problems.push(e);
            }
            Err(e) => return Err(e),
        }
    }
    Ok((index, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(i: u8) -> PackBlob {
        PackBlob { kind: BlobKind::Data, id: BlobId::from_bytes([i; 32]), offset: u32::from(i) * 10, length: 10, raw_length: 20 }
    }

    #[test]
    fn encode_decode_round_trip() {
        let packs = vec![(PackId::from_bytes([1; 32]), vec![blob(1), blob(2)]), (PackId::from_bytes([2; 32]), vec![])];
        let enc = encode(&packs);
        assert_eq!(decode(&enc).unwrap(), packs);
        for cut in 0..enc.len() {
            assert!(decode(&enc[..cut]).is_err());
        }
        let mut idx = Index::default();
        for (p, b) in &packs {
            idx.add_pack(*p, b);
        }
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.get(&BlobId::from_bytes([2; 32])).unwrap().pack, PackId::from_bytes([1; 32]));
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(data: Vec<u8>) {
            let _ = decode(&data);
        }
    }
}
