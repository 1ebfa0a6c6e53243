//! The accept loop, plain or TLS, with the limits that keep one client from
//! holding the server: how many connections may be open at once, how long
//! a client may take over its TLS handshake and over each request's
//! headers (which also closes a keep-alive connection left idle), and,
//! through the router, how long a whole request may take, body included.
//!
//! axum's own `serve` offers none of these knobs, so both transports share
//! this loop instead. Plain connections speak HTTP/1.1, TLS ones what ALPN
//! agreed (h2 or HTTP/1.1): sniffing the protocol would wait on a silent
//! client with no timeout at all. A connection over the limit is not queued behind the
//! others: a plain one is told 503 with `Retry-After` in problem+json and
//! closed, a TLS one (which could only be told after a handshake it has not
//! earned) is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::AppState;

/// Limits on connections and on how long a client may take.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Connections open at once; past it, new ones are refused at once.
    pub max_connections: usize,
    /// Time to send a request's headers, from the connection's start or the
    /// previous response; an idle keep-alive connection is closed after it.
    pub header_read: Duration,
    /// Time for a TLS handshake.
    pub handshake: Duration,
    /// Time for a whole request, reading its body included (answered 503).
    pub request: Duration,
    /// Time in-flight requests get to finish once the server is stopping.
    pub drain: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 512,
            header_read: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
            request: crate::REQUEST_TIMEOUT,
            drain: Duration::from_secs(10),
        }
    }
}

/// The answer to a connection over the limit, written by hand because no
/// request has been read (and none will be): problem+json as every other
/// error.
fn busy_answer() -> Vec<u8> {
    let body = serde_json::json!({
        "type": crate::problem::type_uri("busy"),
        "title": "Service Unavailable",
        "status": 503,
        "detail": "too many connections; try again shortly",
    })
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\n\
         cache-control: no-store\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves `app` on `listener`, over TLS when `tls` is given, until
/// `shutdown` completes; then stops accepting, gives open requests
/// `limits.drain` to finish, and writes the refusals it counted.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    app: Router,
    tls: Option<TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.connection_limits();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    // No protocol sniffing: hyper's version detection waits for bytes with
    // no timeout, so a silent client would hold its slot. Plain HTTP is
    // HTTP/1.1 (what browsers, curl and the CLI speak without TLS); over
    // TLS, ALPN says which.
    let mut h1 = auto::Builder::new(TokioExecutor::new()).http1_only();
    h1.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read);
    let mut h2 = auto::Builder::new(TokioExecutor::new()).http2_only();
    h2.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(limits.header_read))
        .keep_alive_timeout(limits.header_read);
    let (h1, h2) = (Arc::new(h1), Arc::new(h2));
    tokio::pin!(shutdown);
    loop {
        let (tcp, addr) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: the listener is
                // still good, so wait a moment rather than stop serving.
                Err(e) if is_transient(&e) => {
                    tracing::warn!(error = %e, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            state.metrics().connection_refused();
            if tls.is_none() {
                tokio::spawn(tell_busy(tcp));
            }
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(addr));
            app.clone().oneshot(req)
        });
        let (h1, h2) = (Arc::clone(&h1), Arc::clone(&h2));
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => {
                    let conn = h1.serve_connection(TokioIo::new(tcp), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
                Some(acceptor) => {
                    let Ok(Ok(stream)) = tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await else {
                        return;
                    };
                    let builder = if stream.get_ref().1.alpn_protocol() == Some(b"h2") { h2 } else { h1 };
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still open at shutdown were cut off");
    }
    state.flush_rejections().await;
    Ok(())
}

async fn tell_busy(mut tcp: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = tcp.write_all(&busy_answer()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
        || matches!(e.raw_os_error(), Some(23 | 24)) // ENFILE, EMFILE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_is_well_formed_problem_json() {
        let answer = busy_answer();
        let text = std::str::from_utf8(&answer).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize =
            head.lines().find_map(|l| l.strip_prefix("content-length: ")).and_then(|n| n.parse().ok()).unwrap();
        assert_eq!(length, body.len(), "content-length must match the body");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["status"], 503);
        assert_eq!(json["type"], crate::problem::type_uri("busy"));
    }
}
