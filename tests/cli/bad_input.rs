//! Bad input gets one clear line and exit code 2, and the store is left as
//! it was.

use crate::util::{Env, write};

fn one_line(err: &str) {
    assert_eq!(err.trim_end().lines().count(), 1, "expected a one-line error, got:\n{err}");
}

#[test]
fn wrong_passphrase_missing_and_corrupt_keyring() {
    let env = Env::sqlite();
    env.init();
    let id = env.add("B1", "Keyholder");
    let before = env.state();

    let out = env.cmd().env("LANYARD_PASSPHRASE", "not the passphrase").args(["person", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wrong passphrase"), "{err}");
    one_line(&err);

    let keyring = env.data.join("keyring.json");
    let original = std::fs::read(&keyring).unwrap();
    let mut damaged = original.clone();
    let at = damaged.len() / 2;
    damaged[at] = if damaged[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&keyring, &damaged).unwrap();
    let err = env.fails(2, &["person", "show", &id, "--compartments", "identity", "--purpose", "check"]);
    assert!(err.contains("keyring is corrupted") || err.contains("not a lanyard keyring"), "{err}");
    one_line(&err);

    std::fs::remove_file(&keyring).unwrap();
    let err = env.fails(2, &["person", "list"]);
    assert!(err.contains("no keyring"), "{err}");
    one_line(&err);
    std::fs::write(&keyring, &original).unwrap();
    assert_eq!(env.state(), before);
    env.ok(&["person", "list"]);
}

#[test]
fn tampered_ciphertext_names_record_and_field_not_value() {
    let env = Env::sqlite();
    env.init();
    let id = env.add("B2", "Tamperproof");
    let uuid = id.replace('-', "");
    let db = env.data.join("lanyard.db");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display())).await.unwrap();
        // Flip one byte near the end of the identity field map (inside a ciphertext).
        let fields: Vec<u8> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT fields FROM sealed WHERE person_id = x'{uuid}' AND compartment = 'identity'"
        )))
        .fetch_one(&pool)
        .await
        .unwrap();
        let mut fields = fields;
        let at = fields.len() - 3;
        fields[at] ^= 0x40;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE sealed SET fields = $1 WHERE person_id = x'{uuid}' AND compartment = 'identity'"
        )))
        .bind(fields)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    });
    let err = env.fails(2, &["person", "show", &id, "--compartments", "identity", "--purpose", "check"]);
    assert!(err.contains(&id) && err.contains("field") && err.contains("failed authentication"), "{err}");
    assert!(!err.contains("Tamperproof") && !err.contains("B2"), "{err}");
    one_line(&err);
    // Other compartments of the same person still open.
    env.ok(&["person", "show", &id, "--compartments", "pay", "--purpose", "check"]);
}

#[test]
fn unreachable_postgres_is_one_clear_line() {
    let env = Env::sqlite();
    let err = env.fails(2, &["--database-url", "postgres://lanyard@127.0.0.1:1/none", "init"]);
    assert!(err.contains("cannot reach the database"), "{err}");
    one_line(&err);
    assert!(!env.data.join("lanyard.toml").exists(), "a failed init leaves no configuration");
}

#[test]
fn over_large_and_corrupt_photos_are_refused() {
    let env = Env::sqlite();
    env.init();
    let before = env.state();
    let big = env.path("big.jpg");
    std::fs::write(&big, vec![0u8; 11 * 1024 * 1024]).unwrap();
    let base = [
        "person",
        "add",
        "--service-number",
        "P1",
        "--forenames",
        "A",
        "--surname",
        "B",
        "--rank",
        "Inspector",
        "--photo",
    ];
    let mut args = base.to_vec();
    args.push(big.to_str().unwrap());
    let err = env.fails(2, &args);
    assert!(err.contains("larger than 10 MiB"), "{err}");
    one_line(&err);
    let junk = env.path("junk.jpg");
    write(&junk, "this is not a picture");
    let mut args = base.to_vec();
    args.push(junk.to_str().unwrap());
    let err = env.fails(2, &args);
    assert!(err.contains("photo refused"), "{err}");
    one_line(&err);
    assert_eq!(env.state(), before);
}

#[test]
fn bad_field_values_and_usage_errors() {
    let env = Env::sqlite();
    env.init();
    let before = env.state();
    for (flag, value, expect) in [
        ("--email", "not-an-email", "email is not an email address"),
        ("--vetting-level", "TS", "vetting_level is not a vetting level"),
        ("--salary", "12.345", "salary is not a number"),
        ("--rank", "Sheriff", "rank is not a rank"),
        ("--vetting-expiry", "31/12/2027", "vetting_expiry is not a date"),
    ] {
        let mut args = vec![
            "person",
            "add",
            "--service-number",
            "V1",
            "--forenames",
            "A",
            "--surname",
            "B",
            "--rank",
            "Inspector",
        ];
        if flag == "--rank" {
            args.truncate(8);
        }
        args.extend([flag, value]);
        let err = env.fails(2, &args);
        assert!(err.contains(expect), "{flag}: {err}");
        assert!(!err.contains(value), "{flag}: echoes the value: {err}");
    }
    env.fails(2, &["person", "add", "--forenames", "A"]);
    env.fails(2, &["person", "frobnicate"]);
    assert_eq!(env.state(), before);
    // Commands on a directory with no register.
    let empty = Env::sqlite();
    let err = empty.fails(2, &["person", "list"]);
    assert!(err.contains("lanyard init"), "{err}");
    // init twice is refused.
    let err = env.fails(2, &["init"]);
    assert!(err.contains("already"), "{err}");
}
