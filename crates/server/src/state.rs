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
    /// Bumped whenever a use case that writes event feed entries commits
    /// on this node: wakes `GET /v1/events` long polls early.
    pub feed_wake: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}
