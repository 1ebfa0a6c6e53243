//! Stopping a long-running command (a server, a witness, a checkpointer) on
//! SIGINT or SIGTERM.
//!
//! The handlers are installed when [`stop_signal`] is called, not when its
//! future is first polled. A server calls it before it prints where it
//! listens: that line tells a script or a service manager the process is
//! up, and a signal sent after it must stop the process cleanly rather than
//! kill it with the default action half-way through starting (which is how
//! a demo stopped at once used to exit non-zero). SIGTERM is what systemd
//! and container runtimes send, so it stops as Ctrl-C does.

use std::future::Future;

use anyhow::{Context, Result};

/// Installs the handlers now; the future completes at the first SIGINT or
/// SIGTERM.
#[cfg(unix)]
pub fn stop_signal() -> Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Elsewhere Ctrl-C alone, installed at the first poll; if it cannot be
/// installed, the process runs until it is killed.
#[cfg(not(unix))]
pub fn stop_signal() -> Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}
