//! What every handler shares: the use cases' [`App`] (reached through
//! `Deref`, so `state.store` is the app's store) and what only the web side
//! needs.

use std::ops::Deref;
use std::sync::Arc;

use doorstroom_app::App;

use crate::checkpoints::CheckpointSigner;
use crate::config::Settings;
use crate::credentials::PasswordChecks;
use crate::metrics::Metrics;
use crate::tls::ClientRoots;
use crate::tokens::TokenIssuer;

pub struct AppState {
    /// What the use cases run on.
    pub app: App,
    pub settings: Settings,
    pub tokens: TokenIssuer,
    pub client_roots: ClientRoots,
    pub metrics: Arc<Metrics>,
    /// The broker's key as the audit log's checkpoint signer.
    pub checkpoints: CheckpointSigner,
    /// The bounded pool in which logins check passwords.
    pub password_checks: PasswordChecks,
}

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}
