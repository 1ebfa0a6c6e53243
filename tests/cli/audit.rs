//! `lanyard audit`: checkpoints and proofs, checked with nothing but the
//! verifier key, as an outside reviewer would.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lanyard_audit::checkpoint::NoteVerifier;
use lanyard_audit::merkle::{Hash, verify_consistency, verify_inclusion};

use crate::util::Env;

fn hash(v: &serde_json::Value) -> Hash {
    B64.decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

#[test]
fn checkpoints_and_proofs_verify_with_only_the_verifier_key() {
    for env in Env::all() {
        env.init();
        for i in 0..5 {
            env.add(&format!("AU{i}"), "Audited");
        }
        let key = env.ok(&["audit", "verifier-key"]).trim().to_owned();
        let verifier = NoteVerifier::parse(&key).unwrap();
        let old = env.ok(&["audit", "checkpoint"]);
        let old_cp = verifier.verify(&old).unwrap();
        assert!(old_cp.size >= 6, "[{}] init + 5 adds + key creation", env.backend);
        let old_file = env.path("old.checkpoint");
        std::fs::write(&old_file, &old).unwrap();

        // The log grows: reads are events too.
        env.ok(&["person", "find", "--surname", "audited", "--compartments", "identity", "--purpose", "review"]);
        env.add("AU9", "Later");

        // Prove the first person.create is in the log (after init and the
        // log key's creation, which init's first checkpoint brings).
        let first = env.events().iter().position(|e| e.action == "person.create").unwrap();
        let first_s = first.to_string();
        let event = env.json(&["audit", "event", &first_s]);
        assert!(event["event"].as_str().unwrap().contains("person.create"));
        assert!(!event["event"].as_str().unwrap().contains("Audited"));
        let p = env.json(&["audit", "prove", "inclusion", "--index", &first_s]);
        let cp = verifier.verify(p["checkpoint"].as_str().unwrap()).unwrap();
        assert_eq!(cp.size, p["tree_size"].as_u64().unwrap());
        assert!(cp.size > old_cp.size);
        let leaf = hash(&p["leaf_hash"]);
        assert_eq!(leaf, hash(&event["leaf_hash"]));
        let path: Vec<Hash> = p["hashes"].as_array().unwrap().iter().map(hash).collect();
        assert!(verify_inclusion(&leaf, first as u64, cp.size, &path, &cp.root), "[{}]", env.backend);
        // The event bytes hash to that leaf.
        let bytes = B64.decode(event["event_base64"].as_str().unwrap()).unwrap();
        assert_eq!(lanyard_audit::leaf_hash(&bytes), leaf);

        // The log only grew since the old checkpoint.
        let c = env.json(&["audit", "prove", "consistency", "--from", old_file.to_str().unwrap()]);
        let new_cp = verifier.verify(c["checkpoint"].as_str().unwrap()).unwrap();
        let proof: Vec<Hash> = c["hashes"].as_array().unwrap().iter().map(hash).collect();
        assert!(verify_consistency(old_cp.size, new_cp.size, &old_cp.root, &new_cp.root, &proof));

        // A forged old checkpoint is refused.
        let forged = old.replacen(&old_cp.size.to_string(), &(old_cp.size + 1).to_string(), 1);
        std::fs::write(&old_file, forged).unwrap();
        let err = env.fails(2, &["audit", "prove", "consistency", "--from", old_file.to_str().unwrap()]);
        assert!(err.contains("bad signature"), "{err}");
        // The standalone verifier: no data directory, just files.
        let key_file = env.path("log.key");
        std::fs::write(&key_file, &key).unwrap();
        let proof_file = env.path("inclusion.json");
        std::fs::write(&proof_file, serde_json::to_string(&p).unwrap()).unwrap();
        let event_file = env.path("event.json");
        std::fs::write(&event_file, serde_json::to_string(&event).unwrap()).unwrap();
        let verify = |args: &[&str]| {
            let mut c = assert_cmd::Command::cargo_bin("lanyard").unwrap();
            c.env_clear().args(["audit", "verify-proof", "--verifier-key", key_file.to_str().unwrap()]).args(args);
            c.output().unwrap()
        };
        let out = verify(&["--proof", proof_file.to_str().unwrap(), "--event", event_file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid");
        let mut bad = p.clone();
        let h = bad["hashes"][0].as_str().unwrap().to_owned();
        let flipped = if h.starts_with('A') { h.replacen('A', "B", 1) } else { format!("A{}", &h[1..]) };
        bad["hashes"][0] = flipped.into();
        std::fs::write(&proof_file, serde_json::to_string(&bad).unwrap()).unwrap();
        let out = verify(&["--proof", proof_file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "a tampered proof is invalid");
        let other_event = env.json(&["audit", "event", &(first + 1).to_string()]);
        std::fs::write(&event_file, serde_json::to_string(&other_event).unwrap()).unwrap();
        std::fs::write(&proof_file, serde_json::to_string(&p).unwrap()).unwrap();
        let out = verify(&["--proof", proof_file.to_str().unwrap(), "--event", event_file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "another event is not the proven leaf");
        std::fs::write(&old_file, &old).unwrap();
        let cons_file = env.path("consistency.json");
        std::fs::write(&cons_file, serde_json::to_string(&c).unwrap()).unwrap();
        let out = verify(&["--proof", cons_file.to_str().unwrap(), "--old-checkpoint", old_file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let out = verify(&["--proof", cons_file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "a consistency proof needs the old checkpoint");
        let out = verify(&["--proof", event_file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "not a proof");
        // The log holds no such event: a negative answer, as for `audit event`.
        env.fails(1, &["audit", "prove", "inclusion", "--index", "100000"]);
        // No such event is a negative answer (as no such person is), not a fault.
        let err = env.fails(1, &["audit", "event", "100000"]);
        assert!(err.contains("no event 100000"), "{err}");
    }
}

/// Runs SQL behind lanyard's back, as someone with a database shell would.
pub(crate) fn tamper(env: &Env, statements: &[String]) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        match &env.database_url {
            Some(url) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                for s in statements {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone())).execute(&pool).await.unwrap();
                }
                pool.close().await;
            }
            None => {
                let path = env.data.join("lanyard.db");
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display())).await.unwrap();
                for s in statements {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone())).execute(&pool).await.unwrap();
                }
                pool.close().await;
            }
        }
    });
}

#[test]
fn verify_names_rows_changed_deleted_and_inserted_behind_lanyards_back() {
    for env in Env::all() {
        env.init();
        let changed = env.add("TV1", "Changed");
        let deleted = env.add("TV2", "Deleted");
        let kept = env.add("TV3", "Kept");
        env.ok(&["person", "update", &kept, "--rank", "Inspector"]);
        env.ok(&["keys", "rotate", "identity"]);
        env.ok(&["audit", "checkpoint"]);
        let out = env.ok(&["audit", "verify"]);
        assert!(out.contains("0 findings"), "[{}] {out}", env.backend);

        let pg = env.database_url.is_some();
        let id = |s: &str| if pg { format!("'{s}'") } else { format!("x'{}'", s.replace('-', "")) };
        let fake = "01234567-89ab-7cde-8f01-23456789abcd";
        let blob = if pg { "'\\x00'::bytea" } else { "x'00'" };
        tamper(
            &env,
            &[
                format!("UPDATE sealed SET fields = {blob} WHERE person_id = {} AND compartment = 'pay'", id(&changed)),
                format!("DELETE FROM sealed WHERE person_id = {}", id(&deleted)),
                format!("DELETE FROM people WHERE id = {}", id(&deleted)),
                format!(
                    "INSERT INTO people (id, status, protected, created_at, updated_at, row_version) VALUES ({}, 'active', {}, 1, 1, 1)",
                    id(fake),
                    if pg { "FALSE" } else { "0" }
                ),
            ],
        );
        let out = env.run(&["--json", "audit", "verify"]);
        assert_eq!(out.status.code(), Some(1), "[{}] findings exit 1", env.backend);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut findings: Vec<(String, String)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["kind"].as_str().unwrap().to_owned(), f["person"].as_str().unwrap_or("").to_owned()))
            .collect();
        findings.sort();
        let mut expected = vec![
            ("row_changed".to_owned(), changed.clone()),
            ("row_deleted".to_owned(), deleted.clone()),
            ("row_inserted".to_owned(), fake.to_owned()),
        ];
        expected.sort();
        assert_eq!(findings, expected, "[{}]", env.backend);

        // An altered event is found too, and the checkpoint over it no longer matches.
        tamper(
            &env,
            &["UPDATE audit_log SET event = event || ' ' WHERE idx = 1"
                .replace("event || ' '", if pg { "event || '\\x20'::bytea" } else { "CAST(event || ' ' AS BLOB)" })],
        );
        let out = env.run(&["audit", "verify"]);
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("audit event 1: bytes do not match its leaf hash"), "[{}] {text}", env.backend);
        // An export will not pass the altered event on as proven, and leaves
        // no file behind that could be taken for a whole one.
        let file = env.path("tampered-export.json");
        let out = env.run(&["audit", "export", "--out", file.to_str().unwrap()]);
        assert_ne!(out.status.code(), Some(0), "[{}]", env.backend);
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("audit event 1 does not match its leaf hash"), "[{}] {text}", env.backend);
        assert!(!file.exists() && !file.with_extension("partial").exists(), "[{}]", env.backend);

        // An event deleted from the middle is named, and the tree no longer
        // matches its stored nodes.
        tamper(&env, &["DELETE FROM audit_log WHERE idx = 2".to_owned()]);
        let out = env.run(&["audit", "verify"]);
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("audit event 2: missing"), "[{}] {text}", env.backend);
        assert!(text.contains("stored nodes do not match"), "[{}] {text}", env.backend);
    }
}

#[test]
fn export_gives_a_reviewer_everything_to_check_a_window() {
    let env = Env::sqlite();
    env.init();
    let a = env.add("EX1", "Exportable");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let between = time::OffsetDateTime::now_utc();
    let from_ms = (between.unix_timestamp_nanos() / 1_000_000) as i64;
    std::thread::sleep(std::time::Duration::from_millis(20));
    env.ok(&["person", "show", &a, "--compartments", "identity,pay", "--purpose", "review"]);
    env.add("EX2", "Later");
    let out = env.path("export.json");
    let t = between.format(&time::format_description::well_known::Rfc3339).unwrap();
    env.ok(&["audit", "export", "--from", &t, "--out", out.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let key = NoteVerifier::parse(v["verifier_key"].as_str().unwrap()).unwrap();
    assert_eq!(v["verifier_key"].as_str().unwrap(), env.ok(&["audit", "verifier-key"]).trim());
    let cp = key.verify(v["checkpoint"].as_str().unwrap()).unwrap();
    let events = v["events"].as_array().unwrap();
    assert!(events.len() >= 2, "the read and the second add");
    for e in events {
        let bytes = B64.decode(e["event_base64"].as_str().unwrap()).unwrap();
        let leaf = lanyard_audit::leaf_hash(&bytes);
        assert_eq!(leaf, hash(&e["leaf_hash"]));
        let path: Vec<Hash> = e["hashes"].as_array().unwrap().iter().map(hash).collect();
        assert!(verify_inclusion(&leaf, e["index"].as_u64().unwrap(), cp.size, &path, &cp.root));
        let event = lanyard_audit::Event::from_bytes(&bytes).unwrap();
        assert!(event.time_ms >= from_ms, "the window is respected");
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains("Exportable") && !text.contains("EX1"));
    }
    // The export itself is audited.
    let last = env.json(&["audit", "event", &cp.size.to_string()]);
    assert!(last["event"].as_str().unwrap().contains("audit.export"));
}

#[test]
fn checkpoint_every_signs_until_interrupted() {
    let env = Env::sqlite();
    env.init();
    env.add("CE1", "Every");
    // Every command signs what it added as it ends, so nothing is left to
    // sign until the log outgrows its latest checkpoint: here, by that
    // checkpoint being removed.
    tamper(&env, &["DELETE FROM audit_checkpoints WHERE size = (SELECT MAX(size) FROM audit_checkpoints)".to_owned()]);
    let child = env
        .std_cmd()
        .args(["audit", "checkpoint", "--every", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("lanyard.local/force-audit\n"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("signed 1 checkpoints"), "the log did not grow again");
    env.fails(2, &["audit", "checkpoint", "--every", "0"]);
}

/// Issue 15, attack 1 from the command line: a disclosure officer made an
/// admin by SQL. The user list refuses the row (exit 2, "changed outside
/// lanyard"), and `audit verify` names the table and the id (exit 1). The
/// row key deleted, to have the edited rows tagged anew as they stand, is
/// named too.
#[test]
fn verify_names_a_role_raised_by_sql_and_a_row_key_enrolled_again() {
    for env in Env::all() {
        let b = env.backend;
        env.init();
        let mut child = env
            .std_cmd()
            .args(["user", "add", "freya", "--role", "disclosure_officer", "--password-stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"a long test password\n").unwrap();
        assert!(child.wait().unwrap().success());
        let users = env.json(&["user", "list"]);
        let freya = users[0]["id"].as_str().unwrap().to_owned();
        assert!(env.ok(&["audit", "verify"]).contains("0 findings"), "[{b}]");

        tamper(&env, &["UPDATE users SET role = 'admin' WHERE name = 'freya'".to_owned()]);
        let err = env.fails(2, &["user", "list"]);
        assert!(err.contains("changed outside lanyard"), "[{b}] {err}");
        let out = env.run(&["--json", "audit", "verify"]);
        assert_eq!(out.status.code(), Some(1), "[{b}]");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let tags: Vec<&serde_json::Value> =
            report["findings"].as_array().unwrap().iter().filter(|f| f["kind"] == "row_tag_invalid").collect();
        assert_eq!(tags.len(), 1, "[{b}] {report}");
        assert_eq!((tags[0]["table"].as_str(), tags[0]["id"].as_str()), (Some("users"), Some(freya.as_str())));
        assert!(env.events().iter().any(|e| e.action == "integrity.failure"), "[{b}]");

        // Delete the key and the tags: the next run tags the rows as they
        // stand, which `audit verify` names as a second enrolment.
        tamper(
            &env,
            &[
                "UPDATE users SET mac = NULL".to_owned(),
                "DELETE FROM wrapped_keys WHERE purpose = 'row-integrity'".to_owned(),
            ],
        );
        let out = env.run(&["--json", "audit", "verify"]);
        assert_eq!(out.status.code(), Some(1), "[{b}]");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            report["findings"].as_array().unwrap().iter().any(|f| f["kind"] == "row_key_enrolled_again"),
            "[{b}] {report}"
        );
    }
}

/// Issue 15: key metadata and canaries carry tags too. A canary's nonce
/// moved to another recipient (so a leak would be blamed on the wrong one)
/// is refused where it is used and named by `audit verify`; a wrapped key
/// whose row was changed is not used, is recorded, and is named.
#[test]
fn a_swapped_canary_and_a_changed_key_row_are_refused_and_named() {
    for env in Env::all() {
        let b = env.backend;
        env.init();
        env.add("MX60001", "Quayle");
        for r in ["hr-payroll", "occ-health"] {
            env.ok(&["canary", "plant", "--recipient", r, "--service-number-pattern", "MX#####"]);
        }
        assert!(env.ok(&["audit", "verify"]).contains("0 findings"), "[{b}]");
        // occ-health's nonce given to hr-payroll.
        tamper(
            &env,
            &["UPDATE canaries SET nonce = (SELECT nonce FROM canaries WHERE recipient = 'occ-health') \
               WHERE recipient = 'hr-payroll'"
                .to_owned()],
        );
        let out = env.path("hr.csv");
        let err = env.fails(
            2,
            &[
                "person",
                "export",
                "--compartments",
                "identity",
                "--purpose",
                "payroll",
                "--recipient",
                "hr-payroll",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(err.contains("changed outside lanyard: canaries row hr-payroll"), "[{b}] {err}");
        let report = env.run(&["--json", "audit", "verify"]);
        assert_eq!(report.status.code(), Some(1), "[{b}] {}", String::from_utf8_lossy(&report.stderr));
        let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
        let named = |table: &str, id: &str| {
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["kind"] == "row_tag_invalid" && f["table"] == table && f["id"] == id)
        };
        assert!(named("canaries", "hr-payroll"), "[{b}] {report}");

        // A compartment key's row changed: the key is not used (pay stays
        // sealed), the rest works, and verify names the row.
        tamper(
            &env,
            &["UPDATE wrapped_keys SET created_at = 0 WHERE purpose = 'compartment' AND name = 'pay'".to_owned()],
        );
        env.ok(&["person", "list"]);
        let report = env.run(&["--json", "audit", "verify"]);
        assert_eq!(report.status.code(), Some(1), "[{b}] {}", String::from_utf8_lossy(&report.stderr));
        let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
        assert!(
            report["findings"].as_array().unwrap().iter().any(|f| {
                f["kind"] == "row_tag_invalid" && f["table"] == "wrapped_keys" && f["id"] == "compartment/pay/v1"
            }),
            "[{b}] {report}"
        );
        let failures: Vec<_> =
            env.events().into_iter().filter(|e| e.action == "integrity.failure").filter_map(|e| e.detail).collect();
        assert!(failures.iter().any(|d| d["table"] == "wrapped_keys"), "[{b}] {failures:?}");
        assert!(failures.iter().any(|d| d["table"] == "canaries"), "[{b}] {failures:?}");

        // A signing key's row says which key is the log's: changed, it
        // signs nothing.
        tamper(
            &env,
            &["UPDATE wrapped_keys SET created_at = 0 WHERE purpose = 'signing' AND name = 'audit-log'".to_owned()],
        );
        let err = env.fails(2, &["audit", "checkpoint"]);
        assert!(err.contains("wrapped_keys row signing/audit-log/v1"), "[{b}] {err}");
    }
}
