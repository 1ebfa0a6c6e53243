//! The API contract (issue 19 item 1): schemathesis, from a venv holding
//! exactly `tests/contract/schemathesis-requirements.txt`, runs every check
//! it has (`--checks all`) against a server this test starts, once per
//! caller: a print supplier's token, an id_officer, an auditor and an admin.
//! Only login and logout are left out, since they start and end the session
//! under test. What must hold: no failure and no server error, so a client
//! generated from `/v1/openapi.json` meets nothing the document does not say.
//!
//! Skips with the reason unless `LANYARD_SCHEMATHESIS` names the venv's `st`
//! (`.ci/run` makes one). `LANYARD_SCHEMATHESIS_EXAMPLES` sets the examples
//! per operation (default 20); the seed is printed, and
//! `LANYARD_SCHEMATHESIS_SEED` replays a run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::serve::{PASSWORD, Server, add_user, code};
use crate::util::Env;

fn skip(why: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("SKIP contract: {why}\n").as_bytes());
}

/// The venv's `st`, if it holds exactly the pinned packages.
fn schemathesis() -> Option<PathBuf> {
    let Some(st) = std::env::var_os("LANYARD_SCHEMATHESIS").map(PathBuf::from) else {
        skip(
            "LANYARD_SCHEMATHESIS is not set (the `st` of a venv from tests/contract/schemathesis-requirements.txt; .ci/run makes one)",
        );
        return None;
    };
    let python = st.with_file_name("python");
    let pins = include_str!("../contract/schemathesis-requirements.txt");
    let check = format!(
        "import importlib.metadata as m\npins = {pins:?}\nfor line in pins.splitlines():\n    line = line.strip()\n    \
         if not line or line.startswith('#'): continue\n    name, want = line.split('==')\n    \
         have = m.version(name)\n    assert have == want, f'{{name}} {{have}} is not the pinned {{want}}'\n"
    );
    let probe = Command::new(&python).args(["-c", &check]).output().unwrap();
    assert!(
        probe.status.success(),
        "LANYARD_SCHEMATHESIS's venv does not hold the pinned packages: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    Some(st)
}

/// Signs `name` in and returns the session cookie's value.
pub(crate) async fn session_cookie(base: &str, name: &str, secret: &str) -> String {
    let body = serde_json::json!({ "name": name, "password": PASSWORD, "code": code(secret) });
    let r = reqwest::Client::new().post(format!("{base}/v1/login")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200, "login {name}");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("lanyard_session="))
        .expect("a session cookie");
    cookie.split(';').next().unwrap_or_default().to_owned()
}

/// What every run shares.
///
/// - 410 is an answer to valid data, as 404 is: a person an admin's run
///   erased stays gone.
/// - JSON Schema cannot compare two fields, so two bodies the schema allows
///   are still refused 400 when they contradict themselves, as they must
///   be: a permit that ends before it starts, and a breach window that
///   closes before it opens. Those two operations, and only they, take 400
///   for valid data; each rule is in the document's words.
const COMMON: &str = r#"[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "410", "429", "5xx"]

[[operations]]
include-path = "/v1/permits"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "429", "5xx"]

[[operations]]
include-path = "/v1/breach/scope"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "429", "5xx"]

"#;

/// One schemathesis run as one caller; returns its output, and whether it
/// passed.
fn run(st: &Path, base: &str, config: &Path, seed: u64, examples: u32) -> (bool, String) {
    let out = Command::new(st)
        // Its cache and reports go beside the config, not into the tree.
        .current_dir(config.parent().unwrap_or(Path::new(".")))
        .arg("--config-file")
        .arg(config)
        .args(["--no-color", "run", &format!("{base}/v1/openapi.json"), "--checks", "all"])
        .args(["--exclude-path", "/v1/login", "--exclude-path", "/v1/logout"])
        .args(["--seed", &seed.to_string(), "--max-examples", &examples.to_string()])
        .args(["--generation-database", "none"])
        .env("SCHEMATHESIS_HOOKS", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/contract/hooks.py"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_gets_what_the_openapi_document_promises() {
    let Some(st) = schemathesis() else { return };
    let seed = std::env::var("LANYARD_SCHEMATHESIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u32>);
    let seed = u64::from(seed);
    let examples: u32 = std::env::var("LANYARD_SCHEMATHESIS_EXAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    eprintln!(
        "contract: schemathesis seed {seed} (LANYARD_SCHEMATHESIS_SEED replays), {examples} examples per operation"
    );

    let env = Env::sqlite();
    env.init();
    // Something to find: people, a card, a zone, a supplier with a token.
    let people: Vec<String> = (1..=3).map(|i| env.add(&format!("CT{i}"), "Contract")).collect();
    env.ok(&["card", "request", "--person", "CT1", "--type", "warrant_card"]);
    env.ok(&["zone", "add", "HQ", "--name", "Headquarters", "--accepts", "MV"]);
    let identity = env.path("acme-identity.txt");
    let recipient = env.ok(&["supplier", "keygen", "--out", identity.to_str().unwrap()]).trim().to_owned();
    env.ok(&["supplier", "add", "acme", "--recipient", &recipient]);
    let token = env.json(&["token", "create", "--role", "print_supplier", "--supplier", "acme", "--expires", "1d"]);
    let supplier = token["secret"].as_str().unwrap().to_owned();
    let users: Vec<(&str, String)> = [("ida", "id_officer"), ("aud", "auditor"), ("ada", "admin")]
        .iter()
        .map(|(name, role)| (*name, add_user(&env, name, role)))
        .collect();
    assert_eq!(people.len(), 3);

    let server = Server::start(&env);
    let base = server.base.clone();
    let mut failed = Vec::new();
    // The supplier first and the admin last: an admin's run changes the
    // most (disables, revokes, rotates).
    let mut callers = vec![("print_supplier".to_owned(), format!("[auth.openapi.bearer]\nbearer = {supplier:?}\n"))];
    for (name, secret) in &users {
        let cookie = session_cookie(&base, name, secret).await;
        callers.push(((*name).to_owned(), format!("[auth.openapi.session]\napi_key = {cookie:?}\n")));
    }
    for (who, auth) in callers {
        let config = env.path(&format!("schemathesis-{who}.toml"));
        std::fs::write(&config, format!("{COMMON}{auth}")).unwrap();
        let (passed, text) = tokio::task::block_in_place(|| run(&st, &base, &config, seed, examples));
        // All of a failed run's output (every failure with its curl line);
        // the summary of one that passed.
        let shown = if passed {
            text.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
        } else {
            text
        };
        eprintln!("contract: as {who}: {}\n{shown}", if passed { "passed" } else { "FAILED" });
        if !passed {
            failed.push(who);
        }
    }
    server.stop();
    assert!(failed.is_empty(), "schemathesis failed as {failed:?} (seed {seed}); see the output above");
}
