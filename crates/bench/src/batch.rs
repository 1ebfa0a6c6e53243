//! `lanyard bench batch`: a print batch of N cards (default 1,000) built
//! end to end through the supply service on SQLite: audited reads of
//! identity and photo, credential signing, rendering (front and back PNG, a
//! two-page PDF), packing, sealing with age and storing in chunks. Then the
//! supplier's side: the file exported chunk by chunk and opened by the
//! agent's own code (decrypted, checked, spooled). Beside it, in the same
//! run and on the same cards: rendering alone (the floor), and age sealing
//! alone of an archive of up to 250 of them.
//!
//! Peak RSS is per phase: the kernel's high-water mark is reset (`5` to
//! `/proc/self/clear_refs`) before the batch and before the agent, so each
//! figure is that phase's own, not the setup's.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use lanyard_cards::{Cards, PersonRef};
use lanyard_core::{CardAction, CardType};
use lanyard_crypto::{KdfParams, KeyringProvider};
use lanyard_register::import::{self, Options};
use lanyard_register::{Operator, Register};
use lanyard_store::Store;
use lanyard_supply::{CardPrint, Supply, SupplyConfig, package};
use serde::Serialize;

use crate::opts::Cli;
use crate::tempdir;
use crate::util as context;
use crate::util as output;
use lanyard_synth as synth;

#[derive(Serialize)]
struct Report {
    cards: usize,
    threads: usize,
    batch_seconds: f64,
    batch_cards_per_s: f64,
    render_only_seconds: f64,
    render_only_cards_per_s: f64,
    seal_only_seconds: f64,
    seal_mb_per_s: f64,
    batch_vs_render: f64,
    /// High-water RSS after setup, before the batch.
    setup_peak_rss_kib: u64,
    /// High-water RSS of making the batch alone (the server's side).
    batch_peak_rss_kib: u64,
    /// Seconds for the agent to decrypt, check and spool the batch.
    agent_seconds: f64,
    /// High-water RSS of the agent's open alone (the supplier's side).
    agent_peak_rss_kib: u64,
    sealed_bytes: i64,
    bytes_per_card: f64,
    peak_rss_kib: u64,
}

pub async fn run(cli: &Cli, cards_wanted: usize) -> Result<()> {
    if cards_wanted == 0 {
        bail!("--cards must be at least 1");
    }
    let dir = tempdir()?;
    let result = measure(cards_wanted, &dir).await;
    std::fs::remove_dir_all(&dir).ok();
    let report = result?;
    if cli.json {
        return output::json(&report);
    }
    println!("print batch of {} cards, {} render threads, SQLite:", report.cards, report.threads);
    println!(
        "  whole batch (read, sign, render, pack, seal, store): {:.1} s = {:.1} cards/s",
        report.batch_seconds, report.batch_cards_per_s
    );
    println!(
        "  rendering alone, same cards and threads:            {:.1} s = {:.1} cards/s (batch/render {:.2})",
        report.render_only_seconds, report.render_only_cards_per_s, report.batch_vs_render
    );
    println!(
        "  age sealing alone of the same archive:              {:.2} s = {:.0} MB/s",
        report.seal_only_seconds, report.seal_mb_per_s
    );
    println!(
        "  sealed batch {} bytes = {:.0} bytes per card (front PNG, back PNG, 2-page PDF)",
        report.sealed_bytes, report.bytes_per_card
    );
    println!("  the agent's open (decrypt, check, spool):            {:.1} s", report.agent_seconds);
    println!(
        "  peak RSS: {} MiB in setup; {} MiB making the batch; {} MiB in the agent's open",
        report.setup_peak_rss_kib / 1024,
        report.batch_peak_rss_kib / 1024,
        report.agent_peak_rss_kib / 1024
    );
    Ok(())
}

async fn measure(n: usize, dir: &std::path::Path) -> Result<Report> {
    let csv = dir.join("force.csv");
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos)?;
    synth::write_force(&csv, n, Some(&photos), 11)?;
    let provider =
        Arc::new(KeyringProvider::create(&dir.join("keyring.json"), b"bench passphrase", KdfParams::recommended())?);
    let store = Store::open_sqlite(&dir.join("lanyard.db"), true).await?;
    let clerk = Operator::local(lanyard_audit::Actor::operator("bench-clerk"), false);
    let approver = Operator::local(lanyard_audit::Actor::operator("bench-approver"), false);
    let ledger = lanyard_audit::Ledger::new(store);
    let register = Arc::new(Register::init(ledger.clone(), provider, &clerk, context::now_ms()).await?);
    let parsed = import::parse(
        std::io::BufReader::new(std::fs::File::open(&csv)?),
        register.ranks(),
        Options { photos_dir: Some(&photos), ignore_unknown: false },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let outcome = register.import(&clerk, parsed.records, context::now_ms(), &|_| {}).await?;
    let cards = Cards::new(Arc::clone(&register), ledger.clone(), lanyard_cards::IssuerConfig::default());
    let now = context::now_ms();
    for id in &outcome.imported {
        let card = cards.request(&clerk, PersonRef::Id(*id), CardType::WarrantCard, now).await?;
        cards.transition(&approver, &card.id, CardAction::Approve, None, now).await?;
    }
    let supply = Supply::new(
        Arc::clone(&register),
        ledger.clone(),
        cards.clone(),
        SupplyConfig { max_cards: n, ..SupplyConfig::default() },
    );
    let (identity, recipient) = package::keygen("bench");
    supply.add_supplier(&clerk, "bench-print", &recipient, now).await?;
    let identity_path = dir.join("identity.txt");
    std::fs::write(&identity_path, age::secrecy::ExposeSecret::expose_secret(&identity))?;
    let state = dir.join("agent-state");
    let key = supply.batch_key(&clerk, now).await?;
    lanyard_agent::State::open(&state)?.trust("bench-print", &key.to_key_string())?;

    let setup_peak_rss_kib = crate::peak_rss_kib();
    crate::reset_peak_rss();
    let t = Instant::now();
    let created = supply.create_batch(&clerk, "bench-print", Some(n), context::now_ms()).await?;
    let batch_seconds = t.elapsed().as_secs_f64();
    let batch_peak_rss_kib = crate::peak_rss_kib();
    if created.cards.len() != n {
        bail!("batched {} of {n} cards", created.cards.len());
    }

    // The supplier's side: the file streamed out, then the agent's open.
    let sealed_path = dir.join("batch.age");
    supply
        .export(&clerk, &created.batch.id, context::now_ms())
        .await?
        .write_to(&mut std::fs::File::create(&sealed_path)?)
        .await?;
    crate::reset_peak_rss();
    let t = Instant::now();
    let spool =
        lanyard_agent::SpoolArgs { identity: identity_path, spool: dir.join("spool"), state, print_command: None };
    let manifest = lanyard_agent::spool_file(&sealed_path, &spool)?;
    let agent_seconds = t.elapsed().as_secs_f64();
    let agent_peak_rss_kib = crate::peak_rss_kib();
    if manifest.cards.len() != n {
        bail!("the agent opened {} of {n} cards", manifest.cards.len());
    }
    std::fs::remove_dir_all(dir.join("spool")).ok();

    // The same cards' prints, read again (untimed), then rendered alone.
    let mut prints = Vec::with_capacity(n);
    for id in &created.cards {
        let row = cards.card(id, context::now_ms()).await?;
        let printable = cards.printable(&clerk, id, Some("bench: render alone"), context::now_ms()).await?;
        prints.push(CardPrint::new(&row, printable, cards.config()));
    }
    let renderer = Arc::new(lanyard_render::Renderer::new());
    // In the batch's own chunks, so the baseline holds no more than it;
    // up to 250 cards' artwork is kept for the sealing baseline.
    let mut artwork = Vec::new();
    let t = Instant::now();
    for chunk in prints.chunks(128) {
        let art =
            lanyard_supply::artwork::render_all(&renderer, chunk, &created.batch.id).map_err(anyhow::Error::msg)?;
        artwork.extend(art.into_iter().take(250 - artwork.len().min(250)));
    }
    let render_only_seconds = t.elapsed().as_secs_f64();
    let header = package::Manifest {
        format: String::new(),
        batch: created.batch.id.clone(),
        supplier: "bench-print".into(),
        created_at: String::new(),
        expires_at: String::new(),
        cards: vec![],
    };
    // Unsigned: this measures sealing alone, beside the batch made above.
    let (_, plain) = package::pack(&header, &artwork, None)?;
    let t = Instant::now();
    let sealed = package::seal(&plain, &package::parse_recipient(&recipient)?)?;
    let seal_only_seconds = t.elapsed().as_secs_f64();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    Ok(Report {
        cards: n,
        threads,
        batch_seconds,
        batch_cards_per_s: n as f64 / batch_seconds,
        render_only_seconds,
        render_only_cards_per_s: n as f64 / render_only_seconds,
        seal_only_seconds,
        seal_mb_per_s: sealed.len() as f64 / 1e6 / seal_only_seconds,
        batch_vs_render: render_only_seconds / batch_seconds,
        setup_peak_rss_kib,
        batch_peak_rss_kib,
        agent_seconds,
        agent_peak_rss_kib,
        sealed_bytes: created.batch.size,
        bytes_per_card: created.batch.size as f64 / n as f64,
        peak_rss_kib: crate::peak_rss_kib(),
    })
}
