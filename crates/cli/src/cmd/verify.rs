//! `lanyard verify`: a card's QR credential checked from the trust bundle
//! and a fresh status list: given as a file, or fetched from the bundle's
//! address. Exits 0 only for `valid`; a card no list answers for is
//! `status_unknown` (exit 1) unless `--accept-unchecked-status` says
//! otherwise, and the result says so.

use anyhow::{Context, Result, anyhow, bail};
use lanyard_credential::{StatusListToken, TrustBundle, Verdict, verify_qr};

use crate::Negative;
use crate::cmd::breach::parse_time;
use crate::context;
use crate::opts::{Cli, VerifyArgs};
use crate::output;

/// The largest image read.
const MAX_IMAGE_BYTES: u64 = 32 << 20;

/// The status list at the bundle's address, or why there is none.
async fn fetch_list(uri: &str) -> std::result::Result<Vec<u8>, String> {
    let client =
        reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().map_err(|e| e.to_string())?;
    let r = client.get(uri).send().await.map_err(|e| format!("{uri} did not answer ({e})"))?;
    if !r.status().is_success() {
        return Err(format!("{uri} answered {}", r.status()));
    }
    Ok(r.bytes().await.map_err(|e| e.to_string())?.to_vec())
}

/// A verified list that is still fresh: within its `exp` and its `ttl`.
fn fresh_list(bytes: &[u8], bundle: &TrustBundle, now: i64, from: &str) -> Result<StatusListToken> {
    let token = StatusListToken::verify(bytes, bundle, now).with_context(|| from.to_owned())?;
    if let Some(ttl) = token.ttl
        && now > token.issued_at.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX))
    {
        bail!("{from}: the status list is older than its ttl ({ttl} s); fetch a fresh one");
    }
    Ok(token)
}

pub async fn run(cli: &Cli, args: &VerifyArgs) -> Result<()> {
    let bundle = std::fs::read(&args.bundle).with_context(|| format!("reading {}", args.bundle.display()))?;
    let bundle = TrustBundle::from_json(&bundle)?;
    let now = match &args.at {
        Some(t) => parse_time("at", t)? / 1000,
        None => context::now_ms() / 1000,
    };
    // No list, no verdict of valid: it is fetched from the bundle's address
    // when none is given, and a card no list answers for is status_unknown.
    let mut unfetched = None;
    let status = match &args.status_list {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Some(fresh_list(&bytes, &bundle, now, &path.display().to_string())?)
        }
        None => match fetch_list(&bundle.status_list_uri).await {
            Ok(bytes) => Some(fresh_list(&bytes, &bundle, now, &bundle.status_list_uri)?),
            Err(why) => {
                unfetched = Some(why);
                None
            }
        },
    };
    let text = match (&args.qr, &args.image) {
        (Some(t), _) => t.clone(),
        (None, Some(path)) => read_qr(path)?,
        (None, None) => bail!("give --qr TEXT or --image FILE"),
    };
    let mut v = verify_qr(&text, &bundle, status.as_ref(), now)?;
    let accepted_unchecked = args.accept_unchecked_status && v.verdict == Verdict::StatusUnknown;
    if accepted_unchecked {
        v.verdict = Verdict::Valid;
        v.reason = Some("status NOT checked (--accept-unchecked-status)".into());
    }
    if cli.json {
        let mut out = serde_json::to_value(&v)?;
        if let Some(o) = out.as_object_mut() {
            o.insert("accepted_unchecked_status".into(), accepted_unchecked.into());
            if let Some(why) = &unfetched {
                o.insert("status_list_unavailable".into(), why.clone().into());
            }
        }
        output::json(&out)?;
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
            match &unfetched {
                Some(why) => println!("  status   NOT checked: no status list ({why})"),
                None => println!("  status   NOT checked"),
            }
        }
    }
    if v.verdict != Verdict::Valid {
        let hint = if v.verdict == Verdict::StatusUnknown {
            "; give --status-list FILE (lanyard status-list export), or reach the status list's address"
        } else {
            ""
        };
        return Err(Negative(format!("card is {}{hint}", v.verdict.as_str())).into());
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
