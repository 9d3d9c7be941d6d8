//! The broker's use cases. One public function per thing a user of the
//! broker can do (register an application, give consent, submit and pull a
//! package, search the audit log, erase a student's data, …), grouped by
//! subject. Each takes the injected time and the caller, a typed command,
//! runs through the audit spine ([`spine::perform_in`]) and returns a typed
//! result or an [`AppError`]. The doors (HTTP handlers, console pages,
//! command line) parse, call one of these, and render; the rules they apply
//! are the domain crate's pure functions; the store does the SQL.
//!
//! Nothing here knows HTTP or an async runtime: every function blocks, and
//! the web side runs it on its blocking pool.

pub mod applications;
pub mod audit_log;
pub mod checkpoints;
pub mod credentials;
pub mod erasure;
pub mod error;
pub mod events;
pub mod key_cache;
pub mod ledger;
pub mod login;
pub mod packages;
pub mod purge;
pub mod regional;
pub mod register;
pub mod registry;
pub mod report;
pub mod safety_net;
pub mod secrets;
pub mod signer;
pub mod spine;
pub mod staff;
pub mod tlog;
pub mod transparency;
pub mod webhooks;

use std::sync::Arc;

use doorstroom_domain::Clock;
use doorstroom_jose::TrustAnchors;
use doorstroom_store::Store;

pub use error::{AppError, AuditFailed};
pub use spine::{Access, AuditMark, Caller, Ctx, Located, Side, Target, perform_committed, perform_in};

/// What the use cases run on: the store, the injected clock and the
/// broker's keys. Made once at start; shared by every request.
pub struct App {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// The keyed pseudonyms and the sealing keys.
    pub secrets: secrets::Secrets,
    /// The broker's receipt key.
    pub signer: signer::BrokerSigner,
    /// The CA roots that sign the schools' JOSE keys.
    pub trust_anchors: TrustAnchors,
    /// The region's rules of the exchange (lawful bases, inspection,
    /// retention, the anomaly threshold), parsed once from the settings.
    pub rules: packages::ExchangeRules,
    /// The senders' signing keys, parsed once (never trusted for their
    /// status, which a submission reads in its transaction).
    pub keys: key_cache::KeyCache,
    /// The regions, their coordinators and the suppression threshold.
    pub regional: regional::RegionalRules,
}

/// The domain of the student-number pseudonym (HMAC input prefix).
pub const STUDENT_PSEUDONYM: &str = "student";

impl App {
    /// The pseudonym of a student number, the only form the broker keeps.
    pub fn pseudonym_of(&self, number: &doorstroom_domain::StudentNumber) -> doorstroom_domain::Pseudonym {
        self.secrets.pseudonym(STUDENT_PSEUDONYM, &number.pseudonym_input())
    }
}
