//! Interoperability with an independent COSE implementation (pycose):
//! lanyard accepts the credential pycose signed (`tests/vectors`, from the
//! shared design vectors) and rejects its tampered twin; and pycose, given
//! only the trust bundle's key, verifies a credential lanyard signed.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::Command;
use std::sync::Arc;

use lanyard_credential::claims::StatusRef;
use lanyard_credential::{CardClaims, IssuerSigner, TrustBundle, Verdict, issue_qr, key_id, qr, verify_qr};
use lanyard_crypto::{Ed25519Key, Key32};

fn vector() -> serde_json::Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/credential-cose-v1.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

const NOW: i64 = 1_800_000_000;

#[test]
fn accepts_the_pycose_vector_and_rejects_its_tampered_twin() {
    let v = vector();
    let bundle = TrustBundle::from_json(v["bundle"].to_string().as_bytes()).unwrap();
    let good = verify_qr(v["qr_text"].as_str().unwrap(), &bundle, None, NOW).unwrap();
    // The signature verifies; with no status list the verdict stops short
    // of valid.
    assert_eq!(good.verdict, Verdict::StatusUnknown, "{:?}", good.reason);
    let claims = good.claims.unwrap();
    assert_eq!(claims.name, "Ada Quayle");
    assert_eq!(claims.zones, ["NSY-L5", "ARMOURY"]);
    assert_eq!(claims.status, Some(StatusRef { idx: 4711, uri: "https://lanyard.example/v1/status-lists/1".into() }));
    // The QR text carries exactly the COSE bytes of the vector.
    let cose = qr::decode_text(v["qr_text"].as_str().unwrap()).unwrap();
    assert_eq!(hex(&cose), v["cose_sign1_hex"].as_str().unwrap());

    let bad = verify_qr(v["qr_text_tampered"].as_str().unwrap(), &bundle, None, NOW).unwrap();
    assert!(matches!(bad.verdict, Verdict::BadSignature | Verdict::Malformed), "{:?}", bad.verdict);
    assert!(bad.claims.is_none());
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn pycose_verifies_a_lanyard_credential() {
    // Only a venv holding exactly the pinned versions: a result must not
    // depend on whichever pycose happens to be installed.
    let Some(python) = std::env::var_os("LANYARD_PYCOSE_PYTHON") else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIP pycose interop: LANYARD_PYCOSE_PYTHON is not set (a venv from tests/pycose-requirements.txt; .ci/run makes one)\n",
        );
        return;
    };
    let pins = include_str!("pycose-requirements.txt");
    let check = format!(
        "import importlib.metadata as m, sys\npins = {pins:?}\nfor line in pins.splitlines():\n    line = line.strip()\n    \
         if not line or line.startswith('#'): continue\n    name, want = line.split('==')\n    \
         have = m.version(name)\n    assert have == want, f'{{name}} {{have}} is not the pinned {{want}}'\n"
    );
    let probe = Command::new(&python).args(["-c", &check]).output().unwrap();
    assert!(
        probe.status.success(),
        "LANYARD_PYCOSE_PYTHON does not hold the pinned packages: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let signer = IssuerSigner { kid: key_id(7), key: Arc::new(Ed25519Key::from_seed(&Key32::random())) };
    let claims = CardClaims {
        issuer: "lanyard.example/force".into(),
        card_id: "C7K3M9Q2X4".into(),
        issued_at: 1_764_288_000,
        not_before: 1_764_288_000,
        expires_at: 1_890_518_400,
        name: "Ada Quayle".into(),
        rank: Some("Inspector".into()),
        number: "900001".into(),
        card_type: "warrant_card".into(),
        zones: vec!["ARMOURY".into()],
        status: Some(StatusRef { idx: 12, uri: "https://lanyard.example/v1/status-lists/1".into() }),
    };
    let text = issue_qr(&claims, &signer).unwrap();
    let cose = qr::decode_text(&text).unwrap();
    let jwk = signer.jwk();
    // pycose decodes the COSE bytes and verifies with the bundle's key alone;
    // it prints the claims it read, which we compare.
    let script = r#"
import sys, base64, cbor2
from pycose.messages import Sign1Message
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.headers import KID
def b64u(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
cose, kid, x = bytes.fromhex(sys.argv[1]), b64u(sys.argv[2]), b64u(sys.argv[3])
msg = Sign1Message.decode(cose)
if msg.phdr[KID] != kid:
    sys.exit("kid differs")
msg.key = OKPKey(crv=Ed25519, x=x)
if not msg.verify_signature():
    sys.exit("signature did not verify")
claims = cbor2.loads(msg.payload)
print(claims[2], claims["num"], claims[65535]["status_list"]["idx"])
"#;
    let out = Command::new(&python).args(["-c", script, &hex(&cose), &jwk.kid, &jwk.x]).output().unwrap();
    assert!(out.status.success(), "pycose refused: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "C7K3M9Q2X4 900001 12");

    // And it refuses the same credential under another key.
    let other = lanyard_credential::IssuerKey::ed25519(b"k7", &[0x11; 32]);
    let out = Command::new(&python).args(["-c", script, &hex(&cose), &jwk.kid, &other.x]).output().unwrap();
    assert!(!out.status.success());
}
