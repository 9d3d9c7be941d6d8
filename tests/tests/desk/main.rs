//! The intake desk (`doorstroom desk`), tested against a real broker over
//! real TLS on SQLite and PostgreSQL and a real desk beside it: in Debian's
//! headless Chromium (log in, see a dossier arrive, read it, acknowledge,
//! report a status, a withdrawn section disappearing, another mbo's intaker
//! kept out; screenshots under `target/browser-artifacts/`), and over plain
//! HTTPS for the start-up key check, the security headers and each class of
//! bad input on the desk's forms.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

// The console tests' browser driver and data helpers, shared as files; not
// every helper there is used here.
#[allow(dead_code)]
#[path = "../browser/support.rs"]
mod console_support;
#[allow(dead_code)]
#[path = "../browser/driver.rs"]
mod driver;

mod browser;
mod http;
mod oso;
mod support;
