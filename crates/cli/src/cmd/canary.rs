//! `lanyard canary`: plant a canary for a recipient, and list them. The
//! values of a canary are never printed: whoever knows them can strip the
//! canary from a file before leaking it.

use anyhow::Result;
use lanyard_register::CanaryTemplate;

use crate::config;
use crate::context;
use crate::opts::{CanaryCommand, Cli};
use crate::output;

pub async fn run(cli: &Cli, cmd: &CanaryCommand) -> Result<()> {
    if let CanaryCommand::Plant { recipient, .. } = cmd {
        lanyard_register::check_recipient(recipient)?;
    }
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let register = context::open_register(&settings).await?;
    match cmd {
        CanaryCommand::Plant { recipient, service_number_pattern, email_domain } => {
            let op = context::host();
            let template = CanaryTemplate {
                service_number: service_number_pattern.clone(),
                email_domain: email_domain.clone(),
                ..CanaryTemplate::default()
            };
            let planted = register.plant_canary(&op, recipient, template, context::now_ms()).await?;
            if cli.json {
                return output::json(&planted);
            }
            println!(
                "planted a canary for {} (person id {}): it goes into every `person export --recipient {}`; export \
                 fingerprints again so scans recognise it",
                planted.recipient, planted.id, planted.recipient
            );
        }
        CanaryCommand::List => {
            let all = register.canary_list().await?;
            if cli.json {
                return output::json(&all);
            }
            if all.is_empty() {
                println!("no canaries planted");
            }
            for c in all {
                println!(
                    "{:<24} {}  planted by {} at {}",
                    c.recipient,
                    c.id,
                    c.created_by,
                    output::date_time(c.created_at / 1000)
                );
            }
        }
    }
    Ok(())
}
