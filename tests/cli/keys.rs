//! `keys status` and `keys rotate` through the CLI.

use crate::util::Env;

#[test]
fn status_and_rotation() {
    for env in Env::all() {
        env.init();
        for i in 0..5 {
            env.add(&format!("K{i}"), "Keyed");
        }
        let v = env.json(&["keys", "status"]);
        assert_eq!(v["provider"], "keyring");
        let pay = v["compartments"].as_array().unwrap().iter().find(|c| c["compartment"] == "pay").unwrap();
        assert_eq!(pay["current"], 1);
        assert_eq!(pay["versions"][0][2], 5);
        let out = env.ok(&["keys", "rotate", "pay", "--batch", "2"]);
        assert!(out.contains("key version 2") && out.contains("re-wrapped 5"), "{out}");
        let v = env.json(&["keys", "status"]);
        let pay = v["compartments"].as_array().unwrap().iter().find(|c| c["compartment"] == "pay").unwrap();
        assert_eq!(pay["current"], 2);
        assert_eq!(pay["versions"][1][2], 5);
        let v = env.json(&[
            "person",
            "find",
            "--service-number",
            "K3",
            "--compartments",
            "pay",
            "--purpose",
            "after rotation",
        ]);
        assert_eq!(v[0]["pay"]["salary"], "48231.00");
        let human = env.ok(&["keys", "status"]);
        assert!(human.contains("compartment pay") && human.contains("current version 2"), "{human}");
        env.fails(2, &["keys", "rotate", "salary"]);
    }
}
