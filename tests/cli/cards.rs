//! `lanyard card`, `keys export-verifier`, `status-list export` and
//! `verify`, as an ID office, an approver and a door would use them.

use crate::util::Env;

/// Requests (as alice) and approves (as bob) a warrant card; returns its id.
fn approved_card(env: &Env, sn: &str) -> String {
    let card = env.json(&["card", "request", "--person", sn, "--type", "warrant_card"]);
    let id = card["id"].as_str().unwrap().to_owned();
    env.approve_as(&id, "bob");
    id
}

fn verify(env: &Env, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut full = vec!["--json", "verify", "--bundle"];
    let bundle = env.path("bundle.json");
    full.push(bundle.to_str().unwrap());
    full.extend_from_slice(args);
    let out = env.run(&full);
    (out.status.code(), serde_json::from_slice(&out.stdout).unwrap_or_default())
}

#[test]
fn a_card_from_request_to_revocation_at_the_door() {
    for env in Env::all() {
        env.init();
        env.add("CL900", "Quayle");
        let id = approved_card(&env, "CL900");

        // Break-glass never approves (dual control signed in is signin.rs's).
        let other = env.json(&["card", "request", "--person", "CL900", "--type", "staff_pass"]);
        let err = env.fails(2, &["card", "approve", other["id"].as_str().unwrap()]);
        assert!(err.contains("break-glass") && err.contains("lanyard login"), "{err}");
        // An illegal move names the state.
        let err = env.fails(2, &["card", "issue", &id]);
        assert!(err.contains("is approved; it cannot issue"), "{err}");

        env.ok(&["card", "print", &id]);
        let shown = env.json(&["card", "issue", &id]);
        assert_eq!(shown["state"], "issued");

        env.ok(&["keys", "export-verifier", "--out", env.path("bundle.json").to_str().unwrap()]);
        let qr = env.ok(&["card", "qr", &id, "--purpose", "print the card"]);
        let qr = qr.trim();
        assert!(qr.starts_with("LY1:") && qr.len() <= 400, "{} characters", qr.len());

        let list = env.path("list.cwt");
        let list_arg = list.to_str().unwrap();
        env.ok(&["status-list", "export", "--out", list_arg]);
        let (code, v) = verify(&env, &["--status-list", list_arg, "--qr", qr]);
        assert_eq!((code, v["verdict"].as_str()), (Some(0), Some("valid")), "{v}");
        assert_eq!(v["claims"]["name"], "Robin Quayle");
        assert_eq!(v["claims"]["rank"], "Police Sergeant");
        assert_eq!(v["claims"]["number"], "CL900");
        assert!(v["claims"].get("unit").is_none() && !v.to_string().contains("Roads"), "only what is printed");

        env.ok(&["card", "suspend", &id]);
        env.ok(&["status-list", "export", "--out", list_arg]);
        assert_eq!(verify(&env, &["--status-list", list_arg, "--qr", qr]).1["verdict"], "suspended");
        env.ok(&["card", "resume", &id]);

        // Reported lost: reissue revokes at once and requests a new id.
        let re = env.json(&["card", "reissue", &id, "--reason", "lost"]);
        assert_eq!(re["revoked"]["state"], "revoked");
        assert_ne!(re["requested"]["id"], id.as_str());
        env.ok(&["status-list", "export", "--out", list_arg]);
        let (code, v) = verify(&env, &["--status-list", list_arg, "--qr", qr]);
        assert_eq!((code, v["verdict"].as_str()), (Some(1), Some("revoked")));

        let err = env.fails(2, &["card", "revoke", &id, "--reason", "misplaced"]);
        assert!(err.contains("unknown reason"), "{err}");
        let listed = env.json(&["card", "list", "--state", "revoked"]);
        assert_eq!(listed.as_array().unwrap().len(), 1);
    }
}

#[test]
fn verdicts_for_time_tampering_and_foreign_bundles() {
    let env = Env::sqlite();
    env.init();
    env.add("CL901", "Okafor");
    let id = approved_card(&env, "CL901");
    env.ok(&["keys", "export-verifier", "--out", env.path("bundle.json").to_str().unwrap()]);
    let qr = env.ok(&["card", "qr", &id, "--purpose", "check"]).trim().to_owned();

    let (code, v) = verify(&env, &["--qr", &qr, "--at", "2099-01-01"]);
    assert_eq!((code, v["verdict"].as_str()), (Some(1), Some("expired")));
    let (code, v) = verify(&env, &["--qr", &qr, "--at", "2001-01-01"]);
    assert_eq!((code, v["verdict"].as_str()), (Some(1), Some("not_yet_valid")));

    // One character changed in the base45 body.
    let mut tampered: Vec<char> = qr.chars().collect();
    let at = tampered.len() / 2;
    tampered[at] = if tampered[at] == '0' { '1' } else { '0' };
    let tampered: String = tampered.into_iter().collect();
    let (code, v) = verify(&env, &["--qr", &tampered]);
    assert_eq!(code, Some(1));
    assert!(matches!(v["verdict"].as_str(), Some("bad_signature" | "malformed")), "{v}");
    assert!(v.get("claims").is_none(), "nothing unsigned is shown");

    let (code, v) = verify(&env, &["--qr", "HC1:NCFOXN"]);
    assert_eq!((code, v["verdict"].as_str()), (Some(1), Some("malformed")));

    // Another force's bundle.
    let other = Env::sqlite();
    other.init();
    other.ok(&["keys", "export-verifier", "--out", env.path("bundle.json").to_str().unwrap()]);
    let (code, v) = verify(&env, &["--qr", &qr]);
    assert_eq!(code, Some(1));
    assert!(matches!(v["verdict"].as_str(), Some("unknown_issuer" | "bad_signature")), "{v}");

    // A bundle that is not one is an error (2), not a verdict.
    std::fs::write(env.path("bundle.json"), "{\"issuer\": 7}").unwrap();
    let out = env.run(&["verify", "--bundle", env.path("bundle.json").to_str().unwrap(), "--qr", &qr]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trust bundle: wrong fields or types at line 1"));
}

#[test]
fn a_rendered_card_verifies_from_its_picture_until_it_is_revoked() {
    let env = Env::sqlite();
    env.init();
    env.add("CL902", "Okonkwo-Fairweather");
    let id = approved_card(&env, "CL902");
    env.ok(&["keys", "export-verifier", "--out", env.path("bundle.json").to_str().unwrap()]);
    let png = env.path("card.png");
    let files = env.json(&["card", "render", &id, "--out", png.to_str().unwrap(), "--purpose", "print"]);
    assert_eq!(files["files"].as_array().unwrap().len(), 2, "front and back");
    let front = env.path("card-front.png");
    let list = env.path("list.cwt");
    env.ok(&["status-list", "export", "--out", list.to_str().unwrap()]);
    // Approved and printed, but not yet in its holder's hands: a card taken
    // from the print run does not verify.
    let (code, v) = verify(&env, &["--status-list", list.to_str().unwrap(), "--image", front.to_str().unwrap()]);
    assert_eq!((code, v["verdict"].as_str()), (Some(1), Some("suspended")), "{v}");
    // Without a list (and its address unreachable) the card's status is
    // unknown, never valid, unless that is accepted out loud.
    let (code, v) = verify(&env, &["--image", front.to_str().unwrap()]);
    assert_eq!((code, v["verdict"].as_str()), (Some(1), Some("status_unknown")), "{v}");
    assert!(v["status_list_unavailable"].is_string(), "{v}");
    env.ok(&["card", "print", &id]);
    env.ok(&["card", "issue", &id]);
    let (code, v) = verify(&env, &["--accept-unchecked-status", "--image", front.to_str().unwrap()]);
    assert_eq!((code, v["verdict"].as_str()), (Some(0), Some("valid")), "{v}");
    assert_eq!(v["accepted_unchecked_status"], true, "{v}");
    assert_eq!(v["status_checked"], false, "{v}");
    env.ok(&["status-list", "export", "--out", list.to_str().unwrap()]);
    for side in ["card-front.png", "card-back.png"] {
        let (code, v) =
            verify(&env, &["--status-list", list.to_str().unwrap(), "--image", env.path(side).to_str().unwrap()]);
        assert_eq!((code, v["verdict"].as_str()), (Some(0), Some("valid")), "{side}: {v}");
    }
    // An independent decoder reads the same text.
    if let Ok(out) = std::process::Command::new("zbarimg").args(["--raw", "-q"]).arg(&front).output() {
        let qr = env.ok(&["card", "qr", &id, "--purpose", "compare"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), qr.trim(), "zbarimg");
    } else {
        eprintln!("SKIP zbarimg cross-check: zbar-tools not installed");
    }

    env.ok(&["card", "revoke", &id, "--reason", "stolen"]);
    env.ok(&["status-list", "export", "--out", list.to_str().unwrap()]);
    let (code, v) = verify(&env, &["--status-list", list.to_str().unwrap(), "--image", front.to_str().unwrap()]);
    assert_eq!((code, v["verdict"].as_str()), (Some(1), Some("revoked")));

    // A vector PDF with a page per side and the fonts inside.
    let pdf = env.path("card.pdf");
    env.ok(&["card", "render", &id, "--out", pdf.to_str().unwrap(), "--purpose", "print"]);
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-") && String::from_utf8_lossy(&bytes).contains("/FontFile2"));
    if let Ok(out) = std::process::Command::new("pdftotext").arg(&pdf).arg("-").output() {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Okonkwo-Fairweather") && text.contains("If found, please return to"), "{text}");
    } else {
        eprintln!("SKIP pdftotext check: poppler-utils not installed");
    }
    let err = env.fails(2, &["card", "render", &id, "--out", "x.svg", "--purpose", "p"]);
    assert!(err.contains(".png or .pdf"), "{err}");
}

#[test]
fn zones_permits_and_door_decisions() {
    let env = Env::sqlite();
    env.init();
    let person = env.add("CL903", "Adeyemi"); // vetted MV
    env.ok(&["zone", "add", "HQ", "--name", "Headquarters", "--accepts", "MV"]);
    env.ok(&["zone", "add", "ARMOURY", "--name", "Armoury", "--accepts", "SC"]);
    let grant = |zone: &str| {
        env.run(&["permit", "grant", "--person", &person, "--zone", zone, "--from", "2020-01-01", "--to", "2099-01-01"])
    };
    assert!(grant("HQ").status.success());
    let refused = grant("ARMOURY");
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("permit refused: vetting_insufficient") && !err.contains("MV"), "{err}");

    let id = approved_card(&env, "CL903");
    env.ok(&["card", "print", &id]);
    env.ok(&["card", "issue", &id]);
    let qr = env.ok(&["card", "qr", &id, "--purpose", "door test"]);
    let allow = env.json(&["access", "check", "--qr", qr.trim(), "--zone", "HQ"]);
    assert_eq!((allow["allow"].as_bool(), allow["reason"].as_str()), (Some(true), Some("permit")));
    let out = env.run(&["--json", "access", "check", "--card", &id, "--zone", "ARMOURY"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reason"], "no_permit");
    let listed = env.json(&["permit", "list", "--person", &person]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
}
