//! `lanyard bench console`: the console's person page for a signed-in ID
//! officer (authorized, audited, decrypted and rendered, with the person's
//! cards and permits) beside the JSON read of the same person
//! (`GET /v1/people/{id}?compartments=identity`), through one `lanyard
//! serve` on SQLite. Rounds alternate page and JSON, three of each;
//! requests per second and latency percentiles are their medians.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::opts::Cli;
use crate::shared::{PASSWORD, run_ok, totp};
use crate::util as output;

const PASSPHRASE: &str = "console bench passphrase";

#[derive(Serialize, Clone, Copy)]
struct Round {
    page: bool,
    requests: u64,
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

#[derive(Serialize)]
struct Report {
    clients: usize,
    seconds_per_round: u64,
    page_per_s: f64,
    page_p50_ms: f64,
    page_p99_ms: f64,
    json_per_s: f64,
    json_p50_ms: f64,
    json_p99_ms: f64,
    rounds: Vec<Round>,
}

fn lanyard(dir: &std::path::Path) -> Result<Command> {
    let mut c = Command::new(std::env::current_exe()?);
    c.arg("--data-dir").arg(dir).env("LANYARD_PASSPHRASE", PASSPHRASE);
    Ok(c)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-INT", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

pub async fn run(cli: &Cli, seconds: u64, clients: usize) -> Result<()> {
    let dir = crate::tempdir()?;
    let result = measure(&dir, seconds.max(1), clients.max(1)).await;
    std::fs::remove_dir_all(&dir).ok();
    let r = result?;
    if cli.json {
        return output::json(&r);
    }
    println!("{} clients, {} s rounds, medians of three rounds each:", r.clients, r.seconds_per_round);
    println!(
        "  person page (HTML)   {:>7.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
        r.page_per_s, r.page_p50_ms, r.page_p99_ms
    );
    println!(
        "  JSON read (API)      {:>7.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
        r.json_per_s, r.json_p50_ms, r.json_p99_ms
    );
    println!("  page/JSON            {:>7.2}", r.page_per_s / r.json_per_s.max(f64::MIN_POSITIVE));
    Ok(())
}

async fn measure(dir: &std::path::Path, seconds: u64, clients: usize) -> Result<Report> {
    let mut init = lanyard(dir)?;
    init.arg("init");
    run_ok(init, None).context("lanyard init")?;
    let mut add = lanyard(dir)?;
    add.args(["--json", "--local", "user", "add", "ida", "--role", "id_officer", "--password-stdin"]);
    let out = run_ok(add, Some(&format!("{PASSWORD}\n")))?;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    let secret = v.get("totp_secret").and_then(serde_json::Value::as_str).context("totp secret")?.to_owned();

    let mut c = lanyard(dir)?;
    c.args(["serve", "--listen", "127.0.0.1:0", "--insecure-http", "--reads-per-minute", "1000000"]);
    c.args(["--read-burst", "1000000"]);
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::null()).stdin(Stdio::null()).spawn()?;
    let stdout = child.stdout.take().context("server stdout")?;
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let base = line.trim().strip_prefix("listening on ").context("the server did not start")?.to_owned();

    let http = reqwest::Client::builder().pool_max_idle_per_host(clients * 2).build()?;
    let body = serde_json::json!({ "name": "ida", "password": PASSWORD, "code": totp(&secret)? });
    let r = http.post(format!("{base}/v1/login")).json(&body).send().await?;
    if !r.status().is_success() {
        bail!("login failed: {}", r.status());
    }
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("lanyard_session=").and_then(|v| v.split(';').next()))
        .context("no session cookie")?
        .to_owned();
    let cookie = format!("lanyard_session={session}; lanyard_purpose=card_renewal");
    let person = serde_json::json!({ "fields": {
        "service_number": "BENCH1", "forenames": "Bench", "surname": "Person", "rank": "Police Constable",
        "unit": "Response", "email": "bench.person@police.example"
    }});
    let r = http.post(format!("{base}/v1/people")).header("cookie", &cookie).json(&person).send().await?;
    let id = r.json::<serde_json::Value>().await?.get("id").and_then(|v| v.as_str()).context("person id")?.to_owned();

    let page_url = format!("{base}/people/{id}");
    let json_url = format!("{base}/v1/people/{id}?compartments=identity");
    // Both answer what they should before anything is timed.
    let page = http.get(&page_url).header("cookie", &cookie).send().await?.text().await?;
    if !page.contains("Bench Person") {
        bail!("the person page did not show the person");
    }
    let json = http.get(&json_url).header("cookie", &cookie).header("x-lanyard-purpose", "card_renewal").send().await?;
    if !json.status().is_success() {
        bail!("the JSON read failed: {}", json.status());
    }

    let mut rounds = Vec::new();
    for _ in 0..3 {
        for is_page in [true, false] {
            rounds.push(
                round(&http, if is_page { &page_url } else { &json_url }, &cookie, is_page, seconds, clients).await?,
            );
            std::io::stderr().flush().ok();
        }
    }
    drop(server);
    let med =
        |page: bool, f: fn(&Round) -> f64| crate::median(rounds.iter().filter(|r| r.page == page).map(f).collect());
    Ok(Report {
        clients,
        seconds_per_round: seconds,
        page_per_s: med(true, |r| r.per_s),
        page_p50_ms: med(true, |r| r.p50_ms),
        page_p99_ms: med(true, |r| r.p99_ms),
        json_per_s: med(false, |r| r.per_s),
        json_p50_ms: med(false, |r| r.p50_ms),
        json_p99_ms: med(false, |r| r.p99_ms),
        rounds,
    })
}

async fn round(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    page: bool,
    seconds: u64,
    clients: usize,
) -> Result<Round> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, cookie) = (http.clone(), url.to_owned(), cookie.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let mut req = http.get(&url).header("cookie", &cookie);
                if !page {
                    req = req.header("x-lanyard-purpose", "card_renewal");
                }
                let r = req.send().await?;
                if !r.status().is_success() {
                    bail!("{url}: {}", r.status());
                }
                r.bytes().await?;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.total_cmp(b));
    let pct =
        |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0.0);
    Ok(Round {
        page,
        requests: all.len() as u64,
        per_s: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    })
}
