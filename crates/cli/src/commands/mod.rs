//! The `doorstroom` commands, one module per group; `main.rs` parses the
//! arguments and dispatches here. Every command returns [`anyhow::Result`];
//! [`common::error_message`] turns the error into the one line printed.

pub mod admin;
pub mod applications;
pub mod call;
pub mod cohort;
pub mod common;
pub mod consent;
pub mod desk;
pub mod figures;
pub mod link;
pub mod packages;
pub mod pki;
pub mod privacy;
pub mod serve;
pub mod tools;
