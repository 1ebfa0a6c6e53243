//! The PKCS#11 key provider through the CLI, against SoftHSM2 with a private
//! token directory. Skips with a reason when SoftHSM2 is absent.

use std::path::Path;
use std::process::Command;

use crate::util::Env;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

#[test]
fn register_on_a_softhsm_token() {
    if !Path::new(MODULE).exists() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("SKIP pkcs11: SoftHSM2 not installed ({MODULE} missing)\n").as_bytes(),
        );
        return;
    }
    for env in Env::all() {
        let tokens = env.path("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = env.path("softhsm2.conf");
        std::fs::write(&conf, format!("directories.tokendir = {}\nobjectstore.backend = file\n", tokens.display()))
            .unwrap();
        let init = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", "lanyard", "--pin", "4321", "--so-pin", "8765"])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));

        let run = |pin: &str, args: &[&str]| {
            let mut c = env.cmd();
            c.env_remove("LANYARD_PASSPHRASE").env("SOFTHSM2_CONF", &conf).env("LANYARD_PKCS11_PIN", pin);
            c.args(args).output().unwrap()
        };
        let out =
            run("4321", &["init", "--key-provider", "pkcs11", "--pkcs11-module", MODULE, "--pkcs11-token", "lanyard"]);
        assert!(out.status.success(), "[{}] {}", env.backend, String::from_utf8_lossy(&out.stderr));
        assert!(!env.data.join("keyring.json").exists(), "no keyring file with an HSM");
        let out = run(
            "4321",
            &[
                "--json",
                "person",
                "add",
                "--service-number",
                "H1",
                "--forenames",
                "Hal",
                "--surname",
                "Secure",
                "--rank",
                "Inspector",
            ],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let id: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let out = run(
            "4321",
            &["person", "show", id["id"].as_str().unwrap(), "--compartments", "identity", "--purpose", "hsm check"],
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Secure"));
        let out = run("4321", &["--json", "keys", "status"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["provider"], "pkcs11");
        let out = run("4321", &["keys", "rotate", "identity"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = run("0000", &["person", "list"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("PKCS#11"), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
