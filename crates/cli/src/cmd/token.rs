//! `lanyard token`: service tokens for print suppliers and verifier devices.
//! The secret is printed once; only its hash is kept.

use anyhow::{Result, bail};
use lanyard_core::Role;

use crate::config;
use crate::context;
use crate::opts::{Cli, TokenCommand};
use crate::output;

/// `90m`, `12h`, `30d` to seconds.
pub fn parse_lifetime(text: &str) -> Result<i64> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| anyhow::anyhow!("--expires: expected a number and m, h or d (30d)"))?;
    let scale = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("--expires: expected a number and m, h or d (30d)"),
    };
    n.checked_mul(scale).filter(|s| *s > 0).ok_or_else(|| anyhow::anyhow!("--expires: out of range"))
}

/// `--expires` in seconds.
pub(crate) fn lifetime_s(text: &str) -> Result<i64> {
    parse_lifetime(text)
}

pub async fn run(cli: &Cli, cmd: &TokenCommand) -> Result<()> {
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let (_register, access, _) = context::open_services(&settings).await?;
    let by = context::break_glass(false).actor;
    let now = context::now_ms() / 1000;
    match cmd {
        TokenCommand::Create { role, supplier, device, expires } => {
            let role: Role = role.parse()?;
            let subject = lanyard_core::policy::token_subject(role, supplier.as_deref(), device.as_deref())
                .map_err(|why| anyhow::anyhow!("{why}"))?;
            let issued = access.create_token(&by, role, subject, parse_lifetime(expires)?, now).await?;
            if cli.json {
                return output::json(&serde_json::json!({
                    "id": issued.token.id, "role": role, "subject": subject,
                    "expires_at": issued.token.expires_at, "secret": issued.secret.as_str(),
                }));
            }
            println!(
                "token {} for {subject} ({role}), expires {}",
                issued.token.id,
                output::date_time(issued.token.expires_at)
            );
            println!("secret (shown once): {}", issued.secret.as_str());
        }
        TokenCommand::List => {
            let tokens = access.tokens(now).await?;
            if cli.json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "id": t.id, "role": t.role, "subject": t.subject, "created_at": t.created_at,
                            "expires_at": t.expires_at, "revoked_at": t.revoked_at,
                        })
                    })
                    .collect();
                return output::json(&list);
            }
            for t in tokens {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.expires_at <= now {
                    "expired"
                } else {
                    "valid"
                };
                println!("{}  {:<15} {:<20} {state}", t.id, t.role, t.subject);
            }
        }
        TokenCommand::Revoke { id } => {
            let id: uuid::Uuid = id.parse().map_err(|_| anyhow::anyhow!("not a token id"))?;
            access.revoke_token(&by, id, now).await?;
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("90m").unwrap(), 5400);
        assert_eq!(parse_lifetime("30d").unwrap(), 30 * 86_400);
        for bad in ["", "d", "30", "30y", "-1d", "0h", "99999999999999999d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
