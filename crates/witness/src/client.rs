//! The log's side: submitting a checkpoint with the consistency proof from
//! the size the witness last cosigned.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lanyard_audit::merkle::Hash;

/// What a witness answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200: its cosignature line(s).
    Cosigned(String),
    /// 409: the size it last cosigned.
    Conflict(u64),
    /// Any other status, with the witness's reason.
    Refused(u16, String),
}

/// The witness could not be asked (down, timed out, not HTTP).
#[derive(Debug, thiserror::Error)]
#[error("witness at {url} could not be reached: {reason}")]
pub struct Unreachable {
    /// Where.
    pub url: String,
    /// Why.
    pub reason: String,
}

/// The request body: `old N`, the proof, an empty line, the checkpoint.
pub fn request_body(old: u64, proof: &[Hash], checkpoint: &str) -> String {
    let mut body = format!("old {old}\n");
    for h in proof {
        body.push_str(&B64.encode(h));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(checkpoint);
    body
}

/// An HTTP client for witnesses: short timeouts, so a witness that is down
/// delays nothing for long.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

/// Submits `checkpoint` to the witness at `url` (its submission prefix).
pub async fn submit(
    http: &reqwest::Client,
    url: &str,
    old: u64,
    proof: &[Hash],
    checkpoint: &str,
) -> Result<Answer, Unreachable> {
    let unreachable = |reason: String| Unreachable { url: url.to_owned(), reason };
    let endpoint = format!("{}/add-checkpoint", url.trim_end_matches('/'));
    let response = http
        .post(endpoint)
        .body(request_body(old, proof, checkpoint))
        .send()
        .await
        .map_err(|e| unreachable(e.without_url().to_string()))?;
    let status = response.status().as_u16();
    let is_size = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/x.tlog.size"));
    let text = response.text().await.map_err(|e| unreachable(e.without_url().to_string()))?;
    Ok(match status {
        200 => Answer::Cosigned(text),
        409 if is_size => match text.trim_end_matches('\n').parse() {
            Ok(size) => Answer::Conflict(size),
            Err(_) => Answer::Refused(409, "the size it sent is not a number".into()),
        },
        _ => Answer::Refused(status, text.chars().take(200).collect()),
    })
}
