//! Issue 17: the command line's Unix manners, each as a user met it.

use crate::util::Env;

/// A reader that goes away (`lanyard … | head`) ends the output quietly,
/// with exit 0, in plain and JSON output alike, as for any Unix tool; and
/// what the command did is still in the log.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let env = Env::sqlite();
    env.init();
    env.add("PIPE1", "Piper");
    for args in [&["audit", "verify"][..], &["--json", "audit", "verify"], &["person", "list"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = env.std_cmd().args(args).stdout(writer).stderr(std::process::Stdio::piped()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("internal error"), "{args:?}: {stderr}");
    }
    let out = env.ok(&["audit", "verify"]);
    assert!(out.contains("0 findings"), "{out}");
}

/// A missing card is a negative answer (exit 1), as a missing person is;
/// and a card that cannot do something yet says what to do first.
#[test]
fn a_missing_card_exits_1_and_a_refused_move_says_what_comes_first() {
    let env = Env::sqlite();
    env.init();
    let person = env.add("MAN1", "Manners");
    let err = env.fails(1, &["card", "show", "LY-NOPE-NOPE"]);
    assert!(err.contains("no card"), "{err}");
    env.fails(1, &["person", "show", &crate::util::uuid_simple(), "--compartments", "identity", "--purpose", "other"]);
    let card = env.json(&["--operator", "clerk", "card", "request", "--person", &person, "--type", "staff_pass"]);
    let card = card["id"].as_str().unwrap();
    let png = env.path("front.png");
    let err = env.fails(
        2,
        &["card", "render", card, "--out", png.to_str().unwrap(), "--side", "front", "--purpose", "card_print"],
    );
    assert!(err.contains("approve it first"), "{err}");
    // A second card of the same type while one is in service is refused,
    // naming the live card.
    let err = env.fails(2, &["--operator", "clerk", "card", "request", "--person", &person, "--type", "staff_pass"]);
    assert!(err.contains(&format!("card {card} (requested)")) && err.contains("reissue"), "{err}");
}
