//! The web console, tested in a real browser: Debian's headless Chromium
//! driven through chromedriver (WebDriver) against the real broker over
//! real TLS, on SQLite and PostgreSQL. Each page visited is saved as a PNG
//! under `target/browser-artifacts/` (git-ignored); the path is printed.
//! The access and CSRF tests speak HTTP directly (reqwest), as an attacker
//! would.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

mod access;
mod driver;
// The e2e tests' exchange helpers (applications, packages), shared as a
// file (it allows its own unused helpers).
#[path = "../e2e/exchange_support.rs"]
mod exchange_support;
mod mijn;
mod regional;
mod safety_net;
mod support;
mod walkthrough;
