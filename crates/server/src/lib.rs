//! The Doorstroom broker's HTTP side: TLS with optional client certificates,
//! principals as extractors, the audit spine, handlers, one mapping of errors
//! to RFC 9457 problem documents, metrics and the OpenAPI document.

pub mod access;
pub mod app;
pub mod auth;
pub mod checkpoint_schedule;
pub mod clock;
pub mod config;
pub mod console;
pub mod credentials;
pub mod error;
pub mod extract;
mod handlers;
pub mod instance;
pub mod malformed_http;
pub mod metrics;
pub mod mijn;
pub mod openapi;
pub mod purge;
pub mod refusals;
pub mod request_id;
pub mod safety_net_schedule;
pub mod schedule;
pub mod state;
pub mod texts;
pub mod tls;
pub mod tokens;
pub mod webhooks;

pub use app::{RunningServer, StartError, start};
pub use config::Settings;
/// Moved to the use-case crate; the old paths still name them.
pub use doorstroom_app::{checkpoints, secrets, signer};
pub use secrets::Secrets;
