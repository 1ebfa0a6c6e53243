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

/// The rest of the operator commands signed in (issue 17 item 1: "every
/// operator command"): person import and export, suppliers, batches, the
/// supplier-compromise drill and breach scoping, each through the gate, by
/// the role that does it, with no passphrase and no database. Before, each
/// said "not yet offered signed in" and needed --local.
#[test]
fn supply_breach_and_bulk_commands_signed_in() {
    for env in Env::all() {
        env.init();
        let users: Vec<(&str, String)> =
            [("ida", "id_officer"), ("abe", "approver"), ("ada", "admin"), ("aud", "auditor")]
                .into_iter()
                .map(|(name, role)| (name, add_user(&env, name, role)))
                .collect();
        let identity = env.path("acme-identity.txt");
        let recipient = env.ok(&["supplier", "keygen", "--out", identity.to_str().unwrap()]).trim().to_owned();
        let server = Server::start(&env);
        let base = server.base.clone();
        let homes: Vec<PathBuf> = users.iter().map(|(name, secret)| login(&env, &base, name, secret)).collect();
        let [ida, abe, ada, aud] = [&homes[0], &homes[1], &homes[2], &homes[3]];

        // Import: a register CSV, all or nothing, as ida.
        let csv = env.path("people.csv");
        crate::util::write(
            &csv,
            "service_number,forenames,surname,rank\nIMP1,Robin,Quayle,Inspector\nIMP2,Sam,Ormerod,Police Sergeant\n",
        );
        let imported = json(&env, ida, &["person", "import", csv.to_str().unwrap()]);
        assert_eq!(imported["imported"], 2, "[{}] {imported}", env.backend);
        let bad = env.path("bad.csv");
        crate::util::write(&bad, "service_number,forenames,surname,rank\nIMP3,Al,Bad,Grand Vizier\n");
        let err = fails(&env, ida, 2, &["person", "import", bad.to_str().unwrap()]);
        assert!(err.contains("invalid_rows"), "{err}");
        let err = fails(&env, ida, 2, &["person", "import", csv.to_str().unwrap(), "--photos", "/tmp"]);
        assert!(err.contains("person update"), "{err}");

        // Export: the same CSV as break-glass writes, through the gate.
        let out = env.path("export.csv");
        let args = ["person", "export", "--compartments", "identity", "--purpose", "audit_review"];
        ok(&env, ida, &[&args[..], &["--out", out.to_str().unwrap()]].concat());
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.starts_with("service_number,forenames,surname,rank,unit,email"), "{text}");
        assert!(text.contains("IMP1,Robin,Quayle,Inspector") && text.contains("IMP2,Sam,Ormerod"), "{text}");

        // Suppliers are an admin's; the answer carries the batch key to pin.
        let added = ok(&env, ada, &["supplier", "add", "acme", "--recipient", &recipient]);
        assert!(added.contains("lanyard-agent trust --supplier acme --key"), "{added}");
        let err = fails(&env, ida, 2, &["supplier", "add", "rival", "--recipient", &recipient]);
        assert!(err.contains("suppliers_not_manageable"), "{err}");
        assert_eq!(json(&env, ada, &["supplier", "list"])[0]["name"], "acme");

        // A card to batch: requested by ida, approved by abe.
        let card = json(&env, ida, &["card", "request", "--person", "IMP1", "--type", "warrant_card"]);
        let card = card["id"].as_str().unwrap().to_owned();
        json(&env, abe, &["card", "approve", &card]);
        let created = json(&env, ida, &["batch", "create", "--supplier", "acme"]);
        let batch = created["batch"]["id"].as_str().unwrap().to_owned();
        assert_eq!(created["cards"][0], card.as_str(), "{created}");
        assert_eq!(json(&env, ida, &["batch", "list", "--state", "pending"])[0]["id"], batch.as_str());
        let shown = json(&env, ida, &["batch", "show", &batch]);
        assert_eq!(shown["cards"][0]["card"], card.as_str(), "{shown}");
        let sealed = env.path("batch.age");
        ok(&env, ida, &["batch", "export", &batch, "--out", sealed.to_str().unwrap()]);
        assert!(std::fs::read(&sealed).unwrap().starts_with(b"age-encryption.org/v1"));
        let err = fails(&env, ida, 2, &["batch", "expire"]);
        assert!(err.contains("the server expires due batches itself"), "{err}");

        // The auditor's drill and breach scope, with both drafts.
        let drill = json(&env, aud, &["drill", "supplier-compromise", "acme"]);
        assert_eq!(drill["people"].as_array().unwrap().len(), 1, "{drill}");
        let report = env.path("art33.html");
        let letters = env.path("letters");
        let scope = json(
            &env,
            aud,
            &[
                "breach",
                "scope",
                "--actor",
                "ida",
                "--report",
                report.to_str().unwrap(),
                "--letters",
                letters.to_str().unwrap(),
            ],
        );
        assert_eq!(scope["people"].as_array().unwrap().len(), 2, "ida's export revealed both: {scope}");
        assert!(std::fs::read_to_string(&report).unwrap().contains("Article 33"));
        assert_eq!(std::fs::read_dir(&letters).unwrap().count(), 2);
        let err = fails(&env, aud, 1, &["breach", "scope", "--actor", "nobody-at-all"]);
        assert!(err.contains("never appears as an actor"), "{err}");
        let err = fails(&env, ida, 2, &["breach", "scope", "--actor", "ida"]);
        assert!(err.contains("not_allowed") || err.contains("refused"), "{err}");

        // A free-text purpose is sealed; the auditor opens it signed in,
        // and ida's role may not.
        let quayle = json(&env, ida, &["person", "find", "--surname", "quayle", "--purpose", "card_renewal"]);
        let quayle = quayle[0]["id"].as_str().unwrap().to_owned();
        let note = "renewal asked for at the front desk";
        ok(&env, ida, &["person", "show", &quayle, "--compartments", "identity", "--purpose", note]);
        let index = env.events().iter().rposition(|e| e.action == "person.read" && e.note.is_some()).unwrap();
        let opened = json(&env, aud, &["audit", "note", &index.to_string()]);
        assert_eq!(opened["note"], note, "{opened}");
        let err = fails(&env, ida, 2, &["audit", "note", &index.to_string()]);
        assert!(err.contains("the server refused"), "{err}");
        server.stop();

        // Every one of those events names the signed-in user; none is break-glass.
        let events = env.events();
        let by = |actor: &str, action: &str| events.iter().any(|e| e.actor.id == actor && e.action == action);
        assert!(by("user:ida", "person.export") && by("user:ada", "supplier.add"), "[{}]", env.backend);
        assert!(by("user:ida", "batch.create") && by("user:ida", "batch.export"), "[{}]", env.backend);
        assert!(by("user:aud", "drill.supplier_compromise") && by("user:aud", "breach.scope"), "[{}]", env.backend);
        assert!(by("user:aud", "audit.note.read"), "[{}]", env.backend);
        let signed_in: Vec<_> = events.iter().filter(|e| e.actor.id.starts_with("user:")).collect();
        assert!(signed_in.iter().all(|e| !e.actor.break_glass), "[{}]", env.backend);
        // Past the setup (users made on the host), nothing ran break-glass.
        let first_login = events.iter().position(|e| e.action == "login.ok").unwrap();
        assert!(events[first_login..].iter().all(|e| !e.actor.break_glass), "[{}]", env.backend);
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
