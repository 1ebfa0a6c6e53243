//! Test harness: a fresh data directory (and PostgreSQL schema) per test, and
//! a clean-environment command for each invocation.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub const PASSPHRASE: &str = "correct horse battery staple";

pub struct Env {
    pub backend: &'static str,
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub database_url: Option<String>,
}

impl Env {
    pub fn sqlite() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        Env { backend: "sqlite", dir, data, database_url: None }
    }

    /// A PostgreSQL environment in a schema of its own, or `None` (with a
    /// printed reason) when `LANYARD_TEST_PG` is not set.
    pub fn postgres() -> Option<Env> {
        let Ok(url) = std::env::var("LANYARD_TEST_PG") else {
            let _ = std::io::Write::write_all(&mut std::io::stderr(), b"SKIP postgres: LANYARD_TEST_PG is not set\n");
            return None;
        };
        let schema = format!("cli_{}", uuid_simple());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = lanyard_store::Store::open_postgres(&url, Some(&schema)).await.unwrap();
            store.close().await;
        });
        let sep = if url.contains('?') { '&' } else { '?' };
        let database_url = format!("{url}{sep}options=-c%20search_path%3D{schema}");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        Some(Env { backend: "postgres", dir, data, database_url: Some(database_url) })
    }

    /// SQLite, then PostgreSQL when available.
    pub fn all() -> Vec<Env> {
        let mut v = vec![Env::sqlite()];
        v.extend(Env::postgres());
        v
    }

    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The same, as a plain command, for a test that drives the process.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin!("lanyard"));
        for (k, _) in std::env::vars() {
            if k.starts_with("LANYARD_") || k == "RUST_LOG" {
                c.env_remove(k);
            }
        }
        c.env("LANYARD_DATA_DIR", &self.data).env("LANYARD_PASSPHRASE", PASSPHRASE).env("USER", "tester");
        if let Some(url) = &self.database_url {
            c.env("LANYARD_DATABASE_URL", url);
        }
        // Tests drive the register directly, as the host's break-glass
        // mode; signed-in commands are `signed_in`'s.
        c.arg("--local");
        c.env("LANYARD_CONFIG_DIR", self.dir.path().join("no-session"));
        c.current_dir(self.dir.path());
        c
    }

    /// A command as a signed-in operator on another machine: its own config
    /// directory (where `lanyard login` keeps the session), and neither the
    /// passphrase nor the register's data directory or database.
    pub fn signed_in(&self, config: &Path) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin!("lanyard"));
        for (k, _) in std::env::vars() {
            if k.starts_with("LANYARD_") || k == "RUST_LOG" {
                c.env_remove(k);
            }
        }
        c.env("LANYARD_CONFIG_DIR", config).env("LANYARD_DATA_DIR", config.join("no-register")).env("USER", "tester");
        c.current_dir(self.dir.path());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "[{}] lanyard {args:?} failed ({:?}):\n{}{}",
            self.backend,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and asserts the exit code; returns stderr.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "[{}] lanyard {args:?}:\n{}{}",
            self.backend,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        serde_json::from_str(&self.ok(&full)).unwrap()
    }

    pub fn init(&self) {
        self.ok(&["init"]);
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Adds a person and returns their id.
    pub fn add(&self, sn: &str, surname: &str) -> String {
        let v = self.json(&[
            "person",
            "add",
            "--service-number",
            sn,
            "--forenames",
            "Robin",
            "--surname",
            surname,
            "--rank",
            "Police Sergeant",
            "--unit",
            "Roads Policing",
            "--email",
            &format!("{sn}@force.example"),
            "--vetting-level",
            "MV",
            "--salary",
            "48231",
        ]);
        v["id"].as_str().unwrap().to_owned()
    }

    /// Number of audit events and people, to check that a refused command
    /// changed nothing.
    pub fn state(&self) -> (i64, i64) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = match &self.database_url {
                Some(url) => lanyard_store::Store::open_url(url, false).await.unwrap(),
                None => lanyard_store::Store::open_sqlite(&self.data.join("lanyard.db"), false).await.unwrap(),
            };
            let audit = store.audit_len().await.unwrap();
            let people: i64 = store.count_by_status().await.unwrap().iter().map(|(_, n)| n).sum();
            store.close().await;
            (audit, people)
        })
    }
}

impl Env {
    /// Every audit event, read from the store.
    pub fn events(&self) -> Vec<lanyard_audit::Event> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = match &self.database_url {
                Some(url) => lanyard_store::Store::open_url(url, false).await.unwrap(),
                None => lanyard_store::Store::open_sqlite(&self.data.join("lanyard.db"), false).await.unwrap(),
            };
            let rows = store.audit_rows(0, 1_000_000).await.unwrap();
            store.close().await;
            rows.iter().map(|r| lanyard_audit::Event::from_bytes(&r.event).unwrap()).collect()
        })
    }
}

pub fn uuid_simple() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// A small JPEG with an EXIF APP1 segment carrying a fake GPS position.
pub fn jpeg_with_gps(path: &Path) {
    let img = image::RgbImage::from_fn(120, 160, |x, y| image::Rgb([(x * 2) as u8, (y * 2) as u8, 77]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg).encode_image(&img).unwrap();
    let payload = b"Exif\0\0MM\0*GPSLatitude=54.5973N;GPSLongitude=5.9301W";
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    std::fs::write(path, out).unwrap();
}

impl Env {
    /// Approves a card as `approver`, a second person, in process: the
    /// command line approves only signed in (tests/cli/signin.rs drives
    /// that through a server); a test about something after approval
    /// starts here.
    pub fn approve_as(&self, card: &str, approver: &str) {
        let provider: std::sync::Arc<dyn lanyard_crypto::KeyProvider> = std::sync::Arc::new(
            lanyard_crypto::KeyringProvider::open(&self.data.join("keyring.json"), PASSPHRASE.as_bytes()).unwrap(),
        );
        self.approve_with(card, approver, provider);
    }

    /// The same, under a key provider of the test's own (a token).
    pub fn approve_with(&self, card: &str, approver: &str, provider: std::sync::Arc<dyn lanyard_crypto::KeyProvider>) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = match &self.database_url {
                Some(url) => lanyard_store::Store::open_url(url, false).await.unwrap(),
                None => lanyard_store::Store::open_sqlite(&self.data.join("lanyard.db"), false).await.unwrap(),
            };
            let ledger = lanyard_audit::Ledger::new(store.clone());
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
            let register =
                std::sync::Arc::new(lanyard_register::Register::open(ledger.clone(), provider, now).await.unwrap());
            let cards = lanyard_cards::Cards::new(register, ledger, lanyard_cards::IssuerConfig::default());
            let op = lanyard_register::Operator::local(lanyard_audit::Actor::user(approver, "approver"), false);
            cards.transition(&op, card, lanyard_core::CardAction::Approve, None, now).await.unwrap();
            store.close().await;
        });
    }
}
