//! The command line as a signed-in client (issue 17): `lanyard login`, then
//! an operator's day through the server's gate, with neither the root
//! passphrase nor the database; dual control between two signed-in users;
//! break-glass (`--local`) flagged on every event and never approving;
//! service tokens for scripts; and the client's routes held against the
//! server's route table.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::serve::{PASSWORD, Server, add_user, code};
use crate::util::Env;

/// Signs `name` in from a config directory of their own (another
/// operator's machine); returns it.
pub(crate) fn login(env: &Env, base: &str, name: &str, secret: &str) -> PathBuf {
    let config = env.path(&format!("home-{name}"));
    let mut child = env
        .signed_in(&config)
        .args(["login", "--server", base, "--user", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n{}\n", code(secret)).as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "login {name}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("as user:{name}")));
    config
}

fn run(env: &Env, config: &Path, args: &[&str]) -> Output {
    env.signed_in(config).args(args).output().unwrap()
}

fn ok(env: &Env, config: &Path, args: &[&str]) -> String {
    let out = run(env, config, args);
    assert!(
        out.status.success(),
        "[{}] lanyard {args:?}: {}{}",
        env.backend,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn json(env: &Env, config: &Path, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    serde_json::from_str(&ok(env, config, &full)).unwrap()
}

fn fails(env: &Env, config: &Path, code: i32, args: &[&str]) -> String {
    let out = run(env, config, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "[{}] lanyard {args:?}: {}",
        env.backend,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn an_operators_day_signed_in() {
    for env in Env::all() {
        env.init();
        env.add("DAY1", "Dayton");
        let ida = add_user(&env, "ida", "id_officer");
        let abe = add_user(&env, "abe", "approver");
        let server = Server::start(&env);
        let base = server.base.clone();

        let ida = login(&env, &base, "ida", &ida);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(ida.join("session.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the session is the user's alone");
        }
        assert!(ok(&env, &ida, &["whoami"]).contains("user:ida (id_officer)"));

        // Find: the short list, from identity alone.
        let found = json(&env, &ida, &["person", "find", "--surname", "dayton", "--purpose", "card_renewal"]);
        assert_eq!(found[0]["service_number"], "DAY1", "{found}");
        assert!(found[0].get("pay").is_none() && found[0].get("vetting").is_none());
        let person = found[0]["id"].as_str().unwrap().to_owned();

        // Request; the requester's role cannot approve (the gate's matrix),
        // and a second person, an approver, does.
        let card = json(&env, &ida, &["card", "request", "--person", "DAY1", "--type", "warrant_card"]);
        let card = card["id"].as_str().unwrap().to_owned();
        let err = fails(&env, &ida, 2, &["card", "approve", &card]);
        assert!(err.contains("card_approval_not_allowed"), "{err}");
        let abe = login(&env, &base, "abe", &abe);
        let approved = json(&env, &abe, &["card", "approve", &card]);
        assert_eq!(approved["state"], "approved");
        assert_eq!(approved["approved_by"], "user:abe");
        // The approver's role may not request or read pay: the server's gate says so.
        let err = fails(&env, &abe, 2, &["person", "show", &person, "--compartments", "pay", "--purpose", "payroll"]);
        assert!(err.contains("compartment_not_readable"), "{err}");

        // Render, print, issue.
        let png = env.path("day.png");
        let files = json(
            &env,
            &ida,
            &["card", "render", &card, "--out", png.to_str().unwrap(), "--side", "both", "--purpose", "card_print"],
        );
        let front = files["files"][0].as_str().unwrap().to_owned();
        assert!(std::fs::read(&front).unwrap().starts_with(b"\x89PNG"), "{files}");
        ok(&env, &ida, &["card", "print", &card]);
        assert_eq!(json(&env, &ida, &["card", "issue", &card])["state"], "issued");

        // Verify the card from its picture, with the current status list.
        let bundle = env.path("bundle.json");
        let list = env.path("list.cwt");
        env.ok(&["keys", "export-verifier", "--out", bundle.to_str().unwrap()]);
        env.ok(&["status-list", "export", "--out", list.to_str().unwrap()]);
        let verdict = ok(
            &env,
            &ida,
            &[
                "verify",
                "--bundle",
                bundle.to_str().unwrap(),
                "--status-list",
                list.to_str().unwrap(),
                "--image",
                &front,
            ],
        );
        assert!(verdict.starts_with("valid"), "{verdict}");

        // Every event of the day names the signed-in user, none break-glass.
        let events = env.events();
        let by = |actor: &str, action: &str| events.iter().any(|e| e.actor.id == actor && e.action == action);
        assert!(by("user:ida", "person.find") && by("user:ida", "card.request") && by("user:abe", "card.approve"));
        assert!(events.iter().filter(|e| e.actor.id.starts_with("user:")).all(|e| !e.actor.break_glass));
        // The find read identity alone, and was audited as that.
        let find = events.iter().find(|e| e.actor.id == "user:ida" && e.action == "person.find").unwrap();
        assert_eq!(find.compartments, vec![lanyard_core::Compartment::Identity]);

        // Logout ends the session on the server and here.
        assert!(ok(&env, &ida, &["logout"]).contains("signed out user:ida"));
        assert!(!ida.join("session.json").exists());
        let err = fails(&env, &ida, 2, &["card", "show", &card]);
        assert!(err.contains("not signed in") && err.contains("lanyard login"), "{err}");
        server.stop();
    }
}

#[test]
fn break_glass_is_flagged_on_every_event_and_never_approves() {
    for env in Env::all() {
        env.init();
        env.add("BG1", "Glass");
        let card = env.json(&["card", "request", "--person", "BG1", "--type", "staff_pass"]);
        let card = card["id"].as_str().unwrap();
        let err = env.fails(2, &["card", "approve", card]);
        assert!(err.contains("break-glass"), "{err}");
        let events = env.events();
        let local: Vec<_> = events.iter().filter(|e| e.actor.id == "local:tester").collect();
        assert!(local.len() >= 3, "add, request and the refused approval");
        assert!(local.iter().all(|e| e.actor.break_glass && e.actor.role == "break_glass"));
        let refused = events.iter().find(|e| e.action == "card.approve").unwrap();
        assert_eq!(refused.outcome, lanyard_audit::Outcome::Denied);
        assert_eq!(refused.detail.as_ref().unwrap()["refused"], "break_glass");
        // The flag is in the event's bytes only where it is set.
        let bytes = String::from_utf8(refused.to_bytes()).unwrap();
        assert!(bytes.contains(r#""actor":{"break_glass":true,"id":"local:tester","role":"break_glass"}"#), "{bytes}");

        // Neither signed in nor --local: told how to sign in, and nothing is read.
        let before = env.state();
        let nowhere = env.path("nowhere");
        let err = fails(&env, &nowhere, 2, &["person", "list"]);
        assert!(err.contains("not signed in") && err.contains("--local"), "{err}");
        assert_eq!(env.state(), before);
    }
}

#[test]
fn scripts_use_a_service_token_and_get_what_its_role_allows() {
    let env = Env::sqlite();
    env.init();
    let token = env.json(&["token", "create", "--role", "verifier", "--device", "gate-1"]);
    let secret = token["secret"].as_str().unwrap().to_owned();
    let server = Server::start(&env);
    let nowhere = env.path("nowhere");
    let with_token = |args: &[&str]| {
        env.signed_in(&nowhere)
            .env("LANYARD_TOKEN", &secret)
            .env("LANYARD_SERVER", &server.base)
            .args(args)
            .output()
            .unwrap()
    };
    let who = with_token(&["whoami"]);
    assert!(String::from_utf8_lossy(&who.stdout).contains("(verifier)"), "{}", String::from_utf8_lossy(&who.stderr));
    let refused = with_token(&["--json", "person", "list"]);
    assert_eq!(refused.status.code(), Some(2));
    let body: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(body["error"]["status"], 403, "{body}");
    server.stop();
}

/// The command line and the server share one authorization matrix by
/// construction: the CLI has no rule of its own and calls only routes the
/// server's gate declares, method and path alike.
#[test]
fn every_route_the_cli_calls_is_one_the_gate_declares() {
    let table = lanyard_server::route_table();
    for e in lanyard_client::endpoints::ALL {
        assert!(
            table.iter().any(|r| r.method.as_str() == e.method && r.path == e.path),
            "the CLI calls {} {}, which the server does not declare",
            e.method,
            e.path
        );
    }
}
