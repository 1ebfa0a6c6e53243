//! From a card's signed credential and photo to its print files: what goes
//! on the card, and the names of those fields for the exposure drill.

use std::sync::Arc;

use lanyard_cards::{Card, IssuerConfig, Printable};
use lanyard_render::{CardFace, FileMeta, Renderer, Side};

use crate::package::CardArtwork;

/// Everything printed on one card, owned, so that rendering can run on
/// other threads.
#[derive(Clone, Debug)]
pub struct CardPrint {
    /// Card type name.
    pub card_type: String,
    /// The force's name.
    pub force: String,
    /// Name as printed.
    pub name: String,
    /// Rank, for types that show one.
    pub rank: Option<String>,
    /// Service number.
    pub number: String,
    /// Card number.
    pub card_number: String,
    /// Card id.
    pub card_id: String,
    /// Expiry date, YYYY-MM-DD.
    pub expiry: String,
    /// Zones in the credential.
    pub zones: Vec<String>,
    /// JPEG.
    pub photo: Option<Vec<u8>>,
    /// The `LY1:` credential.
    pub qr_text: String,
    /// The back's return address.
    pub return_address: Vec<String>,
}

impl CardPrint {
    /// The print of `row` from its signed credential and photo.
    pub fn new(row: &Card, printable: Printable, config: &IssuerConfig) -> Self {
        let c = printable.credential.claims;
        CardPrint {
            card_type: c.card_type,
            force: config.force_name.clone(),
            name: c.name,
            rank: c.rank,
            number: c.number,
            card_number: row.number.clone(),
            card_id: c.card_id,
            expiry: date(c.expires_at),
            zones: c.zones,
            photo: printable.photo,
            qr_text: printable.credential.qr_text,
            return_address: config.return_address.clone(),
        }
    }

    /// As the renderer takes it.
    pub fn face(&self) -> CardFace<'_> {
        CardFace {
            card_type: &self.card_type,
            force: &self.force,
            name: &self.name,
            rank: self.rank.as_deref(),
            number: &self.number,
            card_number: &self.card_number,
            card_id: &self.card_id,
            expiry: &self.expiry,
            photo_jpeg: self.photo.as_deref(),
            qr_text: &self.qr_text,
            return_address: &self.return_address,
        }
    }

    /// The names of the personal fields this card carries, printed or in
    /// its QR code. Recorded per card in a batch, so the drill can say what
    /// a supplier holds without decrypting anything.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut fields = vec!["card_id", "card_number", "card_type", "expiry"];
        if !self.name.is_empty() {
            fields.push("name");
        }
        if self.rank.is_some() {
            fields.push("rank");
        }
        if !self.number.is_empty() {
            fields.push("service_number");
        }
        if self.photo.is_some() {
            fields.push("photo");
        }
        if !self.zones.is_empty() {
            fields.push("zones");
        }
        fields
    }
}

/// One card's artwork as a person at the ID office previews it: a PNG of
/// one side, or a PDF of the sides asked for. No batch id in its metadata.
pub fn preview(print: &CardPrint, sides: &[Side], pdf: bool) -> Result<Vec<u8>, String> {
    let renderer = Renderer::new();
    let face = print.face();
    let meta = FileMeta::default();
    let id = &print.card_id;
    match (pdf, sides) {
        (true, _) => renderer.pdf(&face, sides, meta).map_err(|e| format!("card {id}: {e}")),
        (false, [side]) => renderer.png(&face, *side, meta).map_err(|e| format!("card {id}: {e}")),
        (false, _) => Err("a PNG holds one side: ask for the front or the back, or for a PDF".to_owned()),
    }
}

/// `YYYY-MM-DD` of unix seconds.
fn date(unix_s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_s)
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_default()
}

/// Renders one card's print files: front and back PNG, and a two-page PDF.
/// Each carries the batch id in its metadata.
pub fn render_card(renderer: &Renderer, print: &CardPrint, batch_id: &str) -> Result<CardArtwork, String> {
    let face = print.face();
    let meta = FileMeta { batch_id: Some(batch_id) };
    let id = &print.card_id;
    let front = renderer.png(&face, Side::Front, meta).map_err(|e| format!("card {id}: {e}"))?;
    let back = renderer.png(&face, Side::Back, meta).map_err(|e| format!("card {id}: {e}"))?;
    let pdf = renderer.pdf(&face, &[Side::Front, Side::Back], meta).map_err(|e| format!("card {id}: {e}"))?;
    Ok(CardArtwork {
        card: id.clone(),
        number: print.card_number.clone(),
        card_type: print.card_type.clone(),
        files: vec![
            ("front_png", format!("{id}-front.png"), front),
            ("back_png", format!("{id}-back.png"), back),
            ("pdf", format!("{id}.pdf"), pdf),
        ],
    })
}

/// Renders every card, on as many threads as there are cores, in order.
pub fn render_all(renderer: &Arc<Renderer>, prints: &[CardPrint], batch_id: &str) -> Result<Vec<CardArtwork>, String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let chunk = prints.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = prints
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(|p| render_card(renderer, p, batch_id)).collect::<Vec<_>>())
            })
            .collect();
        let mut out = Vec::with_capacity(prints.len());
        for h in handles {
            let part = h.join().map_err(|_| "a render thread failed".to_owned())?;
            for art in part {
                out.push(art?);
            }
        }
        Ok(out)
    })
}
