//! The desk's calls to the broker, all through `doorstroom-client` (which
//! does the JOSE: the desk re-implements none of it).
//!
//! Two doors, so that the broker's audit log names the intaker in every
//! access:
//! * as the mbo's **system** (its client certificate) naming the intaker in
//!   `X-On-Behalf-Of`: the inbox, pulls and acknowledgements;
//! * with the intaker's own **access token** (no client certificate, since
//!   the broker takes a certificate before a token): login, `whoami`,
//!   reading an application and reporting its status (the API takes no
//!   `X-On-Behalf-Of` there, and a status reported by the bare system would
//!   name nobody).

use chrono::{DateTime, Utc};
use doorstroom_api::institutions::{ContactView, HandoverContactBody};
use doorstroom_api::staff::{LoginResponse, WhoAmI};
use doorstroom_client::{
    Acknowledgement, ApplicationDetail, Client, ClientError, FeedPage, InboxEntry, ReceivedDossier, Reply,
    trusted_encryption_key,
};
use doorstroom_domain::{Brin, KeyUse, Role, StaffId, StatusReport};
use doorstroom_jose::{PrivateJwk, TrustAnchors};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Why the desk will not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("the broker could not be asked ({0})")]
    Broker(#[from] ClientError),
    #[error("the client certificate is not an mbo's system certificate: the broker takes it for {0}")]
    NotAnMbo(String),
    #[error("the desk's decryption key is not usable: {0}")]
    BadKey(String),
    #[error(
        "the desk's decryption key (kid `{ours}`) does not match the encryption key the broker publishes for \
         {brin} (kid `{published}`): schools seal dossiers for the published key, so this desk could not open \
         them. Start the desk with {brin}'s current private encryption key (enc.jwk), or publish this key first"
    )]
    KeyMismatch {
        brin: Brin,
        ours: String,
        published: String,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Everything the desk needs to talk to the broker.
pub struct Broker {
    /// As the mbo's system (client certificate).
    system: Client,
    /// Without a certificate: for login and the intaker's token.
    plain: Client,
    pub own: Brin,
    key: PrivateJwk,
    anchors: TrustAnchors,
}

/// A login the broker accepted, of an intaker of the desk's own mbo.
pub struct Login {
    pub staff_id: StaffId,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Why a login does not open the desk.
pub enum LoginRefused {
    /// The broker's answer (401, 429, 503, …), as a problem.
    Broker(ClientError),
    /// A valid account that is not an intaker of this mbo.
    NotOurIntaker,
}

/// A raw answer as `T`, or the broker's problem.
fn answer<T: serde::de::DeserializeOwned>(reply: Reply) -> Result<T, ClientError> {
    let unexpected = |e: serde_json::Error| ClientError::Unexpected {
        status: reply.status.as_u16(),
        detail: e.to_string(),
    };
    if !reply.status.is_success() {
        let problem = serde_json::from_value(reply.body.clone()).map_err(unexpected)?;
        return Err(ClientError::Problem(Box::new(problem)));
    }
    serde_json::from_value(reply.body.clone()).map_err(unexpected)
}

/// The public key members that identify a key (not its `kid` or `x5c`).
fn key_material(jwk: &Value) -> Vec<Option<&Value>> {
    ["kty", "crv", "x", "y", "n", "e"].iter().map(|m| jwk.get(*m)).collect()
}

impl Broker {
    /// Connects to the broker and checks, before the desk serves anything,
    /// that the client certificate is an mbo's system and that the private
    /// key is the one senders encrypt for: the first active encryption key
    /// of the mbo's JWK Set that checks out against `anchors` (the client's
    /// own choice in `send_dossier`).
    pub async fn connect(
        base_url: &str,
        ca_pem: &[u8],
        identity_pem: &[u8],
        key: PrivateJwk,
        anchors: TrustAnchors,
        now: DateTime<Utc>,
    ) -> Result<Broker, StartupError> {
        if key.key_use() != KeyUse::Enc {
            return Err(StartupError::BadKey("it is not a decryption key (use \"enc\")".into()));
        }
        let ours = key.public_jwk().map_err(|e| StartupError::BadKey(e.to_string()))?;
        let system = Client::new(base_url, ca_pem, Some(identity_pem))?;
        let plain = Client::new(base_url, ca_pem, None)?;
        let who: WhoAmI = system.get("/v1/whoami").await?;
        let own = match (who.institution.as_deref().map(Brin::parse), who.sector) {
            (Some(Ok(brin)), Some(sector)) if sector.is_receiving() => brin,
            _ => {
                return Err(StartupError::NotAnMbo(format!(
                    "{:?} ({:?})",
                    who.institution, who.sector
                )));
            }
        };
        let jwks = system.institution_jwks(&own).await?;
        let published = trusted_encryption_key(&jwks, &own, &anchors, now)?;
        if key_material(&published.key.to_json()) != key_material(&ours.to_json()) {
            return Err(StartupError::KeyMismatch {
                brin: own,
                ours: ours.kid().to_owned(),
                published: published.key.kid().to_owned(),
            });
        }
        Ok(Broker {
            system,
            plain,
            own,
            key,
            anchors,
        })
    }

    /// Logs in through the broker (password + TOTP, the broker's own rate
    /// limits and audit) and admits only an intaker of the desk's mbo.
    pub async fn login(&self, username: &str, password: &str, totp: &str) -> Result<Login, LoginRefused> {
        let body = json!({"username": username, "password": password, "totp": totp});
        let response: LoginResponse = self
            .plain
            .post("/v1/auth/login", &body)
            .await
            .map_err(LoginRefused::Broker)?;
        let who: WhoAmI = self
            .plain
            .with_token(&response.access_token)
            .get("/v1/whoami")
            .await
            .map_err(LoginRefused::Broker)?;
        let ours = who.role == Some(Role::Intaker) && who.institution.as_deref() == Some(self.own.as_str());
        match (ours, who.staff_id) {
            (true, Some(staff_id)) => Ok(Login {
                staff_id,
                token: response.access_token,
                expires_at: response.expires_at,
            }),
            _ => Err(LoginRefused::NotOurIntaker),
        }
    }

    /// The whole inbox, as the mbo's system acting for `staff`: page after
    /// page (the broker's cursor is the last package id), so that a package
    /// beyond the first page is neither missed nor taken for gone.
    pub async fn inbox(&self, staff: StaffId) -> Result<Vec<InboxEntry>, ClientError> {
        const PAGE: usize = 500;
        let staff = staff.to_string();
        let mut all: Vec<InboxEntry> = Vec::new();
        loop {
            let after = all
                .last()
                .map(|e| format!("&after={}", e.package_id))
                .unwrap_or_default();
            let reply = self
                .system
                .request(
                    Method::GET,
                    &format!("/v1/inbox?limit={PAGE}{after}"),
                    None,
                    Some(&staff),
                )
                .await?;
            let page: Vec<InboxEntry> = answer(reply)?;
            let done = page.len() < PAGE;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// A page of the mbo's event feed, read as its system (not for an
    /// intaker: the feed is the institution's).
    pub async fn events(&self, after: Option<&str>, wait: u32) -> Result<FeedPage, ClientError> {
        self.system.events(after, wait).await
    }

    /// Pulls, verifies and decrypts a package as the system acting for `staff`.
    pub async fn pull(&self, staff: StaffId, package: Uuid) -> Result<ReceivedDossier, ClientError> {
        let staff = staff.to_string();
        self.system
            .receive_dossier(package, Some(&staff), &self.key, &self.anchors, Utc::now())
            .await
    }

    pub async fn acknowledge(&self, staff: StaffId, package: Uuid) -> Result<Acknowledgement, ClientError> {
        self.system.acknowledge(package, Some(&staff.to_string())).await
    }

    /// An application with its course, with the intaker's token.
    pub async fn application(&self, token: &str, id: Uuid) -> Result<ApplicationDetail, ClientError> {
        self.plain.with_token(token).application(id).await
    }

    /// Reports a status with the intaker's token.
    pub async fn report_status(
        &self,
        token: &str,
        id: Uuid,
        report: StatusReport,
    ) -> Result<ApplicationDetail, ClientError> {
        let client = self.plain.with_token(token);
        client.report_status_on(id, report.status(), report.intake_on()).await
    }

    /// An institution's contact for the warm handover, if it named one
    /// (and the broker answers; the page then says there is none).
    pub async fn handover_contact(&self, brin: &str) -> Option<HandoverContactBody> {
        let view: ContactView = self
            .system
            .get(&format!("/v1/institutions/{brin}/contact"))
            .await
            .ok()?;
        view.handover
    }

    /// The name the broker has for an institution, if it answers.
    pub async fn institution_name(&self, brin: &str) -> Option<String> {
        let view: Value = self.system.get(&format!("/v1/institutions/{brin}")).await.ok()?;
        view.get("name").and_then(Value::as_str).map(str::to_owned)
    }
}
