//! The safety net (vangnet), end to end on both backends: a vo school's
//! cohort of 40 leavers with mixed journeys, reported by two mbo's over a
//! school year on the broker's clock, gives exactly the expected at-risk
//! list; the cohort's rules (idempotent adds, conflicts, removal); every
//! other institution gets nothing of it, each refusal audited.

use chrono::{NaiveDate, TimeZone, Utc};
use doorstroom_tests::{MBO, OTHER_MBO, SECOND_VO, TestBroker, VO, assert_problem};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::exchange_support::{bsn, register_application, report_status};

const YEAR: &str = "2027-2028";

fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
}

/// Distinct BSNs: `bsn(n)` may skip to the next prefix, so neighbours can
/// coincide; steps of 7 never do.
fn student(i: u32) -> String {
    bsn(94_000 + 7 * i)
}

fn reference(i: u32) -> String {
    format!("LL-{i:03}")
}

fn cohort_body(range: std::ops::Range<u32>) -> Value {
    let students: Vec<Value> = range
        .map(|i| json!({"student_number": {"type": "bsn", "number": student(i)}, "reference": reference(i)}))
        .collect();
    json!({ "students": students })
}

/// The journeys, by student: what each group's mbo reports and when.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Journey {
    NoApplication,
    Applied,
    IntakeHeld,
    PlaceOffered,
    Enrolled,
    NoShow,
    NotEnrolling,
}

fn journey(i: u32) -> Journey {
    match i {
        0..8 => Journey::NoApplication,
        8..16 => Journey::Applied,
        16..22 => Journey::IntakeHeld,
        22..28 => Journey::PlaceOffered,
        28..34 => Journey::Enrolled,
        34..37 => Journey::NoShow,
        _ => Journey::NotEnrolling,
    }
}

async fn report(broker: &TestBroker, mbo: &str, id: Uuid, status: &str) {
    let reply = report_status(broker, mbo, id, status).await;
    assert_eq!(reply.status.as_u16(), 200, "{status}: {}", reply.body);
}

/// Walks the school year: applications in March (half at each mbo), the
/// intakes in June, places in July, enrolments in August, a no-show on
/// 5 September, a "not enrolling" on 10 September.
async fn school_year(broker: &TestBroker) -> Vec<(u32, &'static str, Uuid)> {
    broker.clock.set(at(2027, 3, 2));
    let mut applications = Vec::new();
    for i in 8..40 {
        let mbo = if i % 2 == 0 { MBO } else { OTHER_MBO };
        applications.push((i, mbo, register_application(broker, mbo, &student(i)).await));
    }
    let step = |month, day, statuses: &'static [(&'static [Journey], &'static str)]| (month, day, statuses);
    use Journey::*;
    let calendar = [
        step(
            6,
            10,
            &[(&[IntakeHeld, PlaceOffered, Enrolled, NoShow, NotEnrolling], "received")],
        ),
        step(
            6,
            11,
            &[(
                &[IntakeHeld, PlaceOffered, Enrolled, NoShow, NotEnrolling],
                "intake_held",
            )],
        ),
        step(7, 15, &[(&[PlaceOffered, Enrolled, NoShow], "place_offered")]),
        step(8, 20, &[(&[Enrolled], "enrolled")]),
        step(9, 5, &[(&[NoShow], "no_show")]),
        step(9, 10, &[(&[NotEnrolling], "not_enrolling")]),
    ];
    for (month, day, statuses) in calendar {
        broker.clock.set(at(2027, month, day));
        for (journeys, status) in statuses {
            for (i, mbo, id) in &applications {
                if journeys.contains(&journey(*i)) {
                    report(broker, mbo, *id, status).await;
                }
            }
        }
    }
    applications
}

fn expected() -> Vec<(String, &'static str, NaiveDate)> {
    let day = |m, d| NaiveDate::from_ymd_opt(2027, m, d).unwrap();
    let mut rows: Vec<(String, &'static str, NaiveDate)> = (0..40)
        .filter_map(|i| {
            let (reason, since) = match journey(i) {
                Journey::NoApplication => ("no_application", day(4, 2)),
                Journey::Applied => ("no_intake", day(7, 2)),
                Journey::IntakeHeld => ("no_place", day(8, 2)),
                Journey::PlaceOffered => ("not_enrolled", day(10, 2)),
                Journey::Enrolled => return None,
                Journey::NoShow => ("no_show", day(9, 5)),
                Journey::NotEnrolling => ("no_application", day(9, 10)),
            };
            Some((reference(i), reason, since))
        })
        .collect();
    rows.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    rows
}

fn listed(body: &Value) -> Vec<(String, &'static str, NaiveDate)> {
    body["at_risk"]
        .as_array()
        .expect("at_risk")
        .iter()
        .map(|r| {
            let reason = match r["reason"].as_str().expect("reason") {
                "no_application" => "no_application",
                "no_intake" => "no_intake",
                "no_place" => "no_place",
                "not_enrolled" => "not_enrolled",
                "no_show" => "no_show",
                other => panic!("unknown reason {other}"),
            };
            let since = r["since"].as_str().and_then(|s| s.parse().ok()).expect("since");
            (r["reference"].as_str().expect("reference").to_owned(), reason, since)
        })
        .collect()
}

#[tokio::test]
async fn a_cohort_of_forty_gives_exactly_the_students_at_risk() {
    TestBroker::on_every_backend(|broker| async move {
        let vo = broker.system(VO);
        broker.clock.set(at(2027, 1, 15));
        let path = format!("/v1/cohorts/{YEAR}/students");
        let added = vo.fetch(Method::POST, &path, Some(&cohort_body(0..40))).await.unwrap();
        assert_eq!(added.status.as_u16(), 200, "{}", added.body);
        assert_eq!(added.body, json!({"added": 40, "unchanged": 0, "cohort_size": 40}));
        let risk_path = format!("/v1/cohorts/{YEAR}/at-risk");
        let before = vo.fetch(Method::GET, &risk_path, None).await.unwrap();
        assert_eq!(before.body["at_risk"], json!([]), "no deadline has passed");

        school_year(&broker).await;
        broker.clock.set(at(2027, 10, 15));
        let list = vo.fetch(Method::GET, &risk_path, None).await.unwrap();
        assert_eq!(list.status.as_u16(), 200, "{}", list.body);
        assert_eq!(list.body["cohort_size"], json!(40));
        assert_eq!(list.body["as_of"], json!("2027-10-15"));
        assert_eq!(listed(&list.body), expected());

        let csv = vo
            .fetch(Method::GET, &format!("{risk_path}?format=csv"), None)
            .await
            .unwrap();
        assert_eq!(csv.content_type.as_deref(), Some("text/csv; charset=utf-8"));
        let text = String::from_utf8(csv.raw).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&"reference,reason,since"), "{text}");
        assert_eq!(lines.len(), expected().len() + 1);
        assert!(lines.contains(&"LL-034,no_show,2027-09-05"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn the_cohort_is_the_schools_own_and_its_rules_hold() {
    TestBroker::on_every_backend(|mut broker| async move {
        broker.add_institution(&SECOND_VO);
        let vo = broker.system(VO);
        let path = format!("/v1/cohorts/{YEAR}/students");
        assert_eq!(
            vo.fetch(Method::POST, &path, Some(&cohort_body(0..3))).await.unwrap().body["added"],
            json!(3)
        );
        let again = vo.fetch(Method::POST, &path, Some(&cohort_body(0..4))).await.unwrap();
        assert_eq!(again.body, json!({"added": 1, "unchanged": 3, "cohort_size": 4}));

        // A reference already used for another student: 409, nothing added.
        let clash = json!({"students": [
            {"student_number": {"type": "bsn", "number": student(10)}, "reference": "LL-010"},
            {"student_number": {"type": "bsn", "number": student(11)}, "reference": reference(0)},
        ]});
        let refused = vo.fetch(Method::POST, &path, Some(&clash)).await.unwrap();
        assert_problem(refused.status.as_u16(), &refused.body, 409);
        let risk_path = format!("/v1/cohorts/{YEAR}/at-risk");
        let list = vo.fetch(Method::GET, &risk_path, None).await.unwrap();
        assert_eq!(list.body["cohort_size"], json!(4), "nothing of the refused call added");

        // Bad input: each class a 4xx naming what is wrong.
        for (body, status, pointer) in [
            (json!({"students": [{"student_number": {"type": "bsn", "number": "123456789"}, "reference": "x"}]}), 422, Some("/students/0/student_number")),
            (json!({"students": [{"student_number": {"type": "bsn", "number": student(20)}, "reference": "met spatie"}]}), 422, Some("/students/0/reference")),
            (json!({"students": [{"student_number": {"type": "bsn", "number": student(20)}, "reference": ""}]}), 422, Some("/students/0/reference")),
            (json!({"students": [{"student_number": {"type": "bsn", "number": student(20)}}]}), 422, None),
            (json!({"pupils": []}), 422, None),
        ] {
            let reply = vo.fetch(Method::POST, &path, Some(&body)).await.unwrap();
            assert_problem(reply.status.as_u16(), &reply.body, status);
            if let Some(pointer) = pointer {
                assert_eq!(reply.body["pointer"], json!(pointer), "{body}: {}", reply.body);
            }
        }
        let too_many = cohort_body(0..501);
        let reply = vo.fetch(Method::POST, &path, Some(&too_many)).await.unwrap();
        assert_problem(reply.status.as_u16(), &reply.body, 422);
        for bad_year in ["2027-2029", "27-28", "next"] {
            let reply = vo
                .fetch(Method::GET, &format!("/v1/cohorts/{bad_year}/at-risk"), None)
                .await
                .unwrap();
            assert_problem(reply.status.as_u16(), &reply.body, 400);
        }

        // Removal: 204, then the 404 of a student never there.
        let member = format!("{path}/{}", reference(3));
        assert_eq!(vo.fetch(Method::DELETE, &member, None).await.unwrap().status.as_u16(), 204);
        let gone = vo.fetch(Method::DELETE, &member, None).await.unwrap();
        let never = vo.fetch(Method::DELETE, &format!("{path}/LL-999"), None).await.unwrap();
        assert_problem(gone.status.as_u16(), &gone.body, 404);
        assert_eq!(gone.body["type"], never.body["type"]);

        // Another vo school has its own (empty) cohort and cannot touch
        // 07AB's; an mbo, staff and anyone else get the 404 of no cohort.
        let other = broker.system(SECOND_VO.brin);
        let theirs = other.fetch(Method::GET, &risk_path, None).await.unwrap();
        assert_eq!(theirs.body["cohort_size"], json!(0), "{}", theirs.body);
        let not_theirs = other.fetch(Method::DELETE, &format!("{path}/{}", reference(0)), None).await.unwrap();
        assert_problem(not_theirs.status.as_u16(), &not_theirs.body, 404);
        let intaker = broker.staff("intaker.vangnet", doorstroom_domain::Role::Intaker, Some(MBO)).await;
        for client in [broker.system(MBO), broker.system(OTHER_MBO), intaker, broker.anonymous()] {
            for (method, route) in [
                (Method::GET, risk_path.clone()),
                (Method::POST, path.clone()),
                (Method::DELETE, format!("{path}/{}", reference(0))),
            ] {
                let body = (method == Method::POST).then(|| cohort_body(0..1));
                let reply = client.fetch(method.clone(), &route, body.as_ref()).await.unwrap();
                assert!(
                    matches!(reply.status.as_u16(), 401 | 404),
                    "{method} {route}: {} {}",
                    reply.status,
                    reply.body
                );
            }
        }
        let list = vo.fetch(Method::GET, &risk_path, None).await.unwrap();
        assert_eq!(list.body["cohort_size"], json!(3), "07AB's cohort untouched");

        let refusals = broker
            .audit_events()
            .into_iter()
            .filter(|e| {
                matches!(e.action.name.as_str(), "manage_cohort" | "read_safety_net")
                    && e.outcome != doorstroom_domain::Outcome::Success
            })
            .count();
        assert!(refusals >= 13, "every refusal audited: {refusals}");
    })
    .await;
}

/// A cohort is deleted its configured period (60 days) after the
/// enrolment deadline of its school year (1 October): not a day before,
/// each member with a deletion event about that student.
#[tokio::test]
async fn a_cohort_goes_sixty_days_after_the_enrolment_deadline() {
    use doorstroom_app::purge::{self, PurgeOptions};
    TestBroker::on_every_backend(|broker| async move {
        broker.clock.set(at(2027, 1, 15));
        let vo = broker.system(VO);
        let path = format!("/v1/cohorts/{YEAR}/students");
        assert_eq!(
            vo.fetch(Method::POST, &path, Some(&cohort_body(0..3)))
                .await
                .unwrap()
                .status
                .as_u16(),
            200
        );
        let run = |broker: &TestBroker| {
            purge::purge_expired(
                &broker.store,
                &broker.settings.retention.policy,
                &broker.clock,
                &doorstroom_domain::Principal::Operator,
                PurgeOptions {
                    batch_size: 2,
                    pause: std::time::Duration::ZERO,
                },
                &purge::new_run_id(),
            )
            .expect("purge")
        };
        let members = |summary: &purge::PurgeSummary| {
            summary
                .deleted
                .get("cohort_member")
                .and_then(|r| r.get("cohort_retention"))
                .copied()
                .unwrap_or(0)
        };
        broker.clock.set(at(2027, 11, 29));
        assert_eq!(members(&run(&broker)), 0, "the day before");
        let risk_path = format!("/v1/cohorts/{YEAR}/at-risk");
        assert_eq!(
            vo.fetch(Method::GET, &risk_path, None).await.unwrap().body["cohort_size"],
            json!(3)
        );

        broker.clock.set(at(2027, 11, 30));
        assert_eq!(members(&run(&broker)), 3);
        assert_eq!(
            vo.fetch(Method::GET, &risk_path, None).await.unwrap().body["cohort_size"],
            json!(0)
        );
        let deletions = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.resource.kind.as_str() == "cohort_member" && e.reason.as_deref() == Some("cohort_retention"))
            .filter(|e| e.data_subject.is_some())
            .count();
        assert_eq!(deletions, 3, "one deletion event per member, about the student");
    })
    .await;
}

/// The school's system loads its cohort from a CSV file with one command
/// (in batches of at most 500), removes a student with another; a file
/// with a bad line is refused before anything is sent.
#[tokio::test]
async fn the_cli_loads_a_cohort_from_a_csv_file() {
    use doorstroom_cli::commands::cohort::{self, CohortCommand};
    use doorstroom_cli::commands::common::Who;
    TestBroker::on_every_backend(|broker| async move {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cohort.csv");
        let mut text = String::from("student,reference\n");
        for i in 0..520 {
            text.push_str(&format!("bsn:{},{}\n", student(i), reference(i)));
        }
        std::fs::write(&file, text).unwrap();
        let (url, ca) = (broker.base_url.clone(), broker.pki.ca_cert_path());
        let who = Who {
            as_dir: Some(broker.institution_dir(VO)),
            token: None,
        };
        let year = doorstroom_domain::SchoolYear::parse(YEAR).unwrap();
        // The command makes its own runtime: off this test's.
        let run = |command: CohortCommand| {
            let (url, ca) = (url.clone(), ca.clone());
            tokio::task::spawn_blocking(move || cohort::run(&url, &ca, command))
        };
        let add = |file: std::path::PathBuf| CohortCommand::Add {
            who: who.clone(),
            school_year: year,
            file,
        };
        run(add(file.clone())).await.unwrap().expect("doorstroom cohort add");
        let risk_path = format!("/v1/cohorts/{YEAR}/at-risk");
        let vo = broker.system(VO);
        assert_eq!(
            vo.fetch(Method::GET, &risk_path, None).await.unwrap().body["cohort_size"],
            json!(520)
        );
        let remove = CohortCommand::Remove {
            who: who.clone(),
            school_year: year,
            reference: reference(7),
        };
        run(remove).await.unwrap().expect("doorstroom cohort remove");
        assert_eq!(
            vo.fetch(Method::GET, &risk_path, None).await.unwrap().body["cohort_size"],
            json!(519)
        );

        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "student,reference\nbsn:123456789,LL-900\n").unwrap();
        let refused = run(add(bad)).await.unwrap().expect_err("a bad number");
        assert!(format!("{refused:#}").contains("line 2"), "{refused:#}");
        assert_eq!(
            vo.fetch(Method::GET, &risk_path, None).await.unwrap().body["cohort_size"],
            json!(519)
        );
    })
    .await;
}

/// The care coordinator (zorgcoördinator) is a vo school's: its
/// institution admin creates the account; at an mbo the role is refused
/// (422 naming the role); an mbo's admin may not create one for a vo
/// school (404, as for any other institution's account).
#[tokio::test]
async fn a_care_coordinator_is_created_by_the_vo_schools_admin_and_only_at_a_vo_school() {
    TestBroker::on_every_backend(|broker| async move {
        let body = |username: &str, institution: &str| {
            json!({
                "username": username,
                "display_name": "Zorg Coördinator",
                "role": "care_coordinator",
                "institution": institution,
                "password": "a-long-enough-password",
            })
        };
        let vo_admin = broker
            .staff("beheer.vo", doorstroom_domain::Role::InstitutionAdmin, Some(VO))
            .await;
        let (status, created) = vo_admin
            .send(Method::POST, "/v1/staff", Some(&body("zorg.vo", VO)))
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 201, "{created}");
        assert_eq!(created["account"]["role"], json!("care_coordinator"));

        let broker_admin = broker
            .staff("broker.admin", doorstroom_domain::Role::BrokerAdmin, None)
            .await;
        let (status, refused) = broker_admin
            .send(Method::POST, "/v1/staff", Some(&body("zorg.mbo", MBO)))
            .await
            .unwrap();
        let detail = assert_problem(status.as_u16(), &refused, 422);
        assert!(detail.contains("care coordinator"), "{detail}");
        assert_eq!(refused["pointer"], json!("/role"), "{refused}");

        let mbo_admin = broker
            .staff("beheer.mbo", doorstroom_domain::Role::InstitutionAdmin, Some(MBO))
            .await;
        let (status, refused) = mbo_admin
            .send(Method::POST, "/v1/staff", Some(&body("zorg.other", VO)))
            .await
            .unwrap();
        assert_problem(status.as_u16(), &refused, 404);
    })
    .await;
}

/// Runs the broker's daily assessment now (as its scheduler does).
async fn assess(broker: &TestBroker) -> doorstroom_app::safety_net::Assessment {
    let state = broker.server.state.clone();
    tokio::task::spawn_blocking(move || {
        doorstroom_app::safety_net::assess_cohorts(
            &state.app,
            doorstroom_app::Caller::new(&doorstroom_domain::Principal::Operator, None),
        )
    })
    .await
    .expect("assessment task")
    .expect("assessment")
}

/// Every `student.at_risk` entry of `brin`'s feed, paged through.
async fn at_risk_entries(broker: &TestBroker, brin: &str) -> Vec<Value> {
    let system = broker.system(brin);
    let mut entries = Vec::new();
    let mut path = "/v1/events".to_owned();
    loop {
        let page = system.fetch(Method::GET, &path, None).await.unwrap();
        assert_eq!(page.status.as_u16(), 200, "{}", page.body);
        for entry in page.body["events"].as_array().expect("events") {
            if entry["kind"] == json!("student.at_risk") {
                entries.push(entry.clone());
            }
        }
        if page.body["more"] != json!(true) {
            return entries;
        }
        path = format!("/v1/events?after={}", page.body["next"].as_str().expect("next"));
    }
}

fn told(entries: &[Value]) -> Vec<(String, &'static str, NaiveDate)> {
    let list = json!({"at_risk": entries.iter().map(|e| e["at_risk"].clone()).collect::<Vec<_>>()});
    for entry in entries {
        assert_eq!(entry["at_risk"]["school_year"], json!(YEAR), "{entry}");
        for id in ["package_id", "application_id", "section"] {
            assert!(entry[id].is_null(), "{id} in {entry}");
        }
    }
    let mut rows = listed(&list);
    rows.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    rows
}

/// The daily assessment: after the school year's deadlines the school's own
/// feed has one `student.at_risk` entry per student at risk (its
/// reference, reason and day: exactly the at-risk list), no other
/// institution's feed has any, a second run adds none, and a reason that
/// changes is told again while an enrolment only clears the record. Each
/// change is audited as the operator's `notify_at_risk` about the student.
#[tokio::test]
async fn the_school_is_told_in_its_feed_when_a_student_becomes_at_risk() {
    TestBroker::on_every_backend(|mut broker| async move {
        let second_vo = SECOND_VO.brin;
        broker.add_institution(&SECOND_VO);
        let vo = broker.system(VO);
        broker.clock.set(at(2027, 1, 15));
        let path = format!("/v1/cohorts/{YEAR}/students");
        let added = vo.fetch(Method::POST, &path, Some(&cohort_body(0..40))).await.unwrap();
        assert_eq!(added.status.as_u16(), 200, "{}", added.body);
        let quiet = assess(&broker).await;
        assert_eq!(
            (quiet.cohorts, quiet.changed, quiet.notified),
            (1, 0, 0),
            "no deadline passed"
        );

        let applications = school_year(&broker).await;
        broker.clock.set(at(2027, 10, 15));
        let first = assess(&broker).await;
        assert_eq!(first.notified, expected().len(), "{first:?}");
        assert_eq!(first.changed, expected().len());
        assert_eq!(told(&at_risk_entries(&broker, VO).await), expected());
        for other in [MBO, OTHER_MBO, second_vo] {
            assert_eq!(at_risk_entries(&broker, other).await, Vec::<Value>::new(), "{other}");
        }

        let again = assess(&broker).await;
        assert_eq!((again.changed, again.notified), (0, 0), "a second run adds nothing");
        assert_eq!(at_risk_entries(&broker, VO).await.len(), expected().len());

        // LL-008 (applied, no intake) has an intake: now no place, told;
        // LL-022 (place offered, not enrolled) enrols: cleared, not told.
        let find = |i: u32| applications.iter().find(|(j, _, _)| *j == i).expect("application");
        let (_, mbo, id) = find(8);
        report(&broker, mbo, *id, "received").await;
        report(&broker, mbo, *id, "intake_held").await;
        let (_, mbo, id) = find(22);
        report(&broker, mbo, *id, "enrolled").await;
        let changed = assess(&broker).await;
        assert_eq!((changed.changed, changed.notified), (2, 1), "{changed:?}");
        let entries = at_risk_entries(&broker, VO).await;
        let last = told(&entries[entries.len() - 1..]);
        let day = |m, d| NaiveDate::from_ymd_opt(2027, m, d).unwrap();
        assert_eq!(last, vec![("LL-008".to_owned(), "no_place", day(8, 2))]);

        let notified = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.action.name == "notify_at_risk")
            .collect::<Vec<_>>();
        assert_eq!(notified.len(), expected().len() + 2, "one audit event per change");
        assert!(
            notified
                .iter()
                .all(|e| e.data_subject.is_some() && e.actor.kind == doorstroom_domain::ActorKind::Operator)
        );

        // An erasure of LL-008 takes its entries out of the school's feed
        // (they name it by the school's reference); the others stay.
        let officer = broker
            .staff("fg.broker", doorstroom_domain::Role::PrivacyOfficer, None)
            .await;
        let erasure = json!({
            "student_number": {"type": "bsn", "number": student(8)},
            "requested_by": "student",
            "reason": "verzoek tot verwijdering, art. 17 AVG",
        });
        let erased = officer
            .fetch(Method::POST, "/v1/erasures", Some(&erasure))
            .await
            .unwrap();
        assert_eq!(erased.status.as_u16(), 200, "{}", erased.body);
        let left = at_risk_entries(&broker, VO).await;
        assert_eq!(left.len(), entries.len() - 2, "LL-008 was told twice");
        assert!(
            left.iter().all(|e| e["at_risk"]["reference"] != json!("LL-008")),
            "{left:?}"
        );
    })
    .await;
}

/// The broker runs the assessment itself at start (then daily): a broker
/// started with it switched on tells the school without anyone asking.
#[tokio::test]
async fn the_broker_assesses_at_start() {
    TestBroker::on_every_backend(|mut broker| async move {
        broker.clock.set(at(2027, 1, 15));
        let path = format!("/v1/cohorts/{YEAR}/students");
        let added = broker
            .system(VO)
            .fetch(Method::POST, &path, Some(&cohort_body(0..3)))
            .await
            .unwrap();
        assert_eq!(added.status.as_u16(), 200, "{}", added.body);
        broker.clock.set(at(2027, 4, 10));
        assert_eq!(
            at_risk_entries(&broker, VO).await,
            Vec::<Value>::new(),
            "not switched on in tests"
        );
        broker.settings.safety_net.assess_interval = Some(std::time::Duration::from_secs(86_400));
        let second = broker
            .start_again()
            .await
            .expect("a second node with the assessment on");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let entries = loop {
            let entries = at_risk_entries(&broker, VO).await;
            if entries.len() == 3 || std::time::Instant::now() > deadline {
                break entries;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        let day = NaiveDate::from_ymd_opt(2027, 4, 2).unwrap();
        let expected: Vec<_> = (0..3).map(|i| (reference(i), "no_application", day)).collect();
        assert_eq!(told(&entries), expected, "told at start");
        second.stop().await;
    })
    .await;
}
