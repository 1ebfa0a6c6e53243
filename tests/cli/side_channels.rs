//! No personal data in any side channel (issue 19 item 5). The demo's whole
//! flow — import with photos, finds and reads, cards requested, approved
//! and batched, a scan, the supplier drill and a breach scope — runs over
//! the command line and over HTTP with every log at `trace`. Then
//! everything that is not the answer to a read is gathered: every line
//! the server and each command wrote to stderr, the server's stdout, the
//! stdout of every command whose job is not to show a person (import
//! summaries, card and batch answers, the scan's report, the drill, the
//! breach scope), every problem body the API answered, and the audit log's
//! own text. Every name, email, service number, salary and vetting level
//! of the register is looked for in it: none may appear.
//!
//! What a read prints on purpose (`person show`, the JSON of a person) is
//! the answer, not a side channel, and is left out.

use std::path::Path;
use std::process::Output;

use crate::serve::{add_user, login_http};
use crate::signin::login;
use crate::util::Env;

/// `lanyard serve` logging to a file: at trace level it writes far more
/// than a pipe holds, and a pipe nobody reads would stall it.
struct TracedServer {
    child: std::process::Child,
    base: String,
    log: std::path::PathBuf,
    rest: std::thread::JoinHandle<String>,
}

impl TracedServer {
    fn start(mut cmd: std::process::Command, log: &Path) -> TracedServer {
        use std::io::{BufRead, Read};
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line}")).to_owned();
        let rest = std::thread::spawn(move || {
            let mut rest = line;
            let _ = stdout.read_to_string(&mut rest);
            rest
        });
        TracedServer { child, base, log: log.to_owned(), rest }
    }

    /// Stops it as an operator would (SIGINT); its stdout and stderr.
    fn stop_and_collect(mut self) -> (String, String) {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        assert!(self.child.wait().unwrap().success(), "the server stops cleanly");
        (self.rest.join().unwrap(), std::fs::read_to_string(&self.log).unwrap())
    }
}

/// Everything gathered, with where each piece came from.
#[derive(Default)]
struct Haystack {
    pieces: Vec<(String, String)>,
}

impl Haystack {
    fn add(&mut self, from: &str, text: impl Into<String>) {
        self.pieces.push((from.to_owned(), text.into()));
    }

    /// A command's stderr, and its stdout unless it is the answer to a read.
    fn command(&mut self, what: &str, out: &Output, stdout_too: bool) -> String {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{what}: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
        self.add(&format!("{what} (stderr)"), String::from_utf8_lossy(&out.stderr));
        if stdout_too {
            self.add(&format!("{what} (stdout)"), stdout.clone());
        }
        stdout
    }

    fn bytes(&self) -> usize {
        self.pieces.iter().map(|(_, t)| t.len()).sum()
    }
}

/// The register's personal values, from the CSV it was imported from.
struct Needles {
    /// Matched as whole words anywhere.
    words: Vec<String>,
    /// Vetting levels: short codes (`SC`, `DV`) that also occur in
    /// base64 and ids, so matched only as a value beside a label.
    levels: Vec<String>,
}

fn needles(csv: &Path) -> Needles {
    let mut reader = csv::Reader::from_path(csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (sn, fore, sur, level, salary, email) =
        (col("service_number"), col("forenames"), col("surname"), col("vetting_level"), col("salary"), col("email"));
    let mut words = std::collections::BTreeSet::new();
    let mut levels = std::collections::BTreeSet::new();
    for row in reader.records() {
        let row = row.unwrap();
        for i in [sn, fore, sur, salary, email] {
            let v = row.get(i).unwrap_or_default().trim();
            if !v.is_empty() {
                words.insert(v.to_owned());
            }
        }
        levels.insert(row.get(level).unwrap_or_default().to_owned());
    }
    levels.remove("");
    Needles { words: words.into_iter().collect(), levels: levels.into_iter().collect() }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Where `needle` occurs in `hay` as a whole word.
fn find_word(hay: &str, needle: &str) -> Option<usize> {
    let bytes = hay.as_bytes();
    let mut from = 0;
    while let Some(at) = hay.get(from..).and_then(|rest| rest.find(needle)) {
        let start = from + at;
        let end = start + needle.len();
        let before = start.checked_sub(1).and_then(|i| bytes.get(i)).copied();
        let after = bytes.get(end).copied();
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            return Some(start);
        }
        from = start + 1;
    }
    None
}

/// A vetting level next to what names it: `vetting_level=DV`,
/// `"vetting_level":"DV"`, `level: DV`.
fn find_level(hay: &str, level: &str) -> Option<usize> {
    let lower = hay.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower.get(from..).and_then(|rest| rest.find("level")) {
        let start = from + at + "level".len();
        let window: String = hay.get(start..).unwrap_or_default().chars().take(6 + level.len()).collect();
        let value = window.trim_start_matches(['"', '\'', ':', '=', ' ']);
        if value.starts_with(level) && !value.as_bytes().get(level.len()).copied().is_some_and(is_word) {
            return Some(start);
        }
        from = start;
    }
    None
}

fn excerpt(text: &str, at: usize) -> String {
    let bytes = &text.as_bytes()[at.saturating_sub(80)..(at + 80).min(text.len())];
    String::from_utf8_lossy(bytes).replace('\n', "⏎")
}

#[test]
fn no_personal_data_in_logs_errors_or_audit_text_at_trace_level() {
    let env = Env::sqlite();
    env.init();
    let trace = |mut c: std::process::Command| {
        c.env("LANYARD_LOG", "trace").env("RUST_LOG", "trace");
        c
    };
    let mut hay = Haystack::default();

    // The register: synthetic people with photos (files named by service
    // number), imported on the host.
    let csv = env.path("force.csv");
    let photos = env.path("photos");
    std::fs::create_dir_all(&photos).unwrap();
    lanyard_synth::write_force(&csv, 40, Some(&photos), 19).unwrap();
    let needles = needles(&csv);
    let first_sn = needles.words.iter().find(|w| w.starts_with('P') && w.len() == 7).unwrap().clone();
    let out = trace(env.std_cmd())
        .args(["person", "import", csv.to_str().unwrap(), "--photos", photos.to_str().unwrap()])
        .output()
        .unwrap();
    hay.command("person import", &out, true);
    let out = trace(env.std_cmd())
        .args(["person", "find", "--service-number", &first_sn, "--purpose", "card_renewal"])
        .output()
        .unwrap();
    hay.command("person find (--local)", &out, false);

    let users: Vec<(&str, String)> = [
        ("ida", "id_officer"),
        ("abe", "approver"),
        ("aud", "auditor"),
        ("dora", "disclosure_officer"),
        ("ivy", "id_officer"),
    ]
    .into_iter()
    .map(|(name, role)| (name, add_user(&env, name, role)))
    .collect();
    let identity = env.path("acme-identity.txt");
    let recipient = env.ok(&["supplier", "keygen", "--out", identity.to_str().unwrap()]).trim().to_owned();
    env.ok(&["supplier", "add", "acme", "--recipient", &recipient]);

    let server = TracedServer::start(trace(env.std_cmd()), &env.path("server.log"));
    let base = server.base.clone();
    // ivy signs in over HTTP below, from a client of the test's own.
    let homes: Vec<_> = users[..4].iter().map(|(name, secret)| login(&env, &base, name, secret)).collect();
    let [ida, abe, aud, dora] = [&homes[0], &homes[1], &homes[2], &homes[3]];
    let signed_in = |home: &Path, args: &[&str]| trace(env.signed_in(home)).args(args).output().unwrap();

    // The ID office's day, signed in: find and read (answers), three cards
    // requested and approved, a batch made and sealed.
    let out = signed_in(ida, &["--json", "person", "find", "--service-number", &first_sn, "--purpose", "card_renewal"]);
    let found: serde_json::Value = serde_json::from_str(&hay.command("person find", &out, false)).unwrap();
    let person = found[0]["id"].as_str().unwrap().to_owned();
    let out = signed_in(ida, &["person", "show", &person, "--compartments", "identity", "--purpose", "card_print"]);
    let answer = hay.command("person show", &out, false);
    // The control: the answer of a read does hold the values looked for,
    // so finding none elsewhere means something.
    assert!(find_word(&answer, &first_sn).is_some(), "the read shows the service number: {answer}");
    assert!(needles.words.iter().filter(|w| find_word(&answer, w).is_some()).count() >= 3, "{answer}");
    let mut cards = Vec::new();
    for sn in needles.words.iter().filter(|w| w.starts_with('P') && w.len() == 7).take(3) {
        let out = signed_in(ida, &["--json", "card", "request", "--person", sn, "--type", "warrant_card"]);
        let card: serde_json::Value = serde_json::from_str(&hay.command("card request", &out, true)).unwrap();
        cards.push(card["id"].as_str().unwrap().to_owned());
    }
    for card in &cards {
        let out = signed_in(abe, &["card", "approve", card]);
        hay.command("card approve", &out, true);
    }
    let out = signed_in(ida, &["--json", "batch", "create", "--supplier", "acme"]);
    let batch: serde_json::Value = serde_json::from_str(&hay.command("batch create", &out, true)).unwrap();
    let batch = batch["batch"]["id"].as_str().unwrap().to_owned();
    let sealed = env.path("batch.age");
    let out = signed_in(ida, &["batch", "export", &batch, "--out", sealed.to_str().unwrap()]);
    hay.command("batch export", &out, true);

    // The disclosure officer scans the register's own CSV: the verdict and
    // findings are shown, the values only masked.
    let out = trace(env.signed_in(dora)).args(["scan", "--explain", csv.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the register's CSV must not go out");
    hay.add("scan (stdout)", String::from_utf8_lossy(&out.stdout));
    hay.add("scan (stderr)", String::from_utf8_lossy(&out.stderr));

    // The auditor: the supplier drill, a breach scope, the log verified.
    let out = signed_in(aud, &["--json", "drill", "supplier-compromise", "acme"]);
    hay.command("drill", &out, true);
    let out = signed_in(aud, &["--json", "breach", "scope", "--actor", "ida"]);
    hay.command("breach scope", &out, true);

    // Problems over HTTP, each carrying real values where a careless
    // server would echo them.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = login_http(&base, "ivy", &users[4].1).await;
        let mut problems = 0;
        let some: Vec<&String> = needles.words.iter().take(12).collect();
        let requests = [
            client.get(format!("{base}/v1/people/{}", some[0])),
            client
                .post(format!("{base}/v1/people/find"))
                .json(&serde_json::json!({ "service_number": first_sn, "surname": some[1] })),
            client.post(format!("{base}/v1/people")).json(&serde_json::json!({ "fields": {
                "service_number": first_sn, "forenames": some[2], "surname": some[3], "rank": "Constable" } })),
            client.post(format!("{base}/v1/people")).json(&serde_json::json!({ "fields": {
                "service_number": "NEW1", "forenames": some[4], "surname": some[5], "rank": "Grand Vizier",
                "email": format!("{}@@", some[6]), "salary": some[7], "vetting_level": "ZZ" } })),
            client
                .patch(format!("{base}/v1/people/{person}"))
                .json(&serde_json::json!({ "fields": { "email": format!("{} at nowhere", some[8]) } })),
            client
                .patch(format!("{base}/v1/people/{person}"))
                .json(&serde_json::json!({ "fields": { "salary": format!("{}k", some[9]) } })),
            client.post(format!("{base}/v1/people/import")).header("content-type", "text/csv").body(format!(
                "service_number,forenames,surname,rank\n{first_sn},{},{},Nonsense\n",
                some[10], some[11]
            )),
            client.get(format!("{base}/v1/cards?state={}", some[0])),
        ];
        for request in requests {
            let r = request.send().await.unwrap();
            let status = r.status();
            let text = r.text().await.unwrap();
            assert!(status.is_client_error(), "{status}: {text}");
            hay.add(&format!("problem {status}"), text);
            problems += 1;
        }
        assert_eq!(problems, 8);
    });
    let exported = env.path("audit.json");
    let out = env.run(&["audit", "export", "--out", exported.to_str().unwrap()]);
    hay.command("audit export", &out, true);
    hay.add("the audit log", std::fs::read_to_string(&exported).unwrap());
    let (stdout, stderr) = server.stop_and_collect();
    hay.add("server (stdout)", stdout);
    hay.add("server (stderr)", stderr);

    // Trace logging was on, and the haystack is not empty or trivial.
    let server_log = &hay.pieces.iter().rev().find(|(from, _)| from == "server (stderr)").unwrap().1;
    assert!(server_log.contains("TRACE") || server_log.contains("DEBUG"), "the server logged at trace");
    assert!(hay.bytes() > 100_000, "only {} bytes gathered", hay.bytes());
    // The needles are the register's: the read's answer has them.
    assert!(needles.words.len() >= 40 * 4 && !needles.levels.is_empty());

    let sizes: Vec<String> = hay
        .pieces
        .iter()
        .filter(|(_, t)| t.len() > 10_000)
        .map(|(f, t)| format!("{f} {} KiB", t.len() / 1024))
        .collect();
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "side channels: {} KiB gathered from {} sources ({})\n",
            hay.bytes() / 1024,
            hay.pieces.len(),
            sizes.join(", ")
        )
        .as_bytes(),
    );
    let mut hits = Vec::new();
    for (from, text) in &hay.pieces {
        for word in &needles.words {
            if let Some(at) = find_word(text, word) {
                hits.push(format!("{from}: {word:?} in …{}…", excerpt(text, at)));
            }
        }
        for level in &needles.levels {
            if let Some(at) = find_level(text, level) {
                hits.push(format!("{from}: vetting level {level:?} in …{}…", excerpt(text, at)));
            }
        }
    }
    assert!(hits.is_empty(), "{} bytes gathered; personal data found:\n{}", hay.bytes(), hits.join("\n"));
}

#[test]
fn the_matchers_find_what_they_should() {
    assert_eq!(find_word("a P100001 b", "P100001"), Some(2));
    assert_eq!(find_word("xP100001", "P100001"), None);
    assert_eq!(find_word("P1000012", "P100001"), None);
    assert!(find_word("sn=P100001,", "P100001").is_some());
    assert!(find_level(r#""vetting_level":"DV""#, "DV").is_some());
    assert!(find_level("vetting_level=SC rank", "SC").is_some());
    assert!(find_level("vetting_level=eSC", "SC").is_none());
    assert!(find_level("level: DVX", "DV").is_none());
    assert!(find_level("abcDVdef", "DV").is_none());
}
