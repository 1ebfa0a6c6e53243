//! CSV import: one transaction for the valid rows, every bad row named
//! without its values, `--strict`, idempotence, and no plaintext at rest.

use crate::util::{Env, jpeg_with_gps, write};

const GOOD_AND_BAD: &str = "\
email,surname,forenames,service_number,rank,unit,vetting_level,salary,photo
a.quill@force.example,Quillfeather,Ada,PC9001,Police Constable,CID,SC,31999,ada.jpg
b.x@force.example,Xanthopoulos,Bea,PC9002,Grand Vizier,CID,SC,31999,
c.y@force.example,Yarborough,Cy,PC9003,Inspector,CID,ULTRA,31999,
d.z@force.example,Zabriskie,Di,PC9004,Inspector,CID,SC,a lot,
e.w@force.example,Wolstenholme,Ed,PC9001,Inspector,CID,SC,40000,
f.v@force.example,Vandersteen,Fi,PC9006,Inspector,CID,SC,40000,missing.jpg
g.u@force.example,Umbridge,Gus,PC9007,Inspector,CID,DV,62000,
";

#[test]
fn import_lists_bad_rows_without_values_and_is_idempotent() {
    for env in Env::all() {
        env.init();
        let photos = env.path("photos");
        std::fs::create_dir(&photos).unwrap();
        jpeg_with_gps(&photos.join("ada.jpg"));
        let csv = env.path("people.csv");
        write(&csv, GOOD_AND_BAD);
        let out = env.run(&["person", "import", csv.to_str().unwrap(), "--photos", photos.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "[{}] invalid rows make the exit code 2", env.backend);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stdout.contains("imported 2 people"), "{stdout}");
        for expected in [
            "line 3, column rank: is not a rank",
            "line 4, column vetting_level: is not a vetting level",
            "line 5, column salary: is not a number",
            "line 6, column service_number: duplicate service number (first on line 2)",
            "line 7, column photo: photo file not found",
        ] {
            assert!(stderr.contains(expected), "[{}] missing '{expected}' in:\n{stderr}", env.backend);
        }
        for secret in
            ["Xanthopoulos", "Grand Vizier", "ULTRA", "a lot", "Wolstenholme", "PC9001", "missing.jpg", "31999"]
        {
            assert!(!stderr.contains(secret) && !stdout.contains(secret), "[{}] output leaks {secret}", env.backend);
        }
        let state = env.state();
        assert_eq!(state.1, 2);

        // Importing the same file again changes nobody.
        let out = env.run(&["--json", "person", "import", csv.to_str().unwrap(), "--photos", photos.to_str().unwrap()]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!((v["imported"].as_i64(), v["already_registered"].as_i64()), (Some(0), Some(2)));
        assert_eq!(v["invalid"].as_array().unwrap().len(), 5);
        assert_eq!(env.state().1, 2, "[{}] second import duplicated people", env.backend);

        let v = env.json(&[
            "person",
            "find",
            "--service-number",
            "pc9001",
            "--compartments",
            "identity,photo",
            "--purpose",
            "check import",
        ]);
        assert_eq!(v[0]["identity"]["surname"], "Quillfeather");
        assert!(v[0]["photo"]["photo"]["jpeg_bytes"].as_u64().unwrap() > 0);
    }
}

#[test]
fn strict_import_imports_nothing_when_any_row_is_bad() {
    let env = Env::sqlite();
    env.init();
    let csv = env.path("p.csv");
    write(&csv, "service_number,forenames,surname,rank\nA1,Ann,Ash,Inspector\nA2,Bob,Birch,Admiral\n");
    let before = env.state();
    let err = env.fails(2, &["person", "import", csv.to_str().unwrap(), "--strict"]);
    assert!(err.contains("line 3, column rank") && err.contains("--strict imports nothing"), "{err}");
    assert_eq!(env.state(), before);
}

#[test]
fn malformed_files_are_refused_whole_and_change_nothing() {
    let env = Env::sqlite();
    env.init();
    let before = env.state();
    for (name, text, expect) in [
        (
            "unknown.csv",
            "service_number,forenames,surname,rank,shoe_size\nA1,Ann,Ash,Inspector,9\n",
            "unknown column 'shoe_size'",
        ),
        ("missing.csv", "service_number,forenames,rank\nA1,Ann,Inspector\n", "no 'surname' column"),
        ("photos.csv", "service_number,forenames,surname,rank,photo\nA1,Ann,Ash,Inspector,a.jpg\n", "--photos"),
    ] {
        let path = env.path(name);
        write(&path, text);
        let err = env.fails(2, &["person", "import", path.to_str().unwrap()]);
        assert!(err.contains(expect), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: one-line error: {err}");
    }
    let bin = env.path("binary.csv");
    std::fs::write(&bin, b"service_number,forenames,surname,rank\nA1,\xff\xfe,Ash,Inspector\n").unwrap();
    let err = env.fails(2, &["person", "import", bin.to_str().unwrap()]);
    assert!(err.contains("line 2: is not valid UTF-8"), "{err}");
    env.fails(2, &["person", "import", "/nonexistent.csv"]);
    let ok = env.path("ignore.csv");
    write(&ok, "service_number,forenames,surname,rank,shoe_size\nA1,Ann,Ash,Inspector,9\n");
    env.ok(&["person", "import", ok.to_str().unwrap(), "--ignore-unknown"]);
    assert_eq!(env.state().1, before.1 + 1);
}

/// The point of the whole design: after an import, the database file holds
/// no surname, salary, service number or email in any form we can grep for.
#[test]
fn no_personal_value_appears_in_the_database_file() {
    let env = Env::sqlite();
    env.init();
    let csv = env.path("force.csv");
    let mut text = String::from("service_number,forenames,surname,rank,unit,vetting_level,salary,email\n");
    let surnames = ["Quackenbush", "Fotheringay", "Wigglesworth", "Oyelaran", "Szczepanski"];
    for (i, s) in surnames.iter().enumerate() {
        text.push_str(&format!(
            "QX{i}7731,Persephone,{s},Inspector,Covert Ops Unit,DV,7364{i}1,{s}.p@secret-force.example\n"
        ));
    }
    write(&csv, &text);
    env.ok(&["person", "import", csv.to_str().unwrap()]);
    // Read everyone back once, so the read path has touched the files too.
    env.ok(&[
        "person",
        "export",
        "--compartments",
        "identity,vetting,pay",
        "--purpose",
        "test",
        "--out",
        env.path("e.csv").to_str().unwrap(),
    ]);

    let mut haystack = Vec::new();
    for entry in std::fs::read_dir(&env.data).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("lanyard.db") {
            haystack.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(haystack.len() > 10_000, "the database files are there");
    let lower: Vec<u8> = haystack.to_ascii_lowercase();
    let mut needles: Vec<String> = Vec::new();
    for (i, s) in surnames.iter().enumerate() {
        needles.push(s.to_string());
        needles.push(format!("QX{i}7731"));
        needles.push(format!("7364{i}1"));
        needles.push(format!("{s}.p@secret-force.example"));
    }
    needles.extend(["Persephone".into(), "Covert Ops".into(), "secret-force".into()]);
    for n in &needles {
        let n = n.to_ascii_lowercase();
        assert!(!lower.windows(n.len()).any(|w| w == n.as_bytes()), "'{n}' found in the database file");
    }
    // Also not in UTF-16, as some tools store text.
    let utf16: Vec<u8> = "Quackenbush".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    assert!(!haystack.windows(utf16.len()).any(|w| w == utf16.as_slice()));
}
