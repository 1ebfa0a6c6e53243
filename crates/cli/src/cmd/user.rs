//! `lanyard user`: server users. Secrets are read from standard input or the
//! terminal, and the TOTP secret is printed once.

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use lanyard_core::Role;
use zeroize::Zeroizing;

use crate::config;
use crate::context;
use crate::opts::{Cli, UserCommand};
use crate::output;

pub(crate) fn new_password(from_stdin: bool) -> Result<Zeroizing<String>> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut text = Zeroizing::new(String::new());
        std::io::stdin().read_to_string(&mut text).context("reading the password from standard input")?;
        let trimmed = Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned());
        return Ok(trimmed);
    }
    let first = Zeroizing::new(rpassword::prompt_password("New user's password: ")?);
    let again = Zeroizing::new(rpassword::prompt_password("Repeat: ")?);
    if *first != *again {
        bail!("the passwords differ");
    }
    Ok(first)
}

/// Prints an enrolment: `{user_id, totp_secret, otpauth_uri}`, as the
/// server answers it and as break-glass mode builds it.
pub(crate) fn print_enrolment(cli: &Cli, name: &str, e: &serde_json::Value) -> Result<()> {
    let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
    let (id, secret, uri) = (s("user_id"), Zeroizing::new(s("totp_secret")), Zeroizing::new(s("otpauth_uri")));
    if cli.json {
        return output::json(&serde_json::json!({
            "user": name,
            "id": id,
            "totp_secret": secret.as_str(),
            "otpauth_uri": uri.as_str(),
        }));
    }
    println!("user {name} ({id})");
    println!("TOTP secret (enter it in an authenticator app; it is not shown again):");
    println!("  {}", secret.as_str());
    println!("  {}", uri.as_str());
    // The same URI as a QR code to scan from the screen, drawn for the usual
    // light-on-dark terminal.
    if let Ok(code) = qrcode::QrCode::new(uri.as_str().as_bytes()) {
        use qrcode::render::unicode::Dense1x2;
        let art = code.render::<Dense1x2>().dark_color(Dense1x2::Light).light_color(Dense1x2::Dark).build();
        println!("{art}");
    }
    Ok(())
}

fn enrolment_json(e: &lanyard_access::Enrolment) -> serde_json::Value {
    serde_json::json!({
        "user_id": e.user_id, "totp_secret": e.totp_secret.as_str(), "otpauth_uri": e.otpauth_uri.as_str(),
    })
}

/// Break-glass (`--local`) on the register host: how the first admin is
/// made. Signed in, `main.rs` sends the command to `signed_in::user`.
pub async fn run(cli: &Cli, cmd: &UserCommand) -> Result<()> {
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let (_register, access, _) = context::open_services(&settings).await?;
    let by = context::break_glass(false).actor;
    let now = context::now_ms() / 1000;
    match cmd {
        UserCommand::Add { name, role, password_stdin, protected } => {
            let role: Role = role.parse()?;
            let password = new_password(*password_stdin)?;
            let e = access.create_user(&by, name, role, &password, *protected, now).await?;
            print_enrolment(cli, name, &enrolment_json(&e))?;
        }
        UserCommand::List => {
            let users = access.users(context::now_ms() / 1000).await?;
            if cli.json {
                let list: Vec<_> = users
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "id": u.id, "name": u.name, "role": u.role, "protected": u.protected,
                            "disabled": u.disabled, "locked_until": u.locked_until, "created_at": u.created_at,
                        })
                    })
                    .collect();
                return output::json(&list);
            }
            for u in users {
                let state = if u.disabled {
                    "disabled"
                } else if u.locked_until > now {
                    "locked"
                } else {
                    "active"
                };
                println!("{:<24} {:<16} {state}{}", u.name, u.role, if u.protected { "  protected" } else { "" });
            }
        }
        UserCommand::Disable { name } => {
            access.disable_user(&by, name, now).await?;
            eprintln!("disabled {name}; their sessions have ended");
        }
        UserCommand::Reset { name, password_stdin } => {
            let password = new_password(*password_stdin)?;
            let e = access.reset_user(&by, name, &password, now).await?;
            print_enrolment(cli, name, &enrolment_json(&e))?;
        }
    }
    Ok(())
}
