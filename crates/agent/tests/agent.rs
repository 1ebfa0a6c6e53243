//! The `lanyard-agent` binary as a supplier runs it, with no server and no
//! register: an identity is made, the force's batch key is pinned, a batch
//! file that came out of band is opened into the spool whole, and a
//! tampered, foreign, unsigned, misdirected, expired or replayed one is
//! refused with nothing spooled.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::{Command, Output};

use ed25519_dalek::Signer as _;
use lanyard_package::{CardArtwork, Manifest, Signer, Verifier, pack, parse_recipient, seal};

/// The force's batch key, as the force's key provider would hold it.
struct Force(ed25519_dalek::SigningKey);

impl Signer for Force {
    fn name(&self) -> &str {
        "police.example/print-batches"
    }
    fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
        Ok(self.0.sign(message).to_bytes())
    }
}

fn force() -> Force {
    Force(ed25519_dalek::SigningKey::from_bytes(&[5; 32]))
}

fn force_key() -> String {
    let f = force();
    Verifier::new(f.name(), &f.public_key()).unwrap().to_key_string()
}

/// A state folder with the force's key pinned for acme.
fn trusted_state(dir: &Path) -> String {
    let state = dir.join("state");
    let out = agent(&["trust", "--supplier", "acme", "--key", &force_key(), "--state", state.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    state.to_str().unwrap().to_owned()
}

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
    batch_with(recipient, "B7K3M9Q2X4A", "acme", "2999-12-06T00:00:00Z", Some(&force()))
}

fn batch_with(recipient: &str, id: &str, supplier: &str, expires_at: &str, signer: Option<&dyn Signer>) -> Vec<u8> {
    let header = Manifest {
        format: String::new(),
        batch: id.into(),
        supplier: supplier.into(),
        created_at: "2026-12-03T00:00:00Z".into(),
        expires_at: expires_at.into(),
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
    let (_, plain) = pack(&header, &cards, signer).unwrap();
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
    let state = trusted_state(dir.path());
    let sealed = batch(&recipient);
    let file = dir.path().join("b.age");

    // Tampered: age's authentication refuses it, and nothing is spooled.
    let mut bad = sealed.clone();
    let last = bad.len() - 20;
    bad[last] ^= 1;
    std::fs::write(&file, &bad).unwrap();
    let out =
        agent(&["open", file.to_str().unwrap(), "--identity", &identity, "--spool", spool_arg, "--state", &state]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("age authentication failed"), "{}", text(&out));
    assert!(!spool.exists() || std::fs::read_dir(&spool).unwrap().next().is_none());

    // Sealed to another supplier.
    let (other, _) = keygen(dir.path(), "other.txt");
    std::fs::write(&file, &sealed).unwrap();
    let out = agent(&["open", file.to_str().unwrap(), "--identity", &other, "--spool", spool_arg, "--state", &state]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("not sealed to this identity"), "{}", text(&out));

    let out = agent(&[
        "--json",
        "open",
        file.to_str().unwrap(),
        "--identity",
        &identity,
        "--spool",
        spool_arg,
        "--state",
        &state,
    ]);
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

    let out =
        agent(&["open", file.to_str().unwrap(), "--identity", &identity, "--spool", spool_arg, "--state", &state]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("already in the spool"), "{}", text(&out));

    // Printed, confirmed and wiped: the same file opened again is a replay.
    std::fs::remove_dir_all(spool.join("B7K3M9Q2X4A")).unwrap();
    let out =
        agent(&["open", file.to_str().unwrap(), "--identity", &identity, "--spool", spool_arg, "--state", &state]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("already opened here"), "{}", text(&out));
    assert!(std::fs::read_dir(&spool).unwrap().next().is_none(), "nothing spooled");
}

#[test]
fn only_a_current_batch_the_force_signed_for_this_supplier_is_spooled() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, recipient) = keygen(dir.path(), "identity.txt");
    let spool = dir.path().join("spool");
    let spool_arg = spool.to_str().unwrap();
    let file = dir.path().join("b.age");
    let open = |bytes: &[u8], state: &str| {
        std::fs::write(&file, bytes).unwrap();
        let out =
            agent(&["open", file.to_str().unwrap(), "--identity", &identity, "--spool", spool_arg, "--state", state]);
        assert!(!spool.exists() || std::fs::read_dir(&spool).unwrap().next().is_none(), "nothing spooled");
        out
    };
    // Nothing pinned: nothing opens, and the message says what to do.
    let bare = dir.path().join("bare").to_str().unwrap().to_owned();
    let out = open(&batch(&recipient), &bare);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("lanyard-agent trust"), "{}", text(&out));

    let state = trusted_state(dir.path());
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("unsigned", batch_with(&recipient, "B1", "acme", "2999-01-01T00:00:00Z", None), "not signed by the force"),
        (
            "signed by someone else",
            batch_with(
                &recipient,
                "B2",
                "acme",
                "2999-01-01T00:00:00Z",
                Some(&Force(ed25519_dalek::SigningKey::from_bytes(&[6; 32]))),
            ),
            "does not trust",
        ),
        (
            "for another supplier",
            batch_with(&recipient, "B3", "rival", "2999-01-01T00:00:00Z", Some(&force())),
            "is for supplier rival",
        ),
        ("expired", batch_with(&recipient, "B4", "acme", "2020-01-01T00:00:00Z", Some(&force())), "expired at"),
    ];
    for (what, bytes, says) in cases {
        let out = open(&bytes, &state);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", text(&out));
        assert!(text(&out).contains(says), "{what}: {}", text(&out));
    }

    // One agent acts for one supplier.
    let out = agent(&["trust", "--supplier", "rival", "--key", &force_key(), "--state", &state]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("already acts for supplier acme"), "{}", text(&out));
    let out = agent(&["trust", "--supplier", "acme", "--key", "not+a+key", "--state", &state]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("not a verifier key"), "{}", text(&out));
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
        "--state",
        dir.path().join("state").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("must be https://"), "{}", text(&out));
}
