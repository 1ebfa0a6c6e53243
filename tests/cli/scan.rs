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
    // An empty .xlsx, and a text file called .pdf, are not what they will
    // be opened as: cannot inspect, never clear (issue 20; both were clear).
    let empty = env.path("empty.xlsx");
    std::fs::write(&empty, b"").unwrap();
    let err = env.fails(2, &["scan", empty.to_str().unwrap()]);
    assert!(err.contains("nothing is cleared"), "{err}");
    let renamed = env.path("minutes.pdf");
    write(&renamed, "Rank,Headcount\nConstable,6803\n");
    env.fails(2, &["scan", renamed.to_str().unwrap()]);
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

        // --register, on the register host: the same match, from the register.
        let out = env.run(&["--json", "scan", "--register", minutes.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "[{}]", env.backend);
        let other = env.path("other.txt");
        write(&other, "Present: Robin Smith (MX9999).\n");
        env.ok(&["scan", "--register", other.to_str().unwrap()]);

        // A scan with the register is recorded as the server records one:
        // counts and the verdict, never a file name.
        let scans: Vec<_> = env.events().into_iter().filter(|e| e.action == "disclosure.scan").collect();
        assert_eq!(scans.len(), 2, "[{}] both scans with the register are in the log", env.backend);
        let detail = scans[0].detail.as_ref().unwrap();
        assert_eq!(detail["files"], 1);
        assert_eq!(detail["verdict"], report["verdict"], "[{}]", env.backend);
        assert_eq!(scans[1].detail.as_ref().unwrap()["verdict"], "clear");
        let text = serde_json::to_string(&scans).unwrap();
        assert!(!text.contains("minutes") && !text.contains("other.txt") && !text.contains("Quayle"));
    }
}

/// DESIGN §7's canary records: each recipient's export carries its own
/// made-up person, and a scan of a leaked file names the recipient it came
/// from, even with only the fingerprints file and the data cut down.
#[test]
fn a_canary_names_the_recipient_a_leaked_export_came_from() {
    for env in Env::all() {
        let b = env.backend;
        env.init();
        for (sn, surname) in [("MX50001", "Quayle"), ("MX50002", "Ormerod"), ("MX50003", "Pennock")] {
            env.add(sn, surname);
        }
        env.fails(2, &["canary", "plant", "--recipient", "HR Payroll"]);
        let err = env.fails(
            2,
            &[
                "person",
                "export",
                "--compartments",
                "identity",
                "--purpose",
                "payroll feed",
                "--recipient",
                "hr-payroll",
            ],
        );
        assert!(err.contains("no canary is planted for recipient hr-payroll"), "[{b}] {err}");
        for r in ["hr-payroll", "occ-health"] {
            env.ok(&[
                "canary",
                "plant",
                "--recipient",
                r,
                "--service-number-pattern",
                "MX#####",
                "--email-domain",
                "police.example",
            ]);
        }
        let err = env.fails(2, &["canary", "plant", "--recipient", "hr-payroll"]);
        assert!(err.contains("already has a canary"), "[{b}] {err}");
        let list = env.json(&["canary", "list"]);
        assert_eq!(list.as_array().unwrap().len(), 2, "[{b}]");

        let export = |recipient: Option<&str>, name: &str| {
            let out = env.path(name);
            let mut args = vec![
                "person",
                "export",
                "--compartments",
                "identity,pay",
                "--purpose",
                "monthly feed",
                "--out",
                out.to_str().unwrap(),
            ];
            if let Some(r) = recipient {
                args.extend(["--recipient", r]);
            }
            env.ok(&args);
            let text = std::fs::read_to_string(&out).unwrap();
            (out, text)
        };
        let (payroll, payroll_text) = export(Some("hr-payroll"), "payroll.csv");
        let (health, health_text) = export(Some("occ-health"), "health.csv");
        let (plain, plain_text) = export(None, "plain.csv");
        assert_eq!(plain_text.lines().count(), 4, "[{b}] header and the three people");
        assert_eq!(payroll_text.lines().count(), 5, "[{b}] and one canary");
        // The canary is a whole row like the rest, and each recipient's is its own.
        let extra =
            |text: &str| -> String { text.lines().find(|l| !plain_text.lines().any(|p| p == *l)).unwrap().to_owned() };
        let (pc, hc) = (extra(&payroll_text), extra(&health_text));
        assert_ne!(pc, hc, "[{b}]");
        let header: Vec<&str> = plain_text.lines().next().unwrap().split(',').collect();
        let cells: Vec<&str> = pc.split(',').collect();
        assert_eq!(cells.len(), header.len(), "[{b}] {pc}");
        for (h, c) in header.iter().zip(&cells) {
            assert!(!c.is_empty(), "[{b}] the canary's {h} is empty");
        }
        let sn = cells.iter().find(|c| c.starts_with("MX") && c.len() == 7).expect("the force's shape");
        assert!(!list.to_string().contains(sn), "[{b}] a listing shows no values: {list}");
        // Exporting again gives the same canary.
        let (_, again) = export(Some("hr-payroll"), "payroll2.csv");
        assert_eq!(again, payroll_text, "[{b}]");

        let fp = env.path("people.fp");
        let v = env.json(&["fingerprints", "export", "--out", fp.to_str().unwrap()]);
        assert_eq!((v["people"].as_u64(), v["canaries"].as_u64()), (Some(3), Some(2)), "[{b}]");
        let fp = fp.to_str().unwrap().to_owned();
        let scan = |path: &std::path::Path| {
            let out = env.run(&["--json", "scan", "--fingerprints", &fp, path.to_str().unwrap()]);
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let recipients: std::collections::BTreeSet<String> = report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["detector"] == "canary")
                .map(|f| {
                    assert_eq!(f["severity"], "critical");
                    f["recipient"].as_str().unwrap().to_owned()
                })
                .collect();
            (out.status.code(), recipients, String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let (code, found, text) = scan(&payroll);
        assert_eq!((code, found.into_iter().collect::<Vec<_>>()), (Some(1), vec!["hr-payroll".to_owned()]), "[{b}]");
        assert!(!text.contains(&pc), "[{b}] the report masks the canary like anyone");
        assert_eq!(scan(&health).1.into_iter().collect::<Vec<_>>(), vec!["occ-health".to_owned()], "[{b}]");
        assert!(scan(&plain).1.is_empty(), "[{b}] an export to nobody holds no canary");

        // The leaker keeps two columns, reorders them and pastes them into
        // a note: the canary still names the source, in the human report too.
        let surname = cells.get(header.iter().position(|h| *h == "surname").unwrap()).unwrap();
        let note = env.path("leak.txt");
        write(&note, &format!("list from a contact:\n{surname} - {sn}\n"));
        let out = env.run(&["scan", "--fingerprints", &fp, note.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "[{b}]");
        let human = String::from_utf8_lossy(&out.stdout);
        assert!(human.contains("CANARY: the canary planted for hr-payroll is here"), "[{b}] {human}");

        let actions: Vec<String> = env.events().into_iter().map(|e| e.action).collect();
        let count = |a: &str| actions.iter().filter(|x| *x == a).count();
        assert_eq!((count("canary.plant"), count("canary.include"), count("canary.read")), (2, 3, 1), "[{b}]");
    }
}

/// Issue 17 item 6: the server exports the force's fingerprints on a
/// schedule to `[guard] fingerprints`, and an FOI officer's `lanyard scan`
/// picks them up from there with neither the passphrase nor the register.
/// Before, `scan --data-dir` asked for the root passphrase and counted as a
/// read of the whole register by the FOI officer.
#[test]
fn an_foi_officer_scans_with_the_forces_fingerprints_and_no_key() {
    for env in Env::all() {
        env.init();
        env.add("MX4711", "Quayle");
        let config = env.data.join("lanyard.toml");
        let mut toml = std::fs::read_to_string(&config).unwrap();
        toml.push_str("\n[guard]\nfingerprints = \"fingerprints.json\"\nexport_every_s = 1\n");
        write(&config, &toml);
        let shared = env.data.join("fingerprints.json");
        let server = crate::serve::Server::start(&env);
        let made = |fp: &std::path::Path| {
            std::fs::read_to_string(fp).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        };
        wait_for(|| made(&shared).is_some_and(|v| v["people"] == 1), "the first export");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&shared).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640, "[{}] readable by the FOI officers' group, no one else", env.backend);
        }

        // The FOI officer's machine: a lanyard.toml naming the shared file,
        // no keyring, no database, no passphrase.
        let desk = env.path("foi-desk");
        std::fs::create_dir_all(&desk).unwrap();
        write(
            &desk.join("lanyard.toml"),
            &format!("config_version = 1\n[guard]\nfingerprints = \"{}\"\n", shared.display()),
        );
        let foi = |args: &[&str]| {
            let mut c = env.signed_in(&env.path("foi-config"));
            c.env("LANYARD_DATA_DIR", &desk).args(args).output().unwrap()
        };
        let minutes = env.path("minutes.txt");
        write(&minutes, "Present: Robin Quayle (MX4711) and a member of the public.\n");
        let before = env.events().len();
        let out = foi(&["--json", "scan", minutes.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "[{}] {}", env.backend, String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let detectors: Vec<&str> =
            report["findings"].as_array().unwrap().iter().map(|f| f["detector"].as_str().unwrap()).collect();
        assert!(detectors.contains(&"register_full_name"), "{detectors:?}");

        // Someone joins; the next export carries them, and the same desk
        // finds them without doing anything.
        env.add("MX4799", "Ormerod");
        wait_for(|| made(&shared).is_some_and(|v| v["people"] == 2), "the export after a new person");
        let joiner = env.path("joiner.txt");
        write(&joiner, "Officer on duty: MX4799.\n");
        assert_eq!(foi(&["scan", joiner.to_str().unwrap()]).status.code(), Some(1), "[{}]", env.backend);
        server.stop();

        // Each export is the server's audited read, never the FOI officer's.
        let events = env.events();
        let exports: Vec<_> = events[..].iter().filter(|e| e.action == "person.export").collect();
        assert!(exports.len() >= 2, "[{}] every export is in the log", env.backend);
        assert!(exports.iter().all(|e| e.actor.id == "operator:fingerprints"), "[{}]", env.backend);
        assert!(
            events[before..].iter().all(|e| e.action != "disclosure.scan"),
            "[{}] a scan from the file reads nothing of the register",
            env.backend
        );

        // Stale: past max_age_s the file is refused, and nothing is cleared.
        write(
            &desk.join("lanyard.toml"),
            &format!("config_version = 1\n[guard]\nfingerprints = \"{}\"\nmax_age_s = 1\n", shared.display()),
        );
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let clean = env.path("clean.txt");
        write(&clean, "Nothing personal here.\n");
        let out = foi(&["scan", clean.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "[{}] a stale set clears nothing", env.backend);
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("seconds old, more than [guard] max_age_s allows (1 seconds)"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Missing: the same.
        write(
            &desk.join("lanyard.toml"),
            "config_version = 1\n[guard]\nfingerprints = \"/nonexistent/fingerprints.json\"\n",
        );
        let out = foi(&["scan", clean.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "[{}]", env.backend);
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be read"));
    }
}

fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    for _ in 0..300 {
        if done() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}
