//! A batch's sealed file in the store, in chunks (issue 20): written as
//! age seals it and read back out one chunk at a time, so that neither
//! making nor handing out a batch holds the file whole, whatever its size.
//!
//! The sealing runs on a blocking thread and writes to a [`ChunkOut`],
//! which hands each full chunk over a small channel to the async side that
//! stores it: at most a few chunks are in memory at once. A [`BatchFile`]
//! reads the chunks back in order and checks, as the last one passes, that
//! they add up to the size and SHA-256 the batch's authenticated row
//! records; anything else is an error, so a download cut short or tampered
//! with ends in an error rather than in a file.

use std::io::Write;

use lanyard_store::Store;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::error::SupplyError;

/// Size of one stored chunk.
pub(crate) const CHUNK: usize = 1 << 20;

/// The sealed bytes as they leave age: cut into [`CHUNK`]s and sent to the
/// task that stores them; counted and hashed on the way.
pub(crate) struct ChunkOut {
    tx: mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
    size: u64,
    sha: Sha256,
}

impl ChunkOut {
    pub(crate) fn new(tx: mpsc::Sender<Vec<u8>>) -> Self {
        ChunkOut { tx, buf: Vec::with_capacity(CHUNK), size: 0, sha: Sha256::new() }
    }

    fn send(&mut self) -> std::io::Result<()> {
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        // The receiver is gone only when storing failed; its error is the
        // one reported.
        self.tx.blocking_send(full).map_err(|_| std::io::Error::other("the store stopped taking the batch"))
    }

    /// Sends the last, partial chunk: `(size, sha256)` of the whole file.
    pub(crate) fn close(mut self) -> std::io::Result<(u64, Vec<u8>)> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        Ok((self.size, self.sha.finalize().to_vec()))
    }
}

impl Write for ChunkOut {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let taken = data.get(..room.min(data.len())).unwrap_or_default();
        self.buf.extend_from_slice(taken);
        self.sha.update(taken);
        self.size += taken.len() as u64;
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(taken.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A pending batch's sealed file, read from the store chunk by chunk. Its
/// hand-out is already recorded in the log when the caller gets one.
pub struct BatchFile {
    store: Store,
    batch: String,
    size: u64,
    sha256: Vec<u8>,
    next: i64,
    read: u64,
    sha: Sha256,
    done: bool,
}

impl std::fmt::Debug for BatchFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchFile").field("batch", &self.batch).field("size", &self.size).finish_non_exhaustive()
    }
}

impl BatchFile {
    pub(crate) fn new(store: Store, batch: String, size: u64, sha256: Vec<u8>) -> Self {
        BatchFile { store, batch, size, sha256, next: 0, read: 0, sha: Sha256::new(), done: false }
    }

    /// The batch id.
    pub fn batch(&self) -> &str {
        &self.batch
    }

    /// The file's size in bytes, as its row records it.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The next chunk, or `None` after the last one. An error, never a
    /// short or altered file: the chunks must add up to the recorded size
    /// and SHA-256 (a batch confirmed or destroyed meanwhile loses its
    /// chunks, and its download fails here).
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, SupplyError> {
        if self.done {
            return Ok(None);
        }
        let broken = |why: &str| {
            SupplyError::FileBroken(format!("batch {}: its stored file {why}; nothing more was sent", self.batch))
        };
        match self.store.batch_chunk(&self.batch, self.next).await? {
            Some(chunk) => {
                self.next += 1;
                self.read += chunk.len() as u64;
                if self.read > self.size {
                    self.done = true;
                    return Err(broken("is longer than its record says"));
                }
                self.sha.update(&chunk);
                Ok(Some(chunk))
            }
            None => {
                self.done = true;
                if self.read != self.size {
                    return Err(broken("is shorter than its record says (destroyed meanwhile?)"));
                }
                if self.sha.clone().finalize().as_slice() != self.sha256.as_slice() {
                    return Err(broken("does not match its recorded SHA-256"));
                }
                Ok(None)
            }
        }
    }

    /// Writes the whole file to `out` (a file on disk, for delivery out of
    /// band); returns its size.
    pub async fn write_to(mut self, out: &mut impl Write) -> Result<u64, SupplyError> {
        while let Some(chunk) = self.next_chunk().await? {
            out.write_all(&chunk)
                .map_err(|e| SupplyError::FileBroken(format!("writing batch {}: {}", self.batch, e.kind())))?;
        }
        Ok(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_cut_at_the_chunk_size_and_add_up_to_the_file() {
        let (tx, mut rx) = mpsc::channel(64);
        let data: Vec<u8> = (0..(CHUNK * 2 + 123)).map(|i| (i % 251) as u8).collect();
        let writer = std::thread::spawn(move || {
            let mut out = ChunkOut::new(tx);
            // Odd-sized writes, as age makes them.
            for piece in data.chunks(65_537) {
                out.write_all(piece).unwrap();
            }
            out.close().unwrap()
        });
        let mut chunks = Vec::new();
        while let Some(c) = rx.blocking_recv() {
            chunks.push(c);
        }
        let (size, sha) = writer.join().unwrap();
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), vec![CHUNK, CHUNK, 123]);
        let whole: Vec<u8> = chunks.concat();
        assert_eq!(size, whole.len() as u64);
        assert_eq!(sha, Sha256::digest(&whole).to_vec());
    }

    #[test]
    fn a_store_that_stops_taking_chunks_stops_the_sealing() {
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        let mut out = ChunkOut::new(tx);
        assert!(out.write_all(&vec![0u8; CHUNK]).is_err());
    }
}
