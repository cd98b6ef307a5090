//! Trees: one blob per directory, listing its entries with their metadata.
//!
//! A tree is JSON (`{"nodes":[…]}`, nodes sorted by name bytes) stored as a `tree` blob, so
//! it is compressed, encrypted and deduplicated like data: an unchanged directory has the
//! same tree id as in the previous recovery point and costs nothing. Names and link targets
//! are bytes on Unix; they serialize as a JSON string when valid UTF-8 and as
//! `{"hex": "…"}` otherwise, so no name is ever mangled.
//!
//! Hard links are not a node type: every path of a multiply-linked file is a `file` node with
//! its content (deduplicated, so free) plus `device`, `inode` and `links`; restore links the
//! paths that share (device, inode) within the restored set. This keeps every sub-path
//! restorable on its own.

use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::id::{ChunkId, TreeId};

/// A file name or link target as raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(pub Vec<u8>);

impl Name {
    /// From an OS string.
    pub fn from_os(s: &std::ffi::OsStr) -> Self {
        Self(s.as_bytes().to_vec())
    }

    /// As an OS string, for file system calls.
    pub fn as_os(&self) -> &std::ffi::OsStr {
        std::ffi::OsStr::from_bytes(&self.0)
    }

    /// Lossy text, for display.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => HexName { hex: hex::encode(&self.0) }.serialize(s),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct HexName {
    hex: String,
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Hex(HexName),
        }
        match Repr::deserialize(d)? {
            Repr::Text(t) => Ok(Self(t.into_bytes())),
            Repr::Hex(h) => hex::decode(h.hex).map(Self).map_err(serde::de::Error::custom),
        }
    }
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// Regular file, with content.
    File,
    /// Directory, with a subtree.
    Dir,
    /// Symbolic link, with a target.
    Symlink,
    /// Named pipe.
    Fifo,
    /// Character device, with `rdev`.
    CharDevice,
    /// Block device, with `rdev`.
    BlockDevice,
    /// Unix socket (recorded, not recreated).
    Socket,
}

/// One extended attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Xattr {
    /// Attribute name (e.g. `user.comment`).
    pub name: Name,
    /// Value, hex.
    pub value: String,
}

/// One directory entry with its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// File name within its directory.
    pub name: Name,
    /// What it is.
    #[serde(rename = "type")]
    pub kind: NodeKind,
    /// Permission bits including setuid, setgid and sticky (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Size in bytes (files; 0 otherwise).
    pub size: u64,
    /// Device of the source file system (hard-link identity and change detection).
    #[serde(default)]
    pub device: u64,
    /// Inode on the source (hard-link identity and change detection).
    #[serde(default)]
    pub inode: u64,
    /// Link count on the source; above 1 means other paths may share this content.
    #[serde(default)]
    pub links: u64,
    /// Device number for character and block devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdev: Option<u64>,
    /// Symlink target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Name>,
    /// Extended attributes, where the file system has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xattrs: Vec<Xattr>,
    /// File content in order; all-zero chunks are restored as holes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ChunkId>>,
    /// Directory contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtree: Option<TreeId>,
}

impl Node {
    /// A node from `lstat` metadata (content, subtree, target and xattrs are filled by the caller).
    pub fn from_metadata(name: Name, m: &Metadata) -> Self {
        let ft = m.file_type();
        let kind = if ft.is_dir() {
            NodeKind::Dir
        } else if ft.is_symlink() {
            NodeKind::Symlink
        } else if ft.is_fifo() {
            NodeKind::Fifo
        } else if ft.is_char_device() {
            NodeKind::CharDevice
        } else if ft.is_block_device() {
            NodeKind::BlockDevice
        } else if ft.is_socket() {
            NodeKind::Socket
        } else {
            NodeKind::File
        };
        let rdev = matches!(kind, NodeKind::CharDevice | NodeKind::BlockDevice).then(|| m.rdev());
        Self {
            name,
            kind,
            mode: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            mtime_ns: m.mtime().saturating_mul(1_000_000_000).saturating_add(m.mtime_nsec()),
            size: if kind == NodeKind::File { m.size() } else { 0 },
            device: m.dev(),
            inode: m.ino(),
            links: m.nlink(),
            rdev,
            target: None,
            xattrs: Vec::new(),
            content: None,
            subtree: None,
        }
    }

    /// Whether a file is unchanged since `parent` was recorded, judged by metadata only
    /// (size, mtime, inode, mode), the way `restic` and `borg` skip unchanged files.
    pub fn unchanged_since(&self, parent: &Node) -> bool {
        self.kind == NodeKind::File
            && parent.kind == NodeKind::File
            && parent.content.is_some()
            && self.size == parent.size
            && self.mtime_ns == parent.mtime_ns
            && self.inode == parent.inode
            && self.mode == parent.mode
    }
}

/// Reads the extended attributes of `path` (not following symlinks). File systems without
/// xattr support yield none.
pub(crate) fn read_xattrs(path: &Path) -> Vec<Xattr> {
    let Ok(names) = xattr::list(path) else { return Vec::new() };
    let mut out: Vec<Xattr> = names
        .filter_map(|n| {
            let value = xattr::get(path, &n).ok()??;
            Some(Xattr { name: Name::from_os(&n), value: hex::encode(value) })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// One directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    /// Entries sorted by name bytes.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Serialized form (the blob plaintext). Sorting first makes equal directories equal blobs.
    pub(crate) fn encode(&mut self) -> Vec<u8> {
        self.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        serde_json::to_vec(self).expect("trees always serialize")
    }

    /// Parses a tree blob.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    /// The entry called `name`.
    pub fn get(&self, name: &[u8]) -> Option<&Node> {
        self.nodes.binary_search_by(|n| n.name.0.as_slice().cmp(name)).ok().map(|i| &self.nodes[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_including_non_utf8() {
        let mut t = Tree::default();
        let dir = tempfile::tempdir().unwrap();
        let m = std::fs::symlink_metadata(dir.path()).unwrap();
        t.nodes.push(Node::from_metadata(Name(vec![0xff, b'a']), &m));
        t.nodes.push(Node::from_metadata(Name("é".as_bytes().to_vec()), &m));
        let bytes = t.encode();
        let back = Tree::from_bytes(&bytes).unwrap();
        assert_eq!(back, t);
        assert!(back.get(&[0xff, b'a']).is_some());
        assert!(back.get("é".as_bytes()).is_some());
        assert!(back.get(b"zz").is_none());
        assert_eq!(back.nodes[0].kind, NodeKind::Dir);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(data: Vec<u8>) {
            let _ = Tree::from_bytes(&data);
        }
    }
}
