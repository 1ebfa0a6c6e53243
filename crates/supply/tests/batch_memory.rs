//! A print batch is made in bounded memory (issue 20): sealing streams
//! render → ZIP → age → 1 MiB chunk rows, so making a batch must not hold
//! its file, and its peak must stay under a bound that does not depend on
//! its size. Before, the sealed file was built in one buffer and stored as
//! one blob (1.5 GiB for 1,000 cards).
//!
//! One test in its own binary, so the high-water mark (`VmHWM`) is this
//! batch's and no other test's. SQLite only: the bound is the code's, not
//! the backend's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use lanyard_audit::Actor;
use lanyard_cards::{Cards, IssuerConfig, PersonRef};
use lanyard_core::{CardAction, CardType, Field, PersonRecord, RankTable};
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};
use lanyard_register::{Operator, Register};
use lanyard_supply::package;
use lanyard_supply::{Supply, SupplyConfig};

const T0: i64 = 1_800_000_000_000;
const CARDS: usize = 160;

fn op(name: &str) -> Operator {
    Operator::local(Actor::operator(name), false)
}

/// A distinct photo per person, so the artwork does not compress away.
fn photo(seed: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(90, 120, |x, y| {
        image::Rgb([(x as usize * 7 + seed) as u8, (y as usize * 3 + seed * 5) as u8, (x ^ y) as u8])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg).encode_image(&img).unwrap();
    jpeg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn making_a_batch_does_not_hold_its_file() {
    if !lanyard_testkit::peak_rss_measurable() {
        return;
    }
    let t = lanyard_testkit::stores().await.into_iter().next().unwrap();
    let provider: Arc<dyn KeyProvider> = Arc::new(
        KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
    );
    let ledger = lanyard_audit::Ledger::new(t.store.clone());
    let register = Arc::new(Register::init(ledger.clone(), provider, &op("setup"), T0).await.unwrap());
    let cards = Cards::new(Arc::clone(&register), ledger.clone(), IssuerConfig::default());
    let supply = Supply::new(Arc::clone(&register), ledger, cards.clone(), SupplyConfig::default());
    let (_, recipient) = package::keygen("test");
    supply.add_supplier(&op("admin"), "acme", &recipient, T0).await.unwrap();
    let ranks = RankTable::default_ranks();
    for i in 0..CARDS {
        let mut p = PersonRecord::default();
        for (f, v) in [
            (Field::ServiceNumber, format!("SN{:05}", 10_000 + i)),
            (Field::Forenames, "Quill".to_owned()),
            (Field::Surname, format!("Batchley{i}")),
            (Field::Rank, "Inspector".to_owned()),
        ] {
            p.set_from_text(f, &v, &ranks).unwrap();
        }
        p.photo = Some(photo(i));
        let id = register.add(&op("clerk"), p, false, T0).await.unwrap();
        let card = cards.request(&op("alice"), PersonRef::Id(id), CardType::WarrantCard, T0).await.unwrap();
        cards.transition(&op("bob"), &card.id, CardAction::Approve, None, T0).await.unwrap();
    }

    // From here on, the peak is the batch's.
    assert!(lanyard_testkit::reset_peak_rss());
    let (before, _) = lanyard_testkit::rss_kib().unwrap();
    let created = supply.create_batch(&op("alice"), "acme", None, T0).await.unwrap();
    let (_, peak) = lanyard_testkit::rss_kib().unwrap();
    assert_eq!(created.cards.len(), CARDS);
    let file_kib = u64::try_from(created.batch.size).unwrap() / 1024;
    let grew_kib = peak.saturating_sub(before);
    eprintln!("batch of {CARDS} cards: sealed file {file_kib} KiB; peak RSS {before} -> {peak} KiB (+{grew_kib})");
    // Streamed, what is in hand is a few cards' artwork, two 1 MiB chunks
    // and the render threads' pixmaps, whatever the batch's size: 65-83
    // MiB here (debug build). Held, the file costs its size, twice that in
    // a buffer grown by doubling, beside every card's artwork: at the 1.5
    // MB a card measured before it was streamed, about 240 MB here. So the
    // batch must be large enough that holding it would break the bound.
    assert!(file_kib > 40 * 1024, "the batch must be large enough to tell: {file_kib} KiB");
    assert!(grew_kib < 128 * 1024, "making a {file_kib} KiB batch grew the peak by {grew_kib} KiB");
}
