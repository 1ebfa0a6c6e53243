//! The `lanyard-agent` binary as a supplier runs it, with no server and no
//! register: an identity is made, a batch file that came out of band is
//! opened into the spool whole, and a tampered or foreign one is refused
//! with nothing spooled.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::{Command, Output};

use lanyard_package::{CardArtwork, Manifest, pack, parse_recipient, seal};

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lanyard-agent")).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn keygen(dir: &Path, name: &str) -> (String, String) {
    let path = dir.join(name);
    let out = agent(&["keygen", "--out", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    (path.to_str().unwrap().to_owned(), String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

fn batch(recipient: &str) -> Vec<u8> {
    let header = Manifest {
        format: String::new(),
        batch: "B7K3M9Q2X4A".into(),
        supplier: "acme".into(),
        created_at: "2026-12-03T00:00:00Z".into(),
        expires_at: "2026-12-06T00:00:00Z".into(),
        cards: vec![],
    };
    let cards: Vec<CardArtwork> = ["C7K3M9Q2X4", "C7K3M9Q2X5"]
        .iter()
        .map(|c| CardArtwork {
            card: (*c).into(),
            number: "00000001".into(),
            card_type: "warrant_card".into(),
            files: vec![
                ("front_png", format!("{c}-front.png"), b"front".to_vec()),
                ("pdf", format!("{c}.pdf"), b"pdf".to_vec()),
            ],
        })
        .collect();
    let (_, plain) = pack(&header, &cards).unwrap();
    seal(&plain, &parse_recipient(recipient).unwrap()).unwrap()
}

#[test]
fn keygen_writes_a_private_identity_and_never_overwrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, recipient) = keygen(dir.path(), "identity.txt");
    assert!(recipient.starts_with("age1"), "{recipient}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = agent(&["keygen", "--out", &path]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again).contains("must not exist"), "{}", text(&again));
}

#[test]
fn a_batch_is_spooled_whole_once_and_a_tampered_or_foreign_one_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, recipient) = keygen(dir.path(), "identity.txt");
    let spool = dir.path().join("spool");
    let spool_arg = spool.to_str().unwrap();
    let sealed = batch(&recipient);
    let file = dir.path().join("b.age");

    // Tampered: age's authentication refuses it, and nothing is spooled.
    let mut bad = sealed.clone();
    let last = bad.len() - 20;
    bad[last] ^= 1;
    std::fs::write(&file, &bad).unwrap();
    let out = agent(&["open", file.to_str().unwrap(), "--identity", &identity, "--spool", spool_arg]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("age authentication failed"), "{}", text(&out));
    assert!(!spool.exists() || std::fs::read_dir(&spool).unwrap().next().is_none());

    // Sealed to another supplier.
    let (other, _) = keygen(dir.path(), "other.txt");
    std::fs::write(&file, &sealed).unwrap();
    let out = agent(&["open", file.to_str().unwrap(), "--identity", &other, "--spool", spool_arg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("not sealed to this identity"), "{}", text(&out));

    let out = agent(&["--json", "open", file.to_str().unwrap(), "--identity", &identity, "--spool", spool_arg]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["batch"], "B7K3M9Q2X4A");
    assert_eq!(v["cards"], 2);
    let mut names: Vec<String> = std::fs::read_dir(spool.join("B7K3M9Q2X4A"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["C7K3M9Q2X4-front.png", "C7K3M9Q2X4.pdf", "C7K3M9Q2X5-front.png", "C7K3M9Q2X5.pdf", "manifest.json"]
    );

    let out = agent(&["open", file.to_str().unwrap(), "--identity", &identity, "--spool", spool_arg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("already in the spool"), "{}", text(&out));
}

#[test]
fn a_server_must_be_https_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "secret\n").unwrap();
    let (identity, _) = keygen(dir.path(), "identity.txt");
    let out = agent(&[
        "pull",
        "--server",
        "http://print.example",
        "--token-file",
        token.to_str().unwrap(),
        "--identity",
        &identity,
        "--spool",
        dir.path().join("spool").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("must be https://"), "{}", text(&out));
}
