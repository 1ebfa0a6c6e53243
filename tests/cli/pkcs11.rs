//! The PKCS#11 key provider through the CLI, against SoftHSM2 with a private
//! token directory. Skips with a reason when SoftHSM2 is absent.

use std::path::Path;
use std::process::Command;

use crate::util::Env;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A SoftHSM2 token labelled `lanyard` (user PIN 4321) in a token
/// directory of `env`'s own: that directory and the config naming it.
fn token_in(env: &Env) -> (std::path::PathBuf, std::path::PathBuf) {
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
    (tokens, conf)
}

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
        let (_, conf) = token_in(&env);

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

/// Issue 19 item 3: the key provider going away at run time. The keys a
/// server unwrapped at start are held in memory; once the token stops
/// answering they must not be used. The token is pulled (its directory
/// moved away, as SoftHSM2 sees a removal), put back, and then put back
/// after its PIN was changed: reads are refused with 503
/// `key_provider_unavailable` within the check interval, `/readyz` says the
/// key provider is at fault, each refusal and the outage are in the log,
/// and reads work again once the token answers to the configured PIN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pulled_token_or_a_changed_pin_fails_reads_closed_until_put_right() {
    use std::time::{Duration, Instant};
    if !Path::new(MODULE).exists() {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), b"SKIP pkcs11 liveness: SoftHSM2 not installed\n");
        return;
    }
    if Command::new("pkcs11-tool").arg("--version").output().is_err() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIP pkcs11 liveness: pkcs11-tool (opensc) not installed\n",
        );
        return;
    }
    let env = Env::sqlite();
    let (tokens, conf) = token_in(&env);
    let hsm = |mut c: std::process::Command| {
        c.env_remove("LANYARD_PASSPHRASE").env("SOFTHSM2_CONF", &conf).env("LANYARD_PKCS11_PIN", "4321");
        c
    };
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut c = hsm(env.std_cmd());
        c.args(args).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        c.stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(text) = stdin {
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    run(&["init", "--key-provider", "pkcs11", "--pkcs11-module", MODULE, "--pkcs11-token", "lanyard"], None);
    let added = run(
        &[
            "--json",
            "person",
            "add",
            "--service-number",
            "H7",
            "--forenames",
            "Hal",
            "--surname",
            "Pulled",
            "--rank",
            "Inspector",
        ],
        None,
    );
    let id = serde_json::from_slice::<serde_json::Value>(&added).unwrap()["id"].as_str().unwrap().to_owned();
    let user = run(
        &["--json", "user", "add", "ida", "--role", "id_officer", "--password-stdin"],
        Some(&format!("{}\n", crate::serve::PASSWORD)),
    );
    let secret =
        serde_json::from_slice::<serde_json::Value>(&user).unwrap()["totp_secret"].as_str().unwrap().to_owned();
    let change_pin = |from: &str, to: &str| {
        let out = Command::new("pkcs11-tool")
            .args([
                "--module",
                MODULE,
                "--token-label",
                "lanyard",
                "--login",
                "--pin",
                from,
                "--change-pin",
                "--new-pin",
                to,
            ])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let slot = std::fs::read_dir(&tokens).unwrap().next().unwrap().unwrap().path();
    let pulled = env.path("pulled");
    let pull = || std::fs::rename(&slot, &pulled).unwrap();
    let put_back = || std::fs::rename(&pulled, &slot).unwrap();

    let server = crate::serve::Server::spawn(hsm(env.std_cmd()), &["--key-check-every", "1"]);
    let base = server.base.clone();
    let client = crate::serve::login_http(&base, "ida", &secret).await;
    let read = || async {
        let r = client
            .get(format!("{base}/v1/people/{id}?compartments=identity"))
            .header("X-Lanyard-Purpose", "lookup")
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").is_some();
        (status, retry, r.text().await.unwrap())
    };
    // Polls until a read answers `want`, for at most `within`.
    let until = |want: u16, within: Duration| {
        let read = &read;
        async move {
            let start = Instant::now();
            loop {
                let got = read().await;
                if got.0 == want || start.elapsed() > within {
                    return (got, start.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let (ok, _) = until(200, Duration::ZERO).await;
    assert_eq!(ok.0, 200, "{}", ok.2);
    assert!(ok.2.contains("Pulled"));

    // Pulled: refused within the interval (1 s) and a probe's slack.
    pull();
    let ((status, retry, body), took) = until(503, Duration::from_secs(5)).await;
    assert_eq!(status, 503, "{body}");
    assert!(retry && body.contains("key_provider_unavailable") && !body.contains("Pulled"), "{body}");
    assert!(took < Duration::from_millis(2_500), "refused only after {took:?}");
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().contains("key provider"));
    // Back: reads work again by themselves.
    put_back();
    let ((status, _, body), _) = until(200, Duration::from_secs(5)).await;
    assert_eq!(status, 200, "{body}");

    // A PIN changed under a logged-in session does not log it out...
    change_pin("4321", "9999");
    assert_eq!(read().await.0, 200);
    // ...but a token that has to be logged in to again refuses the old PIN,
    // and goes on refusing after it is back.
    pull();
    let ((status, _, _), _) = until(503, Duration::from_secs(5)).await;
    assert_eq!(status, 503);
    put_back();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, _, body) = read().await;
    assert_eq!(status, 503, "the changed PIN still refuses: {body}");
    change_pin("9999", "4321");
    let ((status, _, body), _) = until(200, Duration::from_secs(5)).await;
    assert_eq!(status, 200, "{body}");
    // The watch runs every second: let it see the last recovery.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    server.stop();

    let events = tokio::task::block_in_place(|| env.events());
    let count = |action: &str| events.iter().filter(|e| e.action == action).count();
    assert!(count("keys.provider_lost") >= 2, "{:?}", events.iter().map(|e| &e.action).collect::<Vec<_>>());
    assert!(count("keys.provider_restored") >= 2);
    let pin_refused = events.iter().any(|e| {
        e.action == "keys.provider_lost" && e.detail.as_ref().is_some_and(|d| d["reason"].to_string().contains("PIN"))
    });
    assert!(pin_refused, "the changed PIN is named as the reason");
    let refused = events
        .iter()
        .filter(|e| {
            e.action == "access.denied"
                && e.actor.id.ends_with("ida")
                && e.detail.as_ref().is_some_and(|d| d["reason"] == "key_provider_unavailable")
        })
        .count();
    assert!(refused >= 2, "each refused read is recorded with who asked");
    // The log holds all of it and verifies (exit 0, or `run` fails).
    run(&["audit", "verify"], None);
}
