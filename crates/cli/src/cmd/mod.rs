//! One module per top-level subcommand.

pub mod audit;
pub mod backup;
pub mod breach;
pub mod canary;
pub mod card;
pub mod demo;
pub mod init;
pub mod keys;
pub mod permit;
pub mod person;
pub mod scan;
pub mod serve;
pub mod signed_in;
pub mod signed_in_supply;
pub mod supplier;
pub mod token;
pub mod user;
pub mod verify;
pub mod watch;
pub mod witness;
