//! `lanyard bench cards`: offline verifications per second on one core
//! beside raw Ed25519 verifies of the same signature in the same run; card
//! artwork rendered per second (PNG, PDF); and the size and build time of a
//! status list of 1,000,000 cards. Medians of five rounds.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use lanyard_credential::claims::StatusRef;
use lanyard_credential::{
    CardClaims, CardStatus, IssuerSigner, ListTimes, StatusList, StatusListToken, TrustBundle, Verifier, issue_qr,
    key_id, qr, verify_qr,
};
use lanyard_crypto::{Ed25519Key, Key32};
use lanyard_render::{CardFace, FileMeta, Renderer, Side};
use serde::Serialize;

use crate::opts::{CardsBenchArgs, Cli};
use crate::util as output;

#[derive(Serialize)]
struct Report {
    verify_per_s: f64,
    raw_ed25519_per_s: f64,
    verify_vs_raw: f64,
    qr_chars: usize,
    png_cards_per_s: f64,
    pdf_cards_per_s: f64,
    png_bytes_per_card: usize,
    pdf_bytes_per_card: usize,
    status_list_cards: u64,
    status_list_build_ms: f64,
    status_list_bytes: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn rate(n: usize, f: impl FnMut()) -> f64 {
    let mut f = f;
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

pub fn run(cli: &Cli, args: &CardsBenchArgs) -> Result<()> {
    let signer = IssuerSigner { kid: key_id(1), key: Arc::new(Ed25519Key::from_seed(&Key32::random())) };
    let uri = "https://lanyard.example/v1/status-lists/1";
    let bundle =
        TrustBundle { issuer: "lanyard.example".into(), keys: vec![signer.jwk()], status_list_uri: uri.into() };
    let now = 1_800_000_000;
    let claims = CardClaims {
        issuer: bundle.issuer.clone(),
        card_id: "C7K3M9Q2X4".into(),
        issued_at: now - 86_400,
        not_before: now - 86_400,
        expires_at: now + 5 * 365 * 86_400,
        name: "Ada Quayle".into(),
        rank: Some("Inspector".into()),
        number: "900001".into(),
        card_type: "warrant_card".into(),
        zones: vec![],
        status: Some(StatusRef { idx: 654_321, uri: uri.into() }),
    };
    let text = issue_qr(&claims, &signer)?;

    // The status list: 1,000,000 cards, 2% revoked and 0.5% suspended, at
    // random places (a regular pattern would compress to nothing).
    let cards = args.status_list_cards;
    let mut rng_state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        // xorshift64*: a fixed, dependency-free sequence for a reproducible list.
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        rng_state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let marks: Vec<(u64, CardStatus)> = (0..cards / 40)
        .map(|i| (next() % cards, if i % 5 == 0 { CardStatus::Suspended } else { CardStatus::Invalid }))
        .collect();
    let mut builds = Vec::new();
    let mut list_bytes = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut list = StatusList::new(cards);
        for (i, s) in &marks {
            list.set(*i, *s);
        }
        let times = ListTimes { issued_at: now, expires_at: now + 86_400, ttl: 300 };
        list_bytes = StatusListToken::sign(&list, uri, &times, &signer)?;
        builds.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let status = StatusListToken::verify(&list_bytes, &bundle, now)?;

    // The raw ceiling: the Ed25519 verification inside each credential
    // check, with the key already decoded, as the verifier holds it.
    let cose = qr::decode_text(&text)?;
    let signed = lanyard_credential::cose::parse(&cose)?;
    let public = ed25519_dalek::VerifyingKey::from_bytes(&bundle.key(&signed.kid).context("key")?)?;
    let verifier = Verifier::new(&bundle);
    let (mut full, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        raw.push(rate(args.verifies, || {
            let _ = std::hint::black_box(signed.verify_with(&public));
        }));
        full.push(rate(args.verifies, || {
            let v = verifier.verify(std::hint::black_box(&text), Some(&status), now);
            std::hint::black_box(v.ok());
        }));
    }
    let check = verify_qr(&text, &bundle, Some(&status), now)?;
    anyhow::ensure!(check.verdict == lanyard_credential::Verdict::Valid, "the benchmark credential must verify");

    let renderer = Renderer::new();
    let address = vec!["ID Card Office".to_owned(), "PO Box 0000".to_owned()];
    let face = CardFace {
        card_type: "warrant_card",
        force: "Lanyard Demo Constabulary",
        name: &claims.name,
        rank: claims.rank.as_deref(),
        number: &claims.number,
        card_number: "00000042",
        card_id: &claims.card_id,
        expiry: "2031-11-27",
        photo_jpeg: None,
        qr_text: &text,
        return_address: &address,
    };
    // Cards one after another, as in a batch: each its own credential, so
    // nothing one card's rendering remembers serves the next.
    let others: Vec<(String, String)> = (0..8u8)
        .map(|i| {
            let card_id = format!("C7K3M9Q2{}{}", char::from(b'A' + i), char::from(b'Z' - i));
            let text = issue_qr(&CardClaims { card_id: card_id.clone(), ..claims.clone() }, &signer)?;
            Ok((card_id, text))
        })
        .collect::<Result<_>>()?;
    let mut turn = 0usize;
    let mut next_face = || {
        turn += 1;
        let (card_id, qr_text) =
            others.get(turn % others.len()).map(|(c, t)| (c.as_str(), t.as_str())).unwrap_or_default();
        CardFace { card_id, qr_text, ..face.clone() }
    };
    let (mut png, mut pdf) = (Vec::new(), Vec::new());
    let (mut png_size, mut pdf_size) = (0, 0);
    for _ in 0..5 {
        png.push(rate(args.renders, || {
            let face = next_face();
            png_size = [Side::Front, Side::Back]
                .iter()
                .map(|s| renderer.png(&face, *s, FileMeta::default()).map(|b| b.len()).unwrap_or_default())
                .sum();
        }));
        pdf.push(rate(args.renders, || {
            let face = next_face();
            pdf_size = renderer
                .pdf(&face, &[Side::Front, Side::Back], FileMeta::default())
                .map(|b| b.len())
                .unwrap_or_default();
        }));
    }
    let report = Report {
        verify_per_s: median(full),
        raw_ed25519_per_s: median(raw),
        verify_vs_raw: 0.0,
        qr_chars: text.len(),
        png_cards_per_s: median(png),
        pdf_cards_per_s: median(pdf),
        png_bytes_per_card: png_size,
        pdf_bytes_per_card: pdf_size,
        status_list_cards: cards,
        status_list_build_ms: median(builds),
        status_list_bytes: list_bytes.len(),
    };
    let report = Report { verify_vs_raw: report.verify_per_s / report.raw_ed25519_per_s, ..report };
    if cli.json {
        return output::json(&report);
    }
    println!(
        "offline verify (one core):  {:>10.0} /s   (raw Ed25519 verify {:.0} /s; ratio {:.2})",
        report.verify_per_s, report.raw_ed25519_per_s, report.verify_vs_raw
    );
    println!("QR text:                    {:>10} characters", report.qr_chars);
    println!(
        "render, front + back PNG:   {:>10.1} cards/s ({} bytes/card)",
        report.png_cards_per_s, report.png_bytes_per_card
    );
    println!(
        "render, two-page PDF:       {:>10.1} cards/s ({} bytes/card)",
        report.pdf_cards_per_s, report.pdf_bytes_per_card
    );
    println!(
        "status list, {} cards: {:>6.1} ms to build and sign, {} bytes",
        report.status_list_cards, report.status_list_build_ms, report.status_list_bytes
    );
    Ok(())
}
