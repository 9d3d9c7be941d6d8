//! The cross-tenant suite: every route of the committed OpenAPI document,
//! called as every principal that must not succeed, on records that exist
//! (a vo school 07AB sending a student's dossier to the mbo 25LX) and on
//! records that do not. Three vo schools (07AB, 08CD, the vso 09EF) and two
//! mbo's (25LX, 27GH).
//!
//! For every call: the answer to "exists but not yours" is byte for byte
//! the answer to "does not exist" (problem documents carry no request id or
//! instance, so nothing is ignored); nothing of another institution appears
//! in any answer; and the attempt left an audit event naming the route's
//! action (`denied` or `rejected`), or, for a caller without the
//! credentials the route takes, an `unauthenticated` event naming the
//! route. A few principals may call a route but only ever see their own
//! scope ("scoped"): their answers must be the same for both records too.
//!
//! The routes come from `openapi/openapi.json`: a route in the document
//! without a case here, or a case for a route not in it, fails the suite.

use std::collections::BTreeSet;

use chrono::{Duration, Months};
use doorstroom_client::{Client, Reply};
use doorstroom_domain::{AuditEvent, Brin, Clock, Outcome, Role};
use doorstroom_jose::PackageMeta;
use doorstroom_store::audit::AuditQuery;
use doorstroom_tests::{MBO, OTHER_MBO, SECOND_VO, THIRD_VO, TestBroker, VO, without_instance};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::exchange_support::{
    bsn, encryption_key, personal_data, register_application, seal_package, seal_with, signing_key, submission_json,
    submit, support_needs,
};

/// Routes that answer anyone, with the reason they may.
const PUBLIC_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/healthz", "liveness probe, says nothing"),
    ("GET", "/readyz", "readiness probe, says nothing but up or down"),
    (
        "GET",
        "/metrics",
        "Prometheus counters by route pattern, no identifiers",
    ),
    ("GET", "/openapi.json", "the published API description"),
    (
        "POST",
        "/v1/auth/login",
        "how a staff member gets credentials; every attempt has its own audit event",
    ),
    (
        "GET",
        "/v1/broker/jwks",
        "the broker's public receipt key, so that anyone can check a receipt",
    ),
    (
        "GET",
        "/v1/institutions/{brin}/jwks",
        "an institution's public JOSE keys, which senders need to encrypt for it",
    ),
    (
        "GET",
        "/v1/register",
        "the art. 30 register of processing activities is public",
    ),
    (
        "GET",
        "/v1/audit/checkpoint",
        "the signed tree head of the audit log: a size and a hash, for witnesses",
    ),
    (
        "GET",
        "/v1/audit/checkpoint/key",
        "the checkpoints' public verifier key",
    ),
];

/// The principals that attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The system of the second vo school, 08CD.
    OtherVo,
    /// The system of the third school, the vso 09EF.
    ThirdVo,
    /// The system of the other mbo, 27GH, acting for its own intaker.
    OtherMbo,
    /// An intaker of 27GH.
    OtherIntaker,
    /// The privacy officer of 27GH.
    OtherMboPo,
    /// The privacy officer of 08CD.
    OtherVoPo,
    /// The institution admin of 27GH.
    InstitutionAdmin,
    BrokerAdmin,
    BrokerPo,
    Anonymous,
}

const EVERYONE: &[Who] = &[
    Who::OtherVo,
    Who::ThirdVo,
    Who::OtherMbo,
    Who::OtherIntaker,
    Who::OtherMboPo,
    Who::OtherVoPo,
    Who::InstitutionAdmin,
    Who::BrokerAdmin,
    Who::BrokerPo,
    Who::Anonymous,
];

impl Who {
    /// The institution the principal belongs to.
    fn institution(self) -> Option<&'static str> {
        match self {
            Who::OtherVo | Who::OtherVoPo => Some(SECOND_VO.brin),
            Who::ThirdVo => Some(THIRD_VO.brin),
            Who::OtherMbo | Who::OtherIntaker | Who::OtherMboPo | Who::InstitutionAdmin => Some(OTHER_MBO),
            Who::BrokerAdmin | Who::BrokerPo | Who::Anonymous => None,
        }
    }

    fn is_staff(self) -> bool {
        matches!(
            self,
            Who::OtherIntaker
                | Who::OtherMboPo
                | Who::OtherVoPo
                | Who::InstitutionAdmin
                | Who::BrokerAdmin
                | Who::BrokerPo
        )
    }
}

/// Everyone but `allowed`.
fn all_but(allowed: &[Who]) -> Vec<Who> {
    EVERYONE.iter().copied().filter(|w| !allowed.contains(w)).collect()
}

/// One request: a concrete path (with query) and body.
#[derive(Clone)]
struct Call {
    path: String,
    body: Option<Value>,
}

fn call(path: impl Into<String>, body: Option<Value>) -> Call {
    Call {
        path: path.into(),
        body,
    }
}

/// The attacks on one route.
struct Case {
    method: &'static str,
    /// The route as in the OpenAPI document.
    route: &'static str,
    /// The audited action's name.
    action: &'static str,
    /// Whether the route takes only a client certificate (staff then get
    /// 401, audited as `unauthenticated`).
    system_only: bool,
    /// On a record of 07AB/25LX that exists.
    exists: Call,
    /// On one that does not, when the route names a record.
    missing: Option<Call>,
    /// Who must be refused.
    refused: Vec<Who>,
    /// Who may call but must see nothing of 07AB/25LX.
    scoped: Vec<Who>,
}

/// What the suite sets up and what must never show.
struct World {
    student: String,
    unknown_student: String,
    application: Uuid,
    package: String,
    mbo_intaker: String,
    other_intaker: String,
    vo_kid: String,
    vo_fingerprint: String,
    /// A transparency link 07AB issued for the student.
    link: String,
    attacker_jwk: Value,
    attacker_certificate: String,
    clients: Vec<(Who, Client)>,
}

impl World {
    fn client(&self, who: Who) -> &Client {
        &self.clients.iter().find(|(w, _)| *w == who).expect("client").1
    }

    /// Strings of 07AB's and 25LX's records that no answer to an attacker
    /// may hold.
    fn secrets(&self) -> Vec<String> {
        vec![
            self.application.to_string(),
            self.package.clone(),
            self.mbo_intaker.clone(),
            self.vo_kid.clone(),
            self.vo_fingerprint.clone(),
            self.link.clone(),
            self.student.clone(),
            "CT-4242".to_owned(),
            VO.to_owned(),
            MBO.to_owned(),
        ]
    }
}

fn student_body(student: &str) -> Value {
    json!({"student_number": {"type": "bsn", "number": student}})
}

fn consent_body(broker: &TestBroker, student: &str) -> Value {
    let born = broker
        .clock
        .now()
        .date_naive()
        .checked_sub_months(Months::new(17 * 12 + 3))
        .expect("a date");
    json!({
        "student_number": {"type": "bsn", "number": student},
        "date_of_birth": born.to_string(),
        "recipient": MBO,
        "sections": ["support_needs"],
        "given_by": "student",
        "method": "paper_form",
        "evidence_ref": "formulier 2027-113",
        "notice_version": "privacyverklaring v3",
    })
}

fn inspection_body(broker: &TestBroker, student: &str) -> Value {
    json!({
        "student_number": {"type": "bsn", "number": student},
        "inspected_at": (broker.clock.now() - Duration::hours(1)).to_rfc3339(),
        "inspected_by": "student",
        "remarks_added": false,
    })
}

/// A package sealed by 08CD (its own keys, for 25LX's key) that claims the
/// application `application`.
fn attacker_package(broker: &TestBroker, application: &str) -> Value {
    let meta = PackageMeta {
        package_id: Uuid::new_v4().to_string(),
        sender: Brin::parse(SECOND_VO.brin).expect("brin"),
        recipient: Brin::parse(MBO).expect("brin"),
        application: application.to_owned(),
        jti: format!("{}-{}", SECOND_VO.brin, Uuid::new_v4().simple()),
        iat: broker.clock.now().timestamp(),
    };
    let submission = seal_with(
        &meta,
        &[personal_data("123456782")],
        &signing_key(broker, SECOND_VO.brin),
        &encryption_key(broker, MBO),
    );
    submission_json(&submission)
}

/// Sets up three vo schools, two mbo's, a student of 07AB applying at 25LX
/// with inspection, consent and a submitted package, and every attacker.
async fn world(broker: &mut TestBroker) -> World {
    broker.add_institution(&SECOND_VO);
    broker.add_institution(&THIRD_VO);
    let student = bsn(4242);
    let unknown_student = bsn(777_777);
    let application = register_application(broker, MBO, &student).await;
    let reply = broker
        .system(VO)
        .fetch(Method::POST, "/v1/consents", Some(&consent_body(broker, &student)))
        .await
        .expect("consent");
    assert_eq!(reply.status.as_u16(), 201, "consent: {}", reply.body);
    let submission = seal_package(broker, application, MBO, &[personal_data(&student), support_needs()]);
    let reply = submit(&broker.system(VO), &submission).await;
    assert_eq!(reply.status.as_u16(), 201, "package: {}", reply.body);
    let package = reply.body["package_id"].as_str().expect("package id").to_owned();
    let reply = broker
        .system(VO)
        .fetch(Method::POST, "/v1/transparency-links", Some(&student_body(&student)))
        .await
        .expect("link");
    assert_eq!(reply.status.as_u16(), 201, "link: {}", reply.body);
    let link = reply.body["id"].as_str().expect("link id").to_owned();

    // 07AB's safety-net cohort holds the student (reference CT-4242).
    let cohort = json!({"students": [{"student_number": {"type": "bsn", "number": student}, "reference": "CT-4242"}]});
    let reply = broker
        .system(VO)
        .fetch(Method::POST, "/v1/cohorts/2027-2028/students", Some(&cohort))
        .await
        .expect("cohort");
    assert_eq!(reply.status.as_u16(), 200, "cohort: {}", reply.body);
    let mbo_intaker = broker.create_staff("intaker.mbo", Role::Intaker, Some(MBO)).id;
    let other_intaker_creds = broker.create_staff("intaker.other", Role::Intaker, Some(OTHER_MBO));
    let other_intaker = other_intaker_creds.id.clone();
    let vo_kid = crate::exchange_support::signing_key_json(broker, VO)["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    let certificates = broker
        .system(VO)
        .fetch(Method::GET, &format!("/v1/institutions/{VO}/certificates"), None)
        .await
        .expect("certificates");
    let vo_fingerprint = certificates.body[0]["fingerprint"]
        .as_str()
        .unwrap_or_else(|| panic!("fingerprint: {}", certificates.body))
        .to_owned();
    let attacker_dir = broker.institution_dir(SECOND_VO.brin);
    let attacker_jwk: Value = serde_json::from_slice(
        &std::fs::read(attacker_dir.join(doorstroom_devkit::pki::SIGN_PUBLIC_JWK_FILE)).expect("jwk"),
    )
    .expect("jwk json");
    let attacker_certificate =
        std::fs::read_to_string(attacker_dir.join(doorstroom_devkit::pki::CLIENT_CERT_FILE)).expect("certificate");

    let clients = vec![
        (Who::OtherVo, broker.system(SECOND_VO.brin)),
        (Who::ThirdVo, broker.system(THIRD_VO.brin)),
        (Who::OtherMbo, broker.system(OTHER_MBO)),
        (Who::OtherIntaker, broker.login(&other_intaker_creds).await),
        (
            Who::OtherMboPo,
            broker.staff("fg.other", Role::PrivacyOfficer, Some(OTHER_MBO)).await,
        ),
        (
            Who::OtherVoPo,
            broker
                .staff("fg.secondvo", Role::PrivacyOfficer, Some(SECOND_VO.brin))
                .await,
        ),
        (
            Who::InstitutionAdmin,
            broker
                .staff("admin.other", Role::InstitutionAdmin, Some(OTHER_MBO))
                .await,
        ),
        (
            Who::BrokerAdmin,
            broker.staff("admin.broker", Role::BrokerAdmin, None).await,
        ),
        (
            Who::BrokerPo,
            broker.staff("fg.broker", Role::PrivacyOfficer, None).await,
        ),
        (Who::Anonymous, broker.anonymous()),
    ];
    World {
        student,
        unknown_student,
        application,
        package,
        mbo_intaker,
        other_intaker,
        vo_kid,
        vo_fingerprint,
        link,
        attacker_jwk,
        attacker_certificate,
        clients,
    }
}

/// Every route's attacks, but the consent ledger's (see [`ledger_cases`]).
fn cases(broker: &TestBroker, w: &World) -> Vec<Case> {
    let unknown_id = Uuid::new_v4();
    let unknown_kid = "no-such-kid";
    let unknown_fingerprint = "ab".repeat(32);
    let s = &w.student;
    let u = &w.unknown_student;
    let case = |method, route, action, exists: Call, missing: Option<Call>, refused: Vec<Who>| Case {
        method,
        route,
        action,
        system_only: false,
        exists,
        missing,
        refused,
        scoped: Vec::new(),
    };
    let system_case = |method, route, action, exists: Call, missing: Option<Call>, refused: Vec<Who>| Case {
        system_only: true,
        ..case(method, route, action, exists, missing, refused)
    };
    // Who may call but sees only their own scope is not among the refused.
    let scoped = |mut c: Case, scoped: &[Who]| {
        c.refused.retain(|w| !scoped.contains(w));
        c.scoped = scoped.to_vec();
        c
    };
    let staff_body = |institution: &str| json!({"username": "planted.account", "display_name": "Planted", "role": "intaker", "institution": institution});
    vec![
        // Every authenticated caller may ask who it is and read the registry.
        case(
            "GET",
            "/v1/whoami",
            "whoami",
            call("/v1/whoami", None),
            None,
            vec![Who::Anonymous],
        ),
        case(
            "GET",
            "/v1/institutions",
            "list_institutions",
            call("/v1/institutions", None),
            None,
            vec![Who::Anonymous],
        ),
        case(
            "GET",
            "/v1/institutions/{brin}",
            "read_institution",
            call(format!("/v1/institutions/{VO}"), None),
            Some(call("/v1/institutions/99ZZ", None)),
            vec![Who::Anonymous],
        ),
        // Registry administration: the broker admin's alone.
        case(
            "POST",
            "/v1/institutions",
            "register_institution",
            call(
                "/v1/institutions",
                Some(json!({"brin": VO, "name": "Overgenomen", "sector": "vo"})),
            ),
            Some(call(
                "/v1/institutions",
                Some(json!({"brin": "98XY", "name": "Nieuw", "sector": "vo"})),
            )),
            all_but(&[Who::BrokerAdmin]),
        ),
        case(
            "PATCH",
            "/v1/institutions/{brin}",
            "update_institution",
            call(format!("/v1/institutions/{VO}"), Some(json!({"name": "Overgenomen"}))),
            Some(call("/v1/institutions/99ZZ", Some(json!({"name": "Overgenomen"})))),
            all_but(&[Who::BrokerAdmin]),
        ),
        // An institution's credentials: its own system and admin, the
        // broker's admin (and to read, the broker's privacy officer).
        case(
            "GET",
            "/v1/institutions/{brin}/keys",
            "read_credentials",
            call(format!("/v1/institutions/{VO}/keys"), None),
            Some(call("/v1/institutions/99ZZ/keys", None)),
            all_but(&[Who::BrokerAdmin, Who::BrokerPo]),
        ),
        case(
            "POST",
            "/v1/institutions/{brin}/keys",
            "manage_keys",
            call(
                format!("/v1/institutions/{VO}/keys"),
                Some(json!({"jwk": w.attacker_jwk})),
            ),
            Some(call("/v1/institutions/99ZZ/keys", Some(json!({"jwk": w.attacker_jwk})))),
            all_but(&[Who::BrokerAdmin]),
        ),
        case(
            "POST",
            "/v1/institutions/{brin}/keys/{kid}/retire",
            "manage_keys",
            call(format!("/v1/institutions/{VO}/keys/{}/retire", w.vo_kid), None),
            Some(call(format!("/v1/institutions/{VO}/keys/{unknown_kid}/retire"), None)),
            all_but(&[Who::BrokerAdmin]),
        ),
        case(
            "POST",
            "/v1/institutions/{brin}/keys/{kid}/revoke",
            "manage_keys",
            call(format!("/v1/institutions/{VO}/keys/{}/revoke", w.vo_kid), None),
            Some(call(format!("/v1/institutions/{VO}/keys/{unknown_kid}/revoke"), None)),
            all_but(&[Who::BrokerAdmin]),
        ),
        case(
            "GET",
            "/v1/institutions/{brin}/certificates",
            "read_credentials",
            call(format!("/v1/institutions/{VO}/certificates"), None),
            Some(call("/v1/institutions/99ZZ/certificates", None)),
            all_but(&[Who::BrokerAdmin, Who::BrokerPo]),
        ),
        // Webhooks: as the institution's certificates.
        case(
            "GET",
            "/v1/institutions/{brin}/webhook",
            "read_credentials",
            call(format!("/v1/institutions/{VO}/webhook"), None),
            Some(call("/v1/institutions/99ZZ/webhook", None)),
            all_but(&[Who::BrokerAdmin, Who::BrokerPo]),
        ),
        case(
            "PUT",
            "/v1/institutions/{brin}/webhook",
            "manage_certificates",
            call(
                format!("/v1/institutions/{VO}/webhook"),
                Some(json!({"url": "https://hooks.attacker.example/steal"})),
            ),
            Some(call(
                "/v1/institutions/99ZZ/webhook",
                Some(json!({"url": "https://hooks.attacker.example/steal"})),
            )),
            all_but(&[Who::BrokerAdmin]),
        ),
        // The handover contact: read as the institution, set as its
        // certificates and webhook.
        case(
            "GET",
            "/v1/institutions/{brin}/contact",
            "read_institution",
            call(format!("/v1/institutions/{VO}/contact"), None),
            Some(call("/v1/institutions/99ZZ/contact", None)),
            vec![Who::Anonymous],
        ),
        case(
            "PUT",
            "/v1/institutions/{brin}/contact",
            "manage_certificates",
            call(
                format!("/v1/institutions/{VO}/contact"),
                Some(json!({"handover": {"name": "Nep", "email": "nep@attacker.example"}})),
            ),
            Some(call(
                "/v1/institutions/99ZZ/contact",
                Some(json!({"handover": {"name": "Nep", "email": "nep@attacker.example"}})),
            )),
            all_but(&[Who::BrokerAdmin]),
        ),
        case(
            "DELETE",
            "/v1/institutions/{brin}/webhook",
            "manage_certificates",
            call(format!("/v1/institutions/{VO}/webhook"), None),
            Some(call("/v1/institutions/99ZZ/webhook", None)),
            all_but(&[Who::BrokerAdmin]),
        ),
        case(
            "POST",
            "/v1/institutions/{brin}/certificates",
            "manage_certificates",
            call(
                format!("/v1/institutions/{VO}/certificates"),
                Some(json!({"certificate": w.attacker_certificate})),
            ),
            Some(call(
                "/v1/institutions/99ZZ/certificates",
                Some(json!({"certificate": w.attacker_certificate})),
            )),
            all_but(&[Who::BrokerAdmin]),
        ),
        case(
            "POST",
            "/v1/institutions/{brin}/certificates/{fingerprint}/revoke",
            "manage_certificates",
            call(
                format!("/v1/institutions/{VO}/certificates/{}/revoke", w.vo_fingerprint),
                None,
            ),
            Some(call(
                format!("/v1/institutions/{VO}/certificates/{unknown_fingerprint}/revoke"),
                None,
            )),
            all_but(&[Who::BrokerAdmin]),
        ),
        // Staff of 25LX: its own admins and the broker's.
        case(
            "POST",
            "/v1/staff",
            "create_staff",
            call("/v1/staff", Some(staff_body(MBO))),
            Some(call("/v1/staff", Some(staff_body("99ZZ")))),
            all_but(&[Who::BrokerAdmin]),
        ),
        case(
            "GET",
            "/v1/staff",
            "list_staff",
            call(format!("/v1/staff?institution={MBO}"), None),
            Some(call("/v1/staff?institution=99ZZ", None)),
            all_but(&[Who::BrokerAdmin, Who::BrokerPo]),
        ),
        case(
            "POST",
            "/v1/staff/{id}/deactivate",
            "manage_staff",
            call(format!("/v1/staff/{}/deactivate", w.mbo_intaker), None),
            Some(call(format!("/v1/staff/{unknown_id}/deactivate"), None)),
            all_but(&[Who::BrokerAdmin]),
        ),
        case(
            "POST",
            "/v1/staff/{id}/second-factor",
            "manage_staff",
            call(format!("/v1/staff/{}/second-factor", w.mbo_intaker), None),
            Some(call(format!("/v1/staff/{unknown_id}/second-factor"), None)),
            all_but(&[Who::BrokerAdmin]),
        ),
        // The audit log: 25LX's privacy officer for 25LX, the broker's for
        // all. Other privacy officers search and report within their own
        // scope, which holds nothing of this student.
        case(
            "GET",
            "/v1/audit/events",
            "read_audit_log",
            call(format!("/v1/audit/events?institution={MBO}"), None),
            Some(call("/v1/audit/events?institution=99ZZ", None)),
            all_but(&[Who::BrokerPo]),
        ),
        scoped(
            case(
                "POST",
                "/v1/audit/search",
                "read_audit_log",
                call("/v1/audit/search", Some(student_body(s))),
                Some(call("/v1/audit/search", Some(student_body(u)))),
                all_but(&[Who::BrokerPo, Who::OtherMboPo, Who::OtherVoPo]),
            ),
            &[Who::OtherMboPo, Who::OtherVoPo],
        ),
        scoped(
            case(
                "POST",
                "/v1/audit/subject-report",
                "read_audit_log",
                call("/v1/audit/subject-report", Some(student_body(s))),
                Some(call("/v1/audit/subject-report", Some(student_body(u)))),
                all_but(&[Who::BrokerPo, Who::OtherMboPo, Who::OtherVoPo]),
            ),
            &[Who::OtherMboPo, Who::OtherVoPo],
        ),
        case(
            "POST",
            "/v1/audit/checkpoint",
            "read_audit_log",
            call("/v1/audit/checkpoint", None),
            None,
            all_but(&[Who::BrokerPo]),
        ),
        case(
            "GET",
            "/v1/audit/entries",
            "read_audit_log",
            call("/v1/audit/entries?start=0&end=1", None),
            Some(call("/v1/audit/entries?start=900000&end=900001", None)),
            all_but(&[Who::BrokerPo]),
        ),
        case(
            "GET",
            "/v1/audit/proofs/inclusion",
            "read_audit_log",
            call("/v1/audit/proofs/inclusion?index=0&size=2", None),
            Some(call("/v1/audit/proofs/inclusion?index=900000&size=900001", None)),
            all_but(&[Who::BrokerPo]),
        ),
        case(
            "GET",
            "/v1/audit/proofs/consistency",
            "read_audit_log",
            call("/v1/audit/proofs/consistency?old=1&new=2", None),
            Some(call("/v1/audit/proofs/consistency?old=900000&new=900001", None)),
            all_but(&[Who::BrokerPo]),
        ),
        case(
            "GET",
            "/v1/audit/pruned",
            "read_audit_log",
            call("/v1/audit/pruned", None),
            None,
            all_but(&[Who::BrokerPo]),
        ),
        // Erasure: a privacy officer erases what the institution is party
        // to; another institution's officer finds nothing to erase.
        scoped(
            case(
                "POST",
                "/v1/erasures",
                "erase_student",
                call(
                    "/v1/erasures",
                    Some(
                        json!({"student_number": {"type": "bsn", "number": s}, "requested_by": "student", "reason": "verzoek art. 17"}),
                    ),
                ),
                Some(call(
                    "/v1/erasures",
                    Some(
                        json!({"student_number": {"type": "bsn", "number": u}, "requested_by": "student", "reason": "verzoek art. 17"}),
                    ),
                )),
                all_but(&[Who::BrokerPo, Who::OtherMboPo, Who::OtherVoPo]),
            ),
            &[Who::OtherMboPo, Who::OtherVoPo],
        ),
        // The exchange: the systems of 25LX and 07AB and 25LX's intakers.
        // 27GH registering its own application is its own record, not an
        // attack on 25LX's; the footing it gives is the subject of
        // `cross_tenant_with_a_footing`.
        system_case(
            "POST",
            "/v1/applications",
            "register_application",
            call(
                "/v1/applications",
                Some(crate::exchange_support::application_body(s, "Verzorgende IG")),
            ),
            Some(call(
                "/v1/applications",
                Some(crate::exchange_support::application_body(u, "Verzorgende IG")),
            )),
            all_but(&[Who::OtherMbo]),
        ),
        // The safety net: a vo school's own cohort. Another vo school
        // reads and adds to its own (scoped); removing 07AB's member is the
        // 404 of a member never there, for everyone.
        scoped(
            system_case(
                "GET",
                "/v1/cohorts/{school_year}/at-risk",
                "read_safety_net",
                call("/v1/cohorts/2027-2028/at-risk", None),
                None,
                all_but(&[Who::OtherVo, Who::ThirdVo]),
            ),
            &[Who::OtherVo, Who::ThirdVo],
        ),
        scoped(
            system_case(
                "POST",
                "/v1/cohorts/{school_year}/students",
                "manage_cohort",
                call(
                    "/v1/cohorts/2027-2028/students",
                    Some(
                        json!({"students": [{"student_number": {"type": "bsn", "number": u}, "reference": "CT-PLANTED"}]}),
                    ),
                ),
                None,
                all_but(&[Who::OtherVo, Who::ThirdVo]),
            ),
            &[Who::OtherVo, Who::ThirdVo],
        ),
        // The regional figures: no principal of this suite is a regional
        // coordinator, so every one gets, for the configured region of
        // 07AB and 25LX, whose figures count the student, the 404 of a
        // region that does not exist ([`twente`]; its coordinator and
        // another region's are in `regional.rs`).
        case(
            "GET",
            "/v1/regions/{region}/figures",
            "read_regional_figures",
            call("/v1/regions/twente/figures?school_year=2027-2028", None),
            Some(call("/v1/regions/nowhere/figures?school_year=2027-2028", None)),
            EVERYONE.to_vec(),
        ),
        system_case(
            "DELETE",
            "/v1/cohorts/{school_year}/students/{reference}",
            "manage_cohort",
            call("/v1/cohorts/2027-2028/students/CT-4242", None),
            Some(call("/v1/cohorts/2027-2028/students/CT-9999", None)),
            all_but(&[]),
        ),
        scoped(
            system_case(
                "POST",
                "/v1/applications/search",
                "find_applications",
                call("/v1/applications/search", Some(student_body(s))),
                Some(call("/v1/applications/search", Some(student_body(u)))),
                all_but(&[Who::OtherVo, Who::ThirdVo]),
            ),
            &[Who::OtherVo, Who::ThirdVo],
        ),
        case(
            "GET",
            "/v1/applications/{id}",
            "read_application",
            call(format!("/v1/applications/{}", w.application), None),
            Some(call(format!("/v1/applications/{unknown_id}"), None)),
            EVERYONE.to_vec(),
        ),
        case(
            "POST",
            "/v1/applications/{id}/status",
            "report_status",
            call(
                format!("/v1/applications/{}/status", w.application),
                Some(json!({"status": "enrolled"})),
            ),
            Some(call(
                format!("/v1/applications/{unknown_id}/status"),
                Some(json!({"status": "enrolled"})),
            )),
            EVERYONE.to_vec(),
        ),
        system_case(
            "POST",
            "/v1/packages",
            "submit_package",
            call(
                "/v1/packages",
                Some(attacker_package(broker, &w.application.to_string())),
            ),
            Some(call(
                "/v1/packages",
                Some(attacker_package(broker, &unknown_id.to_string())),
            )),
            EVERYONE.to_vec(),
        ),
        system_case(
            "GET",
            "/v1/institutions/{brin}/intakers",
            "list_intakers",
            call(format!("/v1/institutions/{MBO}/intakers"), None),
            Some(call("/v1/institutions/99ZZ/intakers", None)),
            EVERYONE.to_vec(),
        ),
        scoped(
            case(
                "GET",
                "/v1/inbox",
                "list_inbox",
                call("/v1/inbox", None),
                None,
                EVERYONE.to_vec(),
            ),
            // Their own, empty inbox.
            &[Who::OtherMbo, Who::OtherIntaker],
        ),
        // The event feed: 25LX's cursor (its feed has the package's entry)
        // and one beyond its head. Every other system gets the same 404
        // (its own feed is not this one), staff 401.
        system_case(
            "GET",
            "/v1/events",
            "read_events",
            call(format!("/v1/events?after={}", feed_cursor(MBO, 1)), None),
            Some(call(format!("/v1/events?after={}", feed_cursor(MBO, 999)), None)),
            EVERYONE.to_vec(),
        ),
        case(
            "GET",
            "/v1/packages/{id}",
            "pull_package",
            call(format!("/v1/packages/{}", w.package), None),
            Some(call(format!("/v1/packages/{unknown_id}"), None)),
            EVERYONE.to_vec(),
        ),
        case(
            "POST",
            "/v1/packages/{id}/acknowledge",
            "acknowledge_package",
            call(format!("/v1/packages/{}/acknowledge", w.package), None),
            Some(call(format!("/v1/packages/{unknown_id}/acknowledge"), None)),
            EVERYONE.to_vec(),
        ),
        // The ledger: another vo school records in its own ledger (not an
        // attack on 07AB's), the mbo's, staff and nobody may not record.
        system_case(
            "POST",
            "/v1/inspections",
            "record_inspection",
            call("/v1/inspections", Some(inspection_body(broker, s))),
            Some(call("/v1/inspections", Some(inspection_body(broker, u)))),
            all_but(&[Who::OtherVo, Who::ThirdVo]),
        ),
        system_case(
            "POST",
            "/v1/consents",
            "record_consent",
            call("/v1/consents", Some(consent_body(broker, s))),
            Some(call("/v1/consents", Some(consent_body(broker, u)))),
            all_but(&[Who::OtherVo, Who::ThirdVo]),
        ),
        system_case(
            "POST",
            "/v1/consents/withdraw",
            "record_consent",
            call("/v1/consents/withdraw", Some(consent_body(broker, s))),
            Some(call("/v1/consents/withdraw", Some(consent_body(broker, u)))),
            all_but(&[Who::OtherVo, Who::ThirdVo]),
        ),
        // The student's own page: only the school that sends for the
        // student issues a link, only the issuing school revokes it.
        system_case(
            "POST",
            "/v1/transparency-links",
            "issue_transparency_link",
            call("/v1/transparency-links", Some(student_body(s))),
            Some(call("/v1/transparency-links", Some(student_body(u)))),
            EVERYONE.to_vec(),
        ),
        system_case(
            "DELETE",
            "/v1/transparency-links/{id}",
            "revoke_transparency_link",
            call(format!("/v1/transparency-links/{}", w.link), None),
            Some(call(format!("/v1/transparency-links/{unknown_id}"), None)),
            EVERYONE.to_vec(),
        ),
        scoped(
            case(
                "POST",
                "/v1/consents/history",
                "read_consent_history",
                call("/v1/consents/history", Some(student_body(s))),
                Some(call("/v1/consents/history", Some(student_body(u)))),
                all_but(&[Who::BrokerPo]),
            ),
            &[Who::OtherVo, Who::ThirdVo, Who::OtherMboPo, Who::OtherVoPo],
        ),
    ]
}

/// A cursor of `brin`'s event feed after entry `seq`, as the broker writes
/// them (base64url of `v1.<brin>.<seq>`).
fn feed_cursor(brin: &str, seq: i64) -> String {
    crate::exchange_support::b64url(format!("v1.{brin}.{seq}").as_bytes())
}

/// The consent ledger's cases that depend on ownership of the ledger: the
/// other schools withdrawing 07AB's consent (see [`cross_tenant_consent_ledger`]).
fn ledger_cases(broker: &TestBroker, w: &World) -> Vec<Case> {
    vec![Case {
        method: "POST",
        route: "/v1/consents/withdraw",
        action: "record_consent",
        system_only: true,
        exists: call("/v1/consents/withdraw", Some(consent_body(broker, &w.student))),
        missing: Some(call(
            "/v1/consents/withdraw",
            Some(consent_body(broker, &w.unknown_student)),
        )),
        refused: vec![Who::OtherVo, Who::ThirdVo],
        scoped: Vec::new(),
    }]
}

/// The operations of the committed OpenAPI document.
fn documented_routes() -> BTreeSet<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(path).expect("openapi.json")).expect("openapi json");
    let mut routes = BTreeSet::new();
    for (route, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                routes.insert((method.to_uppercase(), route.clone()));
            }
        }
    }
    routes
}

/// The last sequence number of the audit log.
fn last_seq(broker: &TestBroker) -> i64 {
    let mut after = None;
    loop {
        let page = broker
            .store
            .read(|conn| {
                doorstroom_store::audit::list(
                    conn,
                    &AuditQuery {
                        after_seq: after,
                        limit: 1000,
                        ..Default::default()
                    },
                )
            })
            .expect("audit events");
        match page.last() {
            Some((seq, _)) if page.len() == 1000 => after = Some(*seq),
            Some((seq, _)) => return *seq,
            None => return after.unwrap_or(0),
        }
    }
}

/// The audit events after `seq`, and the new last sequence number.
fn events_after(broker: &TestBroker, seq: i64) -> (Vec<AuditEvent>, i64) {
    let page = broker
        .store
        .read(|conn| {
            doorstroom_store::audit::list(
                conn,
                &AuditQuery {
                    after_seq: Some(seq),
                    limit: 1000,
                    ..Default::default()
                },
            )
        })
        .expect("audit events");
    let last = page.last().map(|(s, _)| *s).unwrap_or(seq);
    (page.into_iter().map(|(_, e)| e).collect(), last)
}

async fn send(w: &World, who: Who, method: &str, c: &Call) -> Reply {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    // A school system names the intaker it acts for where the exchange
    // asks for one: 27GH's own.
    let on_behalf_of = (who == Who::OtherMbo).then_some(w.other_intaker.as_str());
    w.client(who)
        .request(method, &c.path, c.body.as_ref(), on_behalf_of)
        .await
        .expect("request")
}

/// A scoped answer without the events in which the caller's own
/// institution acted (its own earlier attempts about the student, which
/// its privacy officer rightly sees): what is left must not depend on
/// whether 07AB's and 25LX's records exist.
fn without_own(body: &Value, who: Who) -> String {
    fn strip(value: &Value, own: Option<&str>) -> Value {
        match value {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .filter(|item| {
                        let actor = item.get("event").unwrap_or(item).get("actor");
                        let institution = actor.and_then(|a| a.get("institution")).and_then(Value::as_str);
                        own.is_none() || institution != own
                    })
                    .map(|item| strip(item, own))
                    .collect(),
            ),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), strip(v, own))).collect()),
            other => other.clone(),
        }
    }
    let mut stripped = strip(body, who.institution());
    // The request a problem answers is each answer's own (see
    // `doorstroom_tests::without_instance`).
    if let Value::Object(map) = &mut stripped {
        map.remove("instance");
    }
    stripped.to_string()
}

/// The start of an answer, for a failure message.
fn short(text: &str) -> String {
    text.chars().take(400).collect()
}

/// Runs `cases` as their principals, returning what went wrong.
/// Fails the test with every failure found, counted and named per backend.
fn assert_none(what: &str, broker: &TestBroker, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} {what} on {}:\n{}",
        failures.len(),
        broker.backend.name(),
        failures.join("\n")
    );
}

async fn attack(broker: &TestBroker, w: &World, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    let mut seq = last_seq(broker);
    let secrets = w.secrets();
    for case in cases {
        for &who in case.refused.iter().chain(case.scoped.iter()) {
            let scoped = case.scoped.contains(&who);
            let label = format!("{} {} as {who:?}", case.method, case.route);
            let mut answers = Vec::new();
            for (which, c) in
                std::iter::once(("exists", &case.exists)).chain(case.missing.iter().map(|m| ("missing", m)))
            {
                let reply = send(w, who, case.method, c).await;
                let (events, last) = events_after(broker, seq);
                seq = last;
                let unauthenticated = who == Who::Anonymous || (case.system_only && who.is_staff());
                let route_name = format!("{} {}", case.method, case.route);
                let audited = events.iter().any(|e| {
                    if unauthenticated {
                        e.action.name == "authenticate"
                            && e.outcome == Outcome::Unauthenticated
                            && e.resource.id.as_deref() == Some(route_name.as_str())
                    } else if reply.status.is_success() {
                        e.action.name == case.action && e.outcome == Outcome::Success
                    } else {
                        e.action.name == case.action && matches!(e.outcome, Outcome::Denied | Outcome::Rejected)
                    }
                });
                if !audited {
                    let seen: Vec<String> = events
                        .iter()
                        .map(|e| format!("{} {}", e.action.name, e.outcome.as_str()))
                        .collect();
                    failures.push(format!(
                        "{label} ({which}): {} without its audit event; events: {seen:?}",
                        reply.status
                    ));
                }
                if reply.status.is_success() && !scoped {
                    failures.push(format!("{label} ({which}): succeeded with {}", reply.status));
                }
                if reply.status.is_server_error() {
                    failures.push(format!("{label} ({which}): {}", reply.status));
                }
                let text = String::from_utf8_lossy(&reply.raw);
                for secret in &secrets {
                    if text.contains(secret.as_str()) {
                        failures.push(format!(
                            "{label} ({which}): the answer holds {secret:?}: {}",
                            short(&text)
                        ));
                    }
                }
                answers.push(reply);
            }
            if let [exists, missing] = answers.as_slice()
                && (exists.status != missing.status
                    || (!scoped && without_instance(&exists.raw) != without_instance(&missing.raw))
                    || (scoped && without_own(&exists.body, who) != without_own(&missing.body, who)))
            {
                failures.push(format!(
                    "{label}: 'exists but not yours' ({} {}) differs from 'does not exist' ({} {})",
                    exists.status,
                    short(&String::from_utf8_lossy(&exists.raw)),
                    missing.status,
                    short(&String::from_utf8_lossy(&missing.raw))
                ));
            }
        }
    }
    failures
}

/// The records of 07AB and 25LX are as they were set up.
async fn untouched(broker: &TestBroker, w: &World) {
    let package = broker
        .store
        .read(|conn| doorstroom_store::packages::get(conn, &w.package))
        .expect("read package")
        .expect("the package is still there");
    assert!(
        package.delivered_at.is_none(),
        "the package was delivered to an attacker"
    );
    assert!(
        package.acknowledged_at.is_none(),
        "an attacker acknowledged the package"
    );
    let sections = broker
        .store
        .read(|conn| doorstroom_store::packages::sections(conn, &w.package))
        .expect("sections");
    assert!(
        sections.iter().all(|s| s.withdrawn_at.is_none()),
        "a section of 07AB's package was withdrawn by an attacker"
    );
    let keys = broker
        .system(VO)
        .fetch(Method::GET, &format!("/v1/institutions/{VO}/keys"), None)
        .await
        .expect("keys");
    assert!(
        keys.body
            .as_array()
            .expect("keys")
            .iter()
            .all(|k| k["status"] == "active"),
        "a key of 07AB was retired or revoked by an attacker: {}",
        keys.body
    );
}

/// The region of the victims, 07AB and 25LX, with a coordinator who is
/// none of the attackers: its figures exist, and are not theirs.
fn twente(settings: &mut doorstroom_server::config::Settings) {
    use doorstroom_server::config::{RegionSection, RegionalSection, checked_regions};
    let twente = RegionSection {
        name: "twente".into(),
        institutions: vec![VO.into(), MBO.into()],
        coordinators: vec!["rmc-twente".into()],
    };
    settings.regional = checked_regions(RegionalSection { threshold: 5 }, vec![twente]).expect("regions");
}

#[tokio::test]
async fn cross_tenant_every_route_every_wrong_principal() {
    TestBroker::on_every_backend_with(twente, |mut broker| async move {
        let w = world(&mut broker).await;
        let cases = cases(&broker, &w);

        // Every route of the document has a case here or is public, with
        // its reason; and nothing here is missing from the document.
        let documented = documented_routes();
        let mut covered: BTreeSet<(String, String)> = cases
            .iter()
            .chain(ledger_cases(&broker, &w).iter())
            .map(|c| (c.method.to_owned(), c.route.to_owned()))
            .collect();
        covered.extend(PUBLIC_ROUTES.iter().map(|(m, r, _)| ((*m).to_owned(), (*r).to_owned())));
        let untested: Vec<_> = documented.difference(&covered).collect();
        assert!(
            untested.is_empty(),
            "routes in openapi.json without a cross-tenant case: {untested:?}"
        );
        let unknown: Vec<_> = covered.difference(&documented).collect();
        assert!(unknown.is_empty(), "cases for routes not in openapi.json: {unknown:?}");

        let failures = attack(&broker, &w, &cases).await;
        assert_none("cross-tenant failures", &broker, &failures);
        untouched(&broker, &w).await;
    })
    .await;
}

/// Another school withdrawing 07AB's consent gets "nothing there", exactly
/// as for a student it never recorded consent for, and 07AB's package keeps
/// its section (the consent ledger has an owner).
#[tokio::test]
async fn cross_tenant_consent_ledger() {
    TestBroker::on_every_backend(|mut broker| async move {
        let w = world(&mut broker).await;
        let failures = attack(&broker, &w, &ledger_cases(&broker, &w)).await;
        assert_none("cross-tenant failures", &broker, &failures);
        untouched(&broker, &w).await;
    })
    .await;
}

/// The same attacks after the attackers gained a footing with the student
/// of their own: 27GH registered its own applications of the student, one
/// naming 08CD and one 09EF as sending school, and 08CD and 09EF recorded
/// their own inspection and consent for 27GH. Their footing must not widen what they see of 07AB's and
/// 25LX's records (ledger ownership, and the privacy officer's scope: only
/// what the institution is party to).
#[tokio::test]
async fn cross_tenant_with_a_footing() {
    TestBroker::on_every_backend(|mut broker| async move {
        let w = world(&mut broker).await;
        // The footing: 27GH registers its own applications of the student,
        // naming each of the other schools as sending school (a school may
        // record in its ledger only then), and each records its own
        // inspection and consent, for 27GH: nothing of it names 25LX.
        for (school, programme) in [(SECOND_VO.brin, "Kok"), (THIRD_VO.brin, "Bakker")] {
            let mut own_application = crate::exchange_support::application_body(&w.student, programme);
            own_application["sending_school"] = json!(school);
            let reply = broker
                .system(OTHER_MBO)
                .fetch(Method::POST, "/v1/applications", Some(&own_application))
                .await
                .expect("application");
            assert_eq!(
                reply.status.as_u16(),
                201,
                "27GH's application from {school}: {}",
                reply.body
            );
            let mut own_consent = consent_body(&broker, &w.student);
            own_consent["recipient"] = json!(OTHER_MBO);
            for (path, body) in [
                ("/v1/inspections", inspection_body(&broker, &w.student)),
                ("/v1/consents", own_consent),
            ] {
                let reply = broker
                    .system(school)
                    .fetch(Method::POST, path, Some(&body))
                    .await
                    .expect("request");
                assert_eq!(reply.status.as_u16(), 201, "{school} {path}: {}", reply.body);
            }
        }

        let footing_cases: Vec<Case> = cases(&broker, &w)
            .into_iter()
            .filter(|c| {
                [
                    "/v1/consents/history",
                    "/v1/audit/search",
                    "/v1/audit/subject-report",
                    "/v1/erasures",
                ]
                .contains(&c.route)
            })
            .chain(ledger_cases(&broker, &w))
            .collect();
        // With a footing the two answers may rightly differ (the
        // attacker's own records of the student show); what must hold is
        // that nothing of 07AB or 25LX shows, which `attack` checks, and
        // that every attempt is audited.
        let failures: Vec<String> = attack(&broker, &w, &footing_cases)
            .await
            .into_iter()
            .filter(|f| !f.contains("differs from 'does not exist'"))
            .collect();
        assert_none("cross-tenant failures", &broker, &failures);
        untouched(&broker, &w).await;
    })
    .await;
}

/// The route × role walk: every secured route of the document, called by
/// every kind of principal with a request it must refuse (a control
/// character in the query), leaves an event for the refusal — the route's
/// action for a caller the route takes, `unauthenticated` naming the route
/// for anyone else.
#[tokio::test]
async fn every_refusal_of_every_route_and_role_is_audited() {
    TestBroker::on_every_backend(|mut broker| async move {
        let w = world(&mut broker).await;
        let mut actions = std::collections::BTreeMap::new();
        for case in cases(&broker, &w).into_iter().chain(ledger_cases(&broker, &w)) {
            actions.insert((case.method, case.route), (case.action, case.system_only));
        }
        let roles: Vec<(&str, Client, bool)> = vec![
            ("vo system", broker.system(VO), false),
            ("mbo system", broker.system(MBO), false),
            (
                "mbo intaker",
                broker.staff("walk.intaker", Role::Intaker, Some(MBO)).await,
                true,
            ),
            (
                "mbo privacy officer",
                broker.staff("walk.fg", Role::PrivacyOfficer, Some(MBO)).await,
                true,
            ),
            (
                "mbo admin",
                broker.staff("walk.admin", Role::InstitutionAdmin, Some(MBO)).await,
                true,
            ),
            (
                "broker admin",
                broker.staff("walk.badmin", Role::BrokerAdmin, None).await,
                true,
            ),
            (
                "broker privacy officer",
                broker.staff("walk.bfg", Role::PrivacyOfficer, None).await,
                true,
            ),
            ("anonymous", broker.anonymous(), false),
        ];
        let public: BTreeSet<(String, String)> = PUBLIC_ROUTES
            .iter()
            .map(|(m, r, _)| ((*m).to_owned(), (*r).to_owned()))
            .collect();
        let mut failures = Vec::new();
        let mut seq = last_seq(&broker);
        for (method, route) in documented_routes().difference(&public) {
            let Some((action, system_only)) = actions.get(&(method.as_str(), route.as_str())).copied() else {
                failures.push(format!("{method} {route}: no action known"));
                continue;
            };
            // Path parameters filled in with values of the right shape.
            let path = route
                .replace("{brin}", VO)
                .replace("{kid}", &w.vo_kid)
                .replace("{fingerprint}", &w.vo_fingerprint)
                .replace("{id}", &Uuid::new_v4().to_string());
            let path = format!("{path}?probe=%00");
            for (role, client, is_staff) in &roles {
                let reply = client
                    .request(
                        Method::from_bytes(method.as_bytes()).expect("method"),
                        &path,
                        Some(&json!({})),
                        None,
                    )
                    .await
                    .expect("request");
                let (events, last) = events_after(&broker, seq);
                seq = last;
                let unauthenticated = *role == "anonymous" || (system_only && *is_staff);
                let route_name = format!("{method} {route}");
                let (expected_status, audited) = if unauthenticated {
                    (
                        401,
                        events.iter().any(|e| {
                            e.action.name == "authenticate"
                                && e.outcome == Outcome::Unauthenticated
                                && e.resource.id.as_deref() == Some(route_name.as_str())
                        }),
                    )
                } else {
                    (
                        400,
                        events
                            .iter()
                            .any(|e| e.action.name == action && e.outcome == Outcome::Rejected),
                    )
                };
                if reply.status.as_u16() != expected_status || !audited {
                    let seen: Vec<String> = events
                        .iter()
                        .map(|e| format!("{} {}", e.action.name, e.outcome.as_str()))
                        .collect();
                    failures.push(format!(
                        "{route_name} as {role}: {} (expected {expected_status}), events {seen:?}",
                        reply.status
                    ));
                }
            }
        }
        assert_none("unaudited refusals", &broker, &failures);
    })
    .await;
}

/// Issue 11, item 4: the broker's admin and privacy officer asking for an
/// inbox are refused by the policy (403: the broker has no inbox, no
/// secret) and the refusal is in the log.
#[tokio::test]
async fn the_broker_staff_asking_for_an_inbox_is_403_and_audited() {
    TestBroker::on_every_backend(|broker| async move {
        for (username, role) in [("inbox.badmin", Role::BrokerAdmin), ("inbox.bfg", Role::PrivacyOfficer)] {
            let client = broker.staff(username, role, None).await;
            let seq = last_seq(&broker);
            let reply = client.fetch(Method::GET, "/v1/inbox", None).await.expect("inbox");
            assert_eq!(reply.status.as_u16(), 403, "{username}: {}", reply.body);
            let (events, _) = events_after(&broker, seq);
            assert_eq!(events.len(), 1, "{username}");
            assert_eq!(events[0].action.name, "list_inbox");
            assert_eq!(events[0].outcome, Outcome::Denied);
        }
    })
    .await;
}

/// Refusals that a handler or an extractor gives before the audit spine
/// (a limit out of range, a query value of the wrong type, which fails
/// before the caller is even established) are audited under the route's
/// action in the caller's name.
#[tokio::test]
async fn refusals_before_the_audit_spine_name_the_caller_and_the_action() {
    TestBroker::on_every_backend(|broker| async move {
        let intaker = broker.staff("early.intaker", Role::Intaker, Some(MBO)).await;
        let officer = broker.staff("early.bfg", Role::PrivacyOfficer, None).await;
        for (client, path, action) in [
            (&intaker, "/v1/inbox?limit=0", "list_inbox"),
            (&intaker, "/v1/inbox?limit=many", "list_inbox"),
            (&intaker, "/v1/inbox?unknown=1", "list_inbox"),
            (&officer, "/v1/audit/events?limit=0", "read_audit_log"),
            (&officer, "/v1/audit/entries?start=x&end=1", "read_audit_log"),
            (&officer, "/v1/audit/proofs/inclusion?index=0", "read_audit_log"),
        ] {
            let seq = last_seq(&broker);
            let reply = client.fetch(Method::GET, path, None).await.expect("request");
            assert_eq!(reply.status.as_u16(), 400, "{path}: {}", reply.body);
            let (events, _) = events_after(&broker, seq);
            let described: Vec<String> = events
                .iter()
                .map(|e| format!("{} {} {:?}", e.action.name, e.outcome.as_str(), e.actor.kind))
                .collect();
            assert_eq!(events.len(), 1, "{path}: {described:?}");
            assert_eq!(events[0].action.name, action, "{path}");
            assert_eq!(events[0].outcome, Outcome::Rejected, "{path}");
            assert_eq!(events[0].reason.as_deref(), Some("malformed-request"), "{path}");
            assert!(events[0].actor.id.is_some(), "{path}: the caller is named");
        }
    })
    .await;
}

/// A package for 25LX whose sections are encrypted to another
/// institution's key (27GH's) is refused at submission with a pointer to
/// the section, and the refusal is audited: the broker checks each
/// section's JWE header (`kid` an active encryption key of the recipient)
/// without decrypting.
#[tokio::test]
async fn a_package_encrypted_for_another_institution_is_refused() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(5151);
        let application = register_application(&broker, MBO, &student).await;
        let submission = seal_with(
            &crate::exchange_support::package_meta(&broker, application, MBO),
            &[personal_data(&student)],
            &signing_key(&broker, VO),
            &encryption_key(&broker, OTHER_MBO),
        );
        let seq = last_seq(&broker);
        let reply = submit(&broker.system(VO), &submission).await;
        assert_eq!(reply.status.as_u16(), 422, "{}", reply.body);
        assert_eq!(reply.body["pointer"], "/sections/personal_data", "{}", reply.body);
        let (events, _) = events_after(&broker, seq);
        assert!(
            events
                .iter()
                .any(|e| e.action.name == "submit_package" && e.outcome == Outcome::Rejected),
            "the refusal is audited"
        );
        assert!(
            crate::exchange_support::stored_by_jti(&broker, &submission_jti(&submission)).is_none(),
            "nothing stored"
        );
    })
    .await;
}

fn submission_jti(submission: &doorstroom_jose::Submission) -> String {
    crate::exchange_support::envelope_payload(&submission.envelope)["jti"]
        .as_str()
        .expect("jti")
        .to_owned()
}
