//! The person lifecycle through the CLI.

use crate::util::{Env, jpeg_with_gps};

#[test]
fn person_lifecycle() {
    for env in Env::all() {
        env.init();
        let id = env.add("PS4417", "Featherstone");
        let other = env.add("PS4418", "Ng");

        // list shows ids, status and counts only.
        let list = env.ok(&["person", "list"]);
        assert!(list.contains(&id) && list.contains("total: 2 active"), "{list}");
        for value in ["Featherstone", "PS4417", "48231", "Roads"] {
            assert!(!list.contains(value), "[{}] list leaks {value}", env.backend);
        }

        // show prints only the named compartments, and needs a purpose.
        let shown = env.ok(&["person", "show", &id, "--compartments", "identity", "--purpose", "card renewal"]);
        assert!(shown.contains("Featherstone") && shown.contains("Police Sergeant"), "{shown}");
        assert!(!shown.contains("48231") && !shown.contains("MV"), "{shown}");
        let err = env.fails(2, &["person", "show", &id, "--compartments", "identity"]);
        assert!(err.contains("purpose"), "{err}");
        env.fails(2, &["person", "show", &id, "--compartments", "salary", "--purpose", "x y z"]);
        env.fails(2, &["person", "show", "not-an-id", "--compartments", "pay", "--purpose", "check"]);
        env.fails(
            1,
            &["person", "show", "01234567-89ab-7def-8123-456789abcdef", "--compartments", "pay", "--purpose", "check"],
        );

        // JSON output.
        let v = env.json(&["person", "show", &id, "--compartments", "pay,vetting", "--purpose", "payroll"]);
        assert_eq!(v["pay"]["salary"], "48231.00");
        assert_eq!(v["vetting"]["vetting_level"], "MV");
        assert!(v.get("identity").is_none());

        // find through blind indexes; exit 1 on no match.
        let v = env.json(&[
            "person",
            "find",
            "--surname",
            "featherSTONE",
            "--compartments",
            "identity",
            "--purpose",
            "lookup",
        ]);
        assert_eq!(v[0]["id"], id.as_str());
        env.json(&[
            "person",
            "find",
            "--email",
            "PS4418@force.example",
            "--compartments",
            "identity",
            "--purpose",
            "lookup",
        ]);
        env.fails(
            1,
            &["person", "find", "--service-number", "NOPE1", "--compartments", "identity", "--purpose", "lookup"],
        );

        // update re-seals and re-indexes.
        let photo = env.path("face.jpg");
        jpeg_with_gps(&photo);
        env.ok(&["person", "update", &other, "--surname", "Nguyen", "--photo", photo.to_str().unwrap()]);
        env.fails(1, &["person", "find", "--surname", "ng", "--compartments", "identity", "--purpose", "lookup"]);
        let out = env.path("out.jpg");
        env.ok(&["person", "find", "--surname", "nguyen", "--compartments", "identity,photo", "--purpose", "print"]);
        env.ok(&[
            "person",
            "show",
            &other,
            "--compartments",
            "photo",
            "--purpose",
            "print",
            "--photo-out",
            out.to_str().unwrap(),
        ]);
        let stored = std::fs::read(&out).unwrap();
        assert!(stored.starts_with(&[0xFF, 0xD8]));
        assert!(!stored.windows(4).any(|w| w == b"Exif") && !stored.windows(11).any(|w| w == b"GPSLatitude"));
        env.fails(2, &["person", "update", &other]);

        // erase needs confirmation.
        let err = env.fails(2, &["person", "erase", &id]);
        assert!(err.contains("--yes"), "{err}");
        env.ok(&["person", "erase", &id, "--yes"]);
        let shown = env.ok(&["person", "show", &id, "--compartments", "identity", "--purpose", "check"]);
        assert!(shown.contains("erased") && !shown.contains("Featherstone"), "{shown}");
        env.fails(1, &["person", "erase", &id, "--yes"]);
        env.fails(
            1,
            &["person", "find", "--service-number", "PS4417", "--compartments", "identity", "--purpose", "lookup"],
        );
        let list = env.ok(&["person", "list"]);
        assert!(list.contains("1 active, 1 erased"), "{list}");
    }
}

#[test]
fn protected_people_show_protected_without_clearance() {
    let env = Env::sqlite();
    env.init();
    let out = env.json(&[
        "person",
        "add",
        "--service-number",
        "CT1",
        "--forenames",
        "Kim",
        "--surname",
        "Hidden",
        "--rank",
        "Detective Sergeant",
        "--protected",
    ]);
    let id = out["id"].as_str().unwrap();
    let shown = env.ok(&["person", "show", id, "--compartments", "identity", "--purpose", "gate check"]);
    assert!(shown.contains("[protected]") && !shown.contains("Hidden"), "{shown}");
    let shown = env.ok(&[
        "person",
        "show",
        id,
        "--compartments",
        "identity",
        "--purpose",
        "gate check",
        "--clearance",
        "protected",
    ]);
    assert!(shown.contains("Hidden"), "{shown}");
    let exported = env.ok(&["person", "export", "--compartments", "identity", "--purpose", "audit sample"]);
    assert!(exported.contains("[protected]") && !exported.contains("Hidden"), "{exported}");
}

#[test]
fn export_reveals_only_named_compartments() {
    for env in Env::all() {
        env.init();
        for i in 0..3 {
            env.add(&format!("E{i}"), &format!("Exporter{i}"));
        }
        let out = env.path("x.csv");
        env.ok(&[
            "person",
            "export",
            "--compartments",
            "identity,pay",
            "--purpose",
            "payroll reconciliation",
            "--out",
            out.to_str().unwrap(),
        ]);
        let text = std::fs::read_to_string(&out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("service_number,forenames,surname,rank,unit,salary,email,pay_grade"));
        assert_eq!(lines.count(), 3);
        assert!(text.contains("Exporter2") && text.contains("48231.00") && !text.contains("MV"), "{text}");
        // The export imports again (into a fresh register).
        let env2 = Env::sqlite();
        env2.init();
        env2.ok(&["person", "import", out.to_str().unwrap()]);
        assert!(env2.ok(&["person", "list"]).contains("total: 3 active"));
        env.fails(2, &["person", "export", "--compartments", "photo", "--purpose", "print run"]);
    }
}

/// A force's own purpose codes (`[purposes] codes` in lanyard.toml) are kept
/// in clear like lanyard's; a malformed one is refused by name.
#[test]
fn a_force_adds_its_own_purpose_codes() {
    let env = Env::sqlite();
    env.init();
    let config = env.data.join("lanyard.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("[purposes]\ncodes = []"), "init shows where codes go: {text}");
    std::fs::write(&config, text.replace("[purposes]\ncodes = []", "[purposes]\ncodes = [\"court_order\"]")).unwrap();
    let id = env.add("PC9", "Codes");
    env.ok(&["person", "show", &id, "--compartments", "identity", "--purpose", "Court Order"]);
    let read = env.events().into_iter().rfind(|e| e.action == "person.read").unwrap();
    assert_eq!(read.purpose.as_deref(), Some("court_order"));
    assert!(read.note.is_none());
    std::fs::write(&config, text.replace("[purposes]\ncodes = []", "[purposes]\ncodes = [\"Court Order!\"]")).unwrap();
    let err = env.fails(2, &["person", "show", &id, "--compartments", "identity", "--purpose", "court order"]);
    assert!(err.contains("purpose code") && err.contains("lower-case"), "{err}");
}

/// Issue 17: `person find --surname "O'Brien"` revealed all 64 full records
/// where the officer wanted one. Now it gives a short list from the identity
/// compartment alone, audited as that, narrowed by forenames and rank.
#[test]
fn find_gives_a_short_list_narrowed_by_forenames_and_rank() {
    for env in Env::all() {
        let b = env.backend;
        env.init();
        for (sn, forenames, rank) in
            [("OB1", "Anne-Marie", "Inspector"), ("OB2", "Sean", "Inspector"), ("OB3", "Annie", "Police Constable")]
        {
            env.json(&[
                "person",
                "add",
                "--service-number",
                sn,
                "--forenames",
                forenames,
                "--surname",
                "O'Brien",
                "--rank",
                rank,
                "--email",
                &format!("{sn}@force.example"),
                "--vetting-level",
                "SC",
                "--salary",
                "40123",
            ]);
        }
        env.add("OTHER1", "Other");
        let find = |extra: &[&str]| {
            let mut args = vec!["person", "find", "--surname", "o'brien", "--purpose", "card_renewal"];
            args.extend_from_slice(extra);
            env.json(&args)
        };
        let all = find(&[]);
        let all = all.as_array().unwrap();
        assert_eq!(all.len(), 3, "[{b}] {all:?}");
        for p in all {
            let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, ["id", "name", "rank", "service_number", "withheld"], "[{b}] a short list only");
        }
        assert!(!serde_json::to_string(all).unwrap().contains("40123"), "[{b}] no pay in a short list");
        let anne = find(&["--forenames", "ann"]);
        assert_eq!(anne.as_array().unwrap().len(), 2, "[{b}] {anne}");
        let one = find(&["--forenames", "anne-marie", "--rank", "inspector"]);
        assert_eq!(one.as_array().unwrap().len(), 1, "[{b}] {one}");
        assert_eq!(one[0]["name"], "Anne-Marie O'Brien", "[{b}]");
        env.fails(
            1,
            &["person", "find", "--surname", "o'brien", "--purpose", "card_renewal", "--rank", "Commissioner"],
        );
        // Each find was recorded as a read of the identity compartment alone.
        let finds: Vec<_> = env.events().into_iter().filter(|e| e.action == "person.find").collect();
        assert!(!finds.is_empty(), "[{b}]");
        for e in &finds {
            assert_eq!(e.compartments, vec![lanyard_core::Compartment::Identity], "[{b}]");
        }
        let human =
            env.ok(&["person", "find", "--surname", "o'brien", "--purpose", "card_renewal", "--rank", "inspector"]);
        assert!(human.contains("OB1") && human.contains("OB2") && !human.contains("OB3"), "[{b}] {human}");
        assert!(human.contains("then: lanyard person show"), "[{b}] {human}");
        // Filters read identity: with other compartments alone they are refused.
        let err = env.fails(
            2,
            &[
                "person",
                "find",
                "--surname",
                "o'brien",
                "--purpose",
                "x",
                "--compartments",
                "pay",
                "--rank",
                "inspector",
            ],
        );
        assert!(err.contains("add identity to --compartments"), "[{b}] {err}");
    }
}
