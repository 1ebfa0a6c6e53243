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
    let card = env.json(&["card", "request", "--person", &person, "--type", "staff_pass"]);
    let card = card["id"].as_str().unwrap();
    let png = env.path("front.png");
    let err = env.fails(
        2,
        &["card", "render", card, "--out", png.to_str().unwrap(), "--side", "front", "--purpose", "card_print"],
    );
    assert!(err.contains("approve it first"), "{err}");
    // A second card of the same type while one is in service is refused,
    // naming the live card.
    let err = env.fails(2, &["card", "request", "--person", &person, "--type", "staff_pass"]);
    assert!(err.contains(&format!("card {card} (requested)")) && err.contains("reissue"), "{err}");
}

/// `--json` errors are JSON on stdout (with the exit code), and only when
/// no answer was written; a page cap is said, with the cursor to page on.
#[test]
fn json_errors_are_json_and_a_page_says_where_the_next_begins() {
    let env = Env::sqlite();
    env.init();
    for sn in ["PG1", "PG2", "PG3"] {
        env.add(sn, "Pager");
    }
    let out = env.run(&["--json", "card", "show", "LY-NOPE-NOPE"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["exit"], 1, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("no card"), "{v}");
    let out = env.run(&["--json", "breach", "scope", "--from", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "error", "{v}");

    // Past the cap, said; a full page gives the cursor.
    let err = env.fails(2, &["person", "list", "--limit", "1000000"]);
    assert!(err.contains("1000000") && err.contains("10000"), "{err}");
    let page = env.json(&["person", "list", "--limit", "2"]);
    let next = page["next_after"].as_str().unwrap().to_owned();
    assert_eq!(page["people"].as_array().unwrap().len(), 2);
    let rest = env.json(&["person", "list", "--limit", "2", "--after", &next]);
    assert_eq!(rest["people"].as_array().unwrap().len(), 1);
    assert!(rest["next_after"].is_null(), "{rest}");
    let human = env.ok(&["person", "list", "--limit", "2"]);
    assert!(human.contains(&format!("more: lanyard person list --limit 2 --after {next}")), "{human}");
}
