//! `lanyard breach scope`: the exposed people, by actor, time window and
//! compartment, from the log alone, with a checkpoint proving completeness.

use lanyard_audit::checkpoint::NoteVerifier;

use crate::util::Env;

fn people(v: &serde_json::Value) -> Vec<String> {
    let mut p: Vec<String> =
        v["people"].as_array().unwrap().iter().map(|x| x["person"].as_str().unwrap().to_owned()).collect();
    p.sort();
    p
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn scope_by_actor_window_and_compartment() {
    for env in Env::all() {
        env.init();
        let ids: Vec<String> = (1..=4).map(|i| env.add(&format!("BR{i}"), &format!("Breach{i}"))).collect();
        let read = |who: &str, id: &str, comps: &str| {
            let out = env
                .cmd()
                .env("USER", who)
                .args(["person", "show", id, "--compartments", comps, "--purpose", "casework"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        };
        read("alice", &ids[0], "identity");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let between = time::OffsetDateTime::now_utc();
        std::thread::sleep(std::time::Duration::from_millis(20));
        read("bob", &ids[1], "pay");
        read("bob", &ids[2], "identity");
        let out = env
            .cmd()
            .env("USER", "alice")
            .args(["person", "find", "--surname", "breach4", "--compartments", "identity", "--purpose", "casework"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let t = between.format(&time::format_description::well_known::Rfc3339).unwrap();

        let v = env.json(&["breach", "scope", "--actor", "alice"]);
        assert_eq!(people(&v), sorted(vec![ids[0].clone(), ids[3].clone()]), "[{}]", env.backend);
        assert_eq!(v["actors"], serde_json::json!(["local:alice"]));
        assert_eq!(v["people_per_compartment"]["identity"], 2);
        assert!(v["people"][0]["fields"].as_array().unwrap().iter().any(|f| f == "surname"));

        let v = env.json(&["breach", "scope", "--actor", "local:bob", "--compartment", "pay"]);
        assert_eq!(people(&v), vec![ids[1].clone()]);
        assert_eq!(v["people"][0]["fields"], serde_json::json!(["salary", "pay_grade"]));

        let v = env.json(&["breach", "scope", "--from", &t]);
        assert_eq!(people(&v), sorted(vec![ids[1].clone(), ids[2].clone(), ids[3].clone()]));
        let v = env.json(&["breach", "scope", "--from", &t, "--actor", "alice"]);
        assert_eq!(people(&v), vec![ids[3].clone()]);
        let v = env.json(&["breach", "scope", "--to", &t]);
        assert_eq!(people(&v), vec![ids[0].clone()]);

        // Writes are not revelations: the clerk who added everyone exposed no one.
        let v = env.json(&["breach", "scope", "--actor", "tester"]);
        assert!(people(&v).is_empty());
        assert!(v["actor_events"].as_u64().unwrap() > 0, "{v}");
        // A name that never acted here is said so: "0 people" would read
        // as a clean answer to a mistyped name.
        let err = env.fails(1, &["breach", "scope", "--actor", "nobody-at-all"]);
        assert!(err.contains("nobody-at-all never appears as an actor in the log"), "{err}");
        assert!(!env.json(&["breach", "scope"]).as_object().unwrap().contains_key("actor_events"));

        // The answer is provably complete up to a signed checkpoint.
        let key = NoteVerifier::parse(env.ok(&["audit", "verifier-key"]).trim()).unwrap();
        let cp = key.verify(v["checkpoint"].as_str().unwrap()).unwrap();
        assert_eq!(cp.size, v["tree_size"].as_u64().unwrap());
        // Scoping is itself audited, and names nobody's data.
        assert!(env.ok(&["audit", "event", &cp.size.to_string()]).contains("breach.scope"));

        let report = env.path("art33.html");
        env.ok(&["breach", "scope", "--actor", "bob", "--report", report.to_str().unwrap()]);
        let html = std::fs::read_to_string(&report).unwrap();
        assert!(html.contains("Article 33") && html.contains("Number affected: <strong>2</strong>"), "{html}");
        assert!(html.contains("<td>identity</td><td>1</td>") && html.contains("<td>pay</td><td>1</td>"), "{html}");
        assert!(html.contains("local:bob") && html.contains("to complete") && html.contains("force-audit"));
        for i in 1..=4 {
            assert!(!html.contains(&format!("Breach{i}")) && !html.contains(&ids[i - 1]), "the report names nobody");
        }
        // Art. 34 notices: one per person, addressed by name, naming only
        // their own data; reading the names is an audited read.
        let letters = env.path("letters");
        env.ok(&["breach", "scope", "--actor", "bob", "--letters", letters.to_str().unwrap()]);
        let mut files: Vec<String> =
            std::fs::read_dir(&letters).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        files.sort();
        assert_eq!(files, sorted(vec![format!("{}.html", ids[1]), format!("{}.html", ids[2])]));
        let pay_letter = std::fs::read_to_string(letters.join(format!("{}.html", ids[1]))).unwrap();
        assert!(pay_letter.contains("Dear Robin Breach2,"), "{pay_letter}");
        assert!(pay_letter.contains("<strong>pay</strong>: salary, pay grade"), "{pay_letter}");
        assert!(!pay_letter.contains("Breach3") && !pay_letter.contains("identity</strong>"), "only their own data");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(letters.join(format!("{}.html", ids[1]))).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "notices are readable by their owner only");
        }
        let v = env.json(&["breach", "scope", "--actor", "tester"]);
        assert_eq!(people(&v), sorted(vec![ids[1].clone(), ids[2].clone()]), "addressing was audited");
        // Never overwritten.
        env.fails(2, &["breach", "scope", "--actor", "bob", "--letters", letters.to_str().unwrap()]);

        let human = env.ok(&["breach", "scope", "--actor", "bob"]);
        assert!(human.contains("2 people revealed") && human.contains(&ids[1]), "{human}");
        env.fails(2, &["breach", "scope", "--from", "yesterday"]);
        env.fails(2, &["breach", "scope", "--compartment", "salary"]);
        env.fails(2, &["breach", "scope", "--from", "2026-01-02", "--to", "2026-01-01"]);
    }
}
