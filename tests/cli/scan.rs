//! `lanyard scan` and `lanyard fingerprints export`: the exit codes an FOI
//! officer's script relies on, and exact data match against the register
//! with only a fingerprints file.

use crate::util::{Env, write};

#[test]
fn exit_codes_are_clear_do_not_release_and_cannot_inspect() {
    let env = Env::sqlite();
    let dir = env.path("release");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    write(&dir.join("headcount.csv"), "Rank,Headcount\nConstable,6803\nSergeant,1034\n");
    env.ok(&["scan", dir.to_str().unwrap()]);

    write(&dir.join("sub/victims.csv"), "Victim surname,Forename,Postcode\nBloggs,Joe,SW1A 2AA\n");
    let out = env.run(&["--json", "scan", "--explain", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "do_not_release");
    assert_eq!(report["files"], 2);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Bloggs") && !text.contains("SW1A 2AA"), "{text}");
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["remedy"].is_string()));

    // One file that cannot be read makes the whole release uninspectable.
    std::fs::write(dir.join("scan.pdf"), b"%PDF-1.7\n").unwrap();
    let err = env.fails(2, &["scan", dir.to_str().unwrap()]);
    assert!(err.contains("nothing is cleared"), "{err}");
    // So does a path that is not there, and a policy that does not parse.
    env.fails(2, &["scan", env.path("missing").to_str().unwrap()]);
    write(&env.path("policy.toml"), "fail_at = \"sometimes\"\n");
    let err = env.fails(2, &["scan", "--policy", env.path("policy.toml").to_str().unwrap(), dir.to_str().unwrap()]);
    assert!(err.contains("fail_at"), "{err}");
}

#[test]
fn exact_data_match_from_an_exported_fingerprints_file_or_the_register() {
    for env in Env::all() {
        env.init();
        env.add("MX4711", "Quayle");
        env.add("MX4712", "Ormerod");
        let fp = env.path("people.fp");
        let v = env.json(&["fingerprints", "export", "--out", fp.to_str().unwrap()]);
        assert_eq!(v["people"], 2, "[{}]", env.backend);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&fp).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let file = std::fs::read_to_string(&fp).unwrap();
        assert!(!file.contains("Quayle") && !file.contains("MX4711"));
        let export = env.events().into_iter().rev().find(|e| e.action == "person.export").unwrap();
        assert_eq!(export.people.len(), 2, "the export is audited, naming everyone fingerprinted");

        let minutes = env.path("minutes.txt");
        write(&minutes, "Present: Robin Quayle (MX4711) and a member of the public.\n");
        let out = env.run(&["--json", "scan", "--fingerprints", fp.to_str().unwrap(), minutes.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "[{}]", env.backend);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let detectors: Vec<&str> =
            report["findings"].as_array().unwrap().iter().map(|f| f["detector"].as_str().unwrap()).collect();
        assert!(detectors.contains(&"register_full_name") && detectors.contains(&"register_service_number"));

        // --data-dir given on the command line: the same match, from the register.
        let data = env.data.to_str().unwrap().to_owned();
        let out = env.run(&["--json", "--data-dir", &data, "scan", minutes.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "[{}]", env.backend);
        let other = env.path("other.txt");
        write(&other, "Present: Robin Smith (MX9999).\n");
        env.ok(&["--data-dir", &data, "scan", other.to_str().unwrap()]);
    }
}
