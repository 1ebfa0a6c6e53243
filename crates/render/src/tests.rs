//! Rendering tests: sizes, QR read-back from the pixels, text fitting,
//! escaping and metadata.

use super::*;

const QR: &str = "LY1:NCFOXNSG2MAH:%JWBLSZ62T4$59IWM-CND-MPCRWGO%UD$%O%:Q.*K3HHV+IKX8 MFNW2PHN1D7PTV3NVAMP$R93E5T0HU3P.B5PKL-7TG0HBSN%B9PKLU0JCY0CNNT21SDPI-I6OUFEGEV9359ZZLV D6KPB$PY/P:S92SA1R51%L0C9+952+PF7QM PV 5AQBIYJOOJL+C*5REIANEB.MJ 0KSO09BA 4KHVE-JD+/FOKDRPA.2C% K%5IFPN4DI 4GY8AX.S-AWIVM3M9EN9 UHFPEJRH:Z2T4DLTAPF1A05I$2P-AP/CIWI P2XPT*WK6QK 5A8NKM:207LV9S PO:+EJ9M*$J-WUY LBTJ:PII/5OIUV:LTIN3NQI B%61MKD21BE+TE9EYOSA.3BSU:%3B2C9ZBPBT/9UNDR$IGUSC/JFO*FW+E-BKY23$006UK83";

fn face<'a>(name: &'a str, address: &'a [String]) -> CardFace<'a> {
    CardFace {
        card_type: "warrant_card",
        force: "Lanyard Demo Constabulary",
        name,
        rank: Some("Detective Chief Superintendent"),
        number: "900001",
        card_number: "00000042",
        card_id: "C7K3M9Q2X4",
        expiry: "2031-11-27",
        photo_jpeg: None,
        qr_text: QR,
        return_address: address,
    }
}

fn read_qr(png: &[u8]) -> String {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the side");
    grids[0].decode().unwrap().1
}

#[test]
fn both_sides_are_cr80_at_300_dpi_and_their_qr_reads_back() {
    let r = Renderer::new();
    let address = vec!["ID Card Office".to_owned(), "1 Example Street".to_owned()];
    for side in [Side::Front, Side::Back] {
        let png = r.png(&face("Ada Quayle", &address), side, FileMeta::default()).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (1011, 638), "{side:?}");
        assert_eq!(read_qr(&png), QR, "{side:?}");
    }
}

#[test]
fn every_card_type_renders() {
    let r = Renderer::new();
    for t in ["warrant_card", "staff_pass", "contractor_pass", "visitor_pass"] {
        let f = CardFace { card_type: t, ..face("Ada Quayle", &[]) };
        let svg = r.svg(&f, Side::Front).unwrap();
        assert!(svg.contains(palette(t).title), "{t}");
        assert_eq!(read_qr(&r.png(&f, Side::Front, FileMeta::default()).unwrap()), QR, "{t}");
    }
}

fn lines_of(svg: &str) -> Vec<(String, f32)> {
    // (text, font-size) of the bold name lines.
    svg.split("<text ")
        .filter(|t| t.starts_with(r#"id="name-"#))
        .map(|t| {
            let size: f32 = t.split("font-size=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
            let text = t.split('>').nth(1).unwrap().split('<').next().unwrap().to_owned();
            (text, size)
        })
        .collect()
}

#[test]
fn long_names_shrink_then_wrap_then_cut_and_never_overflow() {
    let r = Renderer::new();
    let cases = [
        ("Ada Quayle", 1, false),
        ("Alexandra Montgomery-Smith", 1, false),
        ("Alexandra Montgomery-Featherstonehaugh", 2, false),
        ("Bartholomew-Alexander Fitzwilliam-Montgomery Featherstonehaugh-Cholmondeley", 3, false),
        (&"W".repeat(80)[..], 1, true),
    ];
    for (name, want_lines, cut) in cases {
        let svg = r.svg(&face(name, &[]), Side::Front).unwrap();
        let lines = lines_of(&svg);
        assert_eq!(lines.len(), want_lines, "{name}: {lines:?}");
        for (text, size) in &lines {
            let w = r.text_width(text, *size, true);
            assert!(w <= 53.6, "{name}: line '{text}' is {w} mm wide");
        }
        assert_eq!(lines[0].0.ends_with('…'), cut, "{name}");
        if !cut {
            // Broken only at a space (dropped) or after a hyphen (kept).
            let mut rebuilt = String::new();
            for (text, _) in &lines {
                if !rebuilt.is_empty() && !rebuilt.ends_with('-') {
                    rebuilt.push(' ');
                }
                rebuilt.push_str(text);
            }
            assert_eq!(rebuilt, name, "{lines:?}");
        }
    }
    // A short name keeps the full size; a longer one shrinks before it wraps.
    assert_eq!(lines_of(&r.svg(&face("Ada Quayle", &[]), Side::Front).unwrap())[0].1, 4.2);
    let shrunk = lines_of(&r.svg(&face("Alexandra Montgomery-Smith", &[]), Side::Front).unwrap())[0].1;
    assert!((2.6..4.2).contains(&shrunk), "{shrunk}");
}

#[test]
fn text_is_escaped_not_interpreted() {
    let r = Renderer::new();
    let svg = r.svg(&face("O'Brien <script>&", &[]), Side::Front).unwrap();
    assert!(svg.contains("O&apos;Brien &lt;script&gt;&amp;"));
    r.png(&face("O'Brien <script>&", &[]), Side::Front, FileMeta::default()).unwrap();
}

#[test]
fn pdf_has_a_page_per_side_embedded_fonts_and_the_batch() {
    let r = Renderer::new();
    let pdf = r.pdf(&face("Ada Quayle", &[]), &[Side::Front, Side::Back], FileMeta { batch_id: Some("B-77") }).unwrap();
    let text = String::from_utf8_lossy(&pdf);
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(
        text.matches("/Type /Page\n").count()
            + text.matches("/Type /Page ").count()
            + text.matches("/Type /Page/").count(),
        2,
        "two pages"
    );
    assert!(text.contains("/FontFile2"), "fonts are embedded");
    assert!(text.contains("batch B-77"));
    let media = text.split("/MediaBox [").nth(1).unwrap().split(']').next().unwrap().to_owned();
    let dims: Vec<f32> = media.split_whitespace().map(|v| v.parse().unwrap()).collect();
    assert!((dims[2] - 242.65).abs() < 0.01 && (dims[3] - 153.01).abs() < 0.01, "CR80 in points: {media}");
}

#[test]
fn png_names_its_batch() {
    let r = Renderer::new();
    let png = r.png(&face("Ada Quayle", &[]), Side::Front, FileMeta { batch_id: Some("B-77") }).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let reader = decoder.read_info().unwrap();
    let texts: Vec<(String, String)> =
        reader.info().uncompressed_latin1_text.iter().map(|t| (t.keyword.clone(), t.text.clone())).collect();
    assert!(texts.contains(&("lanyard-batch".into(), "B-77".into())), "{texts:?}");
    assert!(reader.info().pixel_dims.is_some());
}

/// Every element with an id on a rendered side, with its box in millimetres,
/// measured from the tree resvg draws: the layout's own geometry.
fn boxes(r: &Renderer, face: &CardFace<'_>, side: Side) -> Vec<(String, resvg::usvg::Rect)> {
    fn walk(group: &resvg::usvg::Group, out: &mut Vec<(String, resvg::usvg::Rect)>) {
        for node in group.children() {
            if !node.id().is_empty() {
                out.push((node.id().to_owned(), node.abs_bounding_box()));
            }
            if let resvg::usvg::Node::Group(g) = node {
                walk(g, out);
            }
        }
    }
    let tree = r.tree(face, side).unwrap();
    let mut out = Vec::new();
    walk(tree.root(), &mut out);
    // Boxes come in the tree's pixels; the layout is in millimetres.
    let px_per_mm = tree.size().width() / WIDTH_MM;
    out.into_iter()
        .map(|(id, b)| {
            let mm = resvg::usvg::Rect::from_ltrb(
                b.left() / px_per_mm,
                b.top() / px_per_mm,
                b.right() / px_per_mm,
                b.bottom() / px_per_mm,
            );
            (id, mm.unwrap())
        })
        .collect()
}

fn overlap(a: &resvg::usvg::Rect, b: &resvg::usvg::Rect) -> bool {
    a.left() < b.right() && b.left() < a.right() && a.top() < b.bottom() && b.top() < a.bottom()
}

fn inside(inner: &resvg::usvg::Rect, outer: &resvg::usvg::Rect, margin: f32) -> bool {
    inner.left() >= outer.left() + margin
        && inner.top() >= outer.top() + margin
        && inner.right() <= outer.right() - margin
        && inner.bottom() <= outer.bottom() - margin
}

/// The layout rules, checked on one side; returns what breaks them.
fn layout_faults(r: &Renderer, face: &CardFace<'_>, side: Side) -> Vec<String> {
    let boxes = boxes(r, face, side);
    let card = resvg::usvg::Rect::from_xywh(0.0, 0.0, WIDTH_MM, HEIGHT_MM).unwrap();
    let mut faults = Vec::new();
    let on_band = |id: &str| id == "force" || id == "title";
    let (bands, content): (Vec<_>, Vec<_>) = boxes.iter().partition(|(id, _)| id.starts_with("band"));
    for (id, b) in &content {
        // Inside the card's safe area: 1.5 mm in from the die-cut edge.
        if id != "qr-zone" && !inside(b, &card, 1.5) {
            faults.push(format!("{id} {b:?} leaves the safe area"));
        }
        let on = bands.iter().filter(|(_, band)| overlap(b, band)).collect::<Vec<_>>();
        if on_band(id) {
            if !bands.iter().any(|(_, band)| inside(b, band, 0.0)) {
                faults.push(format!("{id} {b:?} is not wholly on its band"));
            }
        } else if let Some((band, _)) = on.first() {
            faults.push(format!("{id} {b:?} runs onto {band}"));
        }
    }
    for (i, (a, ab)) in content.iter().enumerate() {
        for (b, bb) in &content[i + 1..] {
            let nested = |outer: &str, inner: &str| {
                (a == outer && b == inner && inside(bb, ab, 0.0)) || (b == outer && a == inner && inside(ab, bb, 0.0))
            };
            if overlap(ab, bb) && !nested("photo", "photo-label") && !nested("qr-zone", "qr") {
                faults.push(format!("{a} {ab:?} overlaps {b} {bb:?}"));
            }
        }
    }
    // The quiet zone: four modules of white round the symbol, inside its square.
    let symbol = lanyard_credential::qr::symbol(face.qr_text).unwrap();
    let find = |want: &str| content.iter().find(|(id, _)| id == want).map(|(_, b)| *b);
    match (find("qr"), find("qr-zone")) {
        (Some(qr), Some(zone)) => {
            let module = zone.width() / (symbol.width + 8) as f32;
            if !inside(&qr, &zone, 4.0 * module - 0.01) {
                faults.push(format!("the QR {qr:?} has less than four modules of quiet zone in {zone:?}"));
            }
        }
        _ => faults.push("no QR code, or no quiet zone".to_owned()),
    }
    faults
}

/// The longest ranks of DESIGN §8 and the names a force holds, from
/// ordinary to the longest the register accepts: no element of the card
/// overlaps another, text stays on the card, and every QR keeps its quiet
/// zone. Before the geometry was fixed the rank touched the front's QR and
/// the back's QR square painted over its footer.
#[test]
fn no_element_overlaps_another_on_any_card() {
    let r = Renderer::new();
    let ranks = lanyard_core::RankTable::default_ranks();
    let longest = |list: &[&'static str]| *list.iter().max_by_key(|n| n.chars().count()).unwrap();
    let synthetic = format!("{} {}", longest(lanyard_synth::FORENAMES), longest(lanyard_synth::SURNAMES));
    let limit = format!(
        "{} {}",
        "Wolfgang-Maximilian ".repeat(5).trim_end(),
        "Featherstonehaugh-Cholmondeley ".repeat(3).trim_end()
    );
    let names = [
        "Ada Quayle",
        synthetic.as_str(),
        "Hyacinth-Éowyn Jáuregui-Pyeongyang Ångström",
        "Bartholomew-Alexander Fitzwilliam-Montgomery Featherstonehaugh-Cholmondeley",
        limit.as_str(),
        &"W".repeat(100),
    ];
    let address: Vec<String> = (0..10)
        .map(|i| format!("Line {i} of a very long return address for the ID Card Office, Headquarters"))
        .collect();
    let force = "The Police Service of the Very Long Example Constabulary and Metropolitan Area";
    let mut faults = Vec::new();
    let mut check = |face: CardFace<'_>, sides: &[Side]| {
        for side in sides {
            for f in layout_faults(&r, &face, *side) {
                faults.push(format!("{} {side:?} '{}' / {:?}: {f}", face.card_type, face.name, face.rank));
            }
        }
    };
    // The rank is on the front of the three types that print one, which
    // share a template: every rank, with the longest name, on one of them.
    for rank in ranks.ranks() {
        check(CardFace { rank: Some(rank), number: "PC/1234567-AB", ..face(limit.as_str(), &address) }, &[Side::Front]);
    }
    for card_type in ["warrant_card", "staff_pass", "contractor_pass", "visitor_pass"] {
        for name in names {
            for number in ["WWWWWWWWWWWWWWWWWWWW", "MET/PC-1234567890ABC", "1234"] {
                check(CardFace { card_type, force, number, ..face(name, &address) }, &[Side::Front, Side::Back]);
            }
        }
    }
    assert!(faults.is_empty(), "{} layout faults:\n{}", faults.len(), faults.join("\n"));
}

/// The ranks and service numbers a force uses print whole: only a name past
/// all reason is cut short.
#[test]
fn reference_ranks_and_numbers_print_whole() {
    let r = Renderer::new();
    for rank in lanyard_core::RankTable::default_ranks().ranks() {
        let f = CardFace { rank: Some(rank), number: "MET/PC-12345678", ..face("Ada Quayle", &[]) };
        let svg = r.svg(&f, Side::Front).unwrap();
        assert!(svg.contains(&format!(">{rank}<")), "{rank} is printed whole");
        assert!(svg.contains(">Service no. MET/PC-12345678<"), "the number is printed whole");
    }
    // The longest number the register takes goes below its label, whole.
    let long = "MET/PC-1234567890ABC";
    assert_eq!(long.len(), 20);
    let svg = r.svg(&CardFace { number: long, ..face("Ada Quayle", &[]) }, Side::Front).unwrap();
    assert!(svg.contains(&format!(">{long}<")) && svg.contains(">Service no.<"), "{svg}");
}

#[test]
fn rgb_is_what_demultiplying_every_pixel_gives() {
    let mut pixmap = Pixmap::new(16, 16).unwrap();
    for (i, p) in pixmap.pixels_mut().iter_mut().enumerate() {
        let a = [255u8, 255, 128, 0, 1][i % 5];
        let c = |k: usize| ((i * k) % 256) as u8 % a.saturating_add(1).max(1);
        *p = resvg::tiny_skia::PremultipliedColorU8::from_rgba(c(7).min(a), c(13).min(a), c(31).min(a), a).unwrap();
    }
    let reference: Vec<u8> = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue()]
        })
        .collect();
    assert_eq!(rgb_of(&pixmap), reference);
}

#[test]
fn a_remembered_qr_path_is_the_one_drawn_and_never_another_texts() {
    let at = Square { x: 60.0, y: 20.0, size: 22.0 };
    let a = qr_path("LY1:ABC", at).unwrap();
    assert_eq!(a, draw_qr("LY1:ABC", at).unwrap());
    assert_eq!(qr_path("LY1:ABC", at).unwrap(), a);
    let b = qr_path("LY1:ABD", at).unwrap();
    assert_ne!(a, b);
    assert_eq!(b, draw_qr("LY1:ABD", at).unwrap());
    let moved = qr_path("LY1:ABC", Square { x: 4.0, ..at }).unwrap();
    assert_ne!(moved, a);
}

#[test]
fn remembered_widths_are_the_widths_measured_and_only_shared_lines_are_kept() {
    let r = Renderer::new();
    WIDTHS.with_borrow_mut(HashMap::clear);
    let force = "Metropolitan Police Service";
    for (size, bold) in [(3.4, true), (3.4 * 0.95, true), (2.0, false)] {
        let fresh = r.text_width(force, size, bold);
        assert_eq!(r.shared_width(force, size, bold), fresh);
        assert_eq!(r.shared_width(force, size, bold), fresh, "the second answer comes from the memo");
    }
    assert_eq!(WIDTHS.with_borrow(HashMap::len), 3);
    // A card's SVG is the same whichever way its widths were found, and
    // the holder's lines leave nothing behind.
    WIDTHS.with_borrow_mut(HashMap::clear);
    let address = ["Warrant Card Office".to_owned(), "1 Broadway, London SW1H 0BG".to_owned()];
    let f = face("Ada Quayle", &address);
    let (front, back) = (r.svg(&f, Side::Front).unwrap(), r.svg(&f, Side::Back).unwrap());
    let kept: Vec<String> = WIDTHS.with_borrow(|m| m.keys().map(|(t, _, _)| t.clone()).collect());
    assert!(!kept.is_empty());
    assert!(kept.iter().all(|t| !t.contains("Ada") && !t.contains("Quayle")), "{kept:?}");
    assert_eq!(r.svg(&f, Side::Front).unwrap(), front);
    assert_eq!(r.svg(&f, Side::Back).unwrap(), back);
    assert!(shared_line("force") && shared_line("address-3") && !shared_line("name-0") && !shared_line("rank"));
    // More than the memo keeps starts it afresh rather than growing it.
    for i in 0..WIDTHS_KEPT + 10 {
        r.shared_width(&format!("line {i}"), 2.0, false);
    }
    assert!(WIDTHS.with_borrow(HashMap::len) <= WIDTHS_KEPT);
}

/// However the PNG is filtered and compressed, it holds exactly the pixels
/// drawn: the encoder's options may change the file's bytes, never the card.
#[test]
fn the_png_holds_exactly_the_pixels_drawn() {
    let r = Renderer::new();
    let address = vec!["ID Card Office".to_owned()];
    for (t, side) in [("warrant_card", Side::Front), ("visitor_pass", Side::Front), ("staff_pass", Side::Back)] {
        let f = CardFace { card_type: t, ..face("Ada Quayle", &address) };
        let png = r.png(&f, side, FileMeta::default()).unwrap();
        let decoded = image::load_from_memory(&png).unwrap().to_rgb8().into_raw();
        let mut pixmap = Pixmap::new(px(WIDTH_MM), px(HEIGHT_MM)).unwrap();
        let scale = DPI / CSS_DPI;
        resvg::render(&r.tree(&f, side).unwrap(), Transform::from_scale(scale, scale), &mut pixmap.as_mut());
        assert!(decoded == rgb_of(&pixmap), "{t} {side:?}: the PNG's pixels are the pixmap's");
    }
}
