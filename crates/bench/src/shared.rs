//! `lanyard bench shared-store`: two `lanyard serve` processes on one
//! PostgreSQL store take concurrent writes and reads for a while (60 s by
//! default); then every successful request must have exactly its audit
//! event in the one log, and `lanyard audit verify` must pass.
//!
//! Needs `--database-url` naming an empty PostgreSQL database or schema.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::opts::Cli;
use crate::util as output;

pub(crate) const PASSWORD: &str = "shared store bench password";
const PASSPHRASE: &str = "shared store bench passphrase";

#[derive(Default)]
struct Tally {
    creates: AtomicU64,
    updates: AtomicU64,
    reads: AtomicU64,
    /// Refused or failed requests: creates, updates (409 when two clients
    /// change one person at once), reads.
    failures: [AtomicU64; 3],
}

#[derive(Serialize)]
struct Report {
    seconds: f64,
    servers: usize,
    clients: usize,
    creates: u64,
    updates: u64,
    reads: u64,
    failed_creates: u64,
    failed_updates: u64,
    failed_reads: u64,
    requests_per_s: f64,
    events_person_create: u64,
    events_person_update: u64,
    events_person_read: u64,
    events_match: bool,
    audit_verify_ok: bool,
}

pub(crate) fn lanyard(dir: &std::path::Path, url: &str) -> Result<Command> {
    let mut c = Command::new(std::env::current_exe()?);
    c.arg("--data-dir").arg(dir).arg("--database-url").arg(url).env("LANYARD_PASSPHRASE", PASSPHRASE);
    Ok(c)
}

pub(crate) fn run_ok(mut c: Command, stdin: Option<&str>) -> Result<String> {
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn()?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn totp(secret: &str) -> Result<String> {
    let secret = totp_rs::Secret::try_from_base32(secret).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let t = totp_rs::Builder::new()
        .with_secret(secret.as_ref().to_vec())
        .with_account_name("bench")
        .build()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    Ok(t.generate(now).to_string())
}

pub(crate) fn start_server(dir: &std::path::Path, url: &str) -> Result<(Child, String)> {
    let mut c = lanyard(dir, url)?;
    c.args(["serve", "--listen", "127.0.0.1:0", "--reads-per-minute", "1000000", "--read-burst", "1000000"]);
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("server stdout")?).read_line(&mut line)?;
    let base = line.trim().strip_prefix("listening on ").context("the server did not start")?.to_owned();
    Ok((child, base))
}

pub async fn run(cli: &Cli, seconds: u64, clients_per_server: usize) -> Result<()> {
    let Some(url) = cli.database_url.clone() else {
        bail!("bench shared-store needs --database-url postgres://… naming an empty database or schema");
    };
    if !url.starts_with("postgres") {
        bail!("bench shared-store runs on PostgreSQL: several servers share one store there");
    }
    let dir = crate::tempdir()?;
    let result = measure(&dir, &url, seconds, clients_per_server).await;
    std::fs::remove_dir_all(&dir).ok();
    let r = result?;
    if cli.json {
        return output::json(&r);
    }
    println!(
        "{} servers, {} clients, {:.0} s on one PostgreSQL store: {} creates, {} updates, {} reads ({:.0} requests/s)",
        r.servers, r.clients, r.seconds, r.creates, r.updates, r.reads, r.requests_per_s
    );
    println!(
        "refused: {} creates, {} updates (409: two clients changed one person at once), {} reads",
        r.failed_creates, r.failed_updates, r.failed_reads
    );
    println!(
        "events: person.create {}, person.update {}, person.read {}: {}",
        r.events_person_create,
        r.events_person_update,
        r.events_person_read,
        if r.events_match { "one per successful request, none lost" } else { "MISMATCH" }
    );
    println!("lanyard audit verify: {}", if r.audit_verify_ok { "passed" } else { "FAILED" });
    if !r.events_match || !r.audit_verify_ok {
        bail!("the shared store lost or mismatched events");
    }
    Ok(())
}

async fn measure(dir: &std::path::Path, url: &str, seconds: u64, per_server: usize) -> Result<Report> {
    let mut init = lanyard(dir, url)?;
    init.arg("init");
    run_ok(init, None).context("lanyard init")?;
    let mut secrets = Vec::new();
    for name in ["ida", "ian"] {
        let mut add = lanyard(dir, url)?;
        add.args(["--json", "--local", "user", "add", name, "--role", "id_officer", "--password-stdin"]);
        let out = run_ok(add, Some(&format!("{PASSWORD}\n")))?;
        let v: serde_json::Value = serde_json::from_str(&out)?;
        secrets
            .push((name, v.get("totp_secret").and_then(serde_json::Value::as_str).context("totp secret")?.to_owned()));
    }
    let servers = [start_server(dir, url)?, start_server(dir, url)?];
    let store = lanyard_store::Store::open_url(url, false).await?;
    let outcome = async {
        let mut clients = Vec::new();
        for ((_, base), (name, secret)) in servers.iter().zip(&secrets) {
            let client = reqwest::Client::builder().cookie_store(true).build()?;
            let body = serde_json::json!({ "name": name, "password": PASSWORD, "code": totp(secret)? });
            let r = client.post(format!("{base}/v1/login")).json(&body).send().await?;
            if !r.status().is_success() {
                bail!("login to {base} failed: {}", r.status());
            }
            clients.push((client, base.clone()));
        }
        let before = store.audit_len().await?;
        let tally = Arc::new(Tally::default());
        let ids = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (k, (client, base)) in clients.iter().enumerate() {
            for j in 0..per_server {
                let (client, base, tally, ids) = (client.clone(), base.clone(), Arc::clone(&tally), Arc::clone(&ids));
                tasks.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        n += 1;
                        let pick = ids.lock().ok().and_then(|v| v.get((n as usize * 7 + j) % v.len().max(1)).cloned());
                        let kind = match (n % 4, &pick) {
                            (0, _) | (_, None) => 0,
                            (1, Some(_)) => 1,
                            _ => 2,
                        };
                        let ok = match (n % 4, pick) {
                            (0, _) | (_, None) => {
                                let sn = format!("SS{k}{j:02}{n:06}");
                                let body = serde_json::json!({ "fields": {
                                    "service_number": sn, "forenames": "Shared", "surname": "Store", "rank": "Police Constable"
                                }});
                                match client.post(format!("{base}/v1/people")).json(&body).send().await {
                                    Ok(r) if r.status().is_success() => {
                                        let v: serde_json::Value = r.json().await.unwrap_or_default();
                                        if let (Some(id), Ok(mut all)) = (v.get("id").and_then(serde_json::Value::as_str), ids.lock()) {
                                            all.push(id.to_owned());
                                        }
                                        tally.creates.fetch_add(1, Ordering::Relaxed);
                                        true
                                    }
                                    _ => false,
                                }
                            }
                            (1, Some(id)) => {
                                let body = serde_json::json!({ "fields": { "rank": "Police Sergeant" } });
                                let r = client.patch(format!("{base}/v1/people/{id}")).json(&body).send().await;
                                let ok = r.is_ok_and(|r| r.status().is_success());
                                if ok {
                                    tally.updates.fetch_add(1, Ordering::Relaxed);
                                }
                                ok
                            }
                            (_, Some(id)) => {
                                let r = client
                                    .get(format!("{base}/v1/people/{id}?compartments=identity"))
                                    .header("X-Lanyard-Purpose", "shared store bench")
                                    .send()
                                    .await;
                                let ok = r.is_ok_and(|r| r.status().is_success());
                                if ok {
                                    tally.reads.fetch_add(1, Ordering::Relaxed);
                                }
                                ok
                            }
                        };
                        if !ok && let Some(f) = tally.failures.get(kind) {
                            f.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }));
            }
        }
        for t in tasks {
            t.await?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        // Tally the events the run wrote.
        let mut counts = [0u64; 3];
        let mut from = before;
        loop {
            let rows = store.audit_rows(from, 10_000).await?;
            let Some(last) = rows.last() else { break };
            from = last.idx + 1;
            for r in &rows {
                let e = lanyard_audit::Event::from_bytes(&r.event)?;
                match e.action.as_str() {
                    "person.create" => counts[0] += 1,
                    "person.update" => counts[1] += 1,
                    "person.read" => counts[2] += e.people.len() as u64,
                    _ => {}
                }
            }
        }
        Ok::<_, anyhow::Error>((tally, elapsed, counts))
    }
    .await;
    for (mut child, _) in servers {
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let _ = child.wait();
    }
    store.close().await;
    let (tally, elapsed, counts) = outcome?;
    let verify = lanyard(dir, url)?.args(["audit", "verify"]).output()?;
    let (creates, updates, reads) = (
        tally.creates.load(Ordering::Relaxed),
        tally.updates.load(Ordering::Relaxed),
        tally.reads.load(Ordering::Relaxed),
    );
    Ok(Report {
        seconds: elapsed,
        servers: 2,
        clients: 2 * per_server,
        creates,
        updates,
        reads,
        failed_creates: tally.failures[0].load(Ordering::Relaxed),
        failed_updates: tally.failures[1].load(Ordering::Relaxed),
        failed_reads: tally.failures[2].load(Ordering::Relaxed),
        requests_per_s: (creates + updates + reads) as f64 / elapsed,
        events_person_create: counts[0],
        events_person_update: counts[1],
        events_person_read: counts[2],
        events_match: counts == [creates, updates, reads],
        audit_verify_ok: verify.status.success(),
    })
}
