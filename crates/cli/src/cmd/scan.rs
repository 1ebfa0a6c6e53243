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
        None if args.register => {
            let (fp, register, op) =
                from_register(cli, DEFAULT_PURPOSE, args.clearance == Some(Clearance::Protected)).await?;
            audited = Some((register, op));
            Some(fp)
        }
        None => force_fingerprints(cli)?,
    };
    let limits = Limits {
        timeout: std::time::Duration::from_secs(args.timeout),
        max_memory_bytes: args.memory << 20,
        ..Limits::default()
    };
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

/// The force's current fingerprints, from `[guard] fingerprints` in the
/// configuration (the register host's server exports them there): no key,
/// no passphrase, no read of the register. None when no file is configured.
/// A configured file that cannot be read, or is older than `[guard]
/// max_age_s`, fails the scan: a stale set misses the newest staff.
fn force_fingerprints(cli: &Cli) -> Result<Option<Fingerprints>> {
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let Some(path) = &settings.guard_fingerprints else { return Ok(None) };
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "the force's fingerprints file {} ([guard] fingerprints) cannot be read: nothing is cleared. Ask the \
             register's administrators to run the server's export ([guard] export_every_s), or give --fingerprints FILE",
            path.display()
        )
    })?;
    let fp = Fingerprints::from_json(&text).with_context(|| format!("{}", path.display()))?;
    let age = (context::now_ms() / 1000).saturating_sub(fp.created_at().unwrap_or(0));
    if u64::try_from(age).unwrap_or(0) > settings.guard_max_age_s {
        bail!(
            "the force's fingerprints file {} is {} old, more than [guard] max_age_s allows ({}): it misses \
             anyone added since. Nothing is cleared; ask the register's administrators why the server's export \
             has stopped",
            path.display(),
            span(u64::try_from(age).unwrap_or(0)),
            span(settings.guard_max_age_s)
        );
    }
    Ok(Some(fp))
}

/// A duration as a person says it: "3 days", "5 hours", "40 seconds".
fn span(seconds: u64) -> String {
    match seconds {
        s if s >= 2 * 86_400 => format!("{} days", s / 86_400),
        s if s >= 2 * 3600 => format!("{} hours", s / 3600),
        s if s >= 120 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
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

/// One export of the force's fingerprints by the server, to `[guard]
/// fingerprints`: an audited read of identity as `op`, written whole
/// (beside the file, then renamed over it) and readable by the file's
/// group, so that FOI officers in that group scan with it and need no key.
/// Returns the fingerprints, to put in force in the server's own guard.
pub(crate) async fn export_for_guard(register: &Register, op: &Operator, path: &Path) -> Result<Fingerprints> {
    let (fp, _) = fingerprints_of(register, op, DEFAULT_PURPOSE).await?;
    save_for_guard(&fp, path)
}

/// Writes `fp` as the force's fingerprints file at `path` (0640, whole or
/// not at all) and returns the set as read back, dated.
pub(crate) fn save_for_guard(fp: &Fingerprints, path: &Path) -> Result<Fingerprints> {
    let json = fp.to_json(context::now_ms() / 1000);
    let tmp = path.with_extension("tmp");
    write_with_mode(&tmp, json.as_bytes(), 0o640)?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    // The in-memory set carries its date as a read file does.
    Fingerprints::from_json(&json).map_err(|e| anyhow!("the fingerprints just written do not read back: {e}"))
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with_mode(path, bytes, 0o600)
}

/// Writes a file with Unix permissions `mode`, set before the bytes go in.
fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(mode);
        let mut f = options.open(path).with_context(|| format!("creating {}", path.display()))?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        let mut f = options.open(path).with_context(|| format!("creating {}", path.display()))?;
        f.write_all(bytes)?;
    }
    Ok(())
}
