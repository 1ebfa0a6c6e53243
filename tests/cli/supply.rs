//! The print supplier exchange as the force and the supplier run it: keygen,
//! registration, batching, the agent pulling over real HTTP, the spool,
//! confirmation, the drill, and the failures the issue names.

use std::path::Path;

use crate::serve::Server;
use crate::util::Env;

/// Requests (alice) and approves (bob) a card; returns its id.
fn approved_card(env: &Env, sn: &str, kind: &str) -> String {
    let card = env.json(&["card", "request", "--person", sn, "--type", kind]);
    let id = card["id"].as_str().unwrap().to_owned();
    env.approve_as(&id, "bob");
    id
}

/// The supplier's side: an identity (made with our keygen), a token, and
/// the agent's state with the force's batch key pinned.
struct SupplierSide {
    identity: String,
    token_file: String,
    spool: String,
    state: String,
}

impl SupplierSide {
    /// `lanyard supplier open FILE` as this supplier's agent runs it.
    fn open<'a>(&'a self, file: &'a Path) -> Vec<&'a str> {
        let file = file.to_str().unwrap();
        vec!["supplier", "open", file, "--identity", &self.identity, "--spool", &self.spool, "--state", &self.state]
    }
}

fn supplier(env: &Env, name: &str) -> SupplierSide {
    let home = env.path(&format!("supplier-{name}"));
    std::fs::create_dir_all(&home).unwrap();
    let identity = home.join("identity.txt");
    let recipient = env.ok(&["supplier", "keygen", "--out", identity.to_str().unwrap()]).trim().to_owned();
    assert!(recipient.starts_with("age1"), "{recipient}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&identity).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let err = env.fails(2, &["supplier", "keygen", "--out", identity.to_str().unwrap()]);
    assert!(err.contains("must not exist"), "keygen never overwrites an identity: {err}");
    let added = env.ok(&["supplier", "add", name, "--recipient", &recipient]);
    let key = env.json(&["batch", "signing-key"])["key"].as_str().unwrap().to_owned();
    assert!(
        added.contains(&format!("lanyard-agent trust --supplier {name} --key {key}")),
        "enrolment says what the supplier pins: {added}"
    );
    let state = home.join("agent-state");
    let pinned = env.ok(&["supplier", "trust", "--supplier", name, "--key", &key, "--state", state.to_str().unwrap()]);
    assert!(pinned.contains("pinned"), "{pinned}");
    let token = env.json(&["token", "create", "--role", "print_supplier", "--supplier", name, "--expires", "1d"]);
    let token_file = home.join("token");
    std::fs::write(&token_file, token["secret"].as_str().unwrap()).unwrap();
    SupplierSide {
        identity: identity.to_str().unwrap().to_owned(),
        token_file: token_file.to_str().unwrap().to_owned(),
        spool: home.join("spool").to_str().unwrap().to_owned(),
        state: state.to_str().unwrap().to_owned(),
    }
}

/// Batches the approved cards for acme and exports the sealed file; returns
/// the batch id and the file.
fn exported_batch(env: &Env) -> (String, std::path::PathBuf) {
    let batch = env.json(&["batch", "create", "--supplier", "acme"])["batch"]["id"].as_str().unwrap().to_owned();
    let sealed = env.path(&format!("{batch}.age"));
    env.ok(&["batch", "export", &batch, "--out", sealed.to_str().unwrap()]);
    (batch, sealed)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => vec![],
    };
    names.sort();
    names
}

fn has_age_cli() -> bool {
    std::process::Command::new("age").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn a_supplier_prints_from_an_encrypted_batch_and_keeps_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for env in Env::all() {
        let b = env.backend;
        env.init();
        let side = supplier(&env, "acme");
        let mut cards = Vec::new();
        for (i, kind) in ["warrant_card", "staff_pass", "visitor_pass"].iter().enumerate() {
            let sn = format!("SP{i}");
            env.add(&sn, &format!("Printwell{i}"));
            cards.push(approved_card(&env, &sn, kind));
        }
        let created = env.json(&["batch", "create", "--supplier", "acme"]);
        let batch = created["batch"]["id"].as_str().unwrap().to_owned();
        assert_eq!(created["cards"].as_array().unwrap().len(), 3, "{b}");
        for c in &cards {
            assert_eq!(env.json(&["card", "show", c])["state"], "queued", "{b}");
        }

        // Exported for delivery out of band; the standard age CLI opens it
        // with the supplier's identity.
        let sealed = env.path("oob.age");
        env.ok(&["batch", "export", &batch, "--out", sealed.to_str().unwrap()]);
        if has_age_cli() {
            let out = std::process::Command::new("age")
                .args(["--decrypt", "--identity", &side.identity])
                .arg(&sealed)
                .output()
                .unwrap();
            assert!(out.status.success(), "{b}: age: {}", String::from_utf8_lossy(&out.stderr));
            let key = env.json(&["batch", "signing-key"])["key"].as_str().unwrap().to_owned();
            let pinned = [lanyard_supply::package::Verifier::parse(&key).unwrap()];
            let pkg = lanyard_supply::package::unpack(&out.stdout, &Default::default(), &pinned).unwrap();
            assert_eq!(pkg.manifest.batch, batch);
            assert_eq!(pkg.files.len(), 9);
        } else {
            eprintln!("skipping the age CLI check: age is not installed");
        }

        let server = Server::start(&env);
        let base = server.base.clone();
        let agent = |extra: &[&str]| -> Vec<String> {
            let mut args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
            args.extend(
                ["--server", &base, "--token-file", &side.token_file, "--spool", &side.spool].map(String::from),
            );
            args
        };
        let pull = agent(&["supplier", "pull", "--identity", &side.identity, "--state", &side.state]);
        let out = env.ok(&pull.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(out.contains(&format!("batch {batch}: 3 card(s) spooled")), "{b}: {out}");
        let spooled = Path::new(&side.spool).join(&batch);
        let files = files_in(&spooled);
        assert_eq!(files.len(), 10, "{b}: three files per card and the manifest: {files:?}");
        assert!(files.iter().any(|f| f.ends_with("-front.png")) && files.iter().any(|f| f.ends_with(".pdf")));
        // Pulling again downloads nothing new.
        let again = env.ok(&pull.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(again.contains("already in the spool"), "{again}");

        // The drill, with the batch in the spool: these three people, no vetting or pay.
        let drill = env.json(&["drill", "supplier-compromise", "acme"]);
        assert_eq!(drill["people"].as_array().unwrap().len(), 3, "{b}: {drill}");
        assert_eq!(drill["fields"]["name"], 3);
        assert_eq!(drill["fields"]["rank"], 2, "visitor passes show no rank");
        for never in ["vetting", "salary", "pay_grade", "unit", "email"] {
            assert_eq!(drill["fields"][never], 0, "{never}");
        }
        assert_eq!(drill["tokens"].as_array().unwrap().len(), 1);

        // The receipt: all printed but one spoiled. The spool is wiped.
        let confirm = agent(&["supplier", "confirm", &batch, "--printed", "all", "--spoiled", &cards[2]]);
        let out = env.ok(&confirm.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(out.contains("2 printed, 1 spoiled"), "{b}: {out}");
        assert!(!spooled.exists(), "{b}: the spool is empty after confirmation");
        assert!(files_in(Path::new(&side.spool)).is_empty());
        // Issue 15: the same batch, kept and opened again after the
        // confirmation wiped the spool, is refused and spools nothing.
        let replay = env.fails(2, &side.open(&sealed));
        assert!(replay.contains("already opened here"), "{b}: {replay}");
        assert!(files_in(Path::new(&side.spool)).is_empty(), "{b}: a replay spools nothing");
        assert_eq!(env.json(&["card", "show", &cards[0]])["state"], "printed");
        assert_eq!(env.json(&["card", "show", &cards[2]])["state"], "approved");
        let shown = env.json(&["batch", "show", &batch]);
        assert_eq!(shown["batch"]["state"], "confirmed", "{b}");

        // The server holds the batch no more: 410 Gone; a second receipt is refused.
        let token = std::fs::read_to_string(&side.token_file).unwrap();
        rt.block_on(async {
            let client = reqwest::Client::new();
            let r = client.get(format!("{base}/v1/supplier/batches/{batch}")).bearer_auth(&token).send().await.unwrap();
            assert_eq!(r.status(), 410, "{b}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
        });
        let printed = format!("{},{}", cards[0], cards[1]);
        let twice = agent(&["supplier", "confirm", &batch, "--printed", &printed, "--spoiled", &cards[2]]);
        let err = env.fails(2, &twice.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(err.contains("confirmed already"), "{b}: {err}");

        // The log names the people whose data left, at each step.
        let evs = env.events();
        for action in ["batch.create", "batch.export", "batch.download", "batch.confirm"] {
            let e = evs.iter().find(|e| e.action == action);
            let e = e.unwrap_or_else(|| panic!("{b}: no {action} event"));
            assert_eq!(e.people.len(), 3, "{b}: {action}");
        }
        // After confirmation the drill finds nothing.
        let drill = env.json(&["drill", "supplier-compromise", "acme"]);
        assert!(drill["people"].as_array().unwrap().is_empty(), "{b}: {drill}");
        server.stop();
    }
}

#[test]
fn tampered_foreign_expired_and_wrong_supplier_batches_are_refused() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = Env::sqlite();
    env.init();
    // Batches live ten seconds here, so that expiry can be seen.
    let config = env.data.join("lanyard.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("batch_ttl_s = 259200"), "init writes the 72 h default: {text}");
    std::fs::write(&config, text.replace("batch_ttl_s = 259200", "batch_ttl_s = 10\nsweep_every_s = 1")).unwrap();
    let acme = supplier(&env, "acme");
    let rival = supplier(&env, "rival");
    env.add("TB1", "Tamper");
    env.add("TB2", "Tamper");
    let c1 = approved_card(&env, "TB1", "warrant_card");
    let c2 = approved_card(&env, "TB2", "warrant_card");
    let made = std::time::Instant::now();
    // A tampered batch file: age authentication fails, the agent says so and spools nothing.
    let (batch, sealed) = exported_batch(&env);
    let mut bytes = std::fs::read(&sealed).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x20;
    let tampered = env.path("tampered.age");
    std::fs::write(&tampered, &bytes).unwrap();
    let open = |file: &Path, identity: &str| {
        env.fails(
            2,
            &[
                "supplier",
                "open",
                file.to_str().unwrap(),
                "--identity",
                identity,
                "--spool",
                &acme.spool,
                "--state",
                &acme.state,
            ],
        )
    };
    let err = open(&tampered, &acme.identity);
    assert!(err.contains("age authentication failed"), "{err}");
    // The rival's identity cannot open acme's batch.
    let err = open(&sealed, &rival.identity);
    assert!(err.contains("not sealed to this identity"), "{err}");
    assert!(files_in(Path::new(&acme.spool)).is_empty(), "nothing spooled");
    // The untouched file opens (out-of-band delivery).
    let out = env.ok(&acme.open(&sealed));
    assert!(out.contains("2 card(s) spooled"), "{out}");

    let server = Server::start(&env);
    let base = server.base.clone();
    let rival_token = std::fs::read_to_string(&rival.token_file).unwrap();
    let acme_token = std::fs::read_to_string(&acme.token_file).unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        // The wrong supplier: 403, and its own list is empty.
        let r =
            client.get(format!("{base}/v1/supplier/batches/{batch}")).bearer_auth(&rival_token).send().await.unwrap();
        assert_eq!(r.status(), 403);
        let r = client.get(format!("{base}/v1/supplier/batches")).bearer_auth(&rival_token).send().await.unwrap();
        assert_eq!(r.json::<serde_json::Value>().await.unwrap(), serde_json::json!([]));
        // A supplier token reaches nothing else.
        let r = client.get(format!("{base}/v1/cards")).bearer_auth(&acme_token).send().await.unwrap();
        assert_eq!(r.status(), 403);
        // A receipt naming a card outside the batch changes nothing.
        let body = serde_json::json!({ "printed": [c1, c2, "ZZZZZZZZZZ"] });
        let r = client
            .post(format!("{base}/v1/supplier/batches/{batch}/confirm"))
            .bearer_auth(&acme_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("is not in batch"));
    });
    let denied = env
        .events()
        .iter()
        .filter(|e| e.action == "batch.download" && e.outcome == lanyard_audit::Outcome::Denied)
        .count();
    assert_eq!(denied, 1, "the wrong supplier's attempt is in the log");

    // Past its ten seconds, the server's sweep destroys the batch: 410, and
    // the agent wipes its spool copy on the next pull.
    std::thread::sleep(std::time::Duration::from_millis(12_500).saturating_sub(made.elapsed()));
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{base}/v1/supplier/batches/{batch}"))
            .bearer_auth(&acme_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 410);
    });
    assert_eq!(env.json(&["card", "show", &c1])["state"], "approved", "its cards are queued again");
    let out = env.ok(&[
        "supplier",
        "pull",
        "--server",
        &base,
        "--token-file",
        &acme.token_file,
        "--identity",
        &acme.identity,
        "--spool",
        &acme.spool,
        "--state",
        &acme.state,
    ]);
    assert!(out.contains("gone on the server") && out.contains("wiped"), "{out}");
    assert!(files_in(Path::new(&acme.spool)).is_empty());
    server.stop();
}

#[test]
fn the_print_command_receives_each_file() {
    let env = Env::sqlite();
    env.init();
    let acme = supplier(&env, "acme");
    env.add("PC1", "Piper");
    approved_card(&env, "PC1", "staff_pass");
    let (batch, sealed) = exported_batch(&env);
    let printer = env.path("printer");
    std::fs::create_dir_all(&printer).unwrap();
    let cmd = format!("cat > '{}'/\"$LANYARD_BATCH-$LANYARD_FILE\"", printer.display());
    env.ok(&[acme.open(&sealed), vec!["--print-command", &cmd]].concat());
    let printed = files_in(&printer);
    assert_eq!(printed.len(), 3, "{printed:?}");
    assert!(printed.iter().all(|f| f.starts_with(&batch)));
    // The spool holds only the manifest, for the receipt.
    assert_eq!(files_in(&Path::new(&acme.spool).join(&batch)), vec!["manifest.json".to_owned()]);
    // A failing print command spools nothing (a new batch: the first was
    // opened here once, and is never spooled again).
    std::fs::remove_dir_all(Path::new(&acme.spool).join(&batch)).unwrap();
    env.add("PC2", "Piper");
    approved_card(&env, "PC2", "staff_pass");
    let (_, again) = exported_batch(&env);
    let err = env.fails(2, &[acme.open(&again), vec!["--print-command", "exit 3"]].concat());
    assert!(err.contains("print command failed"), "{err}");
    assert!(files_in(Path::new(&acme.spool)).is_empty());
}

/// The attack (issue 15, item 3): age authenticates nobody, so
/// anyone who knows a supplier's recipient can seal a batch to it. A batch
/// decrypted, given another card's artwork with its digest fixed, and sealed
/// again; the same without the force's signature; a batch made for another
/// supplier and sealed to this one. Each is refused with its own message,
/// and nothing is spooled.
#[test]
fn forged_unsigned_and_misdirected_batches_are_refused() {
    use lanyard_supply::package::{self, CardArtwork, Limits, Manifest, Verifier};

    let env = Env::sqlite();
    env.init();
    let acme = supplier(&env, "acme");
    let rival = supplier(&env, "rival");
    env.add("FB1", "Forge");
    env.add("FB2", "Forge");
    approved_card(&env, "FB1", "warrant_card");
    approved_card(&env, "FB2", "warrant_card");
    let (_, sealed) = exported_batch(&env);
    let key = Verifier::parse(env.json(&["batch", "signing-key"])["key"].as_str().unwrap()).unwrap();
    let ids = package::parse_identities(&std::fs::read(&acme.identity).unwrap()).unwrap();
    let limits = Limits::default();
    let plain = package::open(&std::fs::read(&sealed).unwrap(), &ids, &limits).unwrap();
    let real = package::unpack(&plain, &limits, std::slice::from_ref(&key)).unwrap();
    let recipient = |side: &SupplierSide| {
        let text = std::fs::read_to_string(&side.identity).unwrap();
        let line = text.lines().find(|l| l.starts_with("# public key: ")).unwrap();
        package::parse_recipient(line.trim_start_matches("# public key: ")).unwrap()
    };

    // The first card's files replaced by the second's, under the first's
    // names, with the manifest's digests made to match.
    let (a, b) = (&real.manifest.cards[0], &real.manifest.cards[1]);
    let swapped = CardArtwork {
        card: a.card.clone(),
        number: a.number.clone(),
        card_type: a.card_type.clone(),
        files: a
            .files
            .iter()
            .zip(&b.files)
            .map(|(fa, fb)| {
                let kind: &'static str = match fa.kind.as_str() {
                    "front_png" => "front_png",
                    "back_png" => "back_png",
                    _ => "pdf",
                };
                (kind, fa.name.clone(), real.files[&fb.name].clone())
            })
            .collect(),
    };
    let untouched = CardArtwork {
        card: b.card.clone(),
        number: b.number.clone(),
        card_type: b.card_type.clone(),
        files: b.files.iter().map(|f| ("pdf", f.name.clone(), real.files[&f.name].clone())).collect(),
    };
    let header = Manifest { cards: vec![], ..real.manifest.clone() };
    let (_, forged) = package::pack(&header, &[swapped, untouched], None).unwrap();
    let open_as = |side: &SupplierSide, bytes: &[u8], name: &str| {
        let file = env.path(name);
        std::fs::write(&file, bytes).unwrap();
        let err = env.fails(2, &side.open(&file));
        assert!(files_in(Path::new(&side.spool)).is_empty(), "{name}: nothing is spooled");
        err
    };

    // Unsigned: the forger has no force key.
    let err = open_as(&acme, &package::seal(&forged, &recipient(&acme)).unwrap(), "unsigned.age");
    assert!(err.contains("not signed by the force"), "{err}");
    // The real batch's signature carried over onto the forged manifest.
    let with_old_signature = add_entry(&forged, package::SIGNATURE, &zip_entry(&plain, package::SIGNATURE));
    let err = open_as(&acme, &package::seal(&with_old_signature, &recipient(&acme)).unwrap(), "resigned.age");
    assert!(err.contains("signature is wrong"), "{err}");

    // A real, signed batch for the rival, sealed again to acme.
    let rival_ids = package::parse_identities(&std::fs::read(&rival.identity).unwrap()).unwrap();
    env.add("FB3", "Forge");
    approved_card(&env, "FB3", "warrant_card");
    let rival_batch = env.json(&["batch", "create", "--supplier", "rival"])["batch"]["id"].as_str().unwrap().to_owned();
    let rival_file = env.path("rival.age");
    env.ok(&["batch", "export", &rival_batch, "--out", rival_file.to_str().unwrap()]);
    let rival_plain = package::open(&std::fs::read(&rival_file).unwrap(), &rival_ids, &limits).unwrap();
    let err = open_as(&acme, &package::seal(&rival_plain, &recipient(&acme)).unwrap(), "misdirected.age");
    assert!(err.contains("is for supplier rival"), "{err}");

    // An agent that pinned no key opens nothing, even the real batch.
    let bare = env.path("bare-state");
    let mut args = acme.open(&sealed);
    if let Some(state) = args.last_mut() {
        *state = bare.to_str().unwrap();
    }
    let err = env.fails(2, &args);
    assert!(err.contains("no force key is pinned"), "{err}");
    // The real batch still opens where the key is pinned.
    let out = env.ok(&acme.open(&sealed));
    assert!(out.contains("2 card(s) spooled"), "{out}");
}

/// One entry of a ZIP archive.
fn zip_entry(archive: &[u8], name: &str) -> Vec<u8> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    let mut out = Vec::new();
    zip.by_name(name).unwrap().read_to_end(&mut out).unwrap();
    out
}

/// `archive` with one more entry.
fn add_entry(archive: &[u8], name: &str, bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new_append(std::io::Cursor::new(archive.to_vec())).unwrap();
    zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(bytes).unwrap();
    zip.finish().unwrap().into_inner()
}
