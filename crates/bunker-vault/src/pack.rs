//! Pack files: many sealed blobs followed by their sealed header.
//!
//! ```text
//! blob_0 ‖ … ‖ blob_{n-1} ‖ sealed header ‖ header length (u32 LE) ‖ "BNKPACK1"
//! ```
//!
//! The header lists every blob (kind, id, stored length, plaintext length) in file order, so
//! offsets are implicit and the index can always be rebuilt from the packs alone. A pack's id
//! is the unkeyed BLAKE3 of all its bytes, so storage corruption is detectable without keys.

use crate::blob::{self, BlobKind};
use crate::crypto::{Aad, Crypto};
use crate::error::{Result, VaultError};
use crate::id::{BlobId, PackId};
use crate::storage::{ObjectKey, Storage};

/// Trailing magic of every pack, version 1.
pub const PACK_MAGIC: &[u8; 8] = b"BNKPACK1";
/// Length of the fixed trailer: header length + magic.
pub const TRAILER_LEN: u64 = 12;
/// Bytes per header entry: kind (1) + id (32) + length (4) + raw length (4).
pub const HEADER_ENTRY_LEN: usize = 41;

/// One blob inside a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackBlob {
    /// Data or tree.
    pub kind: BlobKind,
    /// Its id.
    pub id: BlobId,
    /// Byte offset of the sealed blob in the pack.
    pub offset: u32,
    /// Sealed length.
    pub length: u32,
    /// Plaintext length.
    pub raw_length: u32,
}

/// Accumulates sealed blobs in memory until the pack is full.
#[derive(Debug, Default)]
pub(crate) struct PackWriter {
    buf: Vec<u8>,
    blobs: Vec<PackBlob>,
}

/// A finished pack ready to store.
pub(crate) struct FinishedPack {
    pub id: PackId,
    pub bytes: Vec<u8>,
    pub blobs: Vec<PackBlob>,
}

impl PackWriter {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self { buf: Vec::with_capacity(bytes), blobs: Vec::new() }
    }

    /// Seals `data` into the pack.
    pub(crate) fn add(&mut self, crypto: &Crypto, level: i32, kind: BlobKind, id: BlobId, data: &[u8]) -> u32 {
        let offset = u32::try_from(self.buf.len()).expect("pack below 4 GiB");
        let length = blob::seal_into(crypto, level, data, &mut self.buf);
        let raw_length = u32::try_from(data.len()).expect("blob below 4 GiB");
        self.blobs.push(PackBlob { kind, id, offset, length, raw_length });
        length
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Appends the header and trailer and names the pack.
    pub(crate) fn finish(self, crypto: &Crypto) -> FinishedPack {
        let Self { mut buf, blobs } = self;
        let mut header = Vec::with_capacity(4 + blobs.len() * HEADER_ENTRY_LEN);
        header.extend_from_slice(&u32::try_from(blobs.len()).expect("blob count").to_le_bytes());
        for b in &blobs {
            header.push(b.kind.to_byte());
            header.extend_from_slice(b.id.as_bytes());
            header.extend_from_slice(&b.length.to_le_bytes());
            header.extend_from_slice(&b.raw_length.to_le_bytes());
        }
        let before = buf.len();
        crypto.seal_into(Aad::PackHeader, &header, &mut buf);
        let sealed_len = u32::try_from(buf.len() - before).expect("header below 4 GiB");
        buf.extend_from_slice(&sealed_len.to_le_bytes());
        buf.extend_from_slice(PACK_MAGIC);
        let id = PackId::from_bytes(*blake3::hash(&buf).as_bytes());
        FinishedPack { id, bytes: buf, blobs }
    }
}

/// Parses a decrypted header, computing offsets; `blobs_end` is where the header starts.
pub(crate) fn parse_header(plain: &[u8], blobs_end: u64) -> std::result::Result<Vec<PackBlob>, String> {
    let count = plain.get(..4).ok_or("header too short")?;
    let count = u32::from_le_bytes(count.try_into().map_err(|_| "header")?) as usize;
    let body = &plain[4..];
    if body.len() != count.checked_mul(HEADER_ENTRY_LEN).ok_or("count overflow")? {
        return Err(format!("header says {count} blobs but holds {} bytes", body.len()));
    }
    let mut offset: u64 = 0;
    let mut out = Vec::with_capacity(count);
    for e in body.chunks_exact(HEADER_ENTRY_LEN) {
        let kind = BlobKind::from_byte(e[0]).ok_or_else(|| format!("unknown blob kind {}", e[0]))?;
        let id = BlobId::from_bytes(e[1..33].try_into().map_err(|_| "id")?);
        let length = u32::from_le_bytes(e[33..37].try_into().map_err(|_| "length")?);
        let raw_length = u32::from_le_bytes(e[37..41].try_into().map_err(|_| "raw length")?);
        let off32 = u32::try_from(offset).map_err(|_| "offset overflow")?;
        out.push(PackBlob { kind, id, offset: off32, length, raw_length });
        offset += u64::from(length);
    }
    if offset != blobs_end {
        return Err(format!("blobs cover {offset} bytes but the header starts at {blobs_end}"));
    }
    Ok(out)
}

/// Reads and decrypts the header of a stored pack of `size` bytes.
///
/// # Errors
/// Storage errors, or [`VaultError::Corrupt`] if the trailer or header is damaged.
pub(crate) fn read_header(storage: &dyn Storage, crypto: &Crypto, id: PackId, size: u64) -> Result<Vec<PackBlob>> {
    let key = ObjectKey::Pack(id);
    if size < TRAILER_LEN {
        return Err(VaultError::corrupt(key, "shorter than the trailer"));
    }
    let trailer = storage.read_range(&key, size - TRAILER_LEN, TRAILER_LEN)?;
    header_from_tail(crypto, &key, size, &trailer, |off, len| storage.read_range(&key, off, len))
}

/// Parses the header of a pack held whole in memory.
pub(crate) fn header_of_bytes(crypto: &Crypto, id: PackId, bytes: &[u8]) -> Result<Vec<PackBlob>> {
    let key = ObjectKey::Pack(id);
    let size = bytes.len() as u64;
    if size < TRAILER_LEN {
        return Err(VaultError::corrupt(key, "shorter than the trailer"));
    }
    let trailer = &bytes[bytes.len() - TRAILER_LEN as usize..];
    header_from_tail(crypto, &key, size, trailer, |off, len| {
        Ok(bytes[off as usize..(off + len) as usize].to_vec())
    })
}

fn header_from_tail(
    crypto: &Crypto,
    key: &ObjectKey,
    size: u64,
    trailer: &[u8],
    read: impl FnOnce(u64, u64) -> Result<Vec<u8>>,
) -> Result<Vec<PackBlob>> {
    if &trailer[4..12] != PACK_MAGIC {
        return Err(VaultError::corrupt(*key, "bad pack magic"));
    }
    let hlen = u64::from(u32::from_le_bytes(trailer[..4].try_into().expect("4 bytes")));
    let hstart = size
        .checked_sub(TRAILER_LEN + hlen)
        .ok_or_else(|| VaultError::corrupt(*key, "header length exceeds pack"))?;
    let sealed = read(hstart, hlen)?;
    let plain = crypto
        .open(Aad::PackHeader, &sealed)
        .map_err(|_| VaultError::corrupt(*key, "header authentication failed"))?;
    parse_header(&plain, hstart).map_err(|r| VaultError::corrupt(*key, r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Cipher, MasterKeyMaterial};
    use crate::storage::MemoryStorage;

    #[test]
    fn write_then_read_header() {
        let crypto = Crypto::new(&MasterKeyMaterial::generate(), Cipher::Aes256Gcm);
        let mut w = PackWriter::default();
        let a = b"first blob".to_vec();
        let b = vec![7u8; 5000];
        w.add(&crypto, 3, BlobKind::Data, crypto.blob_id(&a), &a);
        w.add(&crypto, 3, BlobKind::Tree, crypto.blob_id(&b), &b);
        let p = w.finish(&crypto);
        assert_eq!(PackId::from_bytes(*blake3::hash(&p.bytes).as_bytes()), p.id);
        let s = MemoryStorage::default();
        s.write(&ObjectKey::Pack(p.id), &p.bytes).unwrap();
        let h = read_header(&s, &crypto, p.id, p.bytes.len() as u64).unwrap();
        assert_eq!(h, p.blobs);
        assert_eq!(header_of_bytes(&crypto, p.id, &p.bytes).unwrap(), p.blobs);
        let e = h[1];
        let sealed = &p.bytes[e.offset as usize..(e.offset + e.length) as usize];
        assert_eq!(blob::open(&crypto, e.id, e.raw_length, sealed).unwrap(), b);
        // A damaged header is reported, not panicked on.
        let mut bad = p.bytes.clone();
        let n = bad.len();
        bad[n - 20] ^= 1;
        assert!(header_of_bytes(&crypto, p.id, &bad).is_err());
        assert!(header_of_bytes(&crypto, p.id, &bad[..5]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_header_never_panics(data: Vec<u8>, end: u64) {
            let _ = parse_header(&data, end);
        }
    }
}
