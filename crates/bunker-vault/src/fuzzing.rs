//! Entry points shared by the `cargo fuzz` targets in `fuzz/` and the test that replays
//! their corpora: every parser of an on-disk structure, fed arbitrary bytes. None may
//! panic; each must return an error for what it cannot read.

use crate::crypto::{Aad, Cipher, Crypto, MasterKeyMaterial};
use crate::id::PackId;
use crate::snapshot::Snapshot;
use crate::tree::Tree;
use crate::{VaultConfig, index, pack};

/// A fixed key, so the fuzzer can reach the parsers behind authenticated encryption.
fn crypto() -> Crypto {
    Crypto::new(&MasterKeyMaterial::from_bytes([7; 32]), Cipher::Aes256Gcm)
}

/// Pack trailers and headers: `data` is taken as a whole pack file (trailer arithmetic,
/// magic), then its tail as a header plaintext sealed into a well-formed pack (entry
/// parsing, offsets, lengths).
pub fn pack(data: &[u8]) {
    let crypto = crypto();
    let id = PackId::from_bytes([0; 32]);
    let _ = pack::header_of_bytes(&crypto, id, data);
    let (head, header) = data.split_at(data.len().min(2));
    let blobs_len = head.iter().fold(0usize, |n, b| n * 256 + usize::from(*b));
    let mut file = vec![0u8; blobs_len];
    let sealed = crypto.seal(Aad::PackHeader, header);
    file.extend_from_slice(&sealed);
    file.extend_from_slice(&u32::try_from(sealed.len()).unwrap_or(u32::MAX).to_le_bytes());
    file.extend_from_slice(pack::PACK_MAGIC);
    let _ = pack::header_of_bytes(&crypto, id, &file);
}

/// Index files (the decrypted `BKIX` listing).
pub fn index(data: &[u8]) {
    if let Ok(packs) = index::decode(data) {
        let mut idx = index::Index::default();
        for (pack, blobs) in &packs {
            idx.add_pack(*pack, blobs);
        }
        let _ = idx.len();
    }
}

/// Tree blobs (one directory each).
pub fn tree(data: &[u8]) {
    if let Ok(tree) = Tree::from_bytes(data) {
        for node in &tree.nodes {
            let _ = node.name.to_string_lossy();
        }
    }
}

/// Snapshot manifests and the plaintext `config`.
pub fn manifest(data: &[u8]) {
    let _ = serde_json::from_slice::<Snapshot>(data);
    let _ = VaultConfig::parse(data);
}

/// Real structures of `vault`, in the plaintext form each parser above reads: seeds for
/// the fuzz corpora (`fuzz/corpus/vault_*`), one `(target, bytes)` pair each.
///
/// # Errors
/// Storage or decryption errors of the vault.
pub fn seeds(vault: &crate::Vault) -> crate::Result<Vec<(&'static str, Vec<u8>)>> {
    use crate::storage::{ObjectKey, ObjectKind};
    let storage = vault.storage.as_ref();
    let mut out = vec![("vault_manifest", storage.read(&ObjectKey::Config)?)];
    for (_, snap) in vault.snapshots()? {
        out.push(("vault_manifest", serde_json::to_vec(&snap).expect("serializes")));
        let tree = vault.load_tree(snap.tree)?;
        out.push(("vault_tree", serde_json::to_vec(&tree).expect("serializes")));
    }
    for key in storage.list(ObjectKind::Index)?.into_iter().map(|info| info.key) {
        if let ObjectKey::Index(id) = key {
            let packs = index::read(storage, &vault.crypto, id)?;
            out.push(("vault_index", index::encode(&packs)));
        }
    }
    for key in storage.list(ObjectKind::Pack)?.into_iter().map(|info| info.key) {
        if let ObjectKey::Pack(id) = key {
            let bytes = storage.read(&key)?;
            let sealed_len = usize::try_from(u32::from_le_bytes(bytes[bytes.len() - 12..bytes.len() - 8].try_into().expect("4 bytes"))).unwrap_or(0);
            let start = bytes.len() - 12 - sealed_len;
            let plain = vault.crypto.open(Aad::PackHeader, &bytes[start..bytes.len() - 12]).map_err(|_| crate::VaultError::corrupt(key, "header"))?;
            // The `pack` target reads a 2-byte length of the blob area, then the header.
            let blobs: u64 = pack::header_of_bytes(&vault.crypto, id, &bytes)?.iter().map(|b| u64::from(b.length)).sum();
            let mut seed = u16::try_from(blobs).unwrap_or(u16::MAX).to_be_bytes().to_vec();
            seed.extend_from_slice(&plain);
            out.push(("vault_pack", seed));
        }
    }
    Ok(out)
}
