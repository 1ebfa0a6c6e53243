//! What can go wrong in the agent. Each message names the file, batch or
//! request it concerns and what to look at; the cause is part of the
//! message (not a separate source), so a caller that prints the chain does
//! not print it twice.

use lanyard_package::PackageError;

/// Why an agent command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A file or the spool could not be read or written.
    #[error("{what}: {cause}")]
    Io {
        /// What was being done, naming the path.
        what: String,
        /// The operating system's answer.
        cause: std::io::Error,
    },
    /// A batch file or identity is not what it must be.
    #[error("{what}: {cause}")]
    Package {
        /// The batch or file.
        what: String,
        /// What is wrong with it.
        cause: PackageError,
    },
    /// The server could not be reached.
    #[error("{what}: no answer ({cause})")]
    Unreachable {
        /// The request.
        what: String,
        /// The transport's answer.
        cause: reqwest::Error,
    },
    /// The server refused.
    #[error("{what}: the server answered {status}: {why}")]
    Server {
        /// The request.
        what: String,
        /// The HTTP status.
        status: String,
        /// The problem's detail.
        why: String,
    },
    /// A check failed; the text says which.
    #[error("{0}")]
    Refused(String),
    /// Spooling failed part-way; the partial folder was removed.
    #[error("batch {batch}: nothing was spooled: {cause}")]
    NothingSpooled {
        /// The batch.
        batch: String,
        /// Why.
        cause: Box<AgentError>,
    },
    /// An out-of-band file failed.
    #[error("{file}: {cause}")]
    In {
        /// The file given.
        file: String,
        /// Why.
        cause: Box<AgentError>,
    },
}
