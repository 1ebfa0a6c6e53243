//! Signing in: `lanyard login` and `logout`, and which server and
//! credential an operator command uses.
//!
//! A signed-in command is a request to the server as that user, so it
//! passes the server's gate, purposes and dual control; it needs neither
//! the root passphrase nor the database. The session is kept in the user's
//! config directory (`$LANYARD_CONFIG_DIR`, else `$XDG_CONFIG_HOME/lanyard`,
//! else `~/.config/lanyard`) in a file only they can read. Scripts use a
//! service token instead: `LANYARD_TOKEN`, with `LANYARD_SERVER`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use lanyard_client::{Client, Credential};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::opts::{Cli, LoginArgs};
use crate::output;

const SESSION_FILE: &str = "session.json";

/// The kept session.
#[derive(Serialize, Deserialize)]
struct Saved {
    server: String,
    session: String,
    actor: String,
    role: String,
    signed_in_ms: i64,
}

impl Drop for Saved {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.session);
    }
}

fn config_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("LANYARD_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("lanyard"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config").join("lanyard")),
        None => bail!("no config directory: set LANYARD_CONFIG_DIR or HOME"),
    }
}

fn session_path() -> Result<PathBuf> {
    Ok(config_dir()?.join(SESSION_FILE))
}

fn load() -> Result<Option<Saved>> {
    let path = session_path()?;
    let text = match std::fs::read(&path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o077).unwrap_or(0);
        if mode != 0 {
            bail!("{} can be read by others (mode {:o}); run 'lanyard logout' and sign in again", path.display(), mode);
        }
    }
    let saved = serde_json::from_slice(&text).with_context(|| {
        format!("{} is not a lanyard session; run 'lanyard logout' and sign in again", path.display())
    })?;
    Ok(Some(saved))
}

fn save(saved: &Saved) -> Result<()> {
    let path = session_path()?;
    let dir = path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    crate::context::ensure_dir(&dir)?;
    let bytes = Zeroizing::new(serde_json::to_vec_pretty(saved).context("encoding the session")?);
    // Created 0600 before anything is written to it, then renamed in place.
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    {
        use std::io::Write;
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        let mut f = open.open(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(&bytes).with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all().with_context(|| format!("writing {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
}

/// Where an operator command goes.
pub enum Mode {
    /// To the server, as the signed-in user or a service token.
    Remote(Client),
    /// Directly on the store, on the register host: break-glass.
    Local,
}

/// How the command runs: `--local` is break-glass; otherwise a service
/// token (`LANYARD_TOKEN`) or the signed-in session. Neither is an error
/// that says how to sign in.
pub fn mode(cli: &Cli) -> Result<Mode> {
    if cli.local {
        return Ok(Mode::Local);
    }
    let server_env = std::env::var("LANYARD_SERVER").ok().filter(|s| !s.is_empty());
    if let Some(token) = std::env::var("LANYARD_TOKEN").ok().filter(|t| !t.trim().is_empty()) {
        let server = match (&server_env, load()?) {
            (Some(s), _) => s.clone(),
            (None, Some(saved)) => saved.server.clone(),
            (None, None) => bail!("LANYARD_TOKEN is set but no server: set LANYARD_SERVER to the server's address"),
        };
        return Ok(Mode::Remote(Client::new(
            &server,
            Some(Credential::Token(Zeroizing::new(token.trim().to_owned()))),
        )?));
    }
    match load()? {
        Some(saved) => {
            let credential = Credential::Session(Zeroizing::new(saved.session.clone()));
            Ok(Mode::Remote(Client::new(&saved.server, Some(credential))?))
        }
        None => bail!(
            "not signed in: run 'lanyard login --server URL --user NAME' first. (On the register host, in an \
             emergency only, --local runs the command directly on the store: break-glass, with the root \
             passphrase, flagged on every audit event.)"
        ),
    }
}

/// A remote-only command's client: as [`mode`], refusing `--local`.
pub fn client(cli: &Cli, what: &str) -> Result<Client> {
    match mode(cli)? {
        Mode::Remote(c) => Ok(c),
        Mode::Local => bail!("{what} is not available in break-glass mode; sign in with 'lanyard login'"),
    }
}

/// Reads the password and the code: prompted on a terminal, otherwise two
/// lines on stdin (password, then code), for scripts and tests.
fn secrets(user: &str) -> Result<(Zeroizing<String>, Zeroizing<String>)> {
    if std::io::stdin().is_terminal() {
        let password = Zeroizing::new(
            rpassword::prompt_password(format!("Password for {user}: ")).context("reading the password")?,
        );
        let code =
            Zeroizing::new(rpassword::prompt_password("Code from your authenticator: ").context("reading the code")?);
        return Ok((password, code));
    }
    let mut lines = std::io::stdin().lock().lines();
    let mut next = |what: &str| -> Result<Zeroizing<String>> {
        match lines.next() {
            Some(Ok(l)) => Ok(Zeroizing::new(l.trim_end_matches('\r').to_owned())),
            _ => bail!("no {what} on stdin: give the password and the authenticator code on two lines"),
        }
    };
    let password = next("password")?;
    let code = next("code")?;
    Ok((password, code))
}

/// `lanyard login`.
pub async fn login(cli: &Cli, args: &LoginArgs) -> Result<()> {
    let server = match (&args.server, std::env::var("LANYARD_SERVER").ok().filter(|s| !s.is_empty())) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => s,
        (None, None) => bail!("--server: give the register server's address (https://…)"),
    };
    let user = args.user.trim();
    if user.is_empty() {
        bail!("--user: give your user name");
    }
    let client = Client::new(&server, None)?;
    let (password, code) = secrets(user)?;
    let (session, who) = client.login(user, &password, code.trim()).await?;
    save(&Saved {
        server: client.server().to_owned(),
        session: session.to_string(),
        actor: who.actor.clone(),
        role: who.role.clone(),
        signed_in_ms: crate::context::now_ms(),
    })?;
    if cli.json {
        return output::json(&serde_json::json!({ "server": client.server(), "actor": who.actor, "role": who.role }));
    }
    println!("signed in to {} as {} ({})", client.server(), who.actor, who.role);
    Ok(())
}

/// `lanyard logout`: ends the session on the server, then forgets it here.
pub async fn logout(cli: &Cli) -> Result<()> {
    let Some(saved) = load().ok().flatten() else {
        // A session file that cannot be read is removed all the same.
        let _ = std::fs::remove_file(session_path()?);
        if cli.json {
            return output::json(&serde_json::json!({ "signed_out": false }));
        }
        println!("not signed in");
        return Ok(());
    };
    let client = Client::new(&saved.server, Some(Credential::Session(Zeroizing::new(saved.session.clone()))))?;
    let ended = client.logout().await;
    std::fs::remove_file(session_path()?).context("removing the session file")?;
    match ended {
        // Already ended or expired on the server: forgotten here too.
        Ok(()) | Err(lanyard_client::ClientError::Refused { status: 401, .. }) => {}
        Err(e) => eprintln!("warning: the server could not be told ({e}); the session was forgotten here"),
    }
    if cli.json {
        return output::json(&serde_json::json!({ "signed_out": true, "actor": saved.actor }));
    }
    println!("signed out {} from {}", saved.actor, saved.server);
    Ok(())
}

/// `lanyard whoami`: asks the server who this session or token is.
pub async fn whoami(cli: &Cli) -> Result<()> {
    let client = client(cli, "whoami")?;
    let who: serde_json::Value = client.json(&lanyard_client::endpoints::SESSION, Default::default()).await?;
    if cli.json {
        return output::json(&who);
    }
    let text = |k: &str| who.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    println!("{} ({}) on {}", text("actor"), text("role"), client.server());
    Ok(())
}
