//! `lanyard audit`: checkpoints and proofs, checked with nothing but the
//! verifier key, as an outside reviewer would.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lanyard_audit::checkpoint::NoteVerifier;
use lanyard_audit::merkle::{Hash, verify_consistency, verify_inclusion};

use crate::util::Env;

fn hash(v: &serde_json::Value) -> Hash {
    B64.decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

#[test]
fn checkpoints_and_proofs_verify_with_only_the_verifier_key() {
    for env in Env::all() {
        env.init();
        for i in 0..5 {
            env.add(&format!("AU{i}"), "Audited");
        }
        let key = env.ok(&["audit", "verifier-key"]).trim().to_owned();
        let verifier = NoteVerifier::parse(&key).unwrap();
        let old = env.ok(&["audit", "checkpoint"]);
        let old_cp = verifier.verify(&old).unwrap();
        assert!(old_cp.size >= 6, "[{}] init + 5 adds + key creation", env.backend);
        let old_file = env.path("old.checkpoint");
        std::fs::write(&old_file, &old).unwrap();

        // The log grows: reads are events too.
        env.ok(&["person", "find", "--surname", "audited", "--compartments", "identity", "--purpose", "review"]);
        env.add("AU9", "Later");

        // Event 1 is the first person.create; prove it is in the log.
        let event = env.json(&["audit", "event", "1"]);
        assert!(event["event"].as_str().unwrap().contains("person.create"));
        assert!(!event["event"].as_str().unwrap().contains("Audited"));
        let p = env.json(&["audit", "prove", "inclusion", "--index", "1"]);
        let cp = verifier.verify(p["checkpoint"].as_str().unwrap()).unwrap();
        assert_eq!(cp.size, p["tree_size"].as_u64().unwrap());
        assert!(cp.size > old_cp.size);
        let leaf = hash(&p["leaf_hash"]);
        assert_eq!(leaf, hash(&event["leaf_hash"]));
        let path: Vec<Hash> = p["hashes"].as_array().unwrap().iter().map(hash).collect();
        assert!(verify_inclusion(&leaf, 1, cp.size, &path, &cp.root), "[{}]", env.backend);
        // The event bytes hash to that leaf.
        let bytes = B64.decode(event["event_base64"].as_str().unwrap()).unwrap();
        assert_eq!(lanyard_audit::leaf_hash(&bytes), leaf);

        // The log only grew since the old checkpoint.
        let c = env.json(&["audit", "prove", "consistency", "--from", old_file.to_str().unwrap()]);
        let new_cp = verifier.verify(c["checkpoint"].as_str().unwrap()).unwrap();
        let proof: Vec<Hash> = c["hashes"].as_array().unwrap().iter().map(hash).collect();
        assert!(verify_consistency(old_cp.size, new_cp.size, &old_cp.root, &new_cp.root, &proof));

        // A forged old checkpoint is refused.
        let forged = old.replacen(&old_cp.size.to_string(), &(old_cp.size + 1).to_string(), 1);
        std::fs::write(&old_file, forged).unwrap();
        let err = env.fails(2, &["audit", "prove", "consistency", "--from", old_file.to_str().unwrap()]);
        assert!(err.contains("bad signature"), "{err}");
        env.fails(2, &["audit", "prove", "inclusion", "--index", "100000"]);
        env.fails(2, &["audit", "event", "100000"]);
    }
}
