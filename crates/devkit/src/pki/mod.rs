//! The development PKI: a throw-away CA with server, client and JOSE-key
//! certificates for the demo institutions, made with rcgen.
//!
//! Used by `doorstroom serve --dev`, by `doorstroom pki …` and by the
//! end-to-end tests (with a temporary directory). **Never use it in
//! production**: there the certificates come from PKIoverheid /
//! PKI-onderwijs and the keys never leave the institution (see
//! `certs/README.md`).
//!
//! Layout under the PKI directory (e.g. `certs/dev/`, git-ignored):
//!
//! ```text
//! ca.pem  ca.key                 the dev CA (key 0600)
//! server.pem  server.key         localhost server certificate, leaf then CA
//! <BRIN>/client.pem              client (mTLS) certificate of the institution
//! <BRIN>/client.key              its key (0600)
//! <BRIN>/client.fingerprint      SHA-256 of its SubjectPublicKeyInfo, hex
//! <BRIN>/sign.jwk  sign.pub.jwk  signing JWK, private (0600) and public
//! <BRIN>/enc.jwk   enc.pub.jwk   encryption JWK, private (0600) and public
//! ```
//!
//! All keys are EC P-256. Times are passed in (the injected clock), never
//! read here, so tests can make expired and not-yet-valid certificates.
//!
//! By subject: [`layout`] (the file names), [`demo`] (the demo
//! institutions), [`ca`] (the CA and what it issues), [`dev_pki`] (creating
//! or completing the directory), `inspect` (whether what is on disk is
//! current), `validity` (certificate times) and `files` (writing with the
//! right modes).

pub mod ca;
pub mod demo;
pub mod dev_pki;
mod error;
mod files;
mod inspect;
pub mod layout;
mod validity;

#[cfg(test)]
mod tests;

pub use ca::{Ca, IssuedCert, IssuedJoseKey};
pub use demo::{DEMO_INSTITUTIONS, DemoInstitution};
pub use dev_pki::{DevInstitutionFiles, DevPki, ensure_dev_pki};
pub use error::PkiError;
pub use layout::*;
