//! The witness over HTTP, as C2SP `tlog-witness` specifies it: every
//! status of `add-checkpoint`, the state kept across a restart, and
//! interop with an independent signed-note implementation (`signed_note`):
//! a log signed by it is witnessed, and the cosigned note reads there, the
//! log's line verified and the witness's key id as that implementation
//! computes it.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use lanyard_audit::checkpoint::Checkpoint;
use lanyard_audit::merkle::{Hash, MemoryTree, consistency_proof, root};
use lanyard_note::Verifier;
use lanyard_witness::Witness;
use lanyard_witness::client::{self, Answer};
use lanyard_witness::state::DataDir;

const ORIGIN: &str = "lanyard.example/force-audit";

/// A log: its tree, and its key, which signs checkpoints through the
/// independent implementation.
struct Log {
    tree: MemoryTree,
    signer: signed_note::StandardSigner,
    vkey: String,
}

impl Log {
    fn new(seed: u8, leaves: &str, n: u64) -> Self {
        let public = SigningKey::from_bytes(&[seed; 32]).verifying_key().to_bytes();
        let vkey = Verifier::new(ORIGIN, &public).unwrap().to_key_string();
        let id = signed_note::key_id(ORIGIN, &[&[0x01][..], &public].concat());
        let skey = format!("PRIVATE+KEY+{ORIGIN}+{id:08x}+{}", B64.encode([&[0x01][..], &[seed; 32]].concat()));
        let leaves = (0..n).map(|i| lanyard_audit::leaf_hash(format!("{leaves} {i}").as_bytes())).collect();
        Log { tree: MemoryTree::new(leaves), signer: signed_note::StandardSigner::new(&skey).unwrap(), vkey }
    }

    fn grow(&mut self, n: u64) {
        for _ in 0..n {
            self.tree.push(lanyard_audit::leaf_hash(format!("event {}", self.tree.size()).as_bytes()));
        }
    }

    fn body(&self, size: u64) -> String {
        Checkpoint { origin: ORIGIN.into(), size, root: root(&self.tree, size).unwrap() }.body()
    }

    fn checkpoint(&self, size: u64) -> String {
        let mut note = signed_note::Note::new(self.body(size).as_bytes(), &[]).unwrap();
        note.add_sigs(&[&self.signer]).unwrap();
        String::from_utf8(note.to_bytes()).unwrap()
    }

    fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        consistency_proof(&self.tree, old, new).unwrap()
    }
}

async fn serve(dir: &std::path::Path) -> (String, tokio::task::JoinHandle<()>) {
    let witness = Arc::new(Witness::open(DataDir::new(dir)).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = lanyard_witness::server::router(witness);
    (url, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

#[tokio::test]
async fn add_checkpoint_answers_as_the_spec_says_and_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    let cosigner = data.init("witness.example/w1").unwrap();
    let mut log = Log::new(7, "event", 10);
    let (url, server) = serve(dir.path()).await;
    let http = client::http();

    let answer = client::submit(&http, &url, 0, &[], &log.checkpoint(10)).await.unwrap();
    assert!(matches!(answer, Answer::Refused(404, _)), "an unknown origin: {answer:?}");
    server.abort();
    data.add_log(&log.vkey).unwrap();
    let (url, server) = serve(dir.path()).await;

    let forger = Log::new(8, "event", 10);
    let answer = client::submit(&http, &url, 0, &[], &forger.checkpoint(10)).await.unwrap();
    assert!(matches!(answer, Answer::Refused(403, _)), "another key: {answer:?}");
    let answer = client::submit(&http, &url, 11, &[], &log.checkpoint(10)).await.unwrap();
    assert!(matches!(answer, Answer::Refused(400, _)), "old above size: {answer:?}");

    let answer = client::submit(&http, &url, 0, &[], &log.checkpoint(10)).await.unwrap();
    let Answer::Cosigned(lines) = answer else { panic!("the first checkpoint is cosigned: {answer:?}") };
    let time = cosigner.verifier().verify(&log.body(10), &lines).unwrap();
    assert!(time > 1_700_000_000, "a POSIX time: {time}");

    log.grow(7);
    let answer = client::submit(&http, &url, 10, &log.proof(10, 17), &log.checkpoint(17)).await.unwrap();
    assert!(matches!(answer, Answer::Cosigned(_)), "grown, with its proof: {answer:?}");
    let answer = client::submit(&http, &url, 10, &log.proof(10, 17), &log.checkpoint(17)).await.unwrap();
    assert_eq!(answer, Answer::Conflict(17), "a stale old size");
    log.grow(3);
    let mut proof = log.proof(17, 20);
    proof[0][0] ^= 1;
    let answer = client::submit(&http, &url, 17, &proof, &log.checkpoint(20)).await.unwrap();
    assert!(matches!(answer, Answer::Refused(422, _)), "a bad proof: {answer:?}");

    // After a restart: a history rewritten at 17, and a tail cut off.
    server.abort();
    let (url, _server) = serve(dir.path()).await;
    let forged = Log::new(7, "forged", 17);
    let answer = client::submit(&http, &url, 17, &[], &forged.checkpoint(17)).await.unwrap();
    assert_eq!(answer, Answer::Conflict(17), "a rewritten history");
    let answer = client::submit(&http, &url, 0, &[], &log.checkpoint(12)).await.unwrap();
    assert_eq!(answer, Answer::Conflict(17), "a truncated log");

    // Interop: the cosigned note read by the independent implementation.
    let answer = client::submit(&http, &url, 17, &[], &log.checkpoint(17)).await.unwrap();
    let Answer::Cosigned(lines) = answer else { panic!("the same checkpoint is cosigned again: {answer:?}") };
    let cosigned = format!("{}{lines}", log.checkpoint(17));
    let note = signed_note::Note::from_bytes(cosigned.as_bytes()).unwrap();
    let log_key = signed_note::StandardVerifier::new(&log.vkey).unwrap();
    let (verified, others) = note.verify(&signed_note::VerifierList::new(vec![Box::new(log_key)])).unwrap();
    assert_eq!((verified.len(), others.len()), (1, 1));
    let witness_key = cosigner.verifier().to_key_string();
    let raw = B64.decode(witness_key.splitn(3, '+').nth(2).unwrap()).unwrap();
    assert_eq!(others[0].name(), "witness.example/w1");
    assert_eq!(others[0].id(), signed_note::key_id("witness.example/w1", &raw), "the key id the spec defines");
}
