//! The log as C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): a client
//! holding a checkpoint fetches the hashes it needs as static tiles and
//! checks any proof itself, with no query to the server beyond the files.
//!
//! A hash tile `tile/L/N[.p/W]` is the `W` (256 when full) hashes at tree
//! level `8·L` from index `256·N`, concatenated; level 0 is the leaf hashes.
//! An entry bundle `tile/entries/N[.p/W]` is the events themselves, each
//! prefixed by its length as a big-endian u16. Hash tiles hold hashes only
//! and may be public; entry bundles are events, for the auditor.
//!
//! Only what the latest signed checkpoint covers is served: a stored
//! subtree hash never changes once its subtree is full, so every tile up to
//! that size is final, and a tile past it would expose an unsigned tree.

use crate::log::LogError;
use lanyard_store::Store;

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
const HASH_LEN: usize = 32;
/// Tree levels per tile level.
const TILE_HEIGHT: u32 = 8;

/// What a tile path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePath {
    /// Tile level (hash tiles only; 0 for entry bundles).
    pub level: u32,
    /// Tile index at that level.
    pub index: u64,
    /// Hashes or entries in it: 256 for a full tile, fewer for a partial one.
    pub width: u64,
    /// An entry bundle rather than a hash tile.
    pub entries: bool,
}

/// Why a tile is not served.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    /// Not a tile path as the spec writes them.
    #[error("not a tile path: {0}")]
    BadPath(&'static str),
    /// The tile is past the latest checkpoint (or no checkpoint exists).
    #[error("no such tile at the latest checkpoint")]
    NotFound,
    /// An event too long for an entry bundle's 16-bit length.
    #[error("event {0} is too long for an entry bundle")]
    EntryTooLong(u64),
    /// The store failed.
    #[error(transparent)]
    Log(#[from] LogError),
}

/// One `xNNN`/`NNN` element: three decimal digits.
fn digits(s: &str) -> Option<u64> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// Parses what follows `tile/`: `L/N[.p/W]` or `entries/N[.p/W]`, with `N`
/// in the spec's one canonical form (`x001/x234/067`).
pub fn parse_path(path: &str) -> Result<TilePath, TileError> {
    let (head, rest) = path.split_once('/').ok_or(TileError::BadPath("no level"))?;
    let (level, entries) = match head {
        "entries" => (0, true),
        l if !l.is_empty()
            && l.len() <= 2
            && l.bytes().all(|b| b.is_ascii_digit())
            && (l == "0" || !l.starts_with('0')) =>
        {
            let level: u32 = l.parse().map_err(|_| TileError::BadPath("level"))?;
            if level > 63 / TILE_HEIGHT {
                return Err(TileError::BadPath("level out of range"));
            }
            (level, false)
        }
        _ => return Err(TileError::BadPath("level")),
    };
    let (index_part, width) = match rest.split_once(".p/") {
        Some((n, w)) => {
            let width: u64 =
                (!w.is_empty() && !w.starts_with('0') && w.len() <= 3 && w.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| w.parse().ok())
                    .flatten()
                    .filter(|w| *w < TILE_WIDTH)
                    .ok_or(TileError::BadPath("partial width"))?;
            (n, width)
        }
        None => (rest, TILE_WIDTH),
    };
    let parts: Vec<&str> = index_part.split('/').collect();
    let (last, leading) = parts.split_last().ok_or(TileError::BadPath("index"))?;
    let mut index = 0u64;
    for (i, p) in leading.iter().enumerate() {
        let d = p.strip_prefix('x').and_then(digits).ok_or(TileError::BadPath("index"))?;
        if i == 0 && d == 0 {
            return Err(TileError::BadPath("index not in its shortest form"));
        }
        index = index.checked_mul(1000).and_then(|n| n.checked_add(d)).ok_or(TileError::BadPath("index"))?;
    }
    let d = digits(last).ok_or(TileError::BadPath("index"))?;
    index = index.checked_mul(1000).and_then(|n| n.checked_add(d)).ok_or(TileError::BadPath("index"))?;
    Ok(TilePath { level, index, width, entries })
}

/// The path of a tile, as [`parse_path`] reads it (after `tile/`).
pub fn format_path(t: &TilePath) -> String {
    let mut n = t.index;
    let mut s = format!("{:03}", n % 1000);
    while n >= 1000 {
        n /= 1000;
        s = format!("x{:03}/{s}", n % 1000);
    }
    let head = if t.entries { "entries".to_owned() } else { t.level.to_string() };
    let tail = if t.width == TILE_WIDTH { String::new() } else { format!(".p/{}", t.width) };
    format!("{head}/{s}{tail}")
}

/// The first index and the count of what `t` holds, if a tree of `size`
/// has all of it.
fn span(t: &TilePath, size: u64) -> Option<(i64, i64)> {
    let level = t.level * TILE_HEIGHT;
    let available = size.checked_shr(level).unwrap_or(0);
    let first = t.index.checked_mul(TILE_WIDTH)?;
    if first.checked_add(t.width)? > available {
        return None;
    }
    Some((i64::try_from(first).ok()?, i64::try_from(t.width).ok()?))
}

/// The bytes of hash tile `t` of the tree of `size`.
pub async fn hash_tile(store: &Store, t: &TilePath, size: u64) -> Result<Vec<u8>, TileError> {
    let (first, count) = span(t, size).filter(|_| !t.entries).ok_or(TileError::NotFound)?;
    let hashes = store.audit_hash_range(t.level * TILE_HEIGHT, first, count).await.map_err(LogError::from)?;
    if hashes.len() != t.width as usize || hashes.iter().any(|h| h.len() != HASH_LEN) {
        // A hole in what the checkpoint covers: the store lost part of the tree.
        return Err(TileError::Log(LogError::MissingNode {
            level: t.level * TILE_HEIGHT,
            index: t.index * TILE_WIDTH,
        }));
    }
    Ok(hashes.concat())
}

/// The bytes of entry bundle `t` of the log of `size`.
pub async fn entry_bundle(store: &Store, t: &TilePath, size: u64) -> Result<Vec<u8>, TileError> {
    let (first, count) = span(t, size).filter(|_| t.entries).ok_or(TileError::NotFound)?;
    let rows = store.audit_rows(first, count).await.map_err(LogError::from)?;
    if rows.len() != t.width as usize {
        return Err(TileError::Log(LogError::MissingNode { level: 0, index: t.index * TILE_WIDTH }));
    }
    let mut out = Vec::new();
    for row in rows {
        let len = u16::try_from(row.event.len()).map_err(|_| TileError::EntryTooLong(row.idx.unsigned_abs()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&row.event);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn paths_are_read_in_the_specs_form_only() {
        let t = |level, index, width, entries| TilePath { level, index, width, entries };
        assert_eq!(parse_path("0/000").unwrap(), t(0, 0, 256, false));
        assert_eq!(parse_path("1/x001/x234/067").unwrap(), t(1, 1_234_067, 256, false));
        assert_eq!(parse_path("2/005.p/17").unwrap(), t(2, 5, 17, false));
        assert_eq!(parse_path("entries/x002/001.p/255").unwrap(), t(0, 2001, 255, true));
        for bad in [
            "",
            "0",
            "0/",
            "0/1",
            "0/0001",
            "0/x000/001",
            "0/x01/001",
            "0/001/",
            "00/000",
            "01/000",
            "8/000",
            "a/000",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/010",
            "0/000.p/",
            "0/000.p",
            "0/-01",
            "0/x001",
            "entries/000.p/abc",
            "0/x999/x999/x999/x999/x999/x999/x999/000",
        ] {
            assert!(parse_path(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_tile_is_served_only_where_the_tree_holds_all_of_it() {
        let t = |level, index, width| TilePath { level, index, width, entries: false };
        assert_eq!(span(&t(0, 0, 256), 256), Some((0, 256)));
        assert_eq!(span(&t(0, 0, 256), 255), None);
        assert_eq!(span(&t(0, 1, 3), 259), Some((256, 3)));
        assert_eq!(span(&t(0, 1, 4), 259), None);
        // Level 1 holds the level-8 nodes: one per 256 leaves.
        assert_eq!(span(&t(1, 0, 2), 512), Some((0, 2)));
        assert_eq!(span(&t(1, 0, 2), 511), None);
        assert_eq!(span(&t(7, 0, 1), u64::MAX), Some((0, 1)));
    }

    proptest! {
        #[test]
        fn every_path_written_reads_back(level in 0u32..8, index in any::<u64>(), width in 1u64..=256, entries: bool) {
            let t = TilePath { level: if entries { 0 } else { level }, index, width, entries };
            prop_assert_eq!(parse_path(&format_path(&t)).unwrap(), t);
        }

        #[test]
        fn no_path_panics(s in "[0-9x./a-z]{0,40}") {
            let _ = parse_path(&s);
        }
    }
}
