//! A client trying to hold the server, over raw sockets on loopback against
//! the real binary: headers sent a byte at a time, a connection opened and
//! left silent, a body that stops halfway, more connections than the
//! server takes, and a 100 MB body. Every loop here is bounded by a
//! deadline, and each case ends with the server still answering.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::serve::Server;
use crate::util::Env;

/// The limits the server under test runs with: short, so the test is too.
const LIMITS: &[&str] = &["--header-timeout", "1", "--request-timeout", "2", "--max-connections", "8"];

fn connect(base: &str) -> TcpStream {
    let addr = base.strip_prefix("http://").unwrap();
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    s
}

/// Reads what the server sends until it closes the connection or
/// `within` passes; `None` if it was still open then.
fn read_until_closed(s: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            // Reset by the server: closed too.
            Err(_) => return Some(got),
        }
    }
    None
}

fn status_of(answer: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(answer).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn still_answers(base: &str) {
    let mut s = connect(base);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(5)).unwrap_or_default();
    assert_eq!(status_of(&answer), Some(200), "the server still answers: {}", String::from_utf8_lossy(&answer));
}

#[test]
fn slow_headers_a_silent_connection_and_an_idle_keep_alive_are_closed() {
    let env = Env::sqlite();
    env.init();
    let server = Server::start_with(&env, LIMITS);

    // Headers a byte every 300 ms: never finished, cut off at the header
    // timeout (1 s), well before the 10 s this loop would allow.
    let mut s = connect(&server.base);
    let started = Instant::now();
    let request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed = false;
    for byte in request.iter().cycle().take(40) {
        if s.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        if read_until_closed(&mut s, Duration::from_millis(300)).is_some() {
            closed = true;
            break;
        }
    }
    assert!(closed, "a client sending headers a byte at a time is cut off");
    assert!(started.elapsed() < Duration::from_secs(5), "cut off near the header timeout: {:?}", started.elapsed());

    // Connected and silent.
    let mut s = connect(&server.base);
    assert!(read_until_closed(&mut s, Duration::from_secs(5)).is_some(), "a silent connection is closed");

    // One request answered, then left idle on keep-alive.
    let mut s = connect(&server.base);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut first = [0u8; 12];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    assert!(read_until_closed(&mut s, Duration::from_secs(5)).is_some(), "an idle keep-alive connection is closed");

    still_answers(&server.base);
    server.stop();
}

#[test]
fn a_body_that_stops_halfway_is_answered_503_in_problem_json() {
    let env = Env::sqlite();
    env.init();
    let server = Server::start_with(&env, LIMITS);
    let mut s = connect(&server.base);
    s.write_all(b"POST /v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":")
        .unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(8)).expect("the server gives up on the body");
    assert_eq!(status_of(&answer), Some(503), "{}", String::from_utf8_lossy(&answer));
    let text = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(text.contains("content-type: application/problem+json"), "{text}");
    assert!(text.contains("took too long"), "{text}");
    still_answers(&server.base);
    server.stop();
}

#[test]
fn connections_past_the_limit_are_told_503_and_served_again_once_freed() {
    let env = Env::sqlite();
    env.init();
    let server = Server::start_with(&env, &["--header-timeout", "3", "--max-connections", "8"]);
    // Eight connections that send nothing hold every slot...
    let mut idle: Vec<TcpStream> = (0..8).map(|_| connect(&server.base)).collect();
    // ...(the server takes them in the order they come; give it a moment)
    std::thread::sleep(Duration::from_millis(300));
    let mut ninth = connect(&server.base);
    let answer =
        read_until_closed(&mut ninth, Duration::from_secs(2)).expect("the ninth is answered and closed at once");
    assert_eq!(status_of(&answer), Some(503), "{}", String::from_utf8_lossy(&answer));
    let text = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(text.contains("retry-after: 1") && text.contains("application/problem+json"), "{text}");
    assert!(text.contains("/problems/busy"), "{text}");

    // The idle ones are closed at the header timeout, and the server takes
    // new clients again.
    for s in &mut idle {
        assert!(read_until_closed(s, Duration::from_secs(8)).is_some(), "an idle connection is closed");
    }
    still_answers(&server.base);
    server.stop();
}

/// The server's peak resident memory so far, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_100_mb_json_body_is_refused_at_the_limit_without_being_read() {
    let env = Env::sqlite();
    env.init();
    let server = Server::start_with(&env, LIMITS);
    let before = peak_rss_kib(server.pid());
    let chunk = vec![b' '; 64 * 1024];
    const HUNDRED_MB: usize = 100 * 1024 * 1024;

    // Declared up front: refused on the header, before any of the body.
    let mut s = connect(&server.base);
    s.write_all(
        format!(
            "POST /v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {HUNDRED_MB}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let _ = s.write_all(&chunk);
    let answer = read_until_closed(&mut s, Duration::from_secs(5)).expect("answered and closed");
    assert_eq!(status_of(&answer), Some(413), "{}", String::from_utf8_lossy(&answer));
    assert!(String::from_utf8_lossy(&answer).to_lowercase().contains("application/problem+json"));

    // Chunked, so the size is not known up front: read up to the limit
    // (1 MiB), then refused. Count what the server took before it said so.
    let mut s = connect(&server.base);
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    s.write_all(b"POST /v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let mut sent = 0usize;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while sent < HUNDRED_MB {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if s.write_all(&framed).is_err() {
            break;
        }
        sent += chunk.len();
        s.set_nonblocking(true).unwrap();
        let read = s.read(&mut buf);
        s.set_nonblocking(false).unwrap();
        match read {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                break;
            }
            Err(_) => {}
        }
    }
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    answer.extend(read_until_closed(&mut s, Duration::from_secs(5)).unwrap_or_default());
    assert_eq!(status_of(&answer), Some(413), "{}", String::from_utf8_lossy(&answer));
    // What the socket buffers held on top of the 1 MiB limit, at most.
    assert!(sent < 16 * 1024 * 1024, "the server let {sent} bytes in before refusing");
    let grew = peak_rss_kib(server.pid()).saturating_sub(before);
    assert!(grew < 32 * 1024, "the server's peak memory grew by {grew} KiB");
    still_answers(&server.base);
    server.stop();
}

#[test]
fn a_tls_handshake_never_started_is_dropped() {
    if std::process::Command::new("openssl").arg("version").output().is_err() {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), b"SKIP tls: openssl CLI not installed\n");
        return;
    }
    let env = Env::sqlite();
    env.init();
    let (cert, key) = crate::serve::self_signed(&env);
    let server = Server::start_with(
        &env,
        &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap(), "--header-timeout", "1"],
    );
    let addr = server.base.strip_prefix("https://").unwrap().to_owned();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    assert!(read_until_closed(&mut s, Duration::from_secs(5)).is_some(), "a silent TLS connection is dropped");
    server.stop();
}

/// Issue 20 item 2: scans run in a fixed number of slots, taken before the
/// upload is read, so uploads together cannot take more than that many
/// scans' memory. With one slot and no wait: an upload that stalls halfway
/// holds the slot; a second scan meanwhile is told 503 `scan_busy` with
/// Retry-After at once, having read nothing; once the first finishes, the
/// second goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_past_their_slots_are_told_503_and_go_through_once_one_frees() {
    let env = Env::sqlite();
    env.init();
    let secret = crate::serve::add_user(&env, "dee", "disclosure_officer");
    let server = Server::start_with(&env, &["--scan-slots", "1", "--scan-wait", "0", "--request-timeout", "20"]);
    let base = server.base.clone();
    let cookie = crate::contract::session_cookie(&base, "dee", &secret).await;
    let part = "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"reply.csv\"\r\n\r\nRank,Headcount\nConstable,6803\n\r\n--B--\r\n";

    // The first upload: headers and half its body, then nothing.
    let (head, tail) = part.split_at(part.len() / 2);
    let request = format!(
        "POST /v1/scan HTTP/1.1\r\nHost: localhost\r\nCookie: lanyard_session={cookie}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        part.len()
    );
    let mut stalled = connect(&base);
    stalled.write_all(request.as_bytes()).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let client = reqwest::Client::new();
    let scan = || {
        client
            .post(format!("{base}/v1/scan"))
            .header("cookie", format!("lanyard_session={cookie}"))
            .header("content-type", "multipart/form-data; boundary=B")
            .body(part)
            .send()
    };
    let busy = scan().await.unwrap();
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "5");
    let body: serde_json::Value = busy.json().await.unwrap();
    assert!(body["type"].as_str().unwrap().ends_with("/scan_busy"), "{body}");

    // The first finishes and is answered; its slot frees.
    stalled.write_all(tail.as_bytes()).unwrap();
    let answer = tokio::task::block_in_place(|| read_until_closed(&mut stalled, Duration::from_secs(15)))
        .expect("the stalled scan is answered once its body arrives");
    assert_eq!(status_of(&answer), Some(200), "{}", String::from_utf8_lossy(&answer));
    let again = scan().await.unwrap();
    assert_eq!(again.status(), 200);
    server.stop();
}

/// Issue 20: "two uploads to `POST /v1/scan` at once took the server to
/// 6.8 GB". Four bombs are uploaded at once to a server with two scan
/// slots (the others wait for one); each is answered "cannot inspect",
/// and the server's own high-water mark (`VmHWM`) stays under twice the
/// 512 MiB a scan may take.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bombs_uploaded_together_stay_within_the_scan_memory() {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIP no /proc here to read the server peak memory from\n",
        );
        return;
    };
    assert!(status.contains("VmHWM"));
    let env = Env::sqlite();
    env.init();
    let secret = crate::serve::add_user(&env, "dee", "disclosure_officer");
    let server = Server::start_with(&env, &["--scan-slots", "2", "--scan-wait", "120", "--request-timeout", "120"]);
    let base = server.base.clone();
    let cookie = crate::contract::session_cookie(&base, "dee", &secret).await;
    let bombs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/guard/tests/bombs");
    let peak = |pid: u32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap().to_owned();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
    };
    let before = peak(server.pid());
    let client = reqwest::Client::new();
    let mut uploads = Vec::new();
    for name in ["zeros-10g.zip", "pdf-head.zip", "strings.xlsx", "cell.xlsx"] {
        let mut body = format!("--B0UND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n")
            .into_bytes();
        body.extend(std::fs::read(bombs.join(name)).unwrap());
        body.extend(b"\r\n--B0UND--\r\n");
        let req = client
            .post(format!("{base}/v1/scan"))
            .header("cookie", format!("lanyard_session={cookie}"))
            .header("content-type", "multipart/form-data; boundary=B0UND")
            .body(body)
            .send();
        uploads.push(tokio::spawn(async move { (name, req.await) }));
    }
    for upload in uploads {
        let (name, answer) = upload.await.unwrap();
        let answer = answer.unwrap();
        assert_eq!(answer.status(), 200, "{name}");
        let report: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(report["exit_code"], 2, "{name}: {report}");
    }
    let after = peak(server.pid());
    eprintln!("server peak RSS: {before} MiB before the uploads, {after} MiB after");
    assert!(after < 1024, "the server peaked at {after} MiB with two scans of bombs at once");
    server.stop();
}
