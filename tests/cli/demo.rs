//! `lanyard demo` builds a working register and never touches a real one.

use crate::util::Env;

#[test]
fn demo_builds_a_force_and_replaces_only_demos() {
    let env = Env::sqlite();
    let out = env.cmd().env_remove("LANYARD_PASSPHRASE").args(["demo", "--people", "120"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("imported 120 people") && text.contains("Try next"), "{text}");
    // Its own instructions work.
    let list =
        env.cmd().env("LANYARD_PASSPHRASE", "lanyard demo passphrase").args(["person", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("total: 120 active"));
    // A second run replaces the earlier demo.
    let again = env.cmd().env_remove("LANYARD_PASSPHRASE").args(["demo", "--people", "30"]).output().unwrap();
    assert!(again.status.success());
    // A real register is never replaced.
    let real = Env::sqlite();
    real.init();
    let err = real.fails(2, &["demo", "--people", "10"]);
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
