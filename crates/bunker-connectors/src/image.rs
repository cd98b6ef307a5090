//! Disk images and block devices, block level: the bytes as one vault stream named by the
//! file's name.
//!
//! Holes cost nothing: where the file system reports them (`SEEK_DATA` / `SEEK_HOLE`), the
//! reader hands the chunker zeros without reading the file, and runs of zeros (holes or
//! written zeros) become identical all-zero chunks, which the vault stores once. A restore
//! writes no all-zero chunk, so the new file is sparse wherever the image was zero.

use std::fs::{self, File};
use std::io::{ErrorKind, Read, Seek};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::Ordering;

use bunker_vault::snapshot::SnapshotSource;
use bunker_vault::{Progress, RestoreOptions, SnapshotId, StreamOptions, Vault, VaultError};

use crate::{BackupOutcome, BackupRequest, ConnectorError, RestoreOutcome, Result, Source};

fn path_of(source: &Source) -> Result<&Path> {
    match source {
        Source::DiskImage { path } if path.is_absolute() => Ok(path),
        Source::DiskImage { .. } => Err(ConnectorError::InvalidSource { reason: "Path must be absolute".into() }),
        other => Err(ConnectorError::InvalidSource { reason: format!("not a disk image: {}", other.describe()) }),
    }
}

pub(crate) fn backup(source: &Source, request: &BackupRequest<'_>) -> Result<BackupOutcome> {
    let path = path_of(source)?;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(ConnectorError::SourceMissing { path: path.to_owned() }),
        Err(e) => return Err(ConnectorError::io("open", path, e)),
    };
    if file.metadata().map_err(|e| ConnectorError::io("stat", path, e))?.is_dir() {
        return Err(ConnectorError::InvalidSource { reason: format!("{} is a directory, not an image", path.display()) });
    }
    if request.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
        return Err(ConnectorError::Stopped);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| ConnectorError::InvalidSource { reason: format!("{} has no file name", path.display()) })?;
    let mut reader = SparseReader::new(file, path)?;
    let options = StreamOptions {
        name,
        tags: request.tags.clone(),
        time: Some(request.time),
        stop: request.stop.clone(),
        ..StreamOptions::default()
    };
    let summary = match request.vault.backup_stream(&mut reader, &options, request.progress) {
        Ok(s) => s,
        Err(VaultError::Stopped) => return Err(ConnectorError::Stopped),
        Err(e) => return Err(e.into()),
    };
    Ok(BackupOutcome {
        snapshot: summary.snapshot_id,
        bytes_read: reader.read,
        bytes_added: summary.bytes_added,
        size: summary.details.bytes_total,
        partial: false,
    })
}

pub(crate) fn restore(vault: &Vault, snapshot: SnapshotId, target: &Source, progress: &dyn Progress) -> Result<RestoreOutcome> {
    let target = path_of(target)?;
    match fs::symlink_metadata(target) {
        Ok(_) => return Err(ConnectorError::TargetExists { target: target.display().to_string() }),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(ConnectorError::io("stat", target, e)),
    }
    let name = match vault.snapshot(snapshot)?.source {
        SnapshotSource::Stream { name } => name,
        SnapshotSource::Paths => {
            return Err(ConnectorError::WrongShape {
                snapshot: snapshot.to_string(),
                expected: "DiskImage",
                reason: "it holds directory trees, not an image stream".into(),
            });
        }
    };
    let parent = target
        .parent()
        .ok_or_else(|| ConnectorError::InvalidSource { reason: format!("{} has no parent directory", target.display()) })?;
    fs::create_dir_all(parent).map_err(|e| ConnectorError::io("create", parent, e))?;
    // The vault's tree restore skips all-zero chunks (holes); it writes into a directory, so
    // restore next to the target and rename: the target appears complete or not at all.
    let staging = tempfile::Builder::new()
        .prefix(".bunker-restore-")
        .tempdir_in(parent)
        .map_err(|e| ConnectorError::io("create temporary directory in", parent, e))?;
    let restored = vault.restore(snapshot, &RestoreOptions::new(staging.path()).include(&name), progress)?;
    fs::rename(staging.path().join(&name), target).map_err(|e| ConnectorError::io("move into place", target, e))?;
    Ok(RestoreOutcome { bytes: restored.bytes, location: target.display().to_string() })
}

/// Where the reader is: inside data (read the file) or a hole (zeros), up to `end`.
#[derive(Clone, Copy)]
enum Segment {
    Data { end: u64 },
    Hole { end: u64 },
}

/// Reads an image front to back, producing zeros for holes without reading them.
struct SparseReader<'p> {
    file: File,
    path: &'p Path,
    size: u64,
    pos: u64,
    segment: Segment,
    /// False once the file system said it cannot report holes (or for devices).
    holes_known: bool,
    /// Bytes actually read from the file (holes excluded).
    read: u64,
}

impl<'p> SparseReader<'p> {
    fn new(mut file: File, path: &'p Path) -> Result<Self> {
        // Block devices report length 0 in their metadata; seeking to the end gives their size.
        let size = file.seek(std::io::SeekFrom::End(0)).map_err(|e| ConnectorError::io("seek", path, e))?;
        Ok(Self { file, path, size, pos: 0, segment: Segment::Data { end: 0 }, holes_known: true, read: 0 })
    }

    /// The segment starting at `self.pos`.
    fn locate(&mut self) -> std::io::Result<Segment> {
        use rustix::fs::SeekFrom;
        if !self.holes_known {
            return Ok(Segment::Data { end: self.size });
        }
        match rustix::fs::seek(&self.file, SeekFrom::Data(self.pos)) {
            Ok(data) if data > self.pos => Ok(Segment::Hole { end: data.min(self.size) }),
            Ok(_) => match rustix::fs::seek(&self.file, SeekFrom::Hole(self.pos)) {
                Ok(hole) => Ok(Segment::Data { end: hole.clamp(self.pos + 1, self.size) }),
                Err(e) => Err(e.into()),
            },
            // No data after `pos`: the rest is one hole.
            Err(rustix::io::Errno::NXIO) => Ok(Segment::Hole { end: self.size }),
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::OPNOTSUPP) => {
                self.holes_known = false;
                Ok(Segment::Data { end: self.size })
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Read for SparseReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let end = match self.segment {
            Segment::Data { end } | Segment::Hole { end } if self.pos < end => end,
            _ => {
                self.segment = self.locate().map_err(|e| {
                    std::io::Error::new(e.kind(), format!("find data in {}: {e}", self.path.display()))
                })?;
                match self.segment {
                    Segment::Data { end } | Segment::Hole { end } => end,
                }
            }
        };
        let want = usize::try_from(end - self.pos).unwrap_or(usize::MAX).min(buf.len());
        let n = match self.segment {
            Segment::Hole { .. } => {
                buf[..want].fill(0);
                want
            }
            Segment::Data { .. } => {
                let n = self.file.read_at(&mut buf[..want], self.pos)?;
                if n == 0 {
                    // The image shrank while being read: end the stream here.
                    self.size = self.pos;
                }
                self.read += n as u64;
                n
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}
