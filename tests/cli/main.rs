//! The `lanyard` binary, driven as a user would drive it. Every test that
//! touches the register runs on SQLite, and on PostgreSQL too when
//! `LANYARD_TEST_PG` holds a connection URL.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod util;

mod abuse;
mod audit;
mod backup;
mod bad_input;
mod breach;
mod cards;
mod contract;
mod crash;
mod demo;
mod drill;
mod erase;
mod faults;
mod import;
mod keys;
mod manners;
mod person;
mod pkcs11;
mod scan;
mod serve;
mod side_channels;
mod signin;
mod supply;
mod tidy;
mod watch;
mod witness;
