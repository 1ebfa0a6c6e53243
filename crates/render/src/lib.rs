//! Card artwork (DESIGN §5): ISO/IEC 7810 ID-1 (CR80, 85.60 × 53.98 mm)
//! front and back, from one SVG template per layout with a palette per card
//! type, rendered to 300 dpi PNG (resvg) and vector PDF with embedded font
//! subsets (svg2pdf). One parsed tree feeds both renderers.
//!
//! - Text that does not fit shrinks, then wraps to two lines, and only as a
//!   last resort is cut short with an ellipsis; widths are measured by the
//!   same text layout that renders them, not estimated.
//! - The fonts (DejaVu Sans) ship inside the binary, so every machine
//!   renders the same card.
//! - Each file can carry a batch id in its metadata (PNG `tEXt`, PDF
//!   document info), so a leaked card file names the batch it came from.

use std::collections::HashMap;
use std::fmt::Write as _;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, TextStr};
use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{Options, Tree};

const FRONT: &str = include_str!("../templates/front.svg");
const VISITOR_FRONT: &str = include_str!("../templates/visitor-front.svg");
const BACK: &str = include_str!("../templates/back.svg");
const FONT_REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const FONT_BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// Card width in millimetres.
pub const WIDTH_MM: f32 = 85.6;
/// Card height in millimetres.
pub const HEIGHT_MM: f32 = 53.98;
/// PNG resolution.
pub const DPI: f32 = 300.0;
/// usvg's CSS pixel: 1/96 inch.
const CSS_DPI: f32 = 96.0;

/// What goes on a card: everything printed, nothing else.
#[derive(Clone, Debug)]
pub struct CardFace<'a> {
    /// Card type name (`warrant_card`, …): picks template and palette.
    pub card_type: &'a str,
    /// The force's name.
    pub force: &'a str,
    /// The holder's name as printed.
    pub name: &'a str,
    /// Rank, for card types that show one.
    pub rank: Option<&'a str>,
    /// Service number (visitors: their reference).
    pub number: &'a str,
    /// The card number.
    pub card_number: &'a str,
    /// The card id (also in the QR code).
    pub card_id: &'a str,
    /// Expiry date as printed (YYYY-MM-DD).
    pub expiry: &'a str,
    /// The photo, JPEG.
    pub photo_jpeg: Option<&'a [u8]>,
    /// The `LY1:` credential.
    pub qr_text: &'a str,
    /// Return address lines for the back.
    pub return_address: &'a [String],
}

/// Which side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Photo, name, rank, numbers, QR.
    Front,
    /// Return address and a larger QR.
    Back,
}

impl Side {
    /// `front` or `back`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Front => "front",
            Side::Back => "back",
        }
    }
}

/// Metadata written into each file.
#[derive(Clone, Copy, Debug, Default)]
pub struct FileMeta<'a> {
    /// The print batch the file belongs to.
    pub batch_id: Option<&'a str>,
}

/// Why artwork could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The template with its values did not parse as SVG (a bug).
    #[error("card template: {0}")]
    Template(String),
    /// The QR symbol could not be made.
    #[error("QR code: {0}")]
    Qr(String),
    /// Encoding the PNG or PDF failed.
    #[error("encoding: {0}")]
    Encode(String),
}

/// A square on the card, in millimetres: where a QR symbol and its quiet
/// zone go.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Square {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Side.
    pub size: f32,
}

/// The front's fixed geometry, in millimetres. The QR square sits below the
/// rank line and right of the text column, so nothing shares its space.
pub mod front {
    use super::Square;

    /// The QR symbol with its quiet zone.
    pub const QR: Square = Square { x: 59.6, y: 27.0, size: 24.0 };
    /// Left edge of the name, rank and number lines.
    pub const COLUMN_X: f32 = 29.0;
    /// Name and rank lines run above the QR, to the right margin.
    pub const NAME_WIDTH: f32 = super::WIDTH_MM - 3.0 - COLUMN_X;
    /// Number lines share their height with the QR: they stop 1 mm short.
    pub const COLUMN_WIDTH: f32 = QR.x - 1.0 - COLUMN_X;
}

/// The back's fixed geometry, in millimetres.
pub mod back {
    use super::Square;

    /// The QR symbol with its quiet zone, above the two footer lines.
    pub const QR: Square = Square { x: super::WIDTH_MM - 4.0 - 34.0, y: 6.0, size: 34.0 };
    /// Return address lines stop 1 mm short of the QR.
    pub const ADDRESS_WIDTH: f32 = QR.x - 1.0 - 4.0;
    /// At most this many return address lines are printed.
    pub const ADDRESS_LINES: usize = 8;
}

/// Where one line of text goes and how far it may shrink.
struct Slot<'a> {
    id: &'a str,
    x: f32,
    y: f32,
    max_width: f32,
    /// Starting font size (mm).
    size: f32,
    /// Smallest font size (mm) before the text is cut short.
    floor: f32,
    bold: bool,
    fill: Option<&'a str>,
}

struct Palette {
    band: &'static str,
    title: &'static str,
}

fn palette(card_type: &str) -> Palette {
    match card_type {
        "warrant_card" => Palette { band: "#0b2a5b", title: "WARRANT CARD" },
        "staff_pass" => Palette { band: "#1d5c3a", title: "STAFF PASS" },
        "contractor_pass" => Palette { band: "#b35900", title: "CONTRACTOR" },
        _ => Palette { band: "#a4161a", title: "VISITOR" },
    }
}

/// Escapes text for SVG character data and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Renders cards; holds the parsed fonts.
pub struct Renderer {
    options: Options<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// A renderer with the shipped fonts and nothing from the system.
    pub fn new() -> Self {
        let mut options = Options { dpi: CSS_DPI, font_family: "DejaVu Sans".into(), ..Options::default() };
        let db = options.fontdb_mut();
        db.load_font_data(FONT_REGULAR.to_vec());
        db.load_font_data(FONT_BOLD.to_vec());
        Renderer { options }
    }

    /// Width in millimetres of `text` set bold at `size` (mm), measured by
    /// the text layout that renders it.
    fn text_width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let weight = if bold { "bold" } else { "normal" };
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="100" viewBox="0 0 1000 100"><text id="t" x="0" y="50" font-family="DejaVu Sans" font-size="{size}" font-weight="{weight}">{}</text></svg>"#,
            esc(text)
        );
        Tree::from_str(&svg, &self.options)
            .ok()
            .and_then(|t| t.node_by_id("t").map(|n| n.abs_bounding_box().width()))
            .unwrap_or(f32::MAX)
    }

    /// [`Renderer::text_width`], remembered on this thread for the lines
    /// every card of a force shares (see [`shared_line`]): a batch measures
    /// its force's name and return address once, not twice a card.
    fn shared_width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let key = (text.to_owned(), size.to_bits(), bold);
        if let Some(w) = WIDTHS.with_borrow(|memo| memo.get(&key).copied()) {
            return w;
        }
        let w = self.text_width(text, size, bold);
        WIDTHS.with_borrow_mut(|memo| {
            if memo.len() >= WIDTHS_KEPT {
                memo.clear();
            }
            memo.insert(key, w);
        });
        w
    }

    /// One line in its slot, shrunk from the slot's size down to its
    /// floor to fit, else cut short with an ellipsis at the floor.
    fn fit_line(&self, slot: &Slot<'_>, text: &str) -> String {
        let width = |t: &str, size: f32| {
            if shared_line(slot.id) {
                self.shared_width(t, size, slot.bold)
            } else {
                self.text_width(t, size, slot.bold)
            }
        };
        let weight = if slot.bold { "bold" } else { "normal" };
        let line = |t: &str, size: f32| {
            format!(
                r#"<text id="{}" x="{}" y="{:.2}" font-size="{size:.2}" font-weight="{weight}"{}>{}</text>"#,
                slot.id,
                slot.x,
                slot.y,
                slot.fill.map(|f| format!(r#" fill="{f}""#)).unwrap_or_default(),
                esc(t)
            )
        };
        if text.is_empty() {
            return String::new();
        }
        let mut size = slot.size;
        while size >= slot.floor {
            if width(text, size) <= slot.max_width {
                return line(text, size);
            }
            size *= 0.95;
        }
        let mut chars: Vec<char> = text.chars().collect();
        while !chars.is_empty() {
            chars.pop();
            let cut: String = chars.iter().collect::<String>() + "…";
            if width(&cut, slot.floor) <= slot.max_width {
                return line(&cut, slot.floor);
            }
        }
        String::new()
    }

    /// Whether `text` fits its slot whole, at the slot's smallest size.
    fn fits(&self, slot: &Slot<'_>, text: &str) -> bool {
        self.text_width(text, slot.floor, slot.bold) <= slot.max_width
    }

    /// The name as one line, shrunk to fit; or up to three lines broken at
    /// spaces and hyphens; or, past all that, cut short. Returns SVG text
    /// elements `name-0`, `name-1`, ….
    fn fit_name(&self, name: &str, x: f32, y: f32, max_width: f32) -> String {
        let line = |i: usize, text: &str, y: f32, size: f32| {
            format!(
                r#"<text id="name-{i}" x="{x}" y="{y:.2}" font-size="{size:.2}" font-weight="bold">{}</text>"#,
                esc(text)
            )
        };
        let mut size = 4.2_f32;
        while size >= 2.6 {
            if self.text_width(name, size, true) <= max_width {
                return line(0, name, y, size);
            }
            size *= 0.92;
        }
        let words = wrap_points(name);
        let mut size = 3.4_f32;
        while size >= 2.2 {
            if let Some(lines) = self.wrap(&words, size, max_width)
                && lines.len() <= 3
            {
                let step = size * 1.2;
                let top = y - step * (lines.len() as f32 - 1.0) / 2.0;
                return lines.iter().enumerate().map(|(i, l)| line(i, l, top + step * i as f32, size)).collect();
            }
            size *= 0.92;
        }
        // Last resort: one line at the smallest size, cut with an ellipsis.
        self.fit_line(&Slot { id: "name-0", x, y, max_width, size: 2.2, floor: 2.2, bold: true, fill: None }, name)
    }

    /// Greedy word wrap of `words` at `size`; `None` if one word alone is
    /// too wide.
    fn wrap(&self, words: &[&str], size: f32, max_width: f32) -> Option<Vec<String>> {
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        for w in words {
            let candidate = format!("{current}{w}");
            if current.is_empty() || self.text_width(candidate.trim_end(), size, true) <= max_width {
                current = candidate;
            } else {
                lines.push(current.trim_end().to_owned());
                current = (*w).to_owned();
            }
            if self.text_width(current.trim_end(), size, true) > max_width {
                return None;
            }
        }
        if !current.trim().is_empty() {
            lines.push(current.trim_end().to_owned());
        }
        Some(lines)
    }

    /// The side's SVG. Every element that carries content has an `id`, so
    /// that its box can be measured from the rendered tree.
    pub fn svg(&self, face: &CardFace<'_>, side: Side) -> Result<String, RenderError> {
        let p = palette(face.card_type);
        let visitor = face.card_type == "visitor_pass";
        let mut values: HashMap<&str, String> = HashMap::new();
        values.insert("band", p.band.into());
        values.insert("title", p.title.into());
        let template = match side {
            Side::Front => {
                let photo_y = if visitor { 17.0 } else { 12.0 };
                values.insert("photo", photo(face.photo_jpeg, 4.0, photo_y, 22.0, 28.0));
                let name_y = if visitor { 22.0 } else { 18.0 };
                values.insert("name", self.fit_name(face.name, front::COLUMN_X, name_y, front::NAME_WIDTH));
                let column = |id, y, size| Slot {
                    id,
                    x: front::COLUMN_X,
                    y,
                    max_width: front::COLUMN_WIDTH,
                    size,
                    floor: 1.8,
                    bold: false,
                    fill: Some("#333333"),
                };
                if !visitor {
                    let rank = Slot {
                        max_width: front::NAME_WIDTH,
                        size: 3.0,
                        floor: 2.2,
                        fill: None,
                        ..column("rank", 25.0, 0.0)
                    };
                    values.insert("rank_line", self.fit_line(&rank, face.rank.unwrap_or_default()));
                }
                // The number is never cut: one too long for its line at
                // the smallest size goes on a line of its own below its
                // label, and the lines under it move down.
                let label = if visitor { "Ref." } else { "Service no." };
                let one_line = format!("{label} {}", face.number);
                let down = if self.fits(&column("number", 31.0, 2.6), &one_line) {
                    values.insert("number_line", self.fit_line(&column("number", 31.0, 2.6), &one_line));
                    0.0
                } else {
                    let label_line = self.fit_line(&column("number-label", 30.0, 2.2), label);
                    let number = self.fit_line(&column("number", 33.4, 2.6), face.number);
                    values.insert("number_line", label_line + &number);
                    3.0
                };
                values.insert(
                    "card_line",
                    self.fit_line(&column("card-number", 35.5 + down, 2.6), &format!("Card {}", face.card_number)),
                );
                let expiry = if visitor {
                    Slot { bold: true, size: 3.0, fill: Some(p.band), ..column("expiry", 40.0 + down, 0.0) }
                } else {
                    column("expiry", 40.0 + down, 2.6)
                };
                let expiry_text =
                    if visitor { format!("Valid until {}", face.expiry) } else { format!("Expires {}", face.expiry) };
                values.insert("expiry_line", self.fit_line(&expiry, &expiry_text));
                values.insert("qr", qr_path(face.qr_text, front::QR)?);
                values.insert("qr_zone", zone(front::QR));
                let force = Slot {
                    id: "force",
                    x: 4.0,
                    y: 6.0,
                    max_width: WIDTH_MM - 8.0,
                    size: 3.4,
                    floor: 2.2,
                    bold: true,
                    fill: Some("#ffffff"),
                };
                values.insert("force_line", self.fit_line(&force, face.force));
                if visitor { VISITOR_FRONT } else { FRONT }
            }
            Side::Back => {
                let mut address = String::new();
                for (i, l) in face.return_address.iter().take(back::ADDRESS_LINES).enumerate() {
                    let id = format!("address-{i}");
                    let slot = Slot {
                        id: &id,
                        x: 4.0,
                        y: 14.0 + i as f32 * 3.2,
                        max_width: back::ADDRESS_WIDTH,
                        size: 2.4,
                        floor: 1.8,
                        bold: false,
                        fill: None,
                    };
                    address.push_str(&self.fit_line(&slot, l));
                }
                values.insert("address", address);
                let footer = |id, y| Slot {
                    id,
                    x: 4.0,
                    y,
                    max_width: WIDTH_MM - 8.0,
                    size: 2.0,
                    floor: 1.6,
                    bold: false,
                    fill: Some("#555555"),
                };
                let property = format!("This card remains the property of {}.", face.force);
                values.insert("property_line", self.fit_line(&footer("property", 45.5), &property));
                let card_line = format!("Card {} · scan the code to check it.", face.card_id);
                values.insert("card_line", self.fit_line(&footer("card-line", 49.5), &card_line));
                values.insert("qr", qr_path(face.qr_text, back::QR)?);
                values.insert("qr_zone", zone(back::QR));
                BACK
            }
        };
        Ok(fill(template, &values))
    }

    fn tree(&self, face: &CardFace<'_>, side: Side) -> Result<Tree, RenderError> {
        let svg = self.svg(face, side)?;
        Tree::from_str(&svg, &self.options).map_err(|e| RenderError::Template(e.to_string()))
    }

    /// The side at 300 dpi as PNG (1011 × 638 pixels), with its resolution
    /// and the batch id in the file.
    pub fn png(&self, face: &CardFace<'_>, side: Side, meta: FileMeta<'_>) -> Result<Vec<u8>, RenderError> {
        let tree = self.tree(face, side)?;
        let scale = DPI / CSS_DPI;
        let (w, h) = (px(WIDTH_MM), px(HEIGHT_MM));
        let mut pixmap = Pixmap::new(w, h).ok_or_else(|| RenderError::Encode("pixmap".into()))?;
        resvg::render(&tree, Transform::from_scale(scale, scale), &mut pixmap.as_mut());
        // The card is opaque (its template paints a white ground), so RGB
        // loses nothing and is a quarter smaller to compress.
        let rgb = rgb_of(&pixmap);
        let mut out = Vec::with_capacity(64 * 1024);
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            // fdeflate: several times faster than zlib's default for a
            // few percent more bytes; print files are transient. (Every
            // row filtered "Up", as `Fastest` does, saved no measurable
            // time and made the files half as big again.)
            enc.set_compression(png::Compression::Fast);
            let ppm = (DPI / 0.0254).round() as u32;
            enc.set_pixel_dims(Some(png::PixelDimensions { xppu: ppm, yppu: ppm, unit: png::Unit::Meter }));
            let enc_err = |e: png::EncodingError| RenderError::Encode(e.to_string());
            enc.add_text_chunk("Software".into(), "lanyard".into()).map_err(enc_err)?;
            enc.add_text_chunk("lanyard-card".into(), face.card_id.into()).map_err(enc_err)?;
            if let Some(b) = meta.batch_id {
                enc.add_text_chunk("lanyard-batch".into(), b.into()).map_err(enc_err)?;
            }
            let mut writer = enc.write_header().map_err(enc_err)?;
            writer.write_image_data(&rgb).map_err(enc_err)?;
            writer.finish().map_err(enc_err)?;
        }
        Ok(out)
    }

    /// The sides as a vector PDF, one CR80 page each, fonts embedded.
    pub fn pdf(&self, face: &CardFace<'_>, sides: &[Side], meta: FileMeta<'_>) -> Result<Vec<u8>, RenderError> {
        let mut alloc = Ref::new(1);
        let catalog = alloc.bump();
        let pages = alloc.bump();
        let info = alloc.bump();
        let mut pdf = Pdf::new();
        let (w_pt, h_pt) = (WIDTH_MM / 25.4 * 72.0, HEIGHT_MM / 25.4 * 72.0);
        let mut page_ids = Vec::new();
        let mut chunks = Vec::new();
        for side in sides {
            let tree = self.tree(face, *side)?;
            let (chunk, svg_id) = svg2pdf::to_chunk(&tree, svg2pdf::ConversionOptions::default())
                .map_err(|e| RenderError::Encode(e.to_string()))?;
            let mut map = HashMap::new();
            let chunk = chunk.renumber(|old| *map.entry(old).or_insert_with(|| alloc.bump()));
            let svg_id = map.get(&svg_id).copied().ok_or_else(|| RenderError::Encode("svg object".into()))?;
            let (page_id, content_id) = (alloc.bump(), alloc.bump());
            let name = Name(b"Card");
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, w_pt, h_pt));
            page.parent(pages);
            page.contents(content_id);
            page.resources().x_objects().pair(name, svg_id);
            page.finish();
            let mut content = Content::new();
            content.transform([w_pt, 0.0, 0.0, h_pt, 0.0, 0.0]).x_object(name);
            pdf.stream(content_id, &content.finish());
            page_ids.push(page_id);
            chunks.push(chunk);
        }
        pdf.catalog(catalog).pages(pages);
        pdf.pages(pages).kids(page_ids.iter().copied()).count(i32::try_from(page_ids.len()).unwrap_or(0));
        let subject = match meta.batch_id {
            Some(b) => format!("lanyard card {} batch {b}", face.card_id),
            None => format!("lanyard card {}", face.card_id),
        };
        pdf.document_info(info).producer(TextStr("lanyard")).subject(TextStr(&subject));
        for chunk in &chunks {
            pdf.extend(chunk);
        }
        Ok(pdf.finish())
    }
}

/// The pixels as RGB, alpha dropped. Opaque pixels (all of them, on a
/// card) are their own colour: demultiplying each was a seventh of the
/// time a side took.
fn rgb_of(pixmap: &Pixmap) -> Vec<u8> {
    let mut rgb = vec![0u8; pixmap.pixels().len() * 3];
    for (out, p) in rgb.chunks_exact_mut(3).zip(pixmap.pixels()) {
        let c = if p.alpha() == u8::MAX {
            [p.red(), p.green(), p.blue()]
        } else {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue()]
        };
        out.copy_from_slice(&c);
    }
    rgb
}

/// The pieces a name may break between: after a space (kept with the word
/// before) or after a hyphen.
fn wrap_points(name: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in name.char_indices() {
        if c == ' ' || c == '-' {
            let end = i + c.len_utf8();
            if let Some(piece) = name.get(start..end) {
                out.push(piece);
            }
            start = end;
        }
    }
    if let Some(rest) = name.get(start..).filter(|r| !r.is_empty()) {
        out.push(rest);
    }
    out
}

fn px(mm: f32) -> u32 {
    (mm / 25.4 * DPI).round() as u32
}

fn fill(template: &str, values: &HashMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len() + 4096);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 2..).unwrap_or_default();
        match after.find("}}") {
            Some(end) => {
                let key = after.get(..end).unwrap_or_default();
                out.push_str(values.get(key).map(String::as_str).unwrap_or_default());
                rest = after.get(end + 2..).unwrap_or_default();
            }
            None => {
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn photo(jpeg: Option<&[u8]>, x: f32, y: f32, w: f32, h: f32) -> String {
    match jpeg {
        Some(bytes) => format!(
            r#"<image id="photo" x="{x}" y="{y}" width="{w}" height="{h}" preserveAspectRatio="xMidYMid slice" href="data:image/jpeg;base64,{}"/>"#,
            B64.encode(bytes)
        ),
        None => format!(
            r##"<rect id="photo" x="{x}" y="{y}" width="{w}" height="{h}" fill="#e4e4e4"/><text id="photo-label" x="{}" y="{}" font-size="2.2" fill="#777777" text-anchor="middle">NO PHOTO</text>"##,
            x + w / 2.0,
            y + h / 2.0
        ),
    }
}

/// The white square behind a QR symbol: the quiet zone made visible, so a
/// reader finds the symbol even on a tinted card stock.
fn zone(at: Square) -> String {
    format!(
        r##"<rect id="qr-zone" x="{}" y="{}" width="{}" height="{}" fill="#ffffff"/>"##,
        at.x, at.y, at.size, at.size
    )
}

/// Whether the line in slot `id` is the same on every card of a force (its
/// name, the property line, the return address), so its measured widths may
/// be remembered. Lines about the holder are never remembered: their text
/// is personal data, and outlives no render call.
fn shared_line(id: &str) -> bool {
    matches!(id, "force" | "property") || id.starts_with("address-")
}

/// At most this many widths are remembered per thread; past it the memo
/// starts afresh (a batch's shared lines need about twenty).
const WIDTHS_KEPT: usize = 256;

type WidthKey = (String, u32, bool);

thread_local! {
    static WIDTHS: std::cell::RefCell<HashMap<WidthKey, f32>> = std::cell::RefCell::new(HashMap::new());
}

/// The QR paths drawn last on this thread, by text and square: a card's
/// files draw its one symbol four times (each PNG side, each PDF page), and
/// choosing the symbol's mask was a fifth of the card's rendering.
const QR_MEMO: usize = 4;

type QrKey = (String, [u32; 3]);

thread_local! {
    static QR_PATHS: std::cell::RefCell<Vec<(QrKey, String)>> = const { std::cell::RefCell::new(Vec::new()) };
    static QR_SYMBOL: std::cell::RefCell<Option<(String, std::rc::Rc<lanyard_credential::qr::QrMatrix>)>> =
        const { std::cell::RefCell::new(None) };
}

/// The QR symbol as one SVG path, with its 4-module quiet zone inside the
/// square `at`: the same text in the same square is the same path, so it is
/// drawn once and remembered.
fn qr_path(text: &str, at: Square) -> Result<String, RenderError> {
    let key: QrKey = (text.to_owned(), [at.x.to_bits(), at.y.to_bits(), at.size.to_bits()]);
    if let Some(path) = QR_PATHS.with_borrow(|memo| memo.iter().find(|(k, _)| *k == key).map(|(_, p)| p.clone())) {
        return Ok(path);
    }
    let path = draw_qr(text, at)?;
    QR_PATHS.with_borrow_mut(|memo| {
        if memo.len() >= QR_MEMO {
            memo.remove(0);
        }
        memo.push((key, path.clone()));
    });
    Ok(path)
}

/// The symbol of `text`, remembered for the last text on this thread.
fn qr_symbol(text: &str) -> Result<std::rc::Rc<lanyard_credential::qr::QrMatrix>, RenderError> {
    if let Some(m) = QR_SYMBOL.with_borrow(|last| last.as_ref().filter(|(t, _)| t == text).map(|(_, m)| m.clone())) {
        return Ok(m);
    }
    let m = std::rc::Rc::new(lanyard_credential::qr::symbol(text).map_err(|e| RenderError::Qr(e.to_string()))?);
    QR_SYMBOL.with_borrow_mut(|last| *last = Some((text.to_owned(), m.clone())));
    Ok(m)
}

fn draw_qr(text: &str, at: Square) -> Result<String, RenderError> {
    let m = qr_symbol(text)?;
    let (x, y) = (at.x, at.y);
    let module = at.size / (m.width + 8) as f32;
    let mut d = String::with_capacity(m.width * m.width * 4);
    for row in 0..m.width {
        let mut col = 0;
        while col < m.width {
            if m.dark(col, row) {
                let start = col;
                while col < m.width && m.dark(col, row) {
                    col += 1;
                }
                let _ = write!(
                    d,
                    "M{:.3} {:.3}h{:.3}v{:.3}h-{:.3}z",
                    x + (start + 4) as f32 * module,
                    y + (row + 4) as f32 * module,
                    (col - start) as f32 * module,
                    module,
                    (col - start) as f32 * module
                );
            } else {
                col += 1;
            }
        }
    }
    Ok(format!(r##"<path id="qr" fill="#000000" shape-rendering="crispEdges" d="{d}"/>"##))
}

#[cfg(test)]
mod tests;
