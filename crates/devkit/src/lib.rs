//! Development and test set-up shared by the `doorstroom` command line
//! (`serve --dev`, `pki init-dev`, `admin …`), the load generator and the
//! end-to-end tests:
//!
//! - [`pki`]: the throw-away development PKI (CA, server and client
//!   certificates, JOSE keys of the demo institutions);
//! - [`seed`]: the demo institutions and staff registered in a broker's
//!   database;
//! - [`operator`]: the broker operator's registry and staff commands, with
//!   the operator as principal. They are here, not in the command line,
//!   because seeding is made of them and the tests create staff with them;
//!   the command line's `admin` commands call the same functions.

pub mod demo_cohort;
pub mod operator;
pub mod pki;
pub mod seed;
