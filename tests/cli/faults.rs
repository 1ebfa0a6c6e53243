//! Faults in what lanyard depends on (issue 19 item 3): the disk filling
//! under a SQLite store, and PostgreSQL restarted under two servers that
//! share it. Each is injected for real (a small tmpfs; a private
//! PostgreSQL cluster this test starts and stops), so the test needs root
//! and the PostgreSQL server binaries, and skips with the reason without
//! them.
//!
//! What must hold: while the fault lasts, writes fail clearly (503
//! problem+json over HTTP, exit 2 and one error line on the command line) and
//! `/readyz` says why; nothing is half-written; once the fault clears,
//! lanyard works again by itself, with every acknowledged write there
//! exactly once and `audit verify` passing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::serve::{Server, add_user, login_http as login};
use crate::util::Env;

fn skip(why: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("SKIP faults: {why}\n").as_bytes());
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A tmpfs of `size`, unmounted when dropped.
struct SmallDisk {
    at: PathBuf,
}

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk { at: at.to_owned() })
    }

    /// Writes a filler until the disk refuses; returns it.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.at.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

fn new_person(sn: &str) -> serde_json::Value {
    serde_json::json!({ "fields": {
        "service_number": sn, "forenames": "Fault", "surname": "Tester", "rank": "Police Sergeant" } })
}

/// The status and problem body of a write.
async fn add(client: &reqwest::Client, base: &str, sn: &str) -> Result<(u16, serde_json::Value), reqwest::Error> {
    let r =
        client.post(format!("{base}/v1/people")).json(&new_person(sn)).timeout(Duration::from_secs(30)).send().await?;
    let status = r.status().as_u16();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap_or_default().to_owned());
    let body: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
    if status >= 400 {
        assert_eq!(kind.as_deref(), Some("application/problem+json"), "{status}: {body}");
    }
    Ok((status, body))
}

async fn found(client: &reqwest::Client, base: &str, sn: &str) -> usize {
    let r = client
        .post(format!("{base}/v1/people/find"))
        .header("x-lanyard-purpose", "audit_review")
        .json(&serde_json::json!({ "service_number": sn }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "find {sn}: {}", r.status());
    r.json::<serde_json::Value>().await.unwrap().as_array().unwrap().len()
}

#[test]
fn a_full_disk_fails_writes_cleanly_and_lanyard_recovers_when_space_returns() {
    if !is_root() {
        return skip("mounting a small disk needs root");
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&dir.path().join("disk"), "48m") else {
        return skip("cannot mount a tmpfs here");
    };
    let env = Env { backend: "sqlite", data: disk.at.join("data"), dir, database_url: None };
    env.init();
    env.add("FULL0", "Before");
    let ida = add_user(&env, "ida", "id_officer");
    // Its log off the small disk, to read if something goes wrong.
    let log = std::env::temp_dir().join(format!("lanyard-disk-full-{}.log", std::process::id()));
    let mut cmd = env.std_cmd();
    cmd.env("LANYARD_LOG", "warn");
    let server = Server::spawn_logged(cmd, &[], &log);
    let base = server.base.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(login(&base, "ida", &ida));
    rt.block_on(async {
        assert_eq!(add(&client, &base, "FULL1").await.unwrap().0, 201, "writes work before the fault");
    });
    let people_before = env.state().1;

    let filler = disk.fill();
    // Over HTTP: 503, problem+json, saying what and that nothing changed.
    rt.block_on(async {
        for i in 0..5 {
            let (status, body) = add(&client, &base, &format!("FULLX{i}")).await.unwrap();
            let said = || std::fs::read_to_string(&log).unwrap_or_default();
            assert_eq!(status, 503, "a write on a full disk: {body}\n{}", said());
            assert_eq!(body["type"], "https://lanyard.invalid/problems/store_unavailable", "{body}\n{}", said());
            assert!(body["detail"].as_str().unwrap().contains("nothing was changed"), "{body}");
        }
    });
    // On the command line: exit 2, one clear line.
    let err = env.fails(
        2,
        &[
            "person",
            "add",
            "--service-number",
            "FULLC",
            "--forenames",
            "A",
            "--surname",
            "B",
            "--rank",
            "Police Sergeant",
        ],
    );
    let error: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert!(error.len() == 1 && error[0].contains("disk (full"), "one error line says the disk is full: {err}");
    assert!(err.lines().all(|l| l.starts_with("error:") || l.starts_with("warning:")), "{err}");

    // Space returns: lanyard works again without a restart.
    std::fs::remove_file(&filler).unwrap();
    rt.block_on(async {
        let (status, body) = add(&client, &base, "FULL2").await.unwrap();
        assert_eq!(status, 201, "writes work again once space is freed: {body}");
        for i in 0..5 {
            assert_eq!(found(&client, &base, &format!("FULLX{i}")).await, 0, "a refused write left nothing");
        }
        assert_eq!(found(&client, &base, "FULL1").await, 1);
        assert_eq!(found(&client, &base, "FULL2").await, 1);
    });
    server.stop();
    assert_eq!(env.state().1, people_before + 1, "only the write after the fault was added");
    env.ok(&["audit", "verify"]);
}

/// A PostgreSQL cluster of this test's own, on a free port, so stopping it
/// disturbs no other test.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Cluster {
    fn create(dir: &Path) -> Result<Cluster, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|_| "the PostgreSQL server binaries are not installed".to_owned())?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("initdb").exists())
            .ok_or("no initdb under /usr/lib/postgresql")?;
        let data = dir.join("pg");
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let chown = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir).status();
        if !chown.is_ok_and(|s| s.success()) {
            return Err("cannot hand a directory to the postgres user".into());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = Cluster { bin, data, port };
        cluster.as_postgres("initdb", &["-A", "trust", "-U", "postgres", "-D"], true)?;
        cluster.start()?;
        Ok(cluster)
    }

    fn as_postgres(&self, tool: &str, args: &[&str], with_data: bool) -> Result<(), String> {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool)).args(args);
        if with_data {
            c.arg(&self.data);
        }
        let out = c.output().map_err(|e| format!("{tool}: {e}"))?;
        if out.status.success() { Ok(()) } else { Err(format!("{tool}: {}", String::from_utf8_lossy(&out.stderr))) }
    }

    fn start(&self) -> Result<(), String> {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.data.display());
        let log = self.data.join("log");
        self.as_postgres("pg_ctl", &["-w", "-l", log.to_str().unwrap(), "-o", &opts, "start", "-D"], true)
    }

    fn stop(&self) {
        self.as_postgres("pg_ctl", &["-w", "-m", "fast", "stop", "-D"], true).unwrap();
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.as_postgres("pg_ctl", &["-m", "immediate", "stop", "-D"], true);
    }
}

#[test]
fn postgresql_restarted_under_two_servers_loses_nothing_and_they_reconnect() {
    if !is_root() {
        return skip("a private PostgreSQL cluster is started as the postgres user, which needs root");
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = match Cluster::create(dir.path()) {
        Ok(c) => c,
        Err(why) => return skip(&why),
    };
    let env = Env { backend: "postgres", data: dir.path().join("data"), database_url: Some(cluster.url()), dir };
    env.init();
    let secrets = [add_user(&env, "ida", "id_officer"), add_user(&env, "ivy", "id_officer")];
    let unlimited = ["--reads-per-minute", "1000000", "--read-burst", "1000000"];
    let servers = [Server::start_with(&env, &unlimited), Server::start_with(&env, &unlimited)];
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let clients =
        rt.block_on(async { [login(&bases[0], "ida", &secrets[0]).await, login(&bases[1], "ivy", &secrets[1]).await] });

    // Writers on both servers, booking what was acknowledged.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let answers = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(u16, String)>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (client, base) = (clients[w].clone(), bases[w].clone());
            let (acked, answers, stop) = (acked.clone(), answers.clone(), stop.clone());
            rt.spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    n += 1;
                    let sn = format!("PG{w}{n:05}");
                    match add(&client, &base, &sn).await {
                        Ok((201, _)) => acked.lock().unwrap().push(sn),
                        Ok((status, body)) => {
                            answers.lock().unwrap().push((status, body["type"].as_str().unwrap_or_default().to_owned()))
                        }
                        Err(_) => answers.lock().unwrap().push((0, "no answer".into())),
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let before_outage = acked.lock().unwrap().len();
    assert!(before_outage > 5, "writes flow before the restart");

    cluster.stop();
    std::thread::sleep(Duration::from_millis(1500));
    // While it is down, each server says why it is not ready.
    rt.block_on(async {
        for base in &bases {
            let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
            assert_eq!(r.status(), 503, "{base}/readyz while PostgreSQL is down");
            let body: serde_json::Value = r.json().await.unwrap();
            assert!(body["detail"].as_str().unwrap().contains("database"), "{body}");
        }
    });
    let refused_while_down = answers.lock().unwrap().len();
    cluster.start().unwrap();

    // They come back by themselves.
    let back = Instant::now();
    loop {
        let now = acked.lock().unwrap().len();
        if rt.block_on(async {
            let mut ok = 0;
            for base in &bases {
                if reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status() == 200) {
                    ok += 1;
                }
            }
            ok == 2
        }) && now > before_outage + 5
        {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(30), "the servers did not reconnect within 30 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    rt.block_on(async {
        for w in writers {
            w.await.unwrap();
        }
    });

    // While down: 503 problem+json (or no answer, for a request cut off as
    // the database went), never any other failure.
    let answers = answers.lock().unwrap().clone();
    assert!(refused_while_down > 0, "some writes met the outage");
    for (status, kind) in &answers {
        assert!(
            *status == 503 && kind.ends_with("/store_unavailable") || *status == 0,
            "a write during the outage was answered {status} {kind}"
        );
    }
    // Every acknowledged write is there, exactly once, seen from either server.
    let acked = acked.lock().unwrap().clone();
    rt.block_on(async {
        for (i, sn) in acked.iter().enumerate() {
            assert_eq!(found(&clients[i % 2], &bases[i % 2], sn).await, 1, "acknowledged {sn} is there once");
        }
    });
    for s in servers {
        s.stop();
    }
    env.ok(&["audit", "verify"]);
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "faults: PostgreSQL stopped 1.5 s under two servers: {} writes acknowledged, {} refused 503 or cut off, back in {:.1} s\n",
            acked.len(),
            answers.len(),
            back.elapsed().as_secs_f64()
        )
        .as_bytes(),
    );
}
