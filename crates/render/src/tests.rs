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
        .filter(|t| t.contains(r#"font-weight="bold">"#) && t.starts_with(r#"x="29""#))
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
