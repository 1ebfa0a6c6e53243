//! The `lanyard` binary, driven as a user would drive it. Every test that
//! touches the register runs on SQLite, and on PostgreSQL too when
//! `LANYARD_TEST_PG` holds a connection URL.

mod util;

mod audit;
mod bad_input;
mod breach;
mod cards;
mod demo;
mod erase;
mod import;
mod keys;
mod person;
mod pkcs11;
mod scan;
mod serve;
mod supply;
mod tidy;
