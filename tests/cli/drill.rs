//! Issue 16's South Yorkshire drill: a verified backup; a tenth of the
//! photos deleted out of band with SQL; the watch names exactly those
//! people and the photo compartment in one pass; the restore brings every
//! photo back and `audit verify` passes. (A store put back from an older
//! copy instead is caught by the witness: `witness.rs`.)

use crate::util::{Env, jpeg_with_gps};

fn id_literal(env: &Env, id: &str) -> String {
    if env.database_url.is_some() { format!("'{id}'") } else { format!("X'{}'", id.replace('-', "")) }
}

#[test]
fn south_yorkshire_drill() {
    for env in Env::all() {
        let b = env.backend;
        env.init();
        let photo = env.path("p.jpg");
        jpeg_with_gps(&photo);
        let mut ids = Vec::new();
        for i in 0..20 {
            let v = env.json(&[
                "person",
                "add",
                "--service-number",
                &format!("SY{i:04}"),
                "--forenames",
                "Robin",
                "--surname",
                &format!("Drill{i}"),
                "--rank",
                "Police Constable",
                "--photo",
                photo.to_str().unwrap(),
            ]);
            ids.push(v["id"].as_str().unwrap().to_owned());
        }
        let secret = age::x25519::Identity::generate();
        let key = env.path("ops.key");
        std::fs::write(&key, format!("{}\n", age::secrecy::ExposeSecret::expose_secret(&secret.to_string()))).unwrap();
        let file = env.path("drill.age");
        let f = file.to_str().unwrap();
        env.ok(&["backup", "create", "--out", f, "--recipient", &secret.to_public().to_string()]);
        env.ok(&["backup", "verify", f, "--identity", key.to_str().unwrap()]);
        let out = env.ok(&["watch", "--once"]);
        assert!(out.contains("all well"), "[{b}] {out}");

        // A tenth of the photos, gone behind lanyard's back.
        let gone = [ids[3].clone(), ids[11].clone()];
        let list = gone.iter().map(|id| id_literal(&env, id)).collect::<Vec<_>>().join(", ");
        crate::audit::tamper(
            &env,
            &[format!("DELETE FROM sealed WHERE compartment = 'photo' AND person_id IN ({list})")],
        );
        let out = env.run(&["watch", "--once"]);
        assert_eq!(out.status.code(), Some(1), "[{b}]");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains("ALERT compartment_lost: 2 people's photo compartment deleted"), "[{b}] {text}");
        let people_line = text.lines().find(|l| l.trim_start().starts_with("people:")).unwrap();
        let named: std::collections::BTreeSet<&str> =
            people_line.trim_start()["people:".len()..].split_whitespace().collect();
        assert_eq!(named, gone.iter().map(String::as_str).collect(), "[{b}] exactly those people");
        assert!(text.contains("ALERT volume_fall: compartment photo fell from 20 to 18"), "[{b}] {text}");
        let alerts: Vec<_> = env.events().into_iter().filter(|e| e.action == "watch.alert").collect();
        assert!(alerts.iter().any(|e| e.detail.as_ref().unwrap()["kind"] == "compartment_lost"), "[{b}]");

        if env.database_url.is_none() {
            env.ok(&["backup", "restore", f, "--identity", key.to_str().unwrap()]);
            assert!(env.ok(&["audit", "verify"]).contains("0 findings"), "[{b}] after the restore");
            for id in &ids {
                let out = env.path("back.jpg");
                env.ok(&[
                    "person",
                    "show",
                    id,
                    "--compartments",
                    "photo",
                    "--purpose",
                    "audit_review",
                    "--photo-out",
                    out.to_str().unwrap(),
                ]);
                assert!(std::fs::metadata(&out).unwrap().len() > 100, "[{b}] {id}'s photo opens");
            }

            // And a store put back from an older copy, not restored, is
            // caught by the witness.
            let _w = crate::witness::witness(&env);
            env.add("SY9000", "Witnessed");
            let copy = env.path("copy");
            std::fs::create_dir_all(&copy).unwrap();
            for f in std::fs::read_dir(&env.data).unwrap() {
                let f = f.unwrap();
                if f.path().is_file() {
                    std::fs::copy(f.path(), copy.join(f.file_name())).unwrap();
                }
            }
            env.add("SY9001", "Witnessed");
            std::fs::remove_dir_all(&env.data).unwrap();
            std::fs::rename(&copy, &env.data).unwrap();
            let out = env.run(&["audit", "verify"]);
            assert_eq!(out.status.code(), Some(1));
            assert!(String::from_utf8_lossy(&out.stdout).contains("the log was cut short or the store put back"));
        }
    }
}
