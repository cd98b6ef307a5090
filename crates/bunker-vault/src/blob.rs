//! One blob's encoding: compress (or not), then encrypt; and back, with the id re-verified.
//!
//! Plaintext of a sealed blob is `mode (1 byte) ‖ payload`: mode 0 = payload is the data,
//! mode 1 = payload is one zstd frame. The mode sits inside the encryption so a blob can be
//! decoded from its pack alone, and so compressibility is not visible from outside.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use crate::crypto::{Aad, Crypto};
use crate::error::{Result, VaultError};
use crate::id::BlobId;

/// What a blob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlobKind {
    /// File content.
    Data,
    /// A serialized directory ([`crate::tree::Tree`]).
    Tree,
}

impl BlobKind {
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            Self::Data => 0,
            Self::Tree => 1,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::Data),
            1 => Some(Self::Tree),
            _ => None,
        }
    }
}

/// Largest plaintext a blob may have; bounds allocations when decoding damaged data.
pub const MAX_BLOB_LEN: u32 = 64 * 1024 * 1024;

const MODE_RAW: u8 = 0;
const MODE_ZSTD: u8 = 1;

thread_local! {
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compresses `data` at `level` into `mode ‖ payload`, storing raw when zstd does not shrink it.
pub(crate) fn compress(data: &[u8], level: i32) -> Vec<u8> {
    let bound = zstd::zstd_safe::compress_bound(data.len());
    let mut buf = vec![0u8; 1 + bound];
    let n = COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(l, _)| *l != level) {
            *slot = zstd::bulk::Compressor::new(level).ok().map(|c| (level, c));
        }
        slot.as_mut().and_then(|(_, c)| c.compress_to_buffer(data, &mut buf[1..]).ok())
    });
    match n {
        Some(n) if n < data.len() => {
            buf[0] = MODE_ZSTD;
            buf.truncate(1 + n);
        }
        _ => {
            buf.clear();
            buf.push(MODE_RAW);
            buf.extend_from_slice(data);
        }
    }
    buf
}

/// Inverse of [`compress`]; `raw_len` is the expected plaintext length.
pub(crate) fn decompress(encoded: &[u8], raw_len: u32) -> std::result::Result<Vec<u8>, String> {
    let (&mode, payload) = encoded.split_first().ok_or("empty blob")?;
    if raw_len > MAX_BLOB_LEN {
        return Err(format!("length {raw_len} exceeds the blob limit"));
    }
    let out = match mode {
        MODE_RAW => payload.to_vec(),
        MODE_ZSTD => DECOMPRESSOR.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = zstd::bulk::Decompressor::new().ok();
            }
            let d = slot.as_mut().ok_or("zstd decompressor unavailable")?;
            d.decompress(payload, raw_len as usize).map_err(|e| format!("zstd: {e}"))
        })?,
        m => return Err(format!("unknown blob mode {m}")),
    };
    if out.len() != raw_len as usize {
        return Err(format!("length {} where {raw_len} was recorded", out.len()));
    }
    Ok(out)
}

/// Compresses and encrypts a blob, appending the sealed bytes to `out`; returns their length.
pub(crate) fn seal_into(crypto: &Crypto, level: i32, data: &[u8], out: &mut Vec<u8>) -> u32 {
    let start = out.len();
    let encoded = compress(data, level);
    crypto.seal_into(Aad::Blob, &encoded, out);
    u32::try_from(out.len() - start).expect("blob below 4 GiB")
}

/// Decrypts, decompresses and checks a sealed blob against its id.
///
/// # Errors
/// [`VaultError::CorruptBlob`] naming `id` if any step fails.
pub(crate) fn open(crypto: &Crypto, id: BlobId, raw_len: u32, sealed: &[u8]) -> Result<Vec<u8>> {
    let bad = |reason: String| VaultError::CorruptBlob { id, reason };
    let encoded = crypto.open(Aad::Blob, sealed).map_err(|_| bad("authentication failed".into()))?;
    let data = decompress(&encoded, raw_len).map_err(bad)?;
    if crypto.blob_id(&data) != id {
        return Err(bad("content does not match its id".into()));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Cipher, MasterKeyMaterial};

    #[test]
    fn compressible_and_random() {
        let zeros = vec![0u8; 100_000];
        let c = compress(&zeros, 3);
        assert_eq!(c[0], MODE_ZSTD);
        assert!(c.len() < 1000);
        assert_eq!(decompress(&c, 100_000).unwrap(), zeros);
        let random: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let r = compress(&random, 3);
        assert_eq!(decompress(&r, 10_000).unwrap(), random);
        assert!(decompress(&r, 9_999).is_err());
        assert!(decompress(&[], 0).is_err());
        assert!(decompress(&[9, 1], 1).is_err());
    }

    #[test]
    fn seal_open_verifies_id() {
        let crypto = Crypto::new(&MasterKeyMaterial::generate(), Cipher::Aes256Gcm);
        let data = b"hello hello hello hello hello".repeat(10);
        let id = crypto.blob_id(&data);
        let mut out = vec![1, 2, 3];
        let n = seal_into(&crypto, 3, &data, &mut out);
        assert_eq!(n as usize, out.len() - 3);
        let raw = u32::try_from(data.len()).unwrap();
        assert_eq!(open(&crypto, id, raw, &out[3..]).unwrap(), data);
        let other = crypto.blob_id(b"x");
        assert!(matches!(open(&crypto, other, raw, &out[3..]), Err(VaultError::CorruptBlob { .. })));
    }
}
