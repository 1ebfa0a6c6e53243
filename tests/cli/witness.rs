//! Issue 16: an external witness for the audit log. Each attack of the
//! issue is made as an attacker who holds the database would make it, and
//! the witness (a separate `lanyard witness serve` process with its own
//! key and state) is what catches it:
//!
//! - the tail of the log cut off, with its checkpoints;
//! - an event rewritten, its leaf and node hashes recomputed, and the
//!   checkpoints that no longer fit deleted;
//! - the data directory put back from an older copy;
//!
//! and a witness that is down stops no command, but `audit verify` says the
//! check could not be made.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::audit::tamper;
use crate::util::Env;

pub(crate) struct WitnessProcess {
    child: Child,
    url: String,
    key: String,
    pub(crate) dir: tempfile::TempDir,
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A witness of `env`'s log, running, and `env` configured to use it.
pub(crate) fn witness(env: &Env) -> WitnessProcess {
    let dir = tempfile::tempdir().unwrap();
    let wdir = dir.path().to_str().unwrap().to_owned();
    let made = env.json(&["witness", "init", "--data-dir", &wdir, "--name", "audit.force.example/w1"]);
    let key = made["key"].as_str().unwrap().to_owned();
    let log_key = env.ok(&["audit", "verifier-key"]).trim().to_owned();
    env.ok(&["witness", "add-log", "--data-dir", &wdir, "--key", &log_key]);
    let mut child = env
        .std_cmd()
        .args(["witness", "serve", "--data-dir", &wdir, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line}")).to_owned();
    configure(env, &url, &key);
    WitnessProcess { child, url, key, dir }
}

fn configure(env: &Env, url: &str, key: &str) {
    let path = env.data.join("lanyard.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!("\n[witness]\nquorum = 1\nwitnesses = [{{ url = \"{url}\", key = \"{key}\" }}]\n"));
    std::fs::write(&path, text).unwrap();
}

fn verify_fails(env: &Env) -> String {
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "[{}] {}", env.backend, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn size(env: &Env) -> u64 {
    env.events().len() as u64
}

#[test]
fn a_cut_tail_and_a_rewritten_event_are_caught_by_the_witness() {
    for env in Env::all() {
        let b = env.backend;
        env.init();
        let w = witness(&env);
        env.add("WT0001", "Quayle");
        assert!(env.ok(&["audit", "verify"]).contains("0 findings"), "[{b}]");
        let printed = env.ok(&["audit", "checkpoint"]);
        assert!(printed.contains("\u{2014} audit.force.example/w1 "), "[{b}] cosigned: {printed}");

        // A proof checked by someone who requires the witness.
        let proof = env.path("inclusion.json");
        std::fs::write(&proof, env.ok(&["audit", "prove", "inclusion", "--index", "1"])).unwrap();
        let key = env.ok(&["audit", "verifier-key"]).trim().to_owned();
        let check = |witness: &str| {
            env.run(&[
                "audit",
                "verify-proof",
                "--verifier-key",
                &key,
                "--proof",
                proof.to_str().unwrap(),
                "--witness",
                witness,
            ])
        };
        assert_eq!(check(&w.key).status.code(), Some(0), "[{b}] cosigned by the witness required");
        let other = env.path("other-witness");
        let stranger = env.json(&["witness", "init", "--data-dir", other.to_str().unwrap(), "--name", "elsewhere/w9"]);
        let out = check(stranger["key"].as_str().unwrap());
        assert_eq!(out.status.code(), Some(1), "[{b}] not cosigned by a witness it does not carry");
        assert!(String::from_utf8_lossy(&out.stderr).contains("0 of the 1 witness cosignatures"), "[{b}]");

        // The tail cut off, with the checkpoints and cosignatures over it.
        let keep = size(&env);
        env.add("WT0002", "Okafor");
        let witnessed = size(&env);
        assert!(witnessed > keep);
        tamper(
            &env,
            &[
                format!("DELETE FROM audit_log WHERE idx >= {keep}"),
                format!("DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > {keep}"),
                format!("DELETE FROM audit_checkpoints WHERE size > {keep}"),
                format!("DELETE FROM audit_cosignatures WHERE size > {keep}"),
            ],
        );
        let out = verify_fails(&env);
        assert!(
            out.contains(&format!("it cosigned size {witnessed}, but this log's latest checkpoint is {keep}")),
            "[{b}] {out}"
        );
    }
}

#[test]
fn an_event_rewritten_with_its_hashes_recomputed_is_caught_by_the_witness() {
    for env in Env::all() {
        let b = env.backend;
        env.init();
        let _w = witness(&env);
        env.add("WT0003", "Quayle");
        env.add("WT0004", "Okafor");
        assert!(env.ok(&["audit", "verify"]).contains("0 findings"), "[{b}]");

        // Event 1's actor rewritten; every hash recomputed to match; the
        // checkpoints, which cannot be re-signed, deleted.
        let mut events: Vec<Vec<u8>> = env.events().iter().map(|e| e.to_bytes()).collect();
        let mut e1 = lanyard_audit::Event::from_bytes(&events[1]).unwrap();
        e1.actor.id = "operator:someone-else".into();
        events[1] = e1.to_bytes();
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let lit = |b: &[u8]| {
            if env.database_url.is_some() { format!("'\\x{}'::bytea", hex(b)) } else { format!("X'{}'", hex(b)) }
        };
        let mut frontier = lanyard_audit::merkle::Frontier::default();
        let mut statements = vec![
            format!(
                "UPDATE audit_log SET event = {}, leaf_hash = {} WHERE idx = 1",
                lit(&events[1]),
                lit(&lanyard_audit::leaf_hash(&events[1]))
            ),
            "DELETE FROM audit_nodes".to_owned(),
            "DELETE FROM audit_checkpoints".to_owned(),
        ];
        for bytes in &events {
            for (level, idx, hash) in frontier.push(lanyard_audit::leaf_hash(bytes)) {
                statements.push(format!(
                    "INSERT INTO audit_nodes (level, idx, hash) VALUES ({level}, {idx}, {})",
                    lit(&hash)
                ));
            }
        }
        tamper(&env, &statements);

        // The next command signs over what it finds (it cannot tell), and
        // the witness refuses that history at once.
        let out = env.run(&["person", "list"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("this log's history is not the one it cosigned"), "[{b}] {err}");
        let out = verify_fails(&env);
        assert!(out.contains("this log's history is not the one it cosigned"), "[{b}] {out}");
    }
}

#[test]
fn a_data_directory_put_back_from_an_older_copy_is_caught_by_the_witness() {
    let env = Env::sqlite();
    env.init();
    let _w = witness(&env);
    env.add("WT0005", "Quayle");
    let copy = env.path("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for f in std::fs::read_dir(&env.data).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), copy.join(f.file_name())).unwrap();
    }
    let old = size(&env);
    env.add("WT0006", "Okafor");
    let witnessed = size(&env);
    std::fs::remove_dir_all(&env.data).unwrap();
    std::fs::rename(&copy, &env.data).unwrap();
    assert_eq!(size(&env), old, "the old copy is back");
    let out = verify_fails(&env);
    assert!(out.contains(&format!("it cosigned size {witnessed}, but this log's latest checkpoint is {old}")), "{out}");
}

#[test]
fn a_witness_that_is_down_stops_no_command_but_verify_says_so() {
    let env = Env::sqlite();
    env.init();
    let w = witness(&env);
    let key = w.key.clone();
    assert!(w.url.starts_with("http://127.0.0.1:"));
    drop(w);
    // Reconfigured at an address where nothing listens.
    let path = env.data.join("lanyard.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.split("\n[witness]").next().unwrap().to_owned();
    std::fs::write(&path, text).unwrap();
    configure(&env, "http://127.0.0.1:9", &key);
    let out = env.run(&[
        "person",
        "add",
        "--service-number",
        "WT0007",
        "--forenames",
        "Robin",
        "--surname",
        "Down",
        "--rank",
        "Police Sergeant",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = verify_fails(&env);
    assert!(out.contains("0 of the 1 required cosigned"), "{out}");
}

/// `audit verify` fails on a log with events and no checkpoint, and on one
/// whose newest events have waited longer than `[audit] checkpoint_lag_s`
/// for one; the next command signs them again.
#[test]
fn a_log_left_unsigned_is_named() {
    for env in Env::all() {
        let b = env.backend;
        env.init();
        env.add("WT0010", "Quayle");
        tamper(&env, &["DELETE FROM audit_checkpoints".to_owned()]);
        let out = verify_fails(&env);
        assert!(out.contains("events and no signed checkpoint"), "[{b}] {out}");
        assert!(env.ok(&["audit", "verify"]).contains("0 findings"), "[{b}] the last run signed them");

        let path = env.data.join("lanyard.toml");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("\n[audit]\ncheckpoint_lag_s = 1\n");
        std::fs::write(&path, text).unwrap();
        env.add("WT0011", "Okafor");
        tamper(
            &env,
            &["DELETE FROM audit_checkpoints WHERE size = (SELECT MAX(size) FROM audit_checkpoints)".to_owned()],
        );
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let out = verify_fails(&env);
        assert!(out.contains("are under no signed checkpoint"), "[{b}] {out}");
    }
}
