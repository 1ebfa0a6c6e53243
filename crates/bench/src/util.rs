//! What every benchmark needs from its surroundings: the clock, scratch
//! folders and JSON output.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// Creates the scratch folder `dir`. It holds synthetic people and
/// throwaway keys only, so the ordinary permissions serve.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Prints `value` as pretty JSON.
pub fn json<T: Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
