//! The whole exchange as its users live it, over real TLS with the real
//! client: the mbo registers an application, the vo school finds it and
//! sends a signed, encrypted dossier, an intaker of that mbo pulls it and
//! the client decrypts it and verifies the vo's signatures, statuses flow
//! back to the vo. Nobody else reads it, and the student's national number
//! is nowhere in the database or the logs afterwards.

use chrono::NaiveDate;
use doorstroom_client::exchange::RegisterApplicationRequest;
use doorstroom_domain::{ApplicationStatus, Brin, Clock, Outcome, Programme, Role, SchoolYear, Section, StudentNumber};
use doorstroom_jose::{PackageMeta, SectionInput};
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, VO, assert_problem, capture_logs, captured_logs, without_instance};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::exchange_support::{decryption_key, signing_key};

/// A BSN that passes the 11-proef and is used by no other test, so that
/// searching the shared log capture for it is meaningful.
const BSN: &str = "111222333";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_dossier_goes_from_the_vo_school_to_the_intaker_and_statuses_flow_back() {
    capture_logs();
    TestBroker::on_every_backend(|broker| async move {
        let student = StudentNumber::bsn(BSN).unwrap();
        let mbo_system = broker.system(MBO);
        let vo_system = broker.system(VO);
        let anchors = broker.trust_anchors();

        // 1. The mbo registers the application (twice: idempotent).
        let request = RegisterApplicationRequest {
            student_number: student.clone(),
            sending_school: Some(Brin::parse(VO).unwrap()),
            programme: Programme::new("Verzorgende IG", Some("25491".parse().unwrap())).unwrap(),
            school_year: SchoolYear::parse("2027-2028").unwrap(),
            applied_on: NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
        };
        let (application, created) = mbo_system.register_application(&request).await.unwrap();
        assert!(created);
        assert!(!application.late, "1 March is before the 1 April deadline");
        let (again, created) = mbo_system.register_application(&request).await.unwrap();
        assert!(!created);
        assert_eq!(again.id, application.id);

        // 2. The vo school finds its student's application by number.
        let found = vo_system.find_applications(&student).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].application.id, application.id);
        // The other mbo's system finds nothing (it is no sending school).
        let (status, body) = broker
            .system(OTHER_MBO)
            .send(
                Method::POST,
                "/v1/applications/search",
                Some(&json!({"student_number": {"type": "bsn", "number": BSN}})),
            )
            .await
            .unwrap();
        assert!(matches!(status.as_u16(), 403 | 404), "{status}: {body}");

        // 3. The student inspected the dossier; the school records it.
        let inspected_at = broker.clock.now() - chrono::Duration::hours(2);
        let (status, body) = vo_system
            .send(
                Method::POST,
                "/v1/inspections",
                Some(
                    &json!({"student_number": {"type": "bsn", "number": BSN}, "inspected_at": inspected_at.to_rfc3339(),
                             "inspected_by": "student", "remarks_added": true}),
                ),
            )
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 201, "{body}");

        //    The vo school seals and sends the dossier; the client checks the
        //    mbo's key against its own trust anchor first.
        let signing_key = signing_key(&broker, VO);
        let personal = json!({"name": "Sam de Vries", "date_of_birth": "2011-05-04", "student_number": BSN});
        let remarks = json!({"by": "student", "text": "Ik wil graag eerst kennismaken met mijn mentor."});
        let meta = PackageMeta {
            package_id: Uuid::new_v4().to_string(),
            sender: Brin::parse(VO).unwrap(),
            recipient: Brin::parse(MBO).unwrap(),
            application: application.id.to_string(),
            jti: format!("{VO}-{}", Uuid::new_v4().simple()),
            iat: broker.clock.now().timestamp(),
        };
        let sections = [
            SectionInput {
                section: Section::PersonalData,
                content: personal.clone(),
            },
            SectionInput {
                section: Section::Remarks,
                content: remarks.clone(),
            },
        ];
        let receipt = vo_system
            .send_dossier(&meta, &sections, &signing_key, &anchors, broker.clock.now())
            .await
            .unwrap();
        assert_eq!(receipt.package_id, meta.package_id);
        // The receipt verifies with the broker's published key.
        let broker_keys = broker.anonymous().broker_jwks().await.unwrap();
        let broker_key = serde_json::to_value(&broker_keys).unwrap()["keys"][0].clone();
        let verifier = josekit::jws::EdDSA
            .verifier_from_jwk(&josekit::jwk::Jwk::from_map(broker_key.as_object().unwrap().clone()).unwrap())
            .unwrap();
        let (payload, _) = josekit::jws::deserialize_compact(&receipt.receipt, &verifier).unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(payload["pid"], meta.package_id.as_str());
        assert_eq!(payload["sections"], json!(["personal_data", "remarks"]));

        // 4. An intaker of the mbo sees it in the inbox and pulls it; the
        //    client decrypts and verifies the vo's signatures.
        let intaker = broker.staff("intaker.flow", Role::Intaker, Some(MBO)).await;
        let inbox = intaker.inbox(None).await.unwrap();
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox[0].package_id, meta.package_id);
        let decryption_key = decryption_key(&broker, MBO);
        let package_id: Uuid = meta.package_id.parse().unwrap();
        let dossier = intaker
            .receive_dossier(package_id, None, &decryption_key, &anchors, broker.clock.now())
            .await
            .unwrap();
        assert_eq!(dossier.sections.get(&Section::PersonalData), Some(&personal));
        assert_eq!(dossier.sections.get(&Section::Remarks), Some(&remarks));
        assert!(dossier.withheld.is_empty());
        let ack = intaker.acknowledge(package_id, None).await.unwrap();
        assert_eq!(ack.package_id, meta.package_id);

        // 5. Nobody else can read it: an intaker of the other mbo and the vo
        //    school itself get the same 404 as for a package that does not exist.
        let other_intaker = broker.staff("intaker.other", Role::Intaker, Some(OTHER_MBO)).await;
        let missing = other_intaker
            .fetch(Method::GET, &format!("/v1/packages/{}", Uuid::new_v4()), None)
            .await
            .unwrap();
        assert_problem(missing.status.as_u16(), &missing.body, 404);
        // A school system names the intaker it acts for; the vo school
        // names some staff id and is still refused like a missing package.
        let someone = Uuid::new_v4().to_string();
        for (stranger, acting_for) in [(&other_intaker, None), (&vo_system, Some(someone.as_str()))] {
            let path = format!("/v1/packages/{package_id}");
            let reply = stranger.request(Method::GET, &path, None, acting_for).await.unwrap();
            assert_eq!(reply.status, missing.status);
            assert_eq!(without_instance(&reply.raw), without_instance(&missing.raw));
        }
        assert!(other_intaker.inbox(None).await.unwrap().is_empty());

        // 6. The mbo reports the course, the intake with its day; the vo
        //    school reads it for aftercare. A day goes with the schedule
        //    only, and a day must be one (`YYYY-MM-DD`): 422 with the field
        //    named, and nothing recorded.
        let status_path = format!("/v1/applications/{}/status", application.id);
        let intake_day = NaiveDate::from_ymd_opt(2027, 5, 12);
        for (body, expected) in [
            (json!({"status": "received", "intake_on": "2027-05-12"}), 422),
            (json!({"status": "intake_scheduled", "intake_on": "12-05-2027"}), 422),
            (json!({"status": "intake_scheduled", "intake_on": 20270512}), 422),
        ] {
            let refused = mbo_system.fetch(Method::POST, &status_path, Some(&body)).await.unwrap();
            assert_problem(refused.status.as_u16(), &refused.body, expected);
            assert_eq!(refused.body["pointer"], "/intake_on", "{}", refused.body);
        }
        mbo_system
            .report_status(application.id, ApplicationStatus::Received)
            .await
            .unwrap();
        mbo_system
            .report_status_on(application.id, ApplicationStatus::IntakeScheduled, intake_day)
            .await
            .unwrap();
        for next in [
            ApplicationStatus::IntakeHeld,
            ApplicationStatus::PlaceOffered,
            ApplicationStatus::Enrolled,
        ] {
            mbo_system.report_status(application.id, next).await.unwrap();
        }
        let seen_by_vo = vo_system.application(application.id).await.unwrap();
        assert_eq!(seen_by_vo.application.status, ApplicationStatus::Enrolled);
        let days: Vec<Option<NaiveDate>> = seen_by_vo.history.iter().map(|e| e.intake_on).collect();
        assert_eq!(days, vec![None, None, intake_day, None, None, None]);
        let statuses: Vec<ApplicationStatus> = seen_by_vo.history.iter().map(|e| e.status).collect();
        assert_eq!(
            statuses,
            vec![
                ApplicationStatus::Registered,
                ApplicationStatus::Received,
                ApplicationStatus::IntakeScheduled,
                ApplicationStatus::IntakeHeld,
                ApplicationStatus::PlaceOffered,
                ApplicationStatus::Enrolled,
            ]
        );

        // 7. Every list, pull and acknowledgement is on the record with the
        //    student's pseudonym; the refused pulls too.
        let events = broker.audit_events();
        let subject = events
            .iter()
            .find(|e| e.action.name == "submit_package" && e.outcome == Outcome::Success)
            .and_then(|e| e.data_subject.clone())
            .expect("the submission is audited with the student's pseudonym");
        for name in [
            "register_application",
            "find_applications",
            "list_inbox_entry",
            "pull_package",
            "acknowledge_package",
        ] {
            assert!(
                events
                    .iter()
                    .any(|e| e.action.name == name && e.data_subject.as_ref() == Some(&subject)),
                "{name} audited with the pseudonym"
            );
        }
        let refused_pulls = events
            .iter()
            .filter(|e| e.action.name == "pull_package" && e.outcome == Outcome::Denied)
            .count();
        assert_eq!(refused_pulls, 2);

        // 8. The national number is nowhere in the database, nor in the logs.
        assert!(!contains(&broker.database_dump(), BSN), "the BSN must not be stored");
        assert!(!contains(&captured_logs(), BSN), "the BSN must not be logged");
        assert!(!captured_logs().is_empty(), "the log capture works");
    })
    .await;
}
