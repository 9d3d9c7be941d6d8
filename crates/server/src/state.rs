//! What every handler shares.

use std::sync::Arc;

use doorstroom_domain::Clock;
use doorstroom_jose::TrustAnchors;
use doorstroom_store::Store;

use crate::checkpoints::CheckpointSigner;
use crate::config::Settings;
use crate::credentials::PasswordChecks;
use crate::metrics::Metrics;
use crate::secrets::Secrets;
use crate::signer::BrokerSigner;
use crate::tls::ClientRoots;
use crate::tokens::TokenIssuer;

pub struct AppState {
    pub settings: Settings,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub secrets: Secrets,
    pub tokens: TokenIssuer,
    pub client_roots: ClientRoots,
    pub trust_anchors: TrustAnchors,
    pub metrics: Arc<Metrics>,
    pub signer: BrokerSigner,
    /// The broker's key as the audit log's checkpoint signer.
    pub checkpoints: CheckpointSigner,
    /// The bounded pool in which logins check passwords.
    pub password_checks: PasswordChecks,
}
