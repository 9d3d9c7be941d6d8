//! What is sent: students with valid BSNs, their applications, and packages
//! sealed as the vo school's system would seal them.

use std::path::Path;

use chrono::{Datelike, NaiveDate, Utc};
use doorstroom_devkit::pki;
use doorstroom_domain::{Brin, Section, StudentNumber};
use doorstroom_jose::{PackageMeta, PrivateJwk, PublicJwk, SectionInput, TrustAnchors, seal, verify_x5c};
use serde_json::{Value, json};

use crate::BoxError;

/// The sending vo school (demo institution).
pub const VO: &str = "07AB";
/// The receiving mbo (demo institution).
pub const MBO: &str = "25LX";

/// Approximate size of the `personal_data` content, in bytes of JSON.
const PERSONAL_DATA_BYTES: usize = 2048;
/// Approximate size of the `remarks` content, in bytes of JSON.
const REMARKS_BYTES: usize = 1024;

/// The first eight-digit BSN prefix of a fresh database's students.
pub const FIRST_PREFIX: u32 = 20_000_000;

/// `n` distinct BSNs (9 digits passing the 11-proef) from the eight-digit
/// prefix `first` on (a fresh database: [`FIRST_PREFIX`]; a broker that
/// may have seen earlier runs: a random one).
pub fn students(n: usize, first: u32) -> Result<Vec<String>, BoxError> {
    let mut out = Vec::with_capacity(n);
    // The check digit completes each prefix.
    for prefix in first.clamp(10_000_000, 99_999_999)..100_000_000 {
        if out.len() == n {
            break;
        }
        let digits: Vec<u32> = prefix.to_string().chars().filter_map(|c| c.to_digit(10)).collect();
        let sum: u32 = digits.iter().zip((2..=9).rev()).map(|(d, w)| d * w).sum();
        let check = sum % 11;
        if check > 9 {
            continue;
        }
        let bsn = format!("{prefix}{check}");
        // The domain's own rule is the judge.
        StudentNumber::bsn(&bsn).map_err(|e| format!("generated BSN rejected: {e}"))?;
        out.push(bsn);
    }
    if out.len() < n {
        return Err(format!("could not generate {n} BSNs").into());
    }
    Ok(out)
}

/// The school year and date of an on-time application made today.
fn school_year_and_date() -> (String, NaiveDate) {
    let today = Utc::now().date_naive();
    // Before 1 April: for the school year starting this August; after: next.
    let start = if today.month() < 4 {
        today.year()
    } else {
        today.year() + 1
    };
    (format!("{start}-{}", start + 1), today)
}

/// The body of `POST /v1/inspections` for student `bsn`: inspected by the
/// student an hour ago.
pub fn inspection_body(bsn: &str) -> Vec<u8> {
    let at = chrono::Utc::now() - chrono::Duration::hours(1);
    serde_json::to_vec(&json!({
        "student_number": {"type": "bsn", "number": bsn},
        "inspected_at": at.to_rfc3339(),
        "inspected_by": "student",
        "remarks_added": false,
    }))
    .unwrap_or_default()
}

/// The body of `POST /v1/applications` for student `bsn`.
pub fn application_body(bsn: &str) -> Vec<u8> {
    let (school_year, applied_on) = school_year_and_date();
    json!({
        "student_number": {"type": "bsn", "number": bsn},
        "sending_school": VO,
        "programme": {"name": "Verpleegkunde", "crebo": "25655"},
        "school_year": school_year,
        "applied_on": applied_on.to_string(),
    })
    .to_string()
    .into_bytes()
}

/// A package ready to post.
pub struct SealedPackage {
    pub package_id: String,
    /// The JSON submission body.
    pub body: Vec<u8>,
}

/// `value` with a `filler` member added so that its JSON is about `target` bytes.
fn padded(mut value: Value, target: usize) -> Value {
    let base = value.to_string().len() + r#","filler":"""#.len();
    let filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
        .chars()
        .cycle()
        .take(target.saturating_sub(base))
        .collect::<String>();
    if let Value::Object(map) = &mut value {
        map.insert("filler".into(), Value::String(filler));
    }
    value
}

fn sections(index: usize, bsn: &str) -> Vec<SectionInput> {
    let personal = json!({
        "student_number": {"type": "bsn", "number": bsn},
        "name": {"given": "Sam", "prefix": "van", "family": format!("Student-{index}")},
        "date_of_birth": "2010-05-17",
        "address": {"street": "Schoolstraat", "number": "12", "postcode": "3511 AB", "city": "Utrecht"},
        "school": {"brin": VO, "name": "Demo vo-school"},
        "level": "vmbo-kb",
        "diploma_expected": true,
        "mentor": "J. de Vries",
    });
    let remarks = json!({"by": "student", "text": "Ik wil graag verpleegkunde doen."});
    vec![
        SectionInput {
            section: Section::PersonalData,
            content: padded(personal, PERSONAL_DATA_BYTES),
        },
        SectionInput {
            section: Section::Remarks,
            content: padded(remarks, REMARKS_BYTES),
        },
    ]
}

fn read_json(path: &Path) -> Result<Value, BoxError> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))?)
}

/// Seals one package per student, for the application with the same index,
/// on all cores. 07AB signs; the recipient key is 25LX's encryption key,
/// trusted only after its `x5c` chain checks out against the dev CA.
pub async fn seal_all(
    pki_dir: &Path,
    students: &[String],
    application_ids: &[String],
) -> Result<Vec<SealedPackage>, BoxError> {
    let vo = Brin::parse(VO)?;
    let mbo = Brin::parse(MBO)?;
    let signing_key = PrivateJwk::parse(&read_json(&pki_dir.join(VO).join(pki::SIGN_JWK_FILE))?)?;
    let recipient_key = PublicJwk::parse(&read_json(&pki_dir.join(MBO).join(pki::ENC_PUBLIC_JWK_FILE))?)?;
    let ca_path = pki_dir.join(pki::CA_CERT_FILE);
    let ca_pem = std::fs::read(&ca_path).map_err(|e| format!("reading {}: {e}", ca_path.display()))?;
    let anchors = TrustAnchors::from_pem(&ca_pem)?;
    verify_x5c(&recipient_key, &anchors, Utc::now()).map_err(|e| format!("25LX encryption key: {e}"))?;

    let jobs: Vec<(usize, String, String)> = students
        .iter()
        .zip(application_ids)
        .enumerate()
        .map(|(i, (bsn, app))| (i, bsn.clone(), app.clone()))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = jobs.len().div_ceil(threads).max(1);
    let iat = Utc::now().timestamp();

    tokio::task::spawn_blocking(move || {
        std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .chunks(chunk)
                .map(|part| {
                    let (vo, mbo, signing_key, recipient_key) = (&vo, &mbo, &signing_key, &recipient_key);
                    scope.spawn(move || {
                        part.iter()
                            .map(|(index, bsn, application)| {
                                let package_id = uuid::Uuid::new_v4().to_string();
                                let meta = PackageMeta {
                                    package_id: package_id.clone(),
                                    sender: vo.clone(),
                                    recipient: mbo.clone(),
                                    application: application.clone(),
                                    jti: format!("bench-{package_id}"),
                                    iat,
                                };
                                let submission = seal(&meta, &sections(*index, bsn), signing_key, recipient_key)
                                    .map_err(|e| format!("sealing package {index}: {e}"))?;
                                let body = serde_json::to_vec(&submission)
                                    .map_err(|e| format!("serializing package {index}: {e}"))?;
                                Ok(SealedPackage { package_id, body })
                            })
                            .collect::<Result<Vec<_>, String>>()
                    })
                })
                .collect();
            let mut all = Vec::with_capacity(jobs.len());
            for handle in handles {
                let part = handle.join().map_err(|_| "a sealing thread panicked".to_owned())??;
                all.extend(part);
            }
            Ok::<_, String>(all)
        })
    })
    .await
    .map_err(|e| format!("sealing task: {e}"))?
    .map_err(BoxError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn students_are_distinct_valid_bsns() {
        let bsns = students(500, FIRST_PREFIX).unwrap_or_default();
        assert_eq!(bsns.len(), 500);
        let unique: std::collections::BTreeSet<_> = bsns.iter().collect();
        assert_eq!(unique.len(), 500);
        assert!(bsns.iter().all(|b| StudentNumber::bsn(b).is_ok()));
    }

    #[test]
    fn contents_are_about_the_intended_size() {
        let inputs = sections(7, "200000002");
        let personal = inputs[0].content.to_string().len();
        let remarks = inputs[1].content.to_string().len();
        assert!(
            (PERSONAL_DATA_BYTES - 8..=PERSONAL_DATA_BYTES + 8).contains(&personal),
            "{personal}"
        );
        assert!((REMARKS_BYTES - 8..=REMARKS_BYTES + 8).contains(&remarks), "{remarks}");
    }
}
