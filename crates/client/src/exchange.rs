//! The dossier exchange as a school system (or an intaker's tool) sees it.
//!
//! *Typed calls*: [`Client::register_application`],
//! [`Client::find_applications`], [`Client::application`],
//! [`Client::report_status`], [`Client::submit`], [`Client::inbox`],
//! [`Client::pull`], [`Client::acknowledge`], [`Client::broker_jwks`] and
//! [`Client::institution_jwks`]. Their answers are the broker's own wire
//! types (`doorstroom-api`); unknown members are ignored, so that a newer
//! broker may add some.
//!
//! *End to end*: [`Client::send_dossier`] seals and submits a package and
//! [`Client::receive_dossier`] pulls, verifies and decrypts one. Both take
//! the peer's key from the broker's JWK Set but use it only after
//! [`trusted_encryption_key`] / [`trusted_signing_key`] checked it against
//! the caller's own trust anchors: the `x5c` chain leads to an anchor at
//! the given time, the leaf carries exactly the published key, and the
//! leaf's subject names the institution the key is published for (so that a
//! broker cannot hand out one institution's genuine key as another's).
//!
//! Private keys ([`PrivateJwk`]) are only used locally; nothing here sends one.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
pub use doorstroom_api::erasure::ErasureSummary;
use doorstroom_domain::{ApplicationStatus, Brin, KeyStatus, KeyUse, Section, StudentNumber};
use doorstroom_jose::{
    JoseError, Jwks, PackageMeta, PrivateJwk, PublicJwk, SectionInput, Submission, TrustAnchors, X5cInfo, open_section,
    peek_envelope, seal, verify_envelope, verify_x5c,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Client, ClientError};

// The broker's request and response bodies are the wire types of
// `doorstroom-api`, shared with the broker: this crate copies none. The
// names this crate has always used stay as aliases.
pub use doorstroom_api::applications::{
    ApplicationDetail, ApplicationView, PackageExpiry, RegisterApplication as RegisterApplicationRequest,
    StatusEventView as StatusEvent,
};
pub use doorstroom_api::events::{EventKind, FeedEntry, FeedPage};
pub use doorstroom_api::packages::{
    Acknowledgement, InboxEntry, InboxSection, PulledPackage, SubmissionReceipt as Receipt, Withheld,
};

/// A key from an institution's JWK Set that passed the caller's own checks.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub key: PublicJwk,
    /// The `status` the broker published with it.
    pub status: KeyStatus,
    /// What the verified leaf certificate says.
    pub certificate: X5cInfo,
}

/// A pulled package after every check: envelope signature, each section's
/// decryption and inner signature, and agreement with what the broker says.
#[derive(Clone, PartialEq)]
pub struct ReceivedDossier {
    pub package_id: String,
    pub application_id: Uuid,
    /// The sending school (the envelope's `iss`, verified).
    pub sender: Brin,
    /// The receiving institution (the envelope's `aud`, checked to be the caller's).
    pub recipient: Brin,
    pub submitted_at: DateTime<Utc>,
    /// The envelope's `iat`: when the sender sealed the package.
    pub sealed_at: i64,
    /// The sender's signing key and the subject of its certificate.
    pub sender_kid: String,
    pub sender_certificate: String,
    /// The content of each released section.
    pub sections: BTreeMap<Section, Value>,
    /// Sections listed in the envelope that the broker did not release now.
    pub withheld: Vec<Withheld>,
}

impl fmt::Debug for ReceivedDossier {
    /// Names the sections, never their content (dossier plaintext).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedDossier")
            .field("package_id", &self.package_id)
            .field("application_id", &self.application_id)
            .field("sender", &self.sender)
            .field("recipient", &self.recipient)
            .field("sections", &self.sections.keys().collect::<Vec<_>>())
            .field("withheld", &self.withheld)
            .finish_non_exhaustive()
    }
}

/// Whether a certificate subject (as [`X5cInfo::subject`] writes it, e.g.
/// `CN=25LX enc key` or `CN=…, OU=25LX`) names the institution `brin`: one
/// of its attribute values, split at white space, is exactly the BRIN.
pub fn certificate_names_institution(subject: &str, brin: &Brin) -> bool {
    subject
        .split(", ")
        .filter_map(|attribute| attribute.split_once('='))
        .flat_map(|(_, value)| value.split_whitespace())
        .any(|word| word == brin.as_str())
}

/// One JWK Set member, with the broker's `status` read beside the key.
fn published(jwks: &Jwks) -> impl Iterator<Item = (&Value, Option<KeyStatus>, Option<&str>, Option<&str>)> {
    jwks.keys.iter().map(|raw| {
        let text = |member: &str| raw.get(member).and_then(Value::as_str);
        let status = text("status").and_then(|s| KeyStatus::parse(s).ok());
        (raw, status, text("use"), text("kid"))
    })
}

/// Checks one published key: it parses, its chain leads to one of `anchors`
/// at `at` with the leaf carrying this key, and the leaf names `brin`.
fn check_key(raw: &Value, brin: &Brin, anchors: &TrustAnchors, at: DateTime<Utc>) -> Result<TrustedParts, ClientError> {
    let kid = raw.get("kid").and_then(Value::as_str).unwrap_or("?").to_owned();
    let untrusted = |reason| ClientError::UntrustedKey {
        brin: brin.to_string(),
        kid: kid.clone(),
        reason,
    };
    let key = PublicJwk::parse(raw).map_err(untrusted)?;
    let certificate = verify_x5c(&key, anchors, at).map_err(untrusted)?;
    if !certificate_names_institution(&certificate.subject, brin) {
        return Err(ClientError::KeyOfAnotherInstitution {
            brin: brin.to_string(),
            kid,
            subject: certificate.subject,
        });
    }
    Ok((key, certificate))
}

type TrustedParts = (PublicJwk, X5cInfo);

/// The key a sender encrypts for: from `brin`'s JWK Set, a key with `use`
/// `enc` and `status` `active` that passes the checks of [`check_key`] at
/// `now`. The first such key in the set's order is taken; when there are
/// candidates but none passes, the first candidate's failure is returned
/// (e.g. [`ClientError::UntrustedKey`]).
pub fn trusted_encryption_key(
    jwks: &Jwks,
    brin: &Brin,
    anchors: &TrustAnchors,
    now: DateTime<Utc>,
) -> Result<TrustedKey, ClientError> {
    let mut first_failure = None;
    for (raw, status, key_use, _) in published(jwks) {
        if status != Some(KeyStatus::Active) || key_use != Some(KeyUse::Enc.as_str()) {
            continue;
        }
        match check_key(raw, brin, anchors, now) {
            Ok((key, certificate)) if key.key_use() == KeyUse::Enc => {
                return Ok(TrustedKey {
                    key,
                    status: KeyStatus::Active,
                    certificate,
                });
            }
            Ok(_) => {}
            Err(e) => {
                first_failure.get_or_insert(e);
            }
        }
    }
    Err(first_failure.unwrap_or_else(|| ClientError::NoKey {
        brin: brin.to_string(),
        what: "active encryption key".into(),
    }))
}

/// The key a receiver verifies a package with: from `brin`'s JWK Set, the
/// signing key named `kid` with `status` `active` or `retired` (a revoked
/// key is not published, so absent means unknown or revoked: rejected),
/// passing the checks of [`check_key`] at `now`. A *retired* key whose
/// certificate has expired since is checked at `submitted_at` instead (the
/// time the broker recorded the submission, never a time from the envelope).
pub fn trusted_signing_key(
    jwks: &Jwks,
    brin: &Brin,
    kid: &str,
    anchors: &TrustAnchors,
    now: DateTime<Utc>,
    submitted_at: DateTime<Utc>,
) -> Result<TrustedKey, ClientError> {
    let mut first_failure = None;
    for (raw, status, key_use, key_kid) in published(jwks) {
        let status = match status {
            Some(s @ (KeyStatus::Active | KeyStatus::Retired)) => s,
            _ => continue,
        };
        if key_kid != Some(kid) || key_use != Some(KeyUse::Sig.as_str()) {
            continue;
        }
        let checked = match check_key(raw, brin, anchors, now) {
            Err(ClientError::UntrustedKey {
                reason: JoseError::CertificateExpired,
                ..
            }) if status == KeyStatus::Retired && submitted_at < now => check_key(raw, brin, anchors, submitted_at),
            other => other,
        };
        match checked {
            Ok((key, certificate)) if key.key_use() == KeyUse::Sig => {
                return Ok(TrustedKey {
                    key,
                    status,
                    certificate,
                });
            }
            Ok(_) => {}
            Err(e) => {
                first_failure.get_or_insert(e);
            }
        }
    }
    Err(first_failure.unwrap_or_else(|| ClientError::NoKey {
        brin: brin.to_string(),
        what: format!("active or retired signing key `{kid}` (unknown or revoked)"),
    }))
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, ClientError> {
    serde_json::to_value(value).map_err(|e| ClientError::Encode(e.to_string()))
}

impl Client {
    /// Registers that a student applied (mbo system). Answers the
    /// application and whether it was created now (`false`: the same
    /// application was registered before, and that registration is returned).
    pub async fn register_application(
        &self,
        request: &RegisterApplicationRequest,
    ) -> Result<(ApplicationView, bool), ClientError> {
        let body = to_json(request)?;
        let (status, view) = self
            .call_as(Method::POST, "/v1/applications", Some(&body), None)
            .await?;
        Ok((view, status == StatusCode::CREATED))
    }

    /// The applications of this student that name the calling vo school
    /// (vo system). The number travels in the request body, never in a URL.
    pub async fn find_applications(&self, student: &StudentNumber) -> Result<Vec<ApplicationDetail>, ClientError> {
        let body = json!({ "student_number": to_json(student)? });
        Ok(self
            .call_as(Method::POST, "/v1/applications/search", Some(&body), None)
            .await?
            .1)
    }

    /// Erases a student's data within the calling privacy officer's scope
    /// (GDPR art. 17): `requested_by` is `student`, `parent` or `guardian`,
    /// `reason` a short text naming nobody (it stays in the audit log).
    pub async fn erase_student(
        &self,
        student: &StudentNumber,
        requested_by: &str,
        reason: &str,
        reference: Option<&str>,
    ) -> Result<ErasureSummary, ClientError> {
        let body = json!({
            "student_number": to_json(student)?,
            "requested_by": requested_by,
            "reason": reason,
            "reference": reference,
        });
        Ok(self.call_as(Method::POST, "/v1/erasures", Some(&body), None).await?.1)
    }

    /// One application with its course.
    pub async fn application(&self, id: Uuid) -> Result<ApplicationDetail, ClientError> {
        self.get(&format!("/v1/applications/{id}")).await
    }

    /// Reports the application's course (mbo); a move the state machine
    /// does not allow is a 409 problem naming the rule.
    pub async fn report_status(&self, id: Uuid, status: ApplicationStatus) -> Result<ApplicationDetail, ClientError> {
        self.report_status_on(id, status, None).await
    }

    /// Reports an application's status with, for `intake_scheduled`, the
    /// day of the intake.
    pub async fn report_status_on(
        &self,
        id: Uuid,
        status: ApplicationStatus,
        intake_on: Option<NaiveDate>,
    ) -> Result<ApplicationDetail, ClientError> {
        let body = doorstroom_api::applications::ReportStatus { status, intake_on };
        self.post(&format!("/v1/applications/{id}/status"), &body).await
    }

    /// Submits a sealed package. Resubmitting the same bytes answers the
    /// first receipt.
    pub async fn submit(&self, submission: &Submission) -> Result<Receipt, ClientError> {
        self.post("/v1/packages", submission).await
    }

    /// The packages waiting for the caller's institution (metadata only). A
    /// school system must name the intaker it acts for.
    pub async fn inbox(&self, on_behalf_of: Option<&str>) -> Result<Vec<InboxEntry>, ClientError> {
        Ok(self.call_as(Method::GET, "/v1/inbox", None, on_behalf_of).await?.1)
    }

    /// A page of the caller's event feed after the cursor `after` (from the
    /// start without one), waiting up to `wait` seconds for an entry when
    /// there is none yet (the broker bounds the wait).
    pub async fn events(&self, after: Option<&str>, wait: u32) -> Result<FeedPage, ClientError> {
        let mut path = format!("/v1/events?wait={wait}");
        if let Some(after) = after {
            // A cursor is base64url: nothing to escape.
            path.push_str(&format!("&after={after}"));
        }
        Ok(self.call_as(Method::GET, &path, None, None).await?.1)
    }

    /// Takes a package out, still encrypted: see [`Client::receive_dossier`].
    pub async fn pull(&self, id: Uuid, on_behalf_of: Option<&str>) -> Result<PulledPackage, ClientError> {
        Ok(self
            .call_as(Method::GET, &format!("/v1/packages/{id}"), None, on_behalf_of)
            .await?
            .1)
    }

    /// Acknowledges receipt of a package (idempotent).
    pub async fn acknowledge(&self, id: Uuid, on_behalf_of: Option<&str>) -> Result<Acknowledgement, ClientError> {
        let path = format!("/v1/packages/{id}/acknowledge");
        Ok(self
            .call_as(Method::POST, &path, Some(&json!({})), on_behalf_of)
            .await?
            .1)
    }

    /// The broker's own public key(s), with which its receipts verify.
    pub async fn broker_jwks(&self) -> Result<Jwks, ClientError> {
        self.get("/v1/broker/jwks").await
    }

    /// An institution's published keys, each with the broker's `status`.
    /// Check a key with [`trusted_encryption_key`] or
    /// [`trusted_signing_key`] before using it.
    pub async fn institution_jwks(&self, brin: &Brin) -> Result<Jwks, ClientError> {
        self.get(&format!("/v1/institutions/{brin}/jwks")).await
    }

    /// Seals `sections` for `meta.recipient` and submits them.
    ///
    /// The recipient's encryption key comes from the broker's JWK Set but is
    /// used only after [`trusted_encryption_key`] accepted it against
    /// `trust_anchors` at `now`; otherwise nothing is sealed or sent and the
    /// error says why (e.g. [`ClientError::UntrustedKey`]). To retry after
    /// a network failure, resubmit the same [`Submission`] with
    /// [`Client::submit`] rather than calling this again.
    pub async fn send_dossier(
        &self,
        meta: &PackageMeta,
        sections: &[SectionInput],
        signing_key: &PrivateJwk,
        trust_anchors: &TrustAnchors,
        now: DateTime<Utc>,
    ) -> Result<Receipt, ClientError> {
        let jwks = self.institution_jwks(&meta.recipient).await?;
        let recipient_key = trusted_encryption_key(&jwks, &meta.recipient, trust_anchors, now)?;
        let submission = seal(meta, sections, signing_key, &recipient_key.key)?;
        self.submit(&submission).await
    }

    /// Pulls package `id` and opens it: finds the envelope's signing key in
    /// the sender's JWK Set and checks it with [`trusted_signing_key`]
    /// against `trust_anchors`; verifies the envelope; checks that it names
    /// the package, application and sender the broker says, and the
    /// caller's own institution (asked with `whoami`) as recipient; then
    /// decrypts each released section with `decryption_key` and verifies its
    /// inner signature. Does not acknowledge.
    pub async fn receive_dossier(
        &self,
        id: Uuid,
        on_behalf_of: Option<&str>,
        decryption_key: &PrivateJwk,
        trust_anchors: &TrustAnchors,
        now: DateTime<Utc>,
    ) -> Result<ReceivedDossier, ClientError> {
        if decryption_key.key_use() != KeyUse::Enc {
            return Err(JoseError::WrongKey("sections must be opened with a decryption key (use \"enc\")").into());
        }
        let own = self.own_institution().await?;
        let pulled = self.pull(id, on_behalf_of).await?;
        let unverified = peek_envelope(&pulled.envelope)?;
        let sender_jwks = self.institution_jwks(&unverified.iss).await?;
        let sender_key = trusted_signing_key(
            &sender_jwks,
            &unverified.iss,
            &unverified.kid,
            trust_anchors,
            now,
            pulled.submitted_at,
        )?;
        let envelope = verify_envelope(&pulled.envelope, &sender_key.key)?;

        let mismatch = |what: &str| Err(ClientError::Mismatch(what.to_owned()));
        if envelope.pid != pulled.package_id || envelope.pid != id.to_string() {
            return mismatch("the envelope names another package");
        }
        if envelope.application != pulled.application_id.to_string() {
            return mismatch("the envelope names another application");
        }
        if envelope.iss.as_str() != pulled.sender {
            return mismatch("the envelope names another sender");
        }
        if envelope.aud != own {
            return mismatch("the envelope is addressed to another institution");
        }

        let mut sections = BTreeMap::new();
        for (section, token) in &pulled.sections {
            let content = open_section(&envelope, *section, token, decryption_key, &sender_key.key)?;
            sections.insert(*section, content);
        }
        Ok(ReceivedDossier {
            package_id: envelope.pid,
            application_id: pulled.application_id,
            sender: envelope.iss,
            recipient: envelope.aud,
            submitted_at: pulled.submitted_at,
            sealed_at: envelope.iat,
            sender_kid: envelope.kid,
            sender_certificate: sender_key.certificate.subject,
            sections,
            withheld: pulled.withheld,
        })
    }

    /// The institution the broker takes this client to act for.
    pub async fn own_institution(&self) -> Result<Brin, ClientError> {
        let who = self.whoami().await?;
        who.get("institution")
            .and_then(Value::as_str)
            .and_then(|b| Brin::parse(b).ok())
            .ok_or_else(|| ClientError::NoKey {
                brin: "the caller".into(),
                what: "institution (whoami names none)".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brin(s: &str) -> Brin {
        Brin::parse(s).unwrap()
    }

    #[test]
    fn subject_must_name_the_institution() {
        assert!(certificate_names_institution("CN=25LX enc key", &brin("25LX")));
        assert!(certificate_names_institution(
            "CN=ROC Demo, O=ROC, serialNumber=00000001000000250000, OU=25LX",
            &brin("25LX")
        ));
        assert!(!certificate_names_institution("CN=27GH enc key", &brin("25LX")));
        assert!(!certificate_names_institution("CN=25LXY enc key", &brin("25LX")));
        assert!(!certificate_names_institution("25LX", &brin("25LX")));
        assert!(!certificate_names_institution("", &brin("25LX")));
    }

    #[test]
    fn request_serializes_to_the_wire_form() {
        let request = RegisterApplicationRequest {
            student_number: StudentNumber::bsn("123456782").unwrap(),
            sending_school: Some(brin("07AB")),
            programme: doorstroom_domain::Programme::new("Verzorgende IG", None).unwrap(),
            school_year: doorstroom_domain::SchoolYear::parse("2027-2028").unwrap(),
            applied_on: chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
        };
        let value = serde_json::to_value(&request).unwrap();
        assert_eq!(value["student_number"], json!({"type": "bsn", "number": "123456782"}));
        assert_eq!(value["sending_school"], "07AB");
        assert_eq!(value["school_year"], "2027-2028");
        assert_eq!(value["applied_on"], "2027-03-01");
        assert!(!format!("{request:?}").contains("123456782"));
    }

    #[test]
    fn no_active_encryption_key_is_reported_as_such() {
        let jwks = Jwks {
            keys: vec![json!({"kid": "a", "use": "enc", "status": "retired"})],
        };
        // Without a candidate the anchors are never consulted.
        let pki_less = TrustAnchors::from_pem(TEST_CA).unwrap();
        let err = trusted_encryption_key(&jwks, &brin("25LX"), &pki_less, Utc::now()).unwrap_err();
        assert_eq!(err.to_string(), "25LX publishes no active encryption key");
        let err = trusted_signing_key(&jwks, &brin("07AB"), "b", &pki_less, Utc::now(), Utc::now()).unwrap_err();
        assert!(err.to_string().contains("unknown or revoked"), "{err}");
    }

    /// A self-signed certificate, only to have non-empty anchors.
    const TEST_CA: &[u8] = b"-----BEGIN CERTIFICATE-----
MIIBejCCAR+gAwIBAgIUUIXg9632x1Q3gQh7BuunSLoH+WswCgYIKoZIzj0EAwIw
ETEPMA0GA1UEAwwGdGVzdGNhMCAXDTI2MTEyODE3NTYxOFoYDzIxMjYxMTA0MTc1
NjE4WjARMQ8wDQYDVQQDDAZ0ZXN0Y2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AARWXBCGjAFNvdoZLRxE/3RhJTI2l5jhhVzMuqcNu1qHDwtk4+tJpcJNVe+E4gXn
wMmchHNPINQZFqdTpj0PVafFo1MwUTAdBgNVHQ4EFgQUx9hZICgfTuLFHyhoNw5F
zLdtv5AwHwYDVR0jBBgwFoAUx9hZICgfTuLFHyhoNw5FzLdtv5AwDwYDVR0TAQH/
BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAzZzRiGVaPzjCAugbEfW5DSRMCEsr
TEdaWK8G/Jo7CgQCIQDeWY/6jWGjxRO4osR2FHEyPw+R/2ECVMzvFJlmSv5MKQ==
-----END CERTIFICATE-----
";
}
