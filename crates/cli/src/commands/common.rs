//! What the command groups share: who calls (a school system's folder or a
//! staff token), the student argument, settings, store and runtime, output,
//! and the one line an error becomes.

use std::path::Path;

use anyhow::{Context as _, bail};
use clap::Args;
use doorstroom_jose::TrustAnchors;
use doorstroom_server::config::Settings;
use doorstroom_store::Store;

use crate::exchange::{self, Identity};

/// Who calls: a school system's folder or a staff token.
#[derive(Args, Clone)]
pub struct Who {
    /// The institution's folder: client.pem + client.key (TLS), sign.jwk and enc.jwk (private JOSE keys).
    #[arg(long = "as", value_name = "DIR", conflicts_with = "token")]
    pub as_dir: Option<std::path::PathBuf>,
    /// A staff access token (from POST /v1/auth/login) instead of a client certificate.
    #[arg(long, env = "DOORSTROOM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl Who {
    pub fn identity(&self) -> Identity {
        Identity {
            dir: self.as_dir.clone(),
            token: self.token.clone(),
        }
    }

    /// A staff member calling with an access token.
    pub fn staff(token: String) -> Who {
        Who {
            as_dir: None,
            token: Some(token),
        }
    }
}

/// The student, as `bsn:NNNNNNNNN` or `onderwijsnummer:NNNNNNNNN`. Prefer
/// the environment variable, which keeps the number out of shell history.
#[derive(Args, Clone)]
pub struct StudentArg {
    /// bsn:NNNNNNNNN or onderwijsnummer:NNNNNNNNN (never printed).
    #[arg(long, env = "DOORSTROOM_STUDENT", hide_env_values = true, value_name = "KIND:NUMBER")]
    pub student: String,
}

/// The error as one line: each cause in the chain after the context that
/// leads to it, without repeating a cause that a message already includes
/// (several of the typed errors name their source in their own message).
pub fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// The settings: `config` over config/default.toml, DOORSTROOM__… variables over both.
pub fn load_settings(config: Option<&Path>) -> anyhow::Result<Settings> {
    Ok(Settings::load(config)?)
}

pub fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    Ok(Store::open(&settings.database.url, settings.database.max_connections)?)
}

/// The configured trust anchors for the x5c chains of published keys.
pub fn load_trust_anchors(settings: &Settings) -> anyhow::Result<TrustAnchors> {
    let path = &settings.jose.trust_anchors;
    let pem = std::fs::read(path).with_context(|| path.display().to_string())?;
    Ok(TrustAnchors::from_pem(&pem)?)
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("the async runtime")
}

/// Prints `value` as pretty JSON; a closed pipe (`| head`) is an error, not a panic.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    use std::io::Write as _;
    let text = serde_json::to_string_pretty(value)?;
    writeln!(std::io::stdout().lock(), "{text}").context("stdout")
}

/// The student number as the API's JSON wants it.
pub fn student_json(raw: &str) -> anyhow::Result<serde_json::Value> {
    let number = exchange::parse_student(raw)?;
    Ok(serde_json::to_value(&number)?)
}

/// Posts `body` to `path` and prints the answer, or the problem.
pub fn post_and_print(url: &str, ca: &Path, who: &Who, path: &str, body: serde_json::Value) -> anyhow::Result<()> {
    let client = exchange::connect(url, ca, &who.identity())?;
    let reply = runtime()?.block_on(client.request(reqwest::Method::POST, path, Some(&body), None))?;
    if !reply.status.is_success() {
        bail!("{}", problem_line(reply.status, &reply.body));
    }
    print_json(&reply.body)
}

/// A problem answer in one line: `status: title: detail`.
pub fn problem_line(status: reqwest::StatusCode, body: &serde_json::Value) -> String {
    let text = |k: &str| body.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    format!("{}: {}: {}", status.as_u16(), text("title"), text("detail"))
}
