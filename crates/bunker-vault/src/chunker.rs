//! Content-defined chunking with FastCDC (2020 variant), seeded per vault.
//!
//! Cut points depend on content only, so an insertion shifts at most a couple of chunks and
//! the rest deduplicate. The gear table is XORed with a seed derived from the master key
//! (see [`crate::crypto`]) so that chunk sizes do not fingerprint known files across vaults;
//! this is a mitigation, not a cryptographic guarantee.

use std::io::Read;

use fastcdc::v2020::{Normalization, StreamCDC};

use crate::config::ChunkerParams;

/// Splits a reader into chunks; each item is one chunk's bytes.
pub(crate) struct Chunker<R: Read> {
    inner: StreamCDC<R>,
}

impl<R: Read> Chunker<R> {
    /// `params` must have passed [`ChunkerParams::validate`].
    pub(crate) fn new(reader: R, params: ChunkerParams, seed: u64) -> Self {
        Self {
            inner: StreamCDC::with_level_and_seed(
                reader,
                params.min_size,
                params.avg_size,
                params.max_size,
                Normalization::Level1,
                seed,
            ),
        }
    }
}

impl<R: Read> Iterator for Chunker<R> {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.inner.next()? {
            Ok(c) => Some(Ok(c.data)),
            Err(fastcdc::v2020::Error::IoError(e)) => Some(Err(e)),
            Err(fastcdc::v2020::Error::Empty) => None,
            Err(fastcdc::v2020::Error::Other(m)) => Some(Err(std::io::Error::other(m))),
        }
    }
}

/// Whether every byte is zero (restore turns such chunks into holes).
pub(crate) fn is_zero(data: &[u8]) -> bool {
    let mut words = data.chunks_exact(16);
    words.all(|w| u128::from_ne_bytes(w.try_into().expect("16 bytes")) == 0)
        && words.remainder().iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ChunkerParams {
        ChunkerParams { min_size: 1024, avg_size: 4096, max_size: 16384 }
    }

    fn data(n: usize, salt: u64) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64 ^ salt;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn chunks_cover_input_and_resync_after_insert() {
        let d = data(200_000, 1);
        let chunks: Vec<Vec<u8>> = Chunker::new(&d[..], params(), 7).map(Result::unwrap).collect();
        assert_eq!(chunks.concat(), d);
        assert!(chunks.iter().all(|c| c.len() <= 16384));
        let mut edited = d.clone();
        edited.splice(50_000..50_000, data(100, 2));
        let chunks2: Vec<Vec<u8>> = Chunker::new(&edited[..], params(), 7).map(Result::unwrap).collect();
        let shared = chunks2.iter().filter(|c| chunks.contains(c)).count();
        assert!(shared * 10 >= chunks.len() * 8, "{shared} of {} shared", chunks.len());
        let other_seed: Vec<Vec<u8>> = Chunker::new(&d[..], params(), 8).map(Result::unwrap).collect();
        assert_ne!(other_seed, chunks);
    }

    #[test]
    fn empty_input_has_no_chunks() {
        assert_eq!(Chunker::new(&[][..], params(), 0).count(), 0);
    }

    #[test]
    fn zero_detection() {
        assert!(is_zero(&[]));
        assert!(is_zero(&[0; 33]));
        let mut v = vec![0; 33];
        v[32] = 1;
        assert!(!is_zero(&v));
        v[32] = 0;
        v[3] = 1;
        assert!(!is_zero(&v));
    }
}
