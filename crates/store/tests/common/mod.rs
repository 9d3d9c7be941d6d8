//! Fixtures shared by the store's tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, TimeZone, Utc};
use doorstroom_domain::KeyStatus;
use doorstroom_domain::KeyUse;
use doorstroom_domain::ResourceKind;
use doorstroom_domain::{
    Actor, ActorKind, AuditAction, AuditEvent, Brin, CertFingerprint, CrudKind, InstitutionStatus, Oin, Outcome,
    Pseudonym, Purpose, ResourceRef, Role, Sector, StaffId, StaffStatus, Username,
};
use doorstroom_store::certificates::CertificateBinding;
use doorstroom_store::institutions::Institution;
use doorstroom_store::keys::InstitutionKey;
use doorstroom_store::staff::StaffAccount;

/// A time with millisecond precision (what the store keeps), `offset_ms`
/// after 2026-03-01T12:00:00.123Z.
pub fn at(offset_ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_772_366_400_123 + offset_ms)
        .single()
        .unwrap()
}

pub fn brin(s: &str) -> Brin {
    Brin::parse(s).unwrap()
}

pub fn oin(n: u64) -> Oin {
    Oin::parse(&format!("{n:020}")).unwrap()
}

pub fn institution(code: &str, sector: Sector) -> Institution {
    Institution {
        brin: brin(code),
        oin: None,
        name: format!("School {code}"),
        sector,
        status: InstitutionStatus::Active,
        created_at: at(0),
        updated_at: at(0),
    }
}

pub fn key(code: &str, kid: &str, created: i64) -> InstitutionKey {
    InstitutionKey {
        kid: kid.to_owned(),
        brin: brin(code),
        key_use: KeyUse::Sig,
        alg: "ES256".to_owned(),
        jwk: format!(r#"{{"kty":"EC","crv":"P-256","kid":"{kid}","x5c":["MIIB"]}}"#),
        status: KeyStatus::Active,
        not_after: at(86_400_000 * 365),
        created_at: at(created),
        retired_at: None,
        revoked_at: None,
    }
}

pub fn fingerprint(byte: u8) -> CertFingerprint {
    CertFingerprint::from_digest([byte; 32])
}

pub fn binding(code: &str, byte: u8) -> CertificateBinding {
    CertificateBinding {
        fingerprint: fingerprint(byte),
        brin: brin(code),
        subject: format!("CN=system {byte},O=School {code}"),
        not_after: at(86_400_000 * 365),
        revoked_at: None,
        created_at: at(i64::from(byte)),
    }
}

pub fn staff(username: &str, role: Role, institution: Option<&str>) -> StaffAccount {
    StaffAccount {
        id: StaffId(uuid::Uuid::new_v4()),
        username: Username::parse(username).unwrap(),
        display_name: format!("Person {username}"),
        role,
        institution: institution.map(brin),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".to_owned(),
        totp_secret: None,
        status: StaffStatus::Active,
        created_at: at(0),
        updated_at: at(0),
    }
}

/// The school system that registers and reports in these tests.
pub fn system_actor() -> doorstroom_domain::ActorRef {
    doorstroom_domain::ActorRef::System(fingerprint(0xff))
}

pub fn pseudonym(byte: u8) -> Pseudonym {
    Pseudonym::parse(&format!("{byte:02x}").repeat(32)).unwrap()
}

/// A varied audit event: number `n` picks actor, subject, outcome.
pub fn event(n: u32) -> AuditEvent {
    let kind = [ActorKind::System, ActorKind::Staff, ActorKind::Operator][(n % 3) as usize];
    AuditEvent {
        // Microseconds on purpose: the canonical entry keeps them.
        time: Utc
            .timestamp_opt(1_772_366_400 + i64::from(n), 123_456_000)
            .single()
            .unwrap(),
        actor: Actor {
            kind,
            institution: (kind != ActorKind::Operator).then(|| brin(if matches!(n % 2, 0) { "25LX" } else { "30AB" })),
            id: (kind == ActorKind::System).then(|| fingerprint(7).as_str().to_owned()),
        },
        on_behalf_of: (n % 4 == 1).then(|| StaffId(uuid::Uuid::from_u128(u128::from(n)))),
        action: AuditAction::new(CrudKind::Read, "read_institution"),
        resource: ResourceRef::new(ResourceKind::Institution, Some("25LX".to_owned())),
        data_subject: matches!(n % 5, 0).then(|| pseudonym(0xab)),
        purpose: Purpose::Administration,
        outcome: if n % 3 == 2 { Outcome::Denied } else { Outcome::Success },
        reason: (n % 3 == 2).then(|| "other_institution".to_owned()),
        request_id: Some(format!("req-{n}")),
    }
}

/// An application of student `student` at `receiving`, from `sending`.
pub fn new_application(
    student: u8,
    receiving: &str,
    sending: Option<&str>,
    programme: &str,
) -> doorstroom_store::applications::NewApplication {
    doorstroom_store::applications::NewApplication {
        student: pseudonym(student),
        receiving: brin(receiving),
        sending: sending.map(brin),
        programme: programme.to_owned(),
        crebo: Some("25187".to_owned()),
        school_year: 2026,
        applied_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(),
        late: false,
        registered_by: system_actor(),
    }
}

/// A package `id` (jti `jti-<id>`) answering `application` of `student`.
pub fn new_package(
    id: &str,
    application: uuid::Uuid,
    student: u8,
    sender: &str,
    recipient: &str,
    submitted: i64,
) -> doorstroom_store::packages::NewPackage {
    doorstroom_store::packages::NewPackage {
        id: id.to_owned(),
        application_id: application,
        sender: brin(sender),
        recipient: brin(recipient),
        student: pseudonym(student),
        jti: format!("jti-{id}"),
        envelope: format!("eyJhbGciOiJFUzI1NiJ9.envelope-{id}.sig"),
        envelope_sha256: "ab".repeat(32),
        sender_kid: "vo-sig-1".to_owned(),
        receipt: format!("eyJhbGciOiJFUzI1NiJ9.receipt-{id}.sig"),
        submitted_at: at(submitted),
    }
}

/// A section with a recognisable fake ciphertext.
pub fn new_section(section: doorstroom_domain::Section, bytes: usize) -> doorstroom_store::packages::NewSection {
    let ciphertext = format!("CIPHERTEXT-{}-", section.as_str()) + &"x".repeat(bytes);
    doorstroom_store::packages::NewSection {
        section,
        size: i64::try_from(ciphertext.len()).unwrap(),
        sha256: "cd".repeat(32),
        ciphertext,
    }
}
