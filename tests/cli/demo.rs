//! `lanyard demo` builds a working register and never touches a real one.

use crate::util::Env;

#[test]
fn demo_builds_a_force_and_replaces_only_demos() {
    let env = Env::sqlite();
    let out =
        env.cmd().env_remove("LANYARD_PASSPHRASE").args(["demo", "--people", "120", "--no-serve"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("imported 120 people") && text.contains("Try next"), "{text}");
    // Cards and the trust bundle name the demo server's status list.
    let toml = std::fs::read_to_string(env.data.join("lanyard.toml")).unwrap();
    assert!(toml.contains("status_list_uri = \"http://127.0.0.1:8443/v1/status-lists/1\""), "{toml}");
    assert!(text.contains("batched 4 cards for print supplier") && text.contains("vetting 0, pay 0"), "{text}");
    assert!(
        text.contains(
            "hidden tab: DO NOT RELEASE (25 register people by fingerprint, a personal-data table of 25 rows"
        ) && text.contains("the headcount alone: CLEAR"),
        "{text}"
    );
    assert!(
        text.contains("a payroll feed of 120 people went to hr-payroll with its canary")
            && text.contains("found online name the source: hr-payroll"),
        "{text}"
    );
    // The South Yorkshire drill: a tenth of the photos lost and named
    // exactly, then restored.
    assert!(
        text.contains("12 photos deleted with SQL; the watch's next pass: '12 people's photo compartment deleted")
            && text.contains("(exactly those people)"),
        "{text}"
    );
    assert!(text.contains("12 of the 12 lost photos open again; audit verify: 0 findings"), "{text}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"), "{}", String::from_utf8_lossy(&out.stderr));
    // The guard's own instruction: the FOI folder must not go out.
    let data = env.data.to_str().unwrap().to_owned();
    let scan = env.cmd().args(["scan", &format!("{data}/foi")]).output().unwrap();
    assert_eq!(scan.status.code(), Some(1), "{}", String::from_utf8_lossy(&scan.stdout));
    // Exact data match as the demo says an FOI officer runs it: the force's
    // fingerprints file from lanyard.toml, with no passphrase.
    let reply = format!("{data}/foi/reply.xlsx");
    let scan = env.cmd().env_remove("LANYARD_PASSPHRASE").args(["--json", "scan", &reply]).output().unwrap();
    assert_eq!(scan.status.code(), Some(1), "{}", String::from_utf8_lossy(&scan.stderr));
    assert!(String::from_utf8_lossy(&scan.stdout).contains("register_service_number"));
    // Its own instructions work.
    let list =
        env.cmd().env("LANYARD_PASSPHRASE", "lanyard demo passphrase").args(["person", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("total: 120 active"));
    // A second run replaces the earlier demo.
    let again =
        env.cmd().env_remove("LANYARD_PASSPHRASE").args(["demo", "--people", "30", "--no-serve"]).output().unwrap();
    assert!(again.status.success());
    // A real register is never replaced.
    let real = Env::sqlite();
    real.init();
    let err = real.fails(2, &["demo", "--people", "10", "--no-serve"]);
    assert!(err.contains("not an earlier demo"), "{err}");
    assert!(real.ok(&["person", "list"]).contains("total: 0"));
}

#[test]
fn bench_import_runs_and_reports_both_modes() {
    let env = Env::sqlite();
    let v = env.json(&["bench", "import", "--people", "300"]);
    assert_eq!(v["people"], 300);
    assert!(v["sealed"]["median_people_per_s"].as_f64().unwrap() > 0.0);
    assert!(v["plaintext_baseline"]["median_people_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(v["runs"].as_array().unwrap().len(), 6);
}

#[test]
fn demo_serves_with_a_login_per_role() {
    use std::io::{BufRead, BufReader};
    let env = Env::sqlite();
    let mut child = env
        .std_cmd()
        .env_remove("LANYARD_PASSPHRASE")
        .args(["demo", "--people", "50", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let base = loop {
        let line = lines.next().expect("the demo printed its address").unwrap();
        seen.push(line.clone());
        if let Some(base) = line.strip_prefix("listening on ") {
            break base.to_owned();
        }
    };
    let logins: Vec<String> = lines.by_ref().take(8).map(|l| l.unwrap()).collect();
    for role in ["id_officer", "approver", "vetting_officer", "hr_payroll", "auditor", "admin", "disclosure_officer"] {
        assert!(logins.iter().any(|l| l.contains(role)), "{logins:?}");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async { reqwest::get(format!("{base}/readyz")).await.unwrap().status() });
    assert_eq!(status, 200);
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    assert!(child.wait().unwrap().success());
}
