//! The server end to end over real HTTP: log in with password and TOTP, read
//! a person with a purpose, be refused what the role may not read, and find
//! each of those in the audit log afterwards.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};

use crate::util::Env;

pub(crate) const PASSWORD: &str = "a long test password";

/// Runs `lanyard [--json] user add NAME --role ROLE --password-stdin`;
/// returns its standard output.
fn user_add(env: &Env, json: bool, name: &str, role: &str) -> String {
    let mut args = vec!["user", "add", name, "--role", role, "--password-stdin"];
    if json {
        args.insert(0, "--json");
    }
    let mut child =
        env.std_cmd().args(&args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn add_user(env: &Env, name: &str, role: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(&user_add(env, true, name, role)).unwrap();
    v["totp_secret"].as_str().unwrap().to_owned()
}

pub(crate) fn code(secret: &str) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let t = totp_rs::Builder::new().with_secret(secret.as_ref().to_vec()).with_account_name("t").build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    t.generate(now).to_string()
}

/// An HTTP client signed in as `name` (password and a fresh TOTP code),
/// holding its session cookie.
pub(crate) async fn login_http(base: &str, name: &str, secret: &str) -> reqwest::Client {
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let body = serde_json::json!({ "name": name, "password": PASSWORD, "code": code(secret) });
    let r = client.post(format!("{base}/v1/login")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200, "login {name}");
    client
}

pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Server {
    pub(crate) fn start(env: &Env) -> Server {
        Server::start_with(env, &[])
    }

    pub(crate) fn start_with(env: &Env, extra: &[&str]) -> Server {
        Server::spawn(env.std_cmd(), extra)
    }

    /// `lanyard serve` on a free loopback port, from a command prepared
    /// by the test (its environment), with `extra` serve flags.
    pub(crate) fn spawn(cmd: std::process::Command, extra: &[&str]) -> Server {
        Server::spawn_to(cmd, extra, Stdio::piped())
    }

    /// The same, its log written to `log`.
    pub(crate) fn spawn_logged(cmd: std::process::Command, extra: &[&str], log: &std::path::Path) -> Server {
        Server::spawn_to(cmd, extra, std::fs::File::create(log).unwrap().into())
    }

    fn spawn_to(mut cmd: std::process::Command, extra: &[&str], stderr: Stdio) -> Server {
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line}")).to_owned();
        Server { child, base }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the server stops cleanly on SIGINT");
    }
}

#[test]
fn login_read_with_purpose_refusals_and_the_log() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for env in Env::all() {
        env.init();
        let person = env.add("SV1", "Served");
        let ida = add_user(&env, "ida", "id_officer");
        let server = Server::start(&env);
        let base = server.base.clone();
        rt.block_on(async {
            let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
            let anon = reqwest::Client::new();
            // Health, readiness, metrics and the OpenAPI document.
            assert_eq!(anon.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
            assert_eq!(anon.get(format!("{base}/readyz")).send().await.unwrap().status(), 200);
            let spec: serde_json::Value =
                anon.get(format!("{base}/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
            assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"), "{spec}");
            assert!(spec["paths"]["/v1/people/{id}"]["get"].is_object());

            // No credentials: 401, as problem+json.
            let r = anon.get(format!("{base}/v1/people/{person}?compartments=identity")).send().await.unwrap();
            assert_eq!(r.status(), 401);
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            assert_eq!(r.headers()["x-content-type-options"], "nosniff");
            assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));

            // A wrong code is refused; the right one logs in.
            let bad = serde_json::json!({ "name": "ida", "password": PASSWORD, "code": "000000" });
            let r = client.post(format!("{base}/v1/login")).json(&bad).send().await.unwrap();
            assert_eq!(r.status(), 401);
            let good = serde_json::json!({ "name": "ida", "password": PASSWORD, "code": code(&ida) });
            let r = client.post(format!("{base}/v1/login")).json(&good).send().await.unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
            let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
            assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");

            // A read needs a purpose.
            let url = format!("{base}/v1/people/{person}?compartments=identity");
            let r = client.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 400);
            let p: serde_json::Value = r.json().await.unwrap();
            assert!(p["type"].as_str().unwrap().ends_with("/purpose_required"), "{p}");
            let r = client.get(&url).header("X-Lanyard-Purpose", "card renewal").send().await.unwrap();
            assert_eq!(r.status(), 200);
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(v["identity"]["surname"], "Served");

            // Pay is not an ID officer's: 403, and nothing revealed.
            let r = client
                .get(format!("{base}/v1/people/{person}?compartments=pay"))
                .header("X-Lanyard-Purpose", "curiosity")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403);
            let text = r.text().await.unwrap();
            assert!(text.contains("compartment_not_readable") && !text.contains("Served"), "{text}");

            let metrics = anon.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
            assert!(metrics.contains("lanyard_logins_total"), "{metrics}");
            assert!(!metrics.contains("Served") && !metrics.contains(&person));

            let r = client.post(format!("{base}/v1/logout")).send().await.unwrap();
            assert_eq!(r.status(), 204);
            assert_eq!(client.get(&url).header("X-Lanyard-Purpose", "again").send().await.unwrap().status(), 401);
        });
        server.stop();

        // The log has the read, with its purpose, and the refusal.
        let v = env.json(&["breach", "scope", "--actor", "user:ida"]);
        assert_eq!(v["people"][0]["person"], person.as_str(), "[{}] {v}", env.backend);
        assert_eq!(v["people_per_compartment"]["identity"], 1);
        assert!(v["people_per_compartment"].get("pay").is_none(), "the refused read revealed nothing");
        let size = v["tree_size"].as_u64().unwrap();
        let events: Vec<String> = (0..size).map(|i| env.ok(&["audit", "event", &i.to_string()])).collect();
        assert!(events.iter().any(|e| e.contains("access.denied") && e.contains("compartment_not_readable")));
        assert!(events.iter().any(|e| e.contains("person.read") && e.contains("\"purpose\":\"card_renewal\"")));
        assert!(events.iter().any(|e| e.contains("login.ok")) && events.iter().any(|e| e.contains("login.failed")));
        assert!(env.ok(&["audit", "verify"]).contains("0 findings"));
    }
}

#[test]
fn plain_http_beyond_loopback_is_refused() {
    let env = Env::sqlite();
    env.init();
    let err = env.fails(2, &["serve", "--listen", "0.0.0.0:0"]);
    assert!(err.contains("refusing plain HTTP"), "{err}");
}

/// A self-signed certificate for 127.0.0.1 and its key, made with the
/// openssl CLI (the caller checks it is there).
pub(crate) fn self_signed(env: &Env) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (env.path("cert.pem"), env.path("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    (cert, key)
}

#[test]
fn https_with_a_certificate_and_secure_cookies() {
    if std::process::Command::new("openssl").arg("version").output().is_err() {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), b"SKIP tls: openssl CLI not installed\n");
        return;
    }
    let env = Env::sqlite();
    env.init();
    let ida = add_user(&env, "ida", "id_officer");
    let (cert, key) = self_signed(&env);

    // A key that is not a key is one clear line, exit 2.
    let err = env.fails(2, &["serve", "--tls-cert", cert.to_str().unwrap(), "--tls-key", cert.to_str().unwrap()]);
    assert!(err.contains("key") && err.lines().count() == 1, "{err}");

    let server = Server::start_with(&env, &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    let base = server.base.clone();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
        let r = client.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
        let body = serde_json::json!({ "name": "ida", "password": PASSWORD, "code": code(&ida) });
        let r = client.post(format!("{base}/v1/login")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["set-cookie"].to_str().unwrap().contains("; Secure"));
        // A client that does not trust the certificate gets nowhere.
        assert!(reqwest::get(format!("{base}/healthz")).await.is_err());
    });
    server.stop();
}

#[test]
fn two_servers_share_one_postgresql_store_and_one_log() {
    let Some(env) = Env::postgres() else { return };
    env.init();
    let person = env.add("MS1", "Shared");
    let secrets = [add_user(&env, "ida", "id_officer"), add_user(&env, "ian", "id_officer")];
    let servers = [Server::start(&env), Server::start(&env)];
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Within the default burst of 30 reads per user.
    let reads_per_server = 25;
    rt.block_on(async {
        let mut tasks = Vec::new();
        for (server, (name, secret)) in servers.iter().zip(["ida", "ian"].into_iter().zip(&secrets)) {
            let base = server.base.clone();
            let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
            let body = serde_json::json!({ "name": name, "password": PASSWORD, "code": code(secret) });
            let r = client.post(format!("{base}/v1/login")).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 200);
            for _ in 0..reads_per_server {
                let (client, url) = (client.clone(), format!("{base}/v1/people/{person}?compartments=identity"));
                tasks.push(tokio::spawn(async move {
                    client.get(url).header("X-Lanyard-Purpose", "shared store").send().await.unwrap().status()
                }));
            }
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200);
        }
    });
    for s in servers {
        s.stop();
    }
    // One log, appended to by both, whole and consistent.
    let out = env.ok(&["audit", "verify"]);
    assert!(out.contains("0 findings"), "{out}");
    for name in ["ida", "ian"] {
        let v = env.json(&["breach", "scope", "--actor", &format!("user:{name}")]);
        assert_eq!(v["events_matched"], reads_per_server, "{name}: {v}");
    }
}

/// Enrolment shows the otpauth URI as a QR code on the terminal; read back
/// from the characters, it is the URI.
#[test]
fn totp_enrolment_shows_a_scannable_qr_code() {
    let env = Env::sqlite();
    env.init();
    let text = user_add(&env, false, "qr-user", "id_officer");
    let uri = text.lines().find(|l| l.trim().starts_with("otpauth://")).unwrap().trim().to_owned();
    let art: Vec<Vec<char>> = text
        .lines()
        .filter(|l| l.contains('█') || l.contains('▀') || l.contains('▄'))
        .map(|l| l.chars().collect())
        .collect();
    assert!(!art.is_empty(), "no QR code in:\n{text}");
    // Each character is two modules, top and bottom; try both polarities.
    let (w, h) = (art.iter().map(Vec::len).max().unwrap(), art.len() * 2);
    let decode = |block_is_dark: bool| {
        let scale = 4u32;
        let img = image::GrayImage::from_fn(((w + 8) as u32) * scale, ((h + 8) as u32) * scale, |x, y| {
            let (cx, cy) = ((x / scale) as usize, (y / scale) as usize);
            let block = cx >= 4
                && cy >= 4
                && art.get((cy - 4) / 2).and_then(|row| row.get(cx - 4)).is_some_and(|c| {
                    if (cy - 4) % 2 == 0 { matches!(c, '█' | '▀') } else { matches!(c, '█' | '▄') }
                });
            image::Luma([if block == block_is_dark { 0 } else { 255 }])
        });
        let mut prepared = rqrr::PreparedImage::prepare(img);
        prepared.detect_grids().first().and_then(|g| g.decode().ok()).map(|(_, t)| t)
    };
    let read = decode(true).or_else(|| decode(false));
    assert_eq!(read.as_deref(), Some(uri.as_str()));
}

/// Issue 15, item 6: `lanyard serve` checks the store before it answers
/// anyone. A row changed by SQL refuses the start (exit 2, naming it);
/// `--allow-degraded` starts anyway, records that it did, and `/readyz`
/// answers 503 "degraded".
#[test]
fn serve_refuses_a_store_that_fails_its_start_check_unless_told_otherwise() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for env in Env::all() {
        let b = env.backend;
        env.init();
        add_user(&env, "freya", "disclosure_officer");
        let server = Server::start(&env);
        let ready = rt.block_on(async { reqwest::get(format!("{}/readyz", server.base)).await.unwrap().status() });
        assert_eq!(ready, 200, "[{b}] a sound store starts and is ready");
        server.stop();

        crate::audit::tamper(&env, &["UPDATE users SET role = 'admin' WHERE name = 'freya'".to_owned()]);
        let err = env.fails(2, &["serve", "--listen", "127.0.0.1:0"]);
        assert!(err.contains("refusing to start"), "[{b}] {err}");
        assert!(err.contains("users row") && err.contains("does not match its tag"), "[{b}] {err}");

        let server = Server::start_with(&env, &["--allow-degraded"]);
        let base = server.base.clone();
        rt.block_on(async {
            let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
            assert_eq!(r.status(), 503, "[{b}]");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["type"], "https://lanyard.invalid/problems/degraded", "[{b}] {body}");
        });
        server.stop();
        assert!(env.events().iter().any(|e| e.action == "server.degraded_start"), "[{b}]");
    }
}

/// Issue 15, item 3: a purpose typed as "renewal for Callum Ahmed
/// callum.ahmed@…" came back in clear to `admin` (who never reads personal
/// data) from `GET /v1/audit/events/N`, and `person erase` could not remove
/// it. Now the log holds a code in clear and the text sealed: admin sees
/// neither the name nor the address, only the auditor opens the note (and
/// that opening is audited), and erasing the person shreds it.
#[test]
fn a_free_text_purpose_is_sealed_opened_only_by_the_auditor_and_shredded_with_the_person() {
    const NOTE: &str = "renewal for Callum Ahmed callum.ahmed@example.police.uk";
    let rt = tokio::runtime::Runtime::new().unwrap();
    for env in Env::all() {
        let b = env.backend;
        env.init();
        let person = env.add("PN1", "Ahmed");
        env.ok(&["person", "show", &person, "--compartments", "identity", "--purpose", NOTE]);
        env.ok(&["person", "show", &person, "--compartments", "identity", "--purpose", "lost card: desk report"]);
        let events = env.events();
        let (index, read) = events.iter().enumerate().find(|(_, e)| e.action == "person.read").unwrap();
        assert_eq!(read.purpose.as_deref(), Some("other"), "{b}");
        assert!(read.note.is_some(), "{b}");
        let coded = events.iter().filter(|e| e.action == "person.read").nth(1).unwrap();
        assert_eq!(coded.purpose.as_deref(), Some("lost_card"), "{b}: a code and a note");
        let stored = env.ok(&["audit", "event", &index.to_string()]);
        for secret in ["Callum", "callum.ahmed", "desk report"] {
            assert!(!stored.contains(secret), "{b}: the log holds {secret} in clear: {stored}");
        }
        let admin = add_user(&env, "adam", "admin");
        let auditor = add_user(&env, "aud", "auditor");
        let server = Server::start(&env);
        let base = server.base.clone();
        rt.block_on(async {
            let login = |name: &'static str, secret: String| {
                let base = base.clone();
                async move {
                    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
                    let body = serde_json::json!({ "name": name, "password": PASSWORD, "code": code(&secret) });
                    let r = client.post(format!("{base}/v1/login")).json(&body).send().await.unwrap();
                    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
                    client
                }
            };
            let admin = login("adam", admin).await;
            let event = admin.get(format!("{base}/v1/audit/events/{index}")).send().await.unwrap();
            assert_eq!(event.status(), 200);
            let text = event.text().await.unwrap();
            assert!(!text.contains("Callum") && !text.contains("callum.ahmed"), "{b}: admin reads {text}");
            assert!(text.contains("\"purpose\":\"other\""), "{b}: {text}");
            let note = admin.get(format!("{base}/v1/audit/events/{index}/note")).send().await.unwrap();
            assert_eq!(note.status(), 403, "{b}: admin never opens a note");

            let auditor = login("aud", auditor).await;
            let note = auditor.get(format!("{base}/v1/audit/events/{index}/note")).send().await.unwrap();
            assert_eq!(note.status(), 200, "{b}");
            let v: serde_json::Value = note.json().await.unwrap();
            assert_eq!(v["note"], NOTE, "{b}");
            assert_eq!(v["code"], "other");
        });
        server.stop();
        let opened = env.events().into_iter().filter(|e| e.action == "audit.note.read").collect::<Vec<_>>();
        assert_eq!(opened.len(), 1, "{b}: the opening is in the log");
        assert_eq!(opened[0].people.len(), 1, "{b}: naming the person the note may be about");

        // Erased: the note's key goes with the person, and the note no
        // longer opens, though its ciphertext stays in the log.
        let erased = env.ok(&["person", "erase", &person, "--yes"]);
        assert!(!erased.contains("Callum"), "{erased}");
        let err = env.fails(2, &["audit", "note", &index.to_string()]);
        assert!(err.contains("erased with a person it names"), "{b}: {err}");
        let erase = env.events().into_iter().find(|e| e.action == "person.erase").unwrap();
        assert_eq!(erase.detail.unwrap()["notes_shredded"], 2, "{b}");
        assert!(env.ok(&["audit", "verify"]).contains("0 findings"), "{b}");
    }
}

/// Issue 17: a second `lanyard init` or `demo` in a running server's data
/// directory replaced its database file; the server kept answering from
/// the old one while `/readyz` said ready. Now `/readyz` says so.
#[test]
fn a_database_replaced_under_the_server_makes_it_not_ready_and_says_why() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = Env::sqlite();
    env.init();
    let server = Server::start(&env);
    let base = server.base.clone();
    let ready = rt.block_on(async { reqwest::get(format!("{base}/readyz")).await.unwrap().status() });
    assert_eq!(ready, 200);
    // Another file put in its place, as a new init or demo does.
    let db = env.data.join("lanyard.db");
    let other = env.data.join("lanyard.db.new");
    std::fs::copy(&db, &other).unwrap();
    std::fs::rename(&other, &db).unwrap();
    rt.block_on(async {
        let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
        assert_eq!(r.status(), 503);
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["detail"].as_str().unwrap().contains("replaced under this server"), "{body}");
    });
    server.stop();
}

/// Sends `signal` to the process `lanyard ARGS` the moment it prints where
/// it listens, and returns how it ended and its standard error. The line
/// is the promise that the process is up; a signal after it must stop the
/// process cleanly, not kill it half-way through starting.
fn signalled_on_listening(env: &Env, args: &[&str], signal: &str) -> (std::process::ExitStatus, String) {
    let mut child = env.std_cmd().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("listening on ") {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let out = child.wait_with_output().unwrap();
            panic!("{args:?} ended before it listened: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args([signal, &pid]).status().unwrap().success());
    // Whatever else it prints is drained, so a full pipe cannot hold it up.
    std::io::copy(&mut stdout, &mut std::io::sink()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_signal_as_soon_as_it_listens_stops_a_server_cleanly() {
    let env = Env::sqlite();
    env.init();
    // SIGTERM is what a service manager sends; SIGINT is Ctrl-C.
    for signal in ["-INT", "-TERM", "-INT", "-TERM"] {
        let (status, err) = signalled_on_listening(&env, &["serve", "--listen", "127.0.0.1:0"], signal);
        assert!(status.success(), "serve, kill {signal}: {status:?}\n{err}");
        assert!(err.contains("stopped"), "serve, kill {signal}: {err}");
    }
    let demo = Env::sqlite();
    let (status, err) = signalled_on_listening(&demo, &["demo", "--people", "20", "--listen", "127.0.0.1:0"], "-TERM");
    assert!(status.success(), "demo, kill -TERM: {status:?}\n{err}");
    let wdir = env.path("witness");
    let wdir = wdir.to_str().unwrap();
    env.ok(&["witness", "init", "--data-dir", wdir, "--name", "audit.force.example/w1"]);
    for signal in ["-INT", "-TERM"] {
        let (status, err) =
            signalled_on_listening(&env, &["witness", "serve", "--data-dir", wdir, "--listen", "127.0.0.1:0"], signal);
        assert!(status.success(), "witness serve, kill {signal}: {status:?}\n{err}");
    }
}
