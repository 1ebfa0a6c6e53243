//! The PKCS#11 provider against a real SoftHSM2 token in a private token
//! directory. Skips, saying why, when SoftHSM2 is not installed.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

use lanyard_crypto::{CryptoErrorKind, Key32, KeyProvider, Pkcs11Config, Pkcs11Provider, WrapContext};
use zeroize::Zeroizing;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

// One test function: a PKCS#11 module may be initialised once per process at
// a time, so the steps run in sequence.
#[test]
fn softhsm_root_key_wraps_and_never_leaves_the_token() {
    if !Path::new(MODULE).exists() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("SKIP: SoftHSM2 not installed ({MODULE} missing); apt-get install softhsm2\n").as_bytes(),
        );
        return;
    }
    // SoftHSM2 reads SOFTHSM2_CONF when the module is initialised. Rather than
    // change this process's environment, run this test again in a child that
    // has a private token directory.
    let Ok(conf) = std::env::var("LANYARD_SOFTHSM_CHILD_CONF") else {
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(&conf, format!("directories.tokendir = {}\nobjectstore.backend = file\n", tokens.display()))
            .unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "softhsm_root_key_wraps_and_never_leaves_the_token", "--nocapture", "--test-threads=1"])
            .env("SOFTHSM2_CONF", &conf)
            .env("LANYARD_SOFTHSM_CHILD_CONF", &conf)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("1 passed"), "{text}{}", String::from_utf8_lossy(&out.stderr));
        return;
    };
    let status = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "lanyard-test", "--pin", "1234", "--so-pin", "5678"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));

    let config = Pkcs11Config {
        module: MODULE.into(),
        token_label: Some("lanyard-test".into()),
        slot: None,
        pin: Zeroizing::new("1234".into()),
        key_label: "lanyard-root".into(),
    };
    let ctx = WrapContext { purpose: "compartment", name: "identity", version: 1 };
    let dek = Key32::random();
    let wrapped = {
        let p = Pkcs11Provider::create(&config).unwrap();
        assert_eq!(p.kind(), "pkcs11");
        let w = p.wrap(&dek, &ctx).unwrap();
        assert_eq!(p.unwrap(&w, &ctx).unwrap(), dek);
        // Bound to its context.
        let other = WrapContext { name: "pay", ..ctx };
        assert!(matches!(p.unwrap(&w, &other).unwrap_err().kind(), CryptoErrorKind::Authentication));
        let mut flipped = w.clone();
        flipped[20] ^= 1;
        assert!(p.unwrap(&flipped, &ctx).is_err());
        w
    };
    // A second create must not replace the key.
    assert!(Pkcs11Provider::create(&config).is_err());
    // A new session finds the same key.
    {
        let p = Pkcs11Provider::open(&config).unwrap();
        assert_eq!(p.unwrap(&wrapped, &ctx).unwrap(), dek);
    }
    // Ed25519 signing keys made and used inside the token.
    let public = {
        let p = Pkcs11Provider::open(&config).unwrap();
        let native = p.native_signing().expect("PKCS#11 signs natively");
        assert!(native.find_signing_key("audit-log").unwrap().is_none());
        let key = native.create_signing_key("audit-log").unwrap();
        assert!(native.create_signing_key("audit-log").is_err(), "a second key of one label is refused");
        let signature = key.sign(b"a checkpoint body\n").unwrap();
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&key.public_key()).unwrap();
        let sig = ed25519_dalek::Signature::from_bytes(&signature);
        assert!(vk.verify_strict(b"a checkpoint body\n", &sig).is_ok(), "a standard verifier accepts it");
        assert!(vk.verify_strict(b"another body\n", &sig).is_err());
        key.public_key()
    };
    {
        let p = Pkcs11Provider::open(&config).unwrap();
        let key = p.native_signing().unwrap().find_signing_key("audit-log").unwrap().expect("found again");
        assert_eq!(key.public_key(), public);
    }
    // Wrong PIN is refused.
    let bad = Pkcs11Config { pin: Zeroizing::new("0000".into()), ..config.clone() };
    assert!(Pkcs11Provider::open(&bad).is_err());
    // The key is non-extractable and sensitive: pkcs11-tool cannot read its value.
    if Path::new("/usr/bin/pkcs11-tool").exists() {
        let out = Command::new("pkcs11-tool")
            .args([
                "--module",
                MODULE,
                "--token-label",
                "lanyard-test",
                "--login",
                "--pin",
                "1234",
                "--read-object",
                "--type",
                "secrkey",
                "--label",
                "lanyard-root",
            ])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(!out.status.success(), "the root key value must not be readable");
        // pkcs11-tool cannot read private keys at all, so ask the token what
        // it allows instead.
        let out = Command::new("pkcs11-tool")
            .args(["--module", MODULE, "--token-label", "lanyard-test", "--login", "--pin", "1234"])
            .args(["--list-objects", "--type", "privkey", "--label", "lanyard-root/audit-log"])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(listing.contains("EC_EDWARDS"), "{listing}");
        assert!(listing.contains("sensitive") && listing.contains("never extractable"), "{listing}");
    }
}
