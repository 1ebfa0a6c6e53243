//! Erase is irreversible: after it, no copy of the database file holds the
//! person's wrapped keys or ciphertexts, so even the full keyring and
//! passphrase recover nothing.

use crate::util::Env;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() >= 16 && haystack.windows(needle.len()).any(|w| w == needle)
}

fn db_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("lanyard.db") {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

#[test]
fn erase_is_irreversible_even_with_the_keys() {
    let env = Env::sqlite();
    env.init();
    let victim = env.add("ER1", "Shredded");
    let survivor = env.add("ER2", "Survivor");
    let uuid = uuid::Uuid::parse_str(&victim).unwrap();

    // What an attacker with a later copy would look for: this person's
    // wrapped keys and ciphertexts, as stored before the erase.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let secrets: Vec<Vec<u8>> = rt.block_on(async {
        let store = lanyard_store::Store::open_sqlite(&env.data.join("lanyard.db"), false).await.unwrap();
        let rows = store.sealed(&[uuid], &["identity", "photo", "vetting", "pay"]).await.unwrap();
        let person = store.person(uuid).await.unwrap().unwrap();
        store.close().await;
        assert_eq!(rows.len(), 3);
        let mut v: Vec<Vec<u8>> = rows.into_iter().flat_map(|r| [r.wrapped_key, r.fields]).collect();
        v.extend([person.sn_index.unwrap(), person.surname_index.unwrap()]);
        v
    });
    let before = db_bytes(&env.data);
    assert!(secrets.iter().all(|s| contains(&before, s)), "sanity: the sealed rows are in the file before erase");

    env.ok(&["person", "erase", &victim, "--yes"]);

    // A copy of the database taken now.
    let copy = env.path("copy");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(&env.data).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
    }
    let after = db_bytes(&copy);
    for (i, s) in secrets.iter().enumerate() {
        assert!(!contains(&after, s), "secret {i} of the erased person survives in the copy");
    }
    // Even opened with the real keyring and passphrase, the copy yields nothing.
    let mut reader = env.cmd();
    reader.env("LANYARD_DATA_DIR", &copy);
    let out = reader
        .args(["--json", "person", "show", &victim, "--compartments", "identity,vetting,pay", "--purpose", "forensics"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "erased");
    assert!(v["identity"]["surname"].is_null() && v["pay"]["salary"].is_null());
    // The other person is untouched.
    let v = env.json(&["person", "show", &survivor, "--compartments", "identity", "--purpose", "check"]);
    assert_eq!(v["identity"]["surname"], "Survivor");
}
