//! The school-system side of the dossier exchange, as the `doorstroom`
//! commands `applications …`, `status …`, `send`, `inbox` and `pull` use it.
//! Kept in the library (not in `main.rs`) so that tests can drive the same
//! code against a real broker.
//!
//! Conventions:
//!
//! - An institution's files live in one folder (`--as DIR`, as the dev PKI
//!   lays them out in `certs/dev/<BRIN>/`): the TLS client certificate
//!   `client.pem` with its key `client.key`, the private signing key
//!   `sign.jwk` and the private decryption key `enc.jwk`. The private keys
//!   are only read here and used locally; nothing sends them anywhere.
//! - Keys of *other* institutions come from the broker's JWK Sets and are
//!   trusted only after their `x5c` chain checked out against the trust
//!   anchors given with `--trust-anchors` (see `doorstroom_client::exchange`).
//! - The student number (`--student bsn:NNNNNNNNN` or
//!   `onderwijsnummer:NNNNNNNNN`) is parsed with
//!   [`doorstroom_domain::StudentNumber`]; no message or output of these
//!   commands ever contains it.
//! - Decrypted sections are written to files readable by their owner only
//!   (0600, in a 0700 folder on Unix); they are dossier content.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, Utc};
use doorstroom_client::{Acknowledgement, Client, ClientError, Receipt, ReceivedDossier, RegisterApplicationRequest};
use doorstroom_domain::{
    Brin, Crebo, KeyUse, ParseError, Programme, SchoolYear, Section, StaffId, StudentNumber, StudentNumberKind,
};
use doorstroom_jose::{JoseError, PackageMeta, PrivateJwk, SectionInput, TrustAnchors};
use serde_json::{Value, json};
use uuid::Uuid;

use doorstroom_devkit::pki::{CLIENT_CERT_FILE, CLIENT_KEY_FILE, ENC_JWK_FILE, SIGN_JWK_FILE};

/// Default broker URL.
pub const DEFAULT_URL: &str = "https://localhost:8443";
/// Default CA of the broker's server certificate, and default trust anchors.
pub const DEFAULT_CA: &str = "certs/dev/ca.pem";

/// What went wrong; messages name files and rules, never dossier content or
/// a student number.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that must hold JSON does not (serde_json's syntax errors give
    /// a line and column, not the content).
    #[error("{path}: not valid JSON ({source})")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Key {
        path: PathBuf,
        #[source]
        source: JoseError,
    },
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// An OSO dossier refused, or released sections that make none (the
    /// message names lines, element paths and rules, never values).
    #[error("{path}: {source}")]
    Oso {
        path: PathBuf,
        #[source]
        source: doorstroom_client::oso::OsoError,
    },
    /// Boxed: a client error is large, and most results here never carry one.
    #[error(transparent)]
    Client(Box<ClientError>),
}

impl From<ClientError> for ExchangeError {
    fn from(e: ClientError) -> Self {
        ExchangeError::Client(Box::new(e))
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ExchangeError + '_ {
    move |source| ExchangeError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ExchangeError> {
    fs::read(path).map_err(io_error(path))
}

/// Who the caller is: a school system (`--as DIR`, client certificate) or a
/// staff member (`--token`, a bearer access token from `/v1/auth/login`).
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub dir: Option<PathBuf>,
    pub token: Option<String>,
}

impl Identity {
    /// A file in the institution's folder; `flag` names the option that can
    /// replace it, for the error when there is no folder.
    pub fn file(&self, name: &str, flag: &str) -> Result<PathBuf, ExchangeError> {
        self.dir
            .as_ref()
            .map(|dir| dir.join(name))
            .ok_or_else(|| ExchangeError::Usage(format!("give --as DIR or {flag}")))
    }

    /// The private signing key: `DIR/sign.jwk`.
    pub fn signing_key(&self) -> Result<PathBuf, ExchangeError> {
        self.file(SIGN_JWK_FILE, "--signing-key FILE")
    }

    /// The private decryption key: `DIR/enc.jwk`.
    pub fn decryption_key(&self) -> Result<PathBuf, ExchangeError> {
        self.file(ENC_JWK_FILE, "--key FILE")
    }
}

/// A client for the broker at `url`, trusting `ca` for the server
/// certificate and presenting `DIR/client.pem` + `DIR/client.key`, or the
/// staff token.
pub fn connect(url: &str, ca: &Path, identity: &Identity) -> Result<Client, ExchangeError> {
    let ca_pem = read(ca)?;
    match (&identity.dir, &identity.token) {
        (Some(dir), None) => {
            let mut pem = read(&dir.join(CLIENT_CERT_FILE))?;
            pem.push(b'\n');
            pem.extend(read(&dir.join(CLIENT_KEY_FILE))?);
            Ok(Client::new(url, &ca_pem, Some(&pem))?)
        }
        (None, Some(token)) => Ok(Client::new(url, &ca_pem, None)?.with_token(token)),
        (Some(_), Some(_)) => Err(ExchangeError::Usage("give either --as DIR or --token, not both".into())),
        (None, None) => Err(ExchangeError::Usage(
            "say who you are: --as DIR (a school system's folder) or --token TOKEN (staff)".into(),
        )),
    }
}

/// Parses `--student`: `bsn:NNNNNNNNN` or `onderwijsnummer:NNNNNNNNN`, each
/// checked by its own 11-proef. Errors name the rule, never the input.
pub fn parse_student(raw: &str) -> Result<StudentNumber, ExchangeError> {
    let (kind, number) = raw
        .split_once(':')
        .ok_or_else(|| ExchangeError::Usage("--student: must be bsn:NNNNNNNNN or onderwijsnummer:NNNNNNNNN".into()))?;
    let kind = StudentNumberKind::parse(kind)?;
    Ok(StudentNumber::parse(kind, number)?)
}

/// Parses `--section name=path`.
pub fn parse_section_arg(raw: &str) -> anyhow::Result<(Section, PathBuf)> {
    let (name, path) = raw
        .split_once('=')
        .context("must be NAME=FILE, e.g. personal_data=personal.json")?;
    let section = Section::parse(name)?;
    if path.is_empty() {
        anyhow::bail!("the file name after = is empty");
    }
    Ok((section, PathBuf::from(path)))
}

/// Reads a private JWK file and checks that it is a key for `key_use`.
pub fn load_private_jwk(path: &Path, key_use: KeyUse) -> Result<PrivateJwk, ExchangeError> {
    let text = read(path)?;
    let value: Value = serde_json::from_slice(&text).map_err(|source| ExchangeError::Json {
        path: path.to_owned(),
        source,
    })?;
    let key = PrivateJwk::parse(&value).map_err(|source| ExchangeError::Key {
        path: path.to_owned(),
        source,
    })?;
    if key.key_use() != key_use {
        return Err(ExchangeError::Usage(format!(
            "{}: is not a {} key (use \"{key_use}\")",
            path.display(),
            match key_use {
                KeyUse::Sig => "signing",
                KeyUse::Enc => "decryption",
            }
        )));
    }
    Ok(key)
}

/// Reads the trust anchors (PEM certificates).
pub fn load_anchors(path: &Path) -> Result<TrustAnchors, ExchangeError> {
    TrustAnchors::from_pem(&read(path)?).map_err(|source| ExchangeError::Key {
        path: path.to_owned(),
        source,
    })
}

/// What `applications register` sends.
pub fn registration(
    student: &str,
    programme: &str,
    crebo: Option<Crebo>,
    school_year: SchoolYear,
    applied_on: NaiveDate,
    sending_school: Option<Brin>,
) -> Result<RegisterApplicationRequest, ExchangeError> {
    Ok(RegisterApplicationRequest {
        student_number: parse_student(student)?,
        sending_school,
        programme: Programme::new(programme, crebo)?,
        school_year,
        applied_on,
    })
}

/// The media type of an attachment, by its file name's extension.
pub fn media_type(file_name: &str) -> &'static str {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "json" => "application/json",
        "txt" => "text/plain",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "odt" => "application/vnd.oasis.opendocument.text",
        _ => "application/octet-stream",
    }
}

/// The sections to seal: each `--section name=FILE` read as JSON, and the
/// `--attachment` files, base64-encoded, as the `attachments` section
/// (`{"files": [{"filename", "media_type", "data"}]}`). Each section at most
/// once; `attachments` either from a JSON file or from `--attachment`.
pub fn read_sections(
    sections: &[(Section, PathBuf)],
    attachments: &[PathBuf],
) -> Result<Vec<SectionInput>, ExchangeError> {
    let mut out: BTreeMap<Section, Value> = BTreeMap::new();
    for (section, path) in sections {
        let content = serde_json::from_slice(&read(path)?).map_err(|source| ExchangeError::Json {
            path: path.clone(),
            source,
        })?;
        if out.insert(*section, content).is_some() {
            return Err(ExchangeError::Usage(format!(
                "--section {section} given more than once"
            )));
        }
    }
    if !attachments.is_empty() {
        if out.contains_key(&Section::Attachments) {
            return Err(ExchangeError::Usage(
                "give the attachments either as --section attachments=FILE or as --attachment files, not both".into(),
            ));
        }
        let mut files = Vec::with_capacity(attachments.len());
        for path in attachments {
            let filename = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| ExchangeError::Usage(format!("{}: not a file name", path.display())))?;
            files.push(json!({
                "filename": filename,
                "media_type": media_type(filename),
                "data": STANDARD.encode(read(path)?),
            }));
        }
        out.insert(Section::Attachments, json!({ "files": files }));
    }
    if out.is_empty() {
        return Err(ExchangeError::Usage(
            "nothing to send: give at least one --section NAME=FILE or --attachment FILE".into(),
        ));
    }
    Ok(out
        .into_iter()
        .map(|(section, content)| SectionInput { section, content })
        .collect())
}

/// What `send` needs.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// The sending school; asked from the broker (`whoami`) when absent.
    pub from: Option<Brin>,
    pub to: Brin,
    pub application: Uuid,
    pub sections: Vec<(Section, PathBuf)>,
    pub attachments: Vec<PathBuf>,
    pub signing_key: PathBuf,
    pub trust_anchors: PathBuf,
    pub now: DateTime<Utc>,
}

/// Builds, signs and encrypts the package (fresh package id, a UUID v4, and
/// `jti` `<sender>-<32 hex>`) and submits it: see
/// [`Client::send_dossier`].
pub async fn send(client: &Client, options: &SendOptions) -> Result<Receipt, ExchangeError> {
    let sections = read_sections(&options.sections, &options.attachments)?;
    seal_and_submit(client, options, &sections).await
}

/// The sealing and submission of [`send`], for `sections` from elsewhere
/// (an OSO dossier: the `oso` module's `send`).
pub async fn seal_and_submit(
    client: &Client,
    options: &SendOptions,
    sections: &[SectionInput],
) -> Result<Receipt, ExchangeError> {
    let signing_key = load_private_jwk(&options.signing_key, KeyUse::Sig)?;
    let anchors = load_anchors(&options.trust_anchors)?;
    let sender = match &options.from {
        Some(brin) => brin.clone(),
        None => client.own_institution().await?,
    };
    let meta = PackageMeta {
        package_id: Uuid::new_v4().to_string(),
        jti: format!("{sender}-{}", Uuid::new_v4().simple()),
        sender,
        recipient: options.to.clone(),
        application: options.application.to_string(),
        iat: options.now.timestamp(),
    };
    Ok(client
        .send_dossier(&meta, sections, &signing_key, &anchors, options.now)
        .await?)
}

/// What `pull` needs.
#[derive(Debug, Clone)]
pub struct PullOptions {
    pub package: Uuid,
    /// For a school system: the intaker it acts for.
    pub on_behalf_of: Option<StaffId>,
    pub decryption_key: PathBuf,
    pub trust_anchors: PathBuf,
    pub out: PathBuf,
    /// Acknowledge receipt once everything verified and was written.
    pub acknowledge: bool,
    pub now: DateTime<Utc>,
}

/// What `pull` did.
#[derive(Debug, Clone)]
pub struct PullOutcome {
    pub dossier: ReceivedDossier,
    /// The files written, in order.
    pub written: Vec<PathBuf>,
    pub acknowledged: Option<Acknowledgement>,
}

/// Pulls, verifies and decrypts the package ([`Client::receive_dossier`]),
/// writes it out with [`write_dossier`], and acknowledges if asked.
pub async fn pull(client: &Client, options: &PullOptions) -> Result<PullOutcome, ExchangeError> {
    pull_into(client, options, write_dossier).await
}

/// What a pull writes: the files written into the folder, in order.
pub type WriteDossier = fn(&Path, &ReceivedDossier) -> Result<Vec<PathBuf>, ExchangeError>;

/// [`pull`], the dossier written out by `write` (an OSO dossier:
/// the `oso` module's `pull`).
pub async fn pull_into(
    client: &Client,
    options: &PullOptions,
    write: WriteDossier,
) -> Result<PullOutcome, ExchangeError> {
    let key = load_private_jwk(&options.decryption_key, KeyUse::Enc)?;
    let anchors = load_anchors(&options.trust_anchors)?;
    let on_behalf_of = options.on_behalf_of.map(|s| s.to_string());
    let dossier = client
        .receive_dossier(options.package, on_behalf_of.as_deref(), &key, &anchors, options.now)
        .await?;
    let written = write(&options.out, &dossier)?;
    let acknowledged = if options.acknowledge {
        Some(client.acknowledge(options.package, on_behalf_of.as_deref()).await?)
    } else {
        None
    };
    Ok(PullOutcome {
        dossier,
        written,
        acknowledged,
    })
}

/// Writes `bytes` to `path` inside `dir` (created 0700), the file 0600.
pub fn write_private_file(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), ExchangeError> {
    private_dir(dir)?;
    write_private(path, bytes)
}

/// A bare file name from an attachment, safe to create inside a folder:
/// no path separators, not `.` or `..`, no control characters, not hidden.
pub fn safe_file_name(name: &str) -> Option<&str> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.chars().any(|c| c == '/' || c == '\\' || c.is_control());
    ok.then_some(name)
}

#[cfg(unix)]
fn private_dir(path: &Path) -> Result<(), ExchangeError> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_error(path))
}

#[cfg(not(unix))]
fn private_dir(path: &Path) -> Result<(), ExchangeError> {
    fs::create_dir_all(path).map_err(io_error(path))
}

/// Writes `bytes` to `path`, created readable by the owner only (0600 on
/// Unix); an existing file is replaced.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ExchangeError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error(path))?;
    file.write_all(bytes).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

/// Writes one `<section>.json` per released section into `out`. The
/// `attachments` section's files are written to `out/attachments/<filename>`
/// and `attachments.json` lists them (with `saved_as` instead of `data`).
/// Answers the files written.
pub fn write_dossier(out: &Path, dossier: &ReceivedDossier) -> Result<Vec<PathBuf>, ExchangeError> {
    private_dir(out)?;
    let mut written = Vec::new();
    for (section, content) in &dossier.sections {
        let content = if *section == Section::Attachments {
            write_attachments(out, content, &mut written)?
        } else {
            content.clone()
        };
        let path = out.join(format!("{section}.json"));
        let text = serde_json::to_vec_pretty(&content).map_err(|source| ExchangeError::Json {
            path: path.clone(),
            source,
        })?;
        write_private(&path, &text)?;
        written.push(path);
    }
    Ok(written)
}

fn write_attachments(out: &Path, content: &Value, written: &mut Vec<PathBuf>) -> Result<Value, ExchangeError> {
    let bad = |rule: &str| ExchangeError::Usage(format!("section attachments: {rule}"));
    let files = content
        .get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("must be {\"files\": [...]}"))?;
    let dir = out.join("attachments");
    private_dir(&dir)?;
    let mut listed = Vec::with_capacity(files.len());
    let mut seen = std::collections::BTreeSet::new();
    for file in files {
        let text = |member: &str| file.get(member).and_then(Value::as_str);
        let name = text("filename")
            .and_then(safe_file_name)
            .ok_or_else(|| bad("each file needs a bare `filename` (no path, not hidden)"))?;
        if !seen.insert(name.to_owned()) {
            return Err(bad("two files have the same `filename`"));
        }
        let data = text("data")
            .and_then(|d| STANDARD.decode(d).ok())
            .ok_or_else(|| bad("each file needs `data` in standard base64"))?;
        let path = dir.join(name);
        write_private(&path, &data)?;
        written.push(path);
        let mut entry = file.clone();
        if let Some(members) = entry.as_object_mut() {
            members.remove("data");
            members.insert("saved_as".into(), format!("attachments/{name}").into());
        }
        listed.push(entry);
    }
    Ok(json!({ "files": listed }))
}

/// A human summary of a pulled dossier (no content).
pub fn describe_pull(outcome: &PullOutcome) -> String {
    let d = &outcome.dossier;
    let mut text = format!(
        "package {} for application {}\n  from {} (signed with {}, certificate {}), to {}\n  submitted {}\n  \
         verified: envelope signature, and for each section decryption and the sender's inner signature\n",
        d.package_id, d.application_id, d.sender, d.sender_kid, d.sender_certificate, d.recipient, d.submitted_at
    );
    for path in &outcome.written {
        text.push_str(&format!("  wrote {}\n", path.display()));
    }
    if d.withheld.is_empty() {
        text.push_str("  nothing withheld\n");
    }
    for w in &d.withheld {
        text.push_str(&format!("  withheld {}: {}\n", w.section, w.reason));
    }
    if let Some(ack) = &outcome.acknowledged {
        text.push_str(&format!("  acknowledged at {}\n", ack.acknowledged_at));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_numbers_parse_by_kind() {
        let bsn = parse_student("bsn:123456782").unwrap();
        assert_eq!(bsn.kind(), StudentNumberKind::Bsn);
        let onr = parse_student("onderwijsnummer:100000004").unwrap();
        assert_eq!(onr.kind(), StudentNumberKind::Onderwijsnummer);
    }

    #[test]
    fn bad_student_numbers_never_echo_the_input() {
        for raw in [
            "123456782",
            "bsn:123456789",
            "bsn:12345678",
            "bsn: 123456782",
            "BSN:123456782",
            "onderwijsnummer:123456782",
            "pgn:123456782",
            "",
        ] {
            let msg = parse_student(raw).unwrap_err().to_string();
            assert!(!msg.contains("12345678"), "{raw}: {msg}");
            assert!(msg.contains("student") || msg.contains("--student"), "{raw}: {msg}");
        }
        assert_eq!(
            parse_student("bsn:123456789").unwrap_err().to_string(),
            "student_number: bsn fails the 11-proef"
        );
    }

    #[test]
    fn section_arguments() {
        assert_eq!(
            parse_section_arg("personal_data=dir/p.json").unwrap(),
            (Section::PersonalData, PathBuf::from("dir/p.json"))
        );
        assert_eq!(
            parse_section_arg("remarks=a=b.json").unwrap(),
            (Section::Remarks, PathBuf::from("a=b.json"))
        );
        assert!(parse_section_arg("personal_data").is_err());
        assert!(parse_section_arg("personal_data=").is_err());
        assert!(
            parse_section_arg("grades=x.json")
                .unwrap_err()
                .to_string()
                .contains("must be one of")
        );
    }

    #[test]
    fn file_names_and_media_types() {
        assert_eq!(safe_file_name("rapport.pdf"), Some("rapport.pdf"));
        for bad in ["", ".", "..", ".hidden", "a/b.pdf", "..\\x", "a\nb"] {
            assert_eq!(safe_file_name(bad), None, "{bad:?}");
        }
        assert_eq!(media_type("Rapport.PDF"), "application/pdf");
        assert_eq!(media_type("foto.jpeg"), "image/jpeg");
        assert_eq!(media_type("noextension"), "application/octet-stream");
    }

    #[test]
    fn sections_are_read_once_each() {
        let tmp = tempfile::tempdir().unwrap();
        let pd = tmp.path().join("pd.json");
        fs::write(&pd, r#"{"name": "Sam"}"#).unwrap();
        let pdf = tmp.path().join("rapport.pdf");
        fs::write(&pdf, b"%PDF-1.4 fake").unwrap();
        let read = read_sections(&[(Section::PersonalData, pd.clone())], std::slice::from_ref(&pdf)).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].section, Section::PersonalData);
        assert_eq!(read[1].section, Section::Attachments);
        let file = &read[1].content["files"][0];
        assert_eq!(file["filename"], "rapport.pdf");
        assert_eq!(file["media_type"], "application/pdf");
        assert_eq!(
            STANDARD.decode(file["data"].as_str().unwrap()).unwrap(),
            b"%PDF-1.4 fake"
        );

        let twice = [(Section::PersonalData, pd.clone()), (Section::PersonalData, pd.clone())];
        assert!(read_sections(&twice, &[]).is_err());
        let both = [(Section::Attachments, pd.clone())];
        assert!(read_sections(&both, &[pdf]).is_err());
        assert!(read_sections(&[], &[]).is_err());
        let broken = tmp.path().join("broken.json");
        fs::write(&broken, "{not json").unwrap();
        let err = read_sections(&[(Section::Remarks, broken)], &[]).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }

    /// The client's key checks, with keys from the dev CA: a genuine key is
    /// taken; another institution's genuine key offered under this BRIN, a
    /// key from a foreign CA, a retired key and an unknown `kid` are not.
    #[test]
    fn keys_are_trusted_only_when_they_chain_and_name_the_institution() {
        use doorstroom_client::{trusted_encryption_key, trusted_signing_key};
        use doorstroom_devkit::pki::{Ca, DEMO_INSTITUTIONS};
        use doorstroom_jose::Jwks;

        let now = Utc::now();
        let demo = |brin: &str| DEMO_INSTITUTIONS.iter().find(|d| d.brin == brin).unwrap();
        let ours = tempfile::tempdir().unwrap();
        let ca = Ca::create(ours.path(), now).unwrap();
        let anchors = TrustAnchors::from_pem(ca.cert_pem().as_bytes()).unwrap();
        let foreign_dir = tempfile::tempdir().unwrap();
        let foreign = Ca::create(foreign_dir.path(), now).unwrap();

        let mbo = Brin::parse("25LX").unwrap();
        let published = |jwk: &doorstroom_jose::PublicJwk, status: &str| {
            let mut v = jwk.to_json();
            v["status"] = status.into();
            v
        };
        let genuine = ca.issue_jose_key(demo("25LX"), KeyUse::Enc, now).unwrap().public_jwk;
        let other = ca.issue_jose_key(demo("27GH"), KeyUse::Enc, now).unwrap().public_jwk;
        let rogue = foreign
            .issue_jose_key(demo("25LX"), KeyUse::Enc, now)
            .unwrap()
            .public_jwk;

        let set = |keys: Vec<Value>| Jwks { keys };
        let ok = trusted_encryption_key(&set(vec![published(&genuine, "active")]), &mbo, &anchors, now).unwrap();
        assert_eq!(ok.key.kid(), genuine.kid());

        let err = trusted_encryption_key(&set(vec![published(&rogue, "active")]), &mbo, &anchors, now).unwrap_err();
        assert!(matches!(err, ClientError::UntrustedKey { .. }), "{err}");
        assert!(err.to_string().contains("does not chain to our trust anchors"), "{err}");

        let err = trusted_encryption_key(&set(vec![published(&other, "active")]), &mbo, &anchors, now).unwrap_err();
        assert!(matches!(err, ClientError::KeyOfAnotherInstitution { .. }), "{err}");

        // A rogue key first does not stop the genuine one from being found,
        // and the rogue one is never taken.
        let mixed = set(vec![published(&rogue, "active"), published(&genuine, "active")]);
        assert_eq!(
            trusted_encryption_key(&mixed, &mbo, &anchors, now).unwrap().key.kid(),
            genuine.kid()
        );

        let err = trusted_encryption_key(&set(vec![published(&genuine, "retired")]), &mbo, &anchors, now).unwrap_err();
        assert!(matches!(err, ClientError::NoKey { .. }), "{err}");

        let vo = Brin::parse("07AB").unwrap();
        let sig = ca.issue_jose_key(demo("07AB"), KeyUse::Sig, now).unwrap().public_jwk;
        let sigs = set(vec![published(&sig, "retired")]);
        assert!(trusted_signing_key(&sigs, &vo, sig.kid(), &anchors, now, now).is_ok());
        let err = trusted_signing_key(&sigs, &vo, "07AB-sig-unknown", &anchors, now, now).unwrap_err();
        assert!(err.to_string().contains("unknown or revoked"), "{err}");
        let revoked = set(vec![published(&sig, "revoked")]);
        assert!(trusted_signing_key(&revoked, &vo, sig.kid(), &anchors, now, now).is_err());
        // A signing key is not an encryption key, whatever the set says.
        let mut mislabelled = published(&sig, "active");
        mislabelled["use"] = "enc".into();
        assert!(trusted_encryption_key(&set(vec![mislabelled]), &vo, &anchors, now).is_err());
    }
}
