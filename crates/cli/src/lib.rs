//! The `doorstroom` command line: server start-up, development PKI, the
//! operator's admin commands and a client for school systems, including the
//! dossier exchange ([`exchange`]).

pub mod audit;
pub mod dev;
pub mod exchange;
pub mod operator;
pub mod pki;
pub mod purge;
