//! Typed 256-bit identifiers.
//!
//! Every kind of object gets its own newtype from [`define_id!`], so a pack id can never be
//! passed where a chunk id is expected. Ids print and parse as 64 lowercase hex digits and
//! serialize as that string.

use std::fmt;


/// Length in bytes of every id.
pub const ID_LEN: usize = 32;

/// A string that is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a {kind} id: expected 64 hex digits")]
pub struct ParseIdError {
    /// What kind of id was expected.
    pub kind: &'static str,
    /// The text that failed to parse.
    pub input: String,
}

pub(crate) fn parse_hex(kind: &'static str, s: &str) -> Result<[u8; ID_LEN], ParseIdError> {
    let mut out = [0u8; ID_LEN];
    hex::decode_to_slice(s, &mut out).map_err(|_| ParseIdError { kind, input: s.to_owned() })?;
    Ok(out)
}

/// Defines a 32-byte id newtype with hex `Display`/`FromStr`/serde.
macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $crate::id::ID_LEN]);

        impl $name {
            /// What this id names, for messages.
            pub const KIND: &'static str = $kind;

            /// Wraps raw bytes; only this crate's codecs create ids from bytes.
            #[allow(dead_code)]
            pub(crate) const fn from_bytes(bytes: [u8; $crate::id::ID_LEN]) -> Self {
                Self(bytes)
            }

            /// The raw bytes, for codecs inside this crate.
            #[allow(dead_code)]
            pub(crate) const fn as_bytes(&self) -> &[u8; $crate::id::ID_LEN] {
                &self.0
            }

            /// A fresh random id.
            #[allow(dead_code)]
            pub(crate) fn random() -> Self {
                Self($crate::crypto::random_array())
            }

            /// The first 8 hex digits, the way ids are shown to people.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }

            /// Full hex form.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::id::ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::id::parse_hex($kind, s).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex::encode(self.0))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use define_id;

define_id!(
    /// A data chunk: keyed BLAKE3 of its plaintext under the vault's id key.
    ChunkId, "chunk"
);
define_id!(
    /// A tree blob (one directory): keyed BLAKE3 of its serialized plaintext.
    TreeId, "tree"
);
define_id!(
    /// Any blob in a pack, data or tree; the index is keyed by it.
    BlobId, "blob"
);
define_id!(
    /// A pack file: unkeyed BLAKE3 of its stored bytes, so storage can be verified without keys.
    PackId, "pack"
);
define_id!(
    /// An index file: unkeyed BLAKE3 of its stored bytes.
    IndexId, "index"
);
define_id!(
    /// A recovery-point manifest: unkeyed BLAKE3 of its stored bytes.
    SnapshotId, "snapshot"
);
define_id!(
    /// A wrapped-key object under `keys/`: random.
    KeyId, "key"
);
define_id!(
    /// The vault itself: random, chosen at init.
    VaultId, "vault"
);

impl From<ChunkId> for BlobId {
    fn from(id: ChunkId) -> Self {
        Self(id.0)
    }
}

impl From<TreeId> for BlobId {
    fn from(id: TreeId) -> Self {
        Self(id.0)
    }
}

impl BlobId {
    /// Views this blob as a data chunk (the kind is known from the index or tree).
    pub fn as_chunk(self) -> ChunkId {
        ChunkId(self.0)
    }

    /// Views this blob as a tree.
    pub fn as_tree(self) -> TreeId {
        TreeId(self.0)
    }
}

/// Finds the one id in `ids` whose hex form starts with `prefix`.
pub(crate) fn find_unique_prefix<I: Copy + fmt::Display>(
    ids: impl IntoIterator<Item = I>,
    prefix: &str,
) -> Result<Option<I>, usize> {
    let matches: Vec<I> = ids.into_iter().filter(|id| id.to_string().starts_with(prefix)).collect();
    match matches.len() {
        0 => Ok(None),
        1 => Ok(Some(matches[0])),
        n => Err(n),
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_serde() {
        let id = PackId::from_bytes([0xab; 32]);
        let s = id.to_string();
        assert_eq!(s.len(), 64);
        assert_eq!(s.parse::<PackId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<PackId>(&json).unwrap(), id);
        assert!("zz".parse::<PackId>().is_err());
        assert_eq!(id.short(), "abababab");
    }

    #[test]
    fn prefix_lookup() {
        let a = SnapshotId::from_bytes([0x11; 32]);
        let b = SnapshotId::from_bytes([0x12; 32]);
        assert_eq!(find_unique_prefix([a, b], "111"), Ok(Some(a)));
        assert_eq!(find_unique_prefix([a, b], "1"), Err(2));
        assert_eq!(find_unique_prefix([a, b], "2"), Ok(None));
    }
}
