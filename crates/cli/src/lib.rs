//! The `doorstroom` command line: server start-up, the operator's admin
//! commands and a client for school systems, including the dossier exchange
//! ([`exchange`]), also from and to OSO gegevensset dossiers ([`oso`]). The development PKI, demo seeding and the operator's
//! registry commands are in `doorstroom-devkit`.

pub mod audit;
pub mod commands;
pub mod exchange;
pub mod oso;
pub mod purge;
