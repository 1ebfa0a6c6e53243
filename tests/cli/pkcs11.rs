//! The PKCS#11 key provider through the CLI, against SoftHSM2 with a private
//! token directory. Skips with a reason when SoftHSM2 is absent.

use std::path::Path;
use std::process::Command;

use crate::util::Env;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

#[test]
fn register_on_a_softhsm_token() {
    if !Path::new(MODULE).exists() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("SKIP pkcs11: SoftHSM2 not installed ({MODULE} missing)\n").as_bytes(),
        );
        return;
    }
    // The test lists the token's objects with OpenSC's tool, from outside.
    if Command::new("pkcs11-tool").arg("--version").output().is_err() {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), b"SKIP pkcs11: pkcs11-tool (opensc) not installed\n");
        return;
    }
    for env in Env::all() {
        let tokens = env.path("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = env.path("softhsm2.conf");
        std::fs::write(&conf, format!("directories.tokendir = {}\nobjectstore.backend = file\n", tokens.display()))
            .unwrap();
        let init = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", "lanyard", "--pin", "4321", "--so-pin", "8765"])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));

        let run = |pin: &str, args: &[&str]| {
            let mut c = env.cmd();
            c.env_remove("LANYARD_PASSPHRASE").env("SOFTHSM2_CONF", &conf).env("LANYARD_PKCS11_PIN", pin);
            c.args(args).output().unwrap()
        };
        let out =
            run("4321", &["init", "--key-provider", "pkcs11", "--pkcs11-module", MODULE, "--pkcs11-token", "lanyard"]);
        assert!(out.status.success(), "[{}] {}", env.backend, String::from_utf8_lossy(&out.stderr));
        assert!(!env.data.join("keyring.json").exists(), "no keyring file with an HSM");
        let out = run(
            "4321",
            &[
                "--json",
                "person",
                "add",
                "--service-number",
                "H1",
                "--forenames",
                "Hal",
                "--surname",
                "Secure",
                "--rank",
                "Inspector",
            ],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let id: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let out = run(
            "4321",
            &["person", "show", id["id"].as_str().unwrap(), "--compartments", "identity", "--purpose", "hsm check"],
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Secure"));
        let out = run("4321", &["--json", "keys", "status"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["provider"], "pkcs11");
        let out = run("4321", &["keys", "rotate", "identity"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // The audit log signs in the token: the checkpoint verifies against
        // the verifier key, and the key was made there, not wrapped.
        let out = run("4321", &["--json", "audit", "prove", "inclusion", "--index", "0"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(env.path("proof.json"), &out.stdout).unwrap();
        let key = run("4321", &["audit", "verifier-key"]);
        let key = String::from_utf8(key.stdout).unwrap();
        let out = run(
            "4321",
            &[
                "audit",
                "verify-proof",
                "--verifier-key",
                key.trim(),
                "--proof",
                env.path("proof.json").to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = run("4321", &["--json", "audit", "verify"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        // The card issuer key is made and used in the token too: a card
        // approved and its credential signed there verifies with the bundle.
        let card = run("4321", &["--json", "card", "request", "--person", "H1", "--type", "warrant_card"]);
        assert!(card.status.success(), "{}", String::from_utf8_lossy(&card.stderr));
        let card: serde_json::Value = serde_json::from_slice(&card.stdout).unwrap();
        let card = card["id"].as_str().unwrap();
        // A second person approves, signed in to a server on the token.
        let mut add = env.cmd();
        add.env_remove("LANYARD_PASSPHRASE").env("SOFTHSM2_CONF", &conf).env("LANYARD_PKCS11_PIN", "4321");
        let added = add
            .args(["--json", "user", "add", "abe", "--role", "approver", "--password-stdin"])
            .write_stdin(format!("{}\n", crate::serve::PASSWORD))
            .output()
            .unwrap();
        assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
        let secret: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
        let mut serve = env.std_cmd();
        serve.env_remove("LANYARD_PASSPHRASE").env("SOFTHSM2_CONF", &conf).env("LANYARD_PKCS11_PIN", "4321");
        let server = crate::serve::Server::spawn(serve, &[]);
        let abe = crate::signin::login(&env, &server.base, "abe", secret["totp_secret"].as_str().unwrap());
        assert_eq!(crate::signin::json(&env, &abe, &["card", "approve", card])["state"], "approved");
        server.stop();
        let qr = run("4321", &["card", "qr", card, "--purpose", "hsm check"]);
        let qr = String::from_utf8(qr.stdout).unwrap();
        let bundle = env.path("bundle.json");
        assert!(run("4321", &["keys", "export-verifier", "--out", bundle.to_str().unwrap()]).status.success());
        // The signature is what this test is about: the status is accepted
        // unchecked, and said to be.
        let out = run(
            "4321",
            &["verify", "--accept-unchecked-status", "--bundle", bundle.to_str().unwrap(), "--qr", qr.trim()],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && stdout.contains("status NOT checked"), "{stdout}");

        let listing = Command::new("pkcs11-tool")
            .args(["--module", MODULE, "--token-label", "lanyard", "--login", "--pin", "4321", "--list-objects"])
            .args(["--type", "privkey"])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&listing.stdout);
        assert!(listing.contains("lanyard-root/audit-log") && listing.contains("never extractable"), "{listing}");
        assert!(listing.contains("lanyard-root/issuer-v1"), "{listing}");
        let key_event = (0..20)
            .map(|i| run("4321", &["--json", "audit", "event", &i.to_string()]))
            .take_while(|out| out.status.success())
            .map(|out| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["event"].to_string())
            .find(|e| e.contains("key.create"))
            .expect("a key.create event");
        assert!(key_event.contains(r#"\"held\":\"hsm\""#), "{key_event}");

        // A log key gone from the token is refused, never silently replaced.
        let deleted = Command::new("pkcs11-tool")
            .args(["--module", MODULE, "--token-label", "lanyard", "--login", "--pin", "4321"])
            .args(["--delete-object", "--type", "privkey", "--label", "lanyard-root/audit-log"])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(deleted.status.success(), "{}", String::from_utf8_lossy(&deleted.stderr));
        let out = run("4321", &["audit", "checkpoint"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("missing from the token"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let out = run("0000", &["person", "list"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("PKCS#11"), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
