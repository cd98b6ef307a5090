//! Keys, authenticated encryption and keyed ids.
//!
//! One 32-byte master secret per vault (the "master key material", wrapped under `keys/`)
//! yields, through `blake3::derive_key` with fixed context strings, every key the vault uses:
//! the AEAD data key, the chunk-id key and the chunker seed. Deriving instead of storing them
//! keeps the wrapped object tiny and lets the id key be a pure function of the vault's key
//! domain, so ids of the same data differ across vaults.
//!
//! Every encrypted object is `nonce (12) ‖ ciphertext ‖ tag (16)` with a random nonce and
//! an associated-data string naming what the object is ([`Aad`]), so a pack header can never
//! be passed off as an index, or a blob as a manifest.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use serde::{Deserialize, Serialize};

use crate::id::{BlobId, ID_LEN};

/// Nonce length of both supported AEADs.
pub const NONCE_LEN: usize = 12;
/// Tag length of both supported AEADs.
pub const TAG_LEN: usize = 16;
/// Bytes added to a plaintext by encryption.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;

const CONTEXT_DATA_KEY: &str = "bunker-vault v1 2025-01 data encryption key";
const CONTEXT_ID_KEY: &str = "bunker-vault v1 2025-01 chunk id key";
const CONTEXT_CHUNKER_SEED: &str = "bunker-vault v1 2025-01 chunker seed";

/// Fills an array from the operating system's CSPRNG.
///
/// # Panics
/// If the OS has no random source, which no supported platform lacks.
pub(crate) fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the operating system random source failed");
    out
}

/// The AEAD protecting every object but `config` and `keys/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Cipher {
    /// AES-256 in Galois/Counter Mode; fastest where the CPU has AES-NI and CLMUL.
    #[default]
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
    /// ChaCha20-Poly1305; the choice on CPUs without AES instructions.
    #[serde(rename = "chacha20-poly1305")]
    ChaCha20Poly1305,
}

/// What an encrypted object is, bound into its tag as associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aad {
    Blob,
    PackHeader,
    Index,
    Snapshot,
}

impl Aad {
    fn bytes(self) -> &'static [u8] {
        match self {
            Self::Blob => b"bunker-vault/v1/blob",
            Self::PackHeader => b"bunker-vault/v1/pack-header",
            Self::Index => b"bunker-vault/v1/index",
            Self::Snapshot => b"bunker-vault/v1/snapshot",
        }
    }
}

/// The vault's master secret. Never stored in clear; see [`crate::keys`].
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKeyMaterial([u8; 32]);

impl MasterKeyMaterial {
    /// Fresh random material, made once at `init`.
    pub fn generate() -> Self {
        Self(random_array())
    }

    /// Material from bytes unwrapped by a key-encryption key.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The secret bytes, for wrapping by a key-encryption key only.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for MasterKeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKeyMaterial(..)")
    }
}

enum Aead {
    Aes(Box<aes_gcm::Aes256Gcm>),
    ChaCha(Box<chacha20poly1305::ChaCha20Poly1305>),
}

/// The keys of an opened vault: encryption and id hashing. Cheap to share across threads.
pub struct Crypto {
    aead: Aead,
    id_key: [u8; ID_LEN],
    chunker_seed: u64,
}

impl std::fmt::Debug for Crypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Crypto(..)")
    }
}

/// Decryption failed: wrong key or damaged data (AEADs cannot tell which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AuthError;

impl Crypto {
    /// Derives all working keys from the master material.
    pub fn new(master: &MasterKeyMaterial, cipher: Cipher) -> Self {
        let data_key = blake3::derive_key(CONTEXT_DATA_KEY, master.expose());
        let aead = match cipher {
            Cipher::Aes256Gcm => Aead::Aes(Box::new(aes_gcm::Aes256Gcm::new(&data_key.into()))),
            Cipher::ChaCha20Poly1305 => Aead::ChaCha(Box::new(
                chacha20poly1305::ChaCha20Poly1305::new(&data_key.into()),
            )),
        };
        let seed = blake3::derive_key(CONTEXT_CHUNKER_SEED, master.expose());
        let mut seed8 = [0u8; 8];
        seed8.copy_from_slice(&seed[..8]);
        Self {
            aead,
            id_key: blake3::derive_key(CONTEXT_ID_KEY, master.expose()),
            chunker_seed: u64::from_le_bytes(seed8),
        }
    }

    /// The id of a blob with this plaintext: keyed BLAKE3-256.
    pub fn blob_id(&self, plaintext: &[u8]) -> BlobId {
        BlobId::from_bytes(*blake3::keyed_hash(&self.id_key, plaintext).as_bytes())
    }

    /// Seed XORed into FastCDC's gear table, so cut points differ per vault.
    pub(crate) fn chunker_seed(&self) -> u64 {
        self.chunker_seed
    }

    /// Appends `nonce ‖ E(plaintext) ‖ tag` to `out`.
    pub(crate) fn seal_into(&self, aad: Aad, plaintext: &[u8], out: &mut Vec<u8>) {
        let nonce: [u8; NONCE_LEN] = random_array();
        out.reserve(plaintext.len() + OVERHEAD);
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let buf = &mut out[start..];
        // Encryption only fails for plaintexts over 64 GiB, far above any object we build.
        let tag = match &self.aead {
            Aead::Aes(c) => c.encrypt_in_place_detached(&nonce.into(), aad.bytes(), buf),
            Aead::ChaCha(c) => c.encrypt_in_place_detached(&nonce.into(), aad.bytes(), buf),
        }
        .expect("AEAD plaintext within limits");
        out.extend_from_slice(&tag);
    }

    /// Encrypts into a fresh buffer.
    pub(crate) fn seal(&self, aad: Aad, plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
        self.seal_into(aad, plaintext, &mut out);
        out
    }

    /// Authenticates and decrypts `nonce ‖ ciphertext ‖ tag`.
    pub(crate) fn open(&self, aad: Aad, sealed: &[u8]) -> Result<Vec<u8>, AuthError> {
        if sealed.len() < OVERHEAD {
            return Err(AuthError);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut buf = ct.to_vec();
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| AuthError)?;
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| AuthError)?;
        match &self.aead {
            Aead::Aes(c) => c.decrypt_in_place_detached(&nonce.into(), aad.bytes(), &mut buf, &tag.into()),
            Aead::ChaCha(c) => {
                c.decrypt_in_place_detached(&nonce.into(), aad.bytes(), &mut buf, &tag.into())
            }
        }
        .map_err(|_| AuthError)?;
        Ok(buf)
    }
}

/// AES-256-GCM with a one-off key, for wrapping master material (see [`crate::keys`]).
pub(crate) fn wrap_with(kek: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let c = aes_gcm::Aes256Gcm::new(kek.into());
    let nonce: [u8; NONCE_LEN] = random_array();
    let mut out = nonce.to_vec();
    let mut buf = plaintext.to_vec();
    let tag = c
        .encrypt_in_place_detached(&nonce.into(), aad, &mut buf)
        .expect("AEAD plaintext within limits");
    out.extend_from_slice(&buf);
    out.extend_from_slice(&tag);
    out
}

/// Inverse of [`wrap_with`].
pub(crate) fn unwrap_with(kek: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, AuthError> {
    if sealed.len() < OVERHEAD {
        return Err(AuthError);
    }
    let c = aes_gcm::Aes256Gcm::new(kek.into());
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut buf = ct.to_vec();
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| AuthError)?;
    let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| AuthError)?;
    c.decrypt_in_place_detached(&nonce.into(), aad, &mut buf, &tag.into()).map_err(|_| AuthError)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_both_ciphers() {
        let m = MasterKeyMaterial::generate();
        for cipher in [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305] {
            let c = Crypto::new(&m, cipher);
            let sealed = c.seal(Aad::Blob, b"secret");
            assert_eq!(sealed.len(), 6 + OVERHEAD);
            assert_eq!(c.open(Aad::Blob, &sealed).unwrap(), b"secret");
            assert_eq!(c.open(Aad::Index, &sealed), Err(AuthError));
            let mut bad = sealed.clone();
            bad[NONCE_LEN] ^= 1;
            assert_eq!(c.open(Aad::Blob, &bad), Err(AuthError));
            assert_eq!(c.open(Aad::Blob, &sealed[..5]), Err(AuthError));
        }
    }

    #[test]
    fn ids_are_keyed_per_vault() {
        let a = Crypto::new(&MasterKeyMaterial::generate(), Cipher::Aes256Gcm);
        let b = Crypto::new(&MasterKeyMaterial::generate(), Cipher::Aes256Gcm);
        assert_eq!(a.blob_id(b"x"), a.blob_id(b"x"));
        assert_ne!(a.blob_id(b"x"), b.blob_id(b"x"));
        assert_ne!(a.chunker_seed(), b.chunker_seed());
    }

    #[test]
    fn wrap_round_trip() {
        let k = [3u8; 32];
        let w = wrap_with(&k, b"ad", b"material");
        assert_eq!(unwrap_with(&k, b"ad", &w).unwrap(), b"material");
        assert!(unwrap_with(&[4u8; 32], b"ad", &w).is_err());
        assert!(unwrap_with(&k, b"other", &w).is_err());
    }
}
