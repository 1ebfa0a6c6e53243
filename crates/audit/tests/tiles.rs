//! Issue 16: the log's tiles, read by an implementation of C2SP tlog-tiles
//! written by someone else (Cloudflare's `tlog_tiles`, a port of Go's
//! `golang.org/x/mod/sumdb/tlog`). Its tile paths are ours (after the
//! height it keeps in them), and its reader, which authenticates every tile
//! against the tree head before using it, rebuilds our root and proves our
//! events from our tiles alone. On every backend.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;

use lanyard_audit::tiles::{self, TILE_WIDTH};
use lanyard_audit::{Actor, Event, Ledger, Outcome, leaf_hash, log};
use tlog_tiles::{Hash, HashReader, Tile, TileHashReader, TileReader};

/// Tiles fetched from lanyard, by the other implementation's coordinates.
struct Fetched {
    tiles: HashMap<Tile, Vec<u8>>,
}

impl TileReader for Fetched {
    fn height(&self) -> u8 {
        8
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles.iter().map(|t| self.tiles.get(t).cloned().ok_or(tlog_tiles::Error::InvalidTile)).collect()
    }

    fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
}

#[tokio::test]
async fn another_implementation_rebuilds_our_root_and_proves_our_events_from_our_tiles() {
    for t in lanyard_testkit::stores().await {
        let n = t.name;
        let ledger = Ledger::new(t.store.clone());
        // 1,000 events: three full level-0 tiles and a partial one, and a
        // partial level-1 tile (three level-8 subtrees).
        let events: Vec<Event> = (0..1000)
            .map(|i| Event::new(i, Actor::operator(&format!("officer{}", i % 7)), "person.read", Outcome::Ok))
            .collect();
        for chunk in events.chunks(250) {
            ledger.record(chunk).await.unwrap();
        }
        let size = log::size(&t.store).await.unwrap();
        assert_eq!(size, 1000, "{n}");
        let root = log::root(&t.store, size).await.unwrap();

        let mut fetched = Fetched { tiles: HashMap::new() };
        for tile in Tile::new_tiles(8, 0, size) {
            // Its path, less the height it writes: `tile/8/L/N[.p/W]`.
            let theirs = tile.path();
            let ours = theirs.strip_prefix("tile/8/").unwrap();
            let parsed = tiles::parse_path(ours).unwrap();
            assert_eq!(tiles::format_path(&parsed), ours, "{n}: the same path back");
            assert_eq!((parsed.width == TILE_WIDTH), tile.width() == 256, "{n}: {ours}");
            let bytes = tiles::hash_tile(&t.store, &parsed, size).await.unwrap();
            assert_eq!(bytes.len(), tile.width() as usize * 32, "{n}: {ours}");
            fetched.tiles.insert(tile, bytes);
        }
        assert_eq!(fetched.tiles.len(), 5, "{n}: 0/000, 0/001, 0/002, 0/003.p/232, 1/000.p/3");

        let reader = TileHashReader::new(size, Hash(root), &fetched);
        assert_eq!(tlog_tiles::tree_hash(size, &reader).unwrap(), Hash(root), "{n}");
        for index in [0u64, 255, 256, 511, 767, 768, 999] {
            let proof = tlog_tiles::prove_record(size, index, &reader).unwrap();
            let leaf = leaf_hash(&events[index as usize].to_bytes());
            tlog_tiles::check_record(&proof, size, Hash(root), index, Hash(leaf)).unwrap();
            assert!(reader.read_hashes(&[tlog_tiles::stored_hash_index(0, index)]).unwrap()[0] == Hash(leaf));
        }

        // A tile past the tree is not served; nor is a hash tile as entries.
        let past = tiles::parse_path("0/003").unwrap();
        assert!(matches!(tiles::hash_tile(&t.store, &past, size).await, Err(tiles::TileError::NotFound)));
        let bundle = tiles::parse_path("entries/003.p/232").unwrap();
        assert!(matches!(tiles::hash_tile(&t.store, &bundle, size).await, Err(tiles::TileError::NotFound)));

        // An entry bundle is the events, each after its length.
        let bytes = tiles::entry_bundle(&t.store, &bundle, size).await.unwrap();
        let mut rest = bytes.as_slice();
        for event in &events[768..1000] {
            let want = event.to_bytes();
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            assert_eq!(&rest[2..2 + len], want.as_slice(), "{n}");
            rest = &rest[2 + len..];
        }
        assert!(rest.is_empty(), "{n}");
    }
}
