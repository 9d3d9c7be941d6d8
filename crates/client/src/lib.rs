//! A typed client for school systems and staff tools: HTTPS with the
//! broker's CA and, for systems, the institution's client certificate.
//! Private keys stay with the caller; the broker never receives one.
//!
//! Besides the raw calls ([`Client::fetch`], [`Client::get`], [`Client::post`])
//! it has typed methods for the dossier exchange (see [`exchange`]):
//! applications, status feedback, submitting, listing, pulling and
//! acknowledging packages, and the two end-to-end operations
//! [`Client::send_dossier`] and [`Client::receive_dossier`], which check
//! every key the broker hands out against the caller's *own* trust anchors.
//! [`oso`] reads an OSO gegevensset dossier into sections at the sender and
//! writes released sections back as one at the receiver.

pub mod exchange;
pub mod oso;

pub use exchange::{
    Acknowledgement, ApplicationDetail, ApplicationView, EventKind, FeedEntry, FeedPage, InboxEntry, InboxSection,
    PulledPackage, Receipt, ReceivedDossier, RegisterApplicationRequest, StatusEvent, TrustedKey, Withheld,
    certificate_names_institution, trusted_encryption_key, trusted_signing_key,
};

use doorstroom_api::Problem;
use reqwest::{Certificate, Identity, Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The header in which a school system names the intaker it acts for.
pub const ON_BEHALF_OF: &str = "X-On-Behalf-Of";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("TLS material: {0}")]
    Tls(String),
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// The broker answered with an RFC 9457 problem document (the wire
    /// type the broker itself answers with).
    #[error("{}: {}: {}", .0.status, .0.title, .0.detail)]
    Problem(Box<Problem>),
    /// The broker's answer is not what the API promises: a failure without
    /// a problem document, or a success whose body has another shape.
    #[error("{status}: unexpected response: {detail}")]
    Unexpected { status: u16, detail: String },
    /// A request body could not be serialized (a bug in the caller's data).
    #[error("request body: {0}")]
    Encode(String),
    /// The broker served a key whose `x5c` chain does not lead to one of
    /// the caller's own trust anchors (or is expired, or does not carry the
    /// key). The key is not used: a compromised broker cannot slip in a key
    /// of its own.
    #[error(
        "the broker offered key `{kid}` for {brin}, which does not chain to our trust anchors: {reason}; \
         the key was not used"
    )]
    UntrustedKey {
        brin: String,
        kid: String,
        #[source]
        reason: doorstroom_jose::JoseError,
    },
    /// The broker served a key whose certificate chains to our trust
    /// anchors but was issued to another institution than the one it is
    /// published for.
    #[error(
        "the broker offered key `{kid}` for {brin}, but its certificate ({subject}) is issued to another \
         institution; the key was not used"
    )]
    KeyOfAnotherInstitution { brin: String, kid: String, subject: String },
    /// No key fit for the purpose is published, e.g. no active encryption
    /// key, or the envelope's `kid` is unknown or revoked.
    #[error("{brin} publishes no {what}")]
    NoKey { brin: String, what: String },
    /// Building or opening a package failed (the message names the part and rule).
    #[error("package: {0}")]
    Package(#[from] doorstroom_jose::JoseError),
    /// What the broker delivered does not agree with the sender's signed envelope.
    #[error("the delivered package does not match its signed envelope: {0}")]
    Mismatch(String),
}

/// An answer, as received.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<String>,
    /// The body as JSON, or `Null` when it is not JSON.
    pub body: Value,
    pub raw: Vec<u8>,
}

/// A connection to one broker.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Client {
    /// `ca_pem`: the CA that issued the broker's server certificate.
    /// `identity_pem`: client certificate and key (PEM, concatenated), for
    /// school systems.
    pub fn new(base_url: &str, ca_pem: &[u8], identity_pem: Option<&[u8]>) -> Result<Self, ClientError> {
        let ca = Certificate::from_pem(ca_pem).map_err(|e| ClientError::Tls(e.to_string()))?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .https_only(true);
        if let Some(pem) = identity_pem {
            builder = builder.identity(Identity::from_pem(pem).map_err(|e| ClientError::Tls(e.to_string()))?);
        }
        Ok(Self {
            base: base_url.trim_end_matches('/').to_owned(),
            http: builder.build()?,
            token: None,
        })
    }

    /// The same client, sending `token` as bearer access token.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// A raw request; answers the status and the JSON body (or `Null`).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), ClientError> {
        let reply = self.fetch(method, path, body).await?;
        Ok((reply.status, reply.body))
    }

    /// A raw request with the content type of the answer.
    pub async fn fetch(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply, ClientError> {
        self.request(method, path, body, None).await
    }

    /// A raw request; `on_behalf_of` (a staff id) is sent as `X-On-Behalf-Of`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        on_behalf_of: Option<&str>,
    ) -> Result<Reply, ClientError> {
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(staff) = on_behalf_of {
            request = request.header(ON_BEHALF_OF, staff);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            content_type,
            body,
            raw: bytes.to_vec(),
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ClientError> {
        Ok(self.call_as(method, path, body, None).await?.1)
    }

    /// A call whose answer must be a success with a JSON body of type `T`;
    /// answers the status too. A failure becomes [`ClientError::Problem`], an
    /// answer of another shape [`ClientError::Unexpected`].
    pub(crate) async fn call_as<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        on_behalf_of: Option<&str>,
    ) -> Result<(StatusCode, T), ClientError> {
        let reply = self.request(method, path, body, on_behalf_of).await?;
        let (status, value) = (reply.status, reply.body);
        let unexpected = |e: serde_json::Error| ClientError::Unexpected {
            status: status.as_u16(),
            detail: e.to_string(),
        };
        if !status.is_success() {
            let problem: Problem = serde_json::from_value(value).map_err(unexpected)?;
            return Err(ClientError::Problem(Box::new(problem)));
        }
        let parsed = serde_json::from_value(value).map_err(unexpected)?;
        Ok((status, parsed))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post<T: DeserializeOwned, B: Serialize>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        let body = serde_json::to_value(body).map_err(|e| ClientError::Encode(e.to_string()))?;
        self.call(Method::POST, path, Some(&body)).await
    }

    /// Who the broker takes this client to be.
    pub async fn whoami(&self) -> Result<Value, ClientError> {
        self.get("/v1/whoami").await
    }

    /// An institution's published JWK Set. The caller must check each key's
    /// `x5c` chain against its own trust anchors before using it.
    pub async fn jwks(&self, brin: &str) -> Result<Value, ClientError> {
        self.get(&format!("/v1/institutions/{brin}/jwks")).await
    }

    /// The active intakers of the caller's own mbo (`id`, `username`,
    /// `display_name`): the ids a school system names in `X-On-Behalf-Of`.
    pub async fn intakers(&self, brin: &str) -> Result<Value, ClientError> {
        self.get(&format!("/v1/institutions/{brin}/intakers")).await
    }

    /// Logs a staff member in; returns a client that carries the token.
    pub async fn login(&self, username: &str, password: &str, totp: &str) -> Result<Self, ClientError> {
        let response: Value = self
            .post(
                "/v1/auth/login",
                &serde_json::json!({"username": username, "password": password, "totp": totp}),
            )
            .await?;
        let token = response
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| ClientError::Tls("login response without access_token".into()))?;
        Ok(self.with_token(token))
    }
}
