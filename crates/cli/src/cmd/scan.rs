//! `lanyard scan` (the disclosure guard) and `lanyard fingerprints export`.
//! Exit codes are the guard's: 0 clear to release, 1 do not release, 2
//! cannot inspect (or a usage error: nothing is cleared by mistake).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use lanyard_core::{Compartment, Field};
use lanyard_guard::{Fingerprints, Limits, PersonIdentifiers, Policy, Scanner, Verdict};
use lanyard_register::{Operator, Register, Revealed};

use crate::Negative;
use crate::config;
use crate::context;
use crate::opts::{Clearance, Cli, FingerprintsCommand, ScanArgs};
use crate::output;

const DEFAULT_PURPOSE: &str = "disclosure guard: exact data match";

pub async fn run(cli: &Cli, args: &ScanArgs) -> Result<()> {
    for p in &args.paths {
        if std::fs::symlink_metadata(p).is_err() {
            bail!("{}: no such file or folder", p.display());
        }
    }
    let policy = match &args.policy {
        Some(path) => Policy::parse(&read(path)?).with_context(|| format!("{}", path.display()))?,
        None => Policy::default(),
    };
    // With the register, the scan is recorded in its log as the server
    // records one; from a fingerprints file there is no log to record in.
    let mut audited = None;
    let fingerprints = match &args.fingerprints {
        Some(path) => Some(Fingerprints::from_json(&read(path)?).with_context(|| format!("{}", path.display()))?),
        None if args.register || cli.data_dir_explicit => {
            let (fp, register, op) =
                from_register(cli, DEFAULT_PURPOSE, args.clearance == Some(Clearance::Protected)).await?;
            audited = Some((register, op));
            Some(fp)
        }
        None => None,
    };
    let limits = Limits { timeout: std::time::Duration::from_secs(args.timeout), ..Limits::default() };
    let scanner = Scanner { policy, fingerprints, limits, explain: args.explain };
    let paths = args.paths.clone();
    let report = tokio::task::spawn_blocking(move || scanner.scan_paths(&paths)).await?;
    if let Some((register, op)) = &audited {
        let record = lanyard_register::ScanRecord {
            files: report.files,
            bytes: report.bytes,
            verdict: serde_json::to_value(report.verdict)?,
            findings: serde_json::to_value(&report.summary)?,
            canaries: report.canaries(),
        };
        register.record_scan(op, &record, context::now_ms()).await?;
    }
    if cli.json {
        output::json(&report)?;
    } else {
        print!("{}", report.to_text(args.explain));
    }
    std::io::stdout().flush()?;
    match report.verdict {
        Verdict::Clear => Ok(()),
        Verdict::DoNotRelease => Err(Negative(String::new()).into()),
        Verdict::CannotInspect => Err(anyhow!("cannot inspect every file: nothing is cleared for release")),
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Fingerprints of every active person, built from an audited read of the
/// identity compartment. Protected persons are included only with the
/// clearance (their identity is otherwise withheld, and so not matched).
async fn from_register(cli: &Cli, purpose: &str, protected: bool) -> Result<(Fingerprints, Register, Operator)> {
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let register = context::open_register(&settings).await?;
    let op = Operator::local(context::host().actor, protected);
    let fp = fingerprints_of(&register, &op, purpose).await?.0;
    Ok((fp, register, op))
}

/// The identifiers of every active person `op` may see (an audited read of
/// identity), and their fingerprints under a fresh key.
pub(crate) async fn fingerprints_of(
    register: &Register,
    op: &Operator,
    purpose: &str,
) -> Result<(Fingerprints, Vec<PersonIdentifiers>)> {
    let mut people = Vec::new();
    let mut collect = |p: Revealed| -> Result<(), lanyard_register::RegisterError> {
        if !p.withheld.contains(&Compartment::Identity) {
            people.push(identifiers(&p.record));
        }
        Ok(())
    };
    register.export(op, &[Compartment::Identity], Some(purpose), context::now_ms(), &mut collect).await?;
    let canaries = register.canaries(op, Some(purpose), context::now_ms()).await?;
    let mut key = [0u8; 32];
    rand::RngExt::fill(&mut rand::rng(), &mut key[..]);
    let fp = Fingerprints::build(people.iter().cloned(), key)
        .with_canaries(canaries.into_iter().map(|c| (c.summary.recipient, identifiers(&c.record))));
    Ok((fp, people))
}

fn identifiers(record: &lanyard_core::PersonRecord) -> PersonIdentifiers {
    PersonIdentifiers {
        service_number: record.field_text(Field::ServiceNumber),
        forenames: record.field_text(Field::Forenames),
        surname: record.field_text(Field::Surname),
        email: record.field_text(Field::Email),
    }
}

pub async fn fingerprints(cli: &Cli, cmd: &FingerprintsCommand) -> Result<()> {
    let FingerprintsCommand::Export { out, clearance, purpose } = cmd;
    let protected = *clearance == Some(Clearance::Protected);
    let (fp, _, _) = from_register(cli, purpose.as_deref().unwrap_or(DEFAULT_PURPOSE), protected).await?;
    let json = fp.to_json(context::now_ms() / 1000);
    write_private(out, json.as_bytes())?;
    if cli.json {
        return output::json(&serde_json::json!({ "people": fp.people(), "canaries": fp.canaries(), "out": out }));
    }
    println!(
        "wrote fingerprints of {} people and {} canaries to {} (keep it like a register export: it can be attacked \
         by guessing)",
        fp.people(),
        fp.canaries(),
        out.display()
    );
    Ok(())
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut f = options.open(path).with_context(|| format!("creating {}", path.display()))?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes)?;
    }
    #[cfg(not(unix))]
    {
        let mut f = options.open(path).with_context(|| format!("creating {}", path.display()))?;
        f.write_all(bytes)?;
    }
    Ok(())
}
