//! lanyard's HTTP API as the command line calls it.
//!
//! A signed-in operator's commands are requests to the server, so they pass
//! the same authorization gate, purposes, read limits and dual control as
//! any other client: the command line holds no rule of its own about who
//! may do what. It reaches the server only through the [`Endpoint`]s
//! listed in [`endpoints::ALL`], and a test holds that list against the
//! server's route table, so a command cannot call a route the gate does
//! not know.
//!
//! This crate knows HTTP and problem+json, not lanyard's domain: answers
//! come back as JSON for the caller to read.

pub mod endpoints;

use std::time::Duration;

use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

pub use endpoints::Endpoint;

/// The session cookie's name (as the server sets it).
pub const SESSION_COOKIE: &str = "lanyard_session";

/// The purpose header every read of personal data carries.
pub const PURPOSE_HEADER: &str = "X-Lanyard-Purpose";

/// What went wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server address is not a URL.
    #[error("'{0}' is not a server address (give it as https://host:port)")]
    BadServer(String),
    /// Plain HTTP to a host other than this one.
    #[error(
        "'{0}' is plain http to another host: passwords and sessions would cross the network in clear; use https:// (plain http only on loopback)"
    )]
    Insecure(String),
    /// The server could not be reached, or the answer did not arrive.
    #[error("cannot reach the server at {server} ({cause}); is 'lanyard serve' running there?")]
    Unreachable {
        /// The server's address.
        server: String,
        /// Why, as the HTTP library says it (never a body).
        cause: String,
    },
    /// The server refused or failed, with its problem+json.
    #[error("the server refused: {detail} ({kind})")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The problem's code, the last part of its type (`dual_control`,
        /// `compartment_not_readable`, …).
        kind: String,
        /// What the server said.
        detail: String,
    },
    /// The answer was not what the endpoint gives.
    #[error("the server's answer to {0} was not understood (is this a lanyard server of the same version?)")]
    BadAnswer(String),
    /// A path parameter the endpoint needs was not given.
    #[error("internal: {0} needs {1} path parameters")]
    Params(&'static str, usize),
}

impl ClientError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The problem type of a refusal.
    pub fn kind(&self) -> Option<&str> {
        match self {
            ClientError::Refused { kind, .. } => Some(kind),
            _ => None,
        }
    }
}

/// How requests are authenticated.
#[derive(Clone)]
pub enum Credential {
    /// A session from `POST /v1/login`.
    Session(Zeroizing<String>),
    /// A service token (`Authorization: Bearer`).
    Token(Zeroizing<String>),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credential::Session(_) => "Session([redacted])",
            Credential::Token(_) => "Token([redacted])",
        })
    }
}

/// Who the server says signed in.
#[derive(Clone, Debug, Deserialize)]
pub struct SignedIn {
    /// The audited actor id (`user:NAME`).
    pub actor: String,
    /// The role.
    pub role: String,
}

/// One request's optional parts.
#[derive(Default)]
pub struct Call<'a> {
    /// Path parameters, in the order the endpoint's template names them.
    pub params: &'a [&'a str],
    /// Query pairs (never personal data: URLs end up in logs).
    pub query: &'a [(&'a str, String)],
    /// The purpose of a read.
    pub purpose: Option<&'a str>,
    /// A JSON body.
    pub body: Option<serde_json::Value>,
    /// Or a body of another kind: its media type and bytes.
    pub raw: Option<(&'static str, Vec<u8>)>,
}

/// A client of one lanyard server.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    credential: Option<Credential>,
}

/// Checks a server address: https, or plain http on loopback only.
pub fn server_url(server: &str) -> Result<Url, ClientError> {
    let trimmed = server.trim().trim_end_matches('/');
    let url = Url::parse(trimmed).map_err(|_| ClientError::BadServer(trimmed.to_owned()))?;
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(ClientError::BadServer(trimmed.to_owned()));
    }
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]" | "::1"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(ClientError::Insecure(trimmed.to_owned())),
        _ => Err(ClientError::BadServer(trimmed.to_owned())),
    }
}

#[derive(Deserialize)]
struct ProblemAnswer {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
}

impl Client {
    /// A client of `server`, authenticating with `credential` (none only
    /// for signing in).
    pub fn new(server: &str, credential: Option<Credential>) -> Result<Self, ClientError> {
        let base = server_url(server)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Unreachable { server: base.to_string(), cause: e.to_string() })?;
        Ok(Client { http, base, credential })
    }

    /// The server's address.
    pub fn server(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// Signs in with a password and the current TOTP code; answers the
    /// session and who it is for.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        code: &str,
    ) -> Result<(Zeroizing<String>, SignedIn), ClientError> {
        let body = serde_json::json!({ "name": name, "password": password, "code": code });
        let resp = self.send(&endpoints::LOGIN, Call { body: Some(body), ..Call::default() }).await?;
        let cookie = resp
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|line| line.split(';').next()?.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
            .map(|v| Zeroizing::new(v.to_owned()))
            .ok_or_else(|| ClientError::BadAnswer("signing in".into()))?;
        let who: SignedIn = resp.json().await.map_err(|_| ClientError::BadAnswer("signing in".into()))?;
        Ok((cookie, who))
    }

    /// Ends the session on the server.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.send(&endpoints::LOGOUT, Call::default()).await.map(drop)
    }

    /// Calls an endpoint and reads its JSON answer.
    pub async fn json<T: DeserializeOwned>(&self, endpoint: &Endpoint, call: Call<'_>) -> Result<T, ClientError> {
        let resp = self.send(endpoint, call).await?;
        resp.json().await.map_err(|_| ClientError::BadAnswer(endpoint.describe()))
    }

    /// Calls an endpoint and reads its answer as bytes.
    pub async fn bytes(&self, endpoint: &Endpoint, call: Call<'_>) -> Result<Vec<u8>, ClientError> {
        let resp = self.send(endpoint, call).await?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable { server: self.server().to_owned(), cause: e.to_string() })?;
        Ok(bytes.to_vec())
    }

    /// Calls an endpoint that answers a file, writing it to `out` chunk by
    /// chunk as it arrives (a print batch may be gigabytes); returns its
    /// size. A transfer cut short is an error, and what was written is the
    /// caller's to discard.
    pub async fn download(
        &self,
        endpoint: &Endpoint,
        call: Call<'_>,
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, ClientError> {
        let mut resp = self.send(endpoint, call).await?;
        let expected = resp.content_length();
        let cut = |cause: String| ClientError::Unreachable { server: self.server().to_owned(), cause };
        let mut written = 0u64;
        while let Some(chunk) = resp.chunk().await.map_err(|e| cut(e.to_string()))? {
            out.write_all(&chunk).map_err(|e| cut(format!("writing the file: {}", e.kind())))?;
            written += chunk.len() as u64;
        }
        if expected.is_some_and(|n| n != written) {
            return Err(cut(format!("the transfer stopped after {written} bytes")));
        }
        Ok(written)
    }

    /// Calls an endpoint that answers nothing (204).
    pub async fn call(&self, endpoint: &Endpoint, call: Call<'_>) -> Result<(), ClientError> {
        self.send(endpoint, call).await.map(drop)
    }

    async fn send(&self, endpoint: &Endpoint, call: Call<'_>) -> Result<reqwest::Response, ClientError> {
        let mut url = endpoint.url(&self.base, call.params)?;
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(call.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let method = Method::from_bytes(endpoint.method.as_bytes()).unwrap_or(Method::GET);
        let mut req = self.http.request(method, url);
        if let Some(p) = call.purpose {
            req = req.header(PURPOSE_HEADER, p);
        }
        if let Some(body) = &call.body {
            req = req.json(body);
        } else if let Some((media_type, bytes)) = call.raw {
            req = req.header(reqwest::header::CONTENT_TYPE, media_type).body(bytes);
        }
        req = match &self.credential {
            Some(Credential::Token(t)) => req.bearer_auth(t.as_str()),
            Some(Credential::Session(s)) => {
                req.header(reqwest::header::COOKIE, format!("{SESSION_COOKIE}={}", s.as_str()))
            }
            None => req,
        };
        let resp = req
            .send()
            .await
            .map_err(|e| ClientError::Unreachable { server: self.server().to_owned(), cause: reqwest_cause(&e) })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let problem: Option<ProblemAnswer> = resp.json().await.ok();
        let (kind, detail) = match problem {
            // The type is a URI ending in the code (`…/dual_control`).
            Some(p) => {
                let code = p.kind.rsplit('/').next().unwrap_or_default().to_owned();
                (code, if p.detail.is_empty() { p.title } else { p.detail })
            }
            None => (String::new(), format!("the server answered {status}")),
        };
        Err(ClientError::Refused { status, kind, detail })
    }
}

/// Why a request did not get through, without the URL (whose query could
/// name someone) or anything from a body.
fn reqwest_cause(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or no route".into()
    } else {
        "the connection failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(server_url("http://127.0.0.1:8443").is_ok());
        assert!(server_url("http://localhost:8443/").is_ok());
        assert!(server_url("https://register.force.example").is_ok());
        assert!(matches!(server_url("http://register.force.example"), Err(ClientError::Insecure(_))));
        assert!(matches!(server_url("register.force.example"), Err(ClientError::BadServer(_))));
        assert!(matches!(server_url("ftp://x"), Err(ClientError::BadServer(_))));
    }

    #[test]
    fn credentials_never_print() {
        let c = Credential::Session(Zeroizing::new("s3cret".into()));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_without_the_request() {
        // Port 9 (discard) on loopback: nothing listens in a test sandbox.
        let client = Client::new("http://127.0.0.1:9", None).unwrap();
        let err = client
            .json::<serde_json::Value>(&endpoints::PERSON, Call { params: &["x y"], ..Call::default() })
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cannot reach the server at http://127.0.0.1:9"), "{text}");
        assert!(!text.contains("x y") && !text.contains("x%20y"), "{text}");
    }
}
