//! `lanyard verify`: a card's QR credential checked offline, from the trust
//! bundle and (optionally) a status list alone. Exits 0 only for `valid`.

use anyhow::{Context, Result, anyhow, bail};
use lanyard_credential::{StatusListToken, TrustBundle, verify_qr};

use crate::Negative;
use crate::cmd::breach::parse_time;
use crate::context;
use crate::opts::{Cli, VerifyArgs};
use crate::output;

/// The largest image read.
const MAX_IMAGE_BYTES: u64 = 32 << 20;

pub fn run(cli: &Cli, args: &VerifyArgs) -> Result<()> {
    let bundle = std::fs::read(&args.bundle).with_context(|| format!("reading {}", args.bundle.display()))?;
    let bundle = TrustBundle::from_json(&bundle)?;
    let now = match &args.at {
        Some(t) => parse_time("at", t)? / 1000,
        None => context::now_ms() / 1000,
    };
    let status = match &args.status_list {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Some(StatusListToken::verify(&bytes, &bundle, now).with_context(|| format!("{}", path.display()))?)
        }
        None => None,
    };
    let text = match (&args.qr, &args.image) {
        (Some(t), _) => t.clone(),
        (None, Some(path)) => read_qr(path)?,
        (None, None) => bail!("give --qr TEXT or --image FILE"),
    };
    let v = verify_qr(&text, &bundle, status.as_ref(), now)?;
    if cli.json {
        output::json(&v)?;
    } else {
        println!("{}", v.verdict.as_str());
        if let Some(r) = &v.reason {
            println!("  reason   {r}");
        }
        if let Some(c) = &v.claims {
            println!("  card     {} ({})", c.card_id, c.card_type);
            println!("  name     {}", c.name);
            if let Some(rank) = &c.rank {
                println!("  rank     {rank}");
            }
            println!("  number   {}", c.number);
            println!("  valid    {} to {}", output::date_time(c.not_before), output::date_time(c.expires_at));
            if !c.zones.is_empty() {
                println!("  zones    {}", c.zones.join(", "));
            }
        }
        if !v.status_checked {
            println!("  status   not checked (no status list given)");
        }
    }
    if v.verdict != lanyard_credential::Verdict::Valid {
        return Err(Negative(format!("card is {}", v.verdict.as_str())).into());
    }
    Ok(())
}

/// The text of the first QR code rqrr finds in an image.
pub(crate) fn read_qr(path: &std::path::Path) -> Result<String> {
    let len = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if len > MAX_IMAGE_BYTES {
        bail!("{}: larger than 32 MiB", path.display());
    }
    let img = image::open(path).with_context(|| format!("{}: not a PNG or JPEG image", path.display()))?;
    let mut prepared = rqrr::PreparedImage::prepare(img.to_luma8());
    let grids = prepared.detect_grids();
    grids
        .iter()
        .find_map(|g| g.decode().ok().map(|(_, text)| text))
        .ok_or_else(|| anyhow!("{}: no readable QR code found", path.display()))
}
