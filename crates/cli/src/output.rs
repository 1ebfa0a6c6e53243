//! Printing: human-readable by default, JSON with `--json`, progress bars on a
//! terminal only.

use std::io::IsTerminal;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use lanyard_core::Compartment;
use lanyard_register::{PROTECTED_MARK, Revealed};
use serde::Serialize;
use serde_json::Value;

pub fn json<T: Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    ANSWERED.store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}

/// Set once a JSON answer is on stdout: an error after it (a negative
/// verdict, say) is not written as a second document.
pub static ANSWERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A progress bar on standard error when it is a terminal; hidden otherwise.
pub fn progress(len: Option<u64>, message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

pub fn date_time(unix_s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_s)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix_s.to_string())
}

/// The JSON form of a revealed person: one object per revealed compartment,
/// `"[protected]"` for a withheld one.
pub fn revealed_json(p: &Revealed, compartments: &[Compartment]) -> Value {
    p.to_json(compartments, lanyard_register::PhotoJson::Size)
}

pub fn print_revealed(p: &Revealed, compartments: &[Compartment]) {
    println!("person {}  status {}  protected {}", p.id, p.status.as_str(), if p.protected { "yes" } else { "no" });
    for c in compartments {
        if p.withheld.contains(c) {
            println!("  {}: {PROTECTED_MARK}", c.as_str());
            continue;
        }
        println!("  {}:", c.as_str());
        for f in c.fields() {
            let text = p.record.field_text(*f).unwrap_or_else(|| "-".to_owned());
            println!("    {:<15} {text}", f.as_str());
        }
    }
}
