//! The watch's webhook: alerts POSTed as JSON with an HMAC-SHA256 of the
//! body under the shared secret, retried when the receiver fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use hmac::{KeyInit, Mac};

use crate::util::Env;

/// Answers 503 to the first request and 204 to the second; returns the
/// second's signature header and body.
fn receiver() -> (String, std::thread::JoinHandle<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut last = (String::new(), Vec::new());
        for (i, stream) in listener.incoming().take(2).enumerate() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut length, mut signature) = (0usize, String::new());
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                let lower = l.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if lower.starts_with("x-lanyard-signature:") {
                    signature = l["x-lanyard-signature:".len()..].trim().to_owned();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let status = if i == 0 { "503 Service Unavailable" } else { "204 No Content" };
            write!(stream, "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").unwrap();
            last = (signature, body);
        }
        last
    });
    (url, handle)
}

#[test]
fn alerts_reach_the_webhook_signed_and_retried() {
    let env = Env::sqlite();
    env.init();
    let (url, received) = receiver();
    let path = env.data.join("lanyard.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!("\n[watch]\nwebhook = \"{url}\"\n"));
    std::fs::write(&path, text).unwrap();
    // No backup was ever verified: that alone is an alert.
    let out = env.cmd().env("LANYARD_WATCH_WEBHOOK_SECRET", "s3cret").args(["watch", "--once"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ALERT backup_age"));
    let (signature, body) = received.join().unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(&body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(signature, format!("sha256={expected}"));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["alerts"][0]["kind"], "backup_age");
}
