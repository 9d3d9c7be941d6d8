//! The `doorstroom` command line: server start-up, development PKI, the
//! operator's admin commands and a client for school systems.

pub mod dev;
pub mod operator;
pub mod pki;
