//! The regional figures, end to end on both backends: a small region
//! counted by hand gives exactly the expected figures, with the expected
//! cells suppressed; the coordinator of another region, an unknown region
//! and every other principal get the same 404, each audited; no answer
//! names a student or an application.

use chrono::{TimeZone, Utc};
use doorstroom_domain::Role;
use doorstroom_server::config::{RegionSection, RegionalSection, checked_regions};
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, TestDb, VO, assert_problem, problem_without_instance};
use reqwest::Method;
use serde_json::{Value, json};

use crate::exchange_support::{
    As, bsn, personal_data, raw_request, register_application, report_status, seal_package, submit,
};

const YEAR: &str = "2027-2028";
const PATH: &str = "/v1/regions/twente/figures?school_year=2027-2028";

fn student(i: u32) -> String {
    bsn(71_000 + 7 * i)
}

fn regions(s: &mut doorstroom_server::config::Settings) {
    let raw = vec![
        RegionSection {
            name: "twente".into(),
            institutions: vec![VO.into(), MBO.into()],
            coordinators: vec!["rmc-twente".into()],
        },
        RegionSection {
            name: "achterhoek".into(),
            institutions: vec![OTHER_MBO.into()],
            coordinators: vec!["rmc-achterhoek".into()],
        },
    ];
    s.regional = checked_regions(RegionalSection { threshold: 5 }, raw).expect("regions");
}

/// The region's school year, by hand: 07AB's cohort of 9; 8 applications
/// in March (6 at 25LX in the region, 2 at 27GH outside it), each with the
/// student's inspection; 07AB sends the 6 at 25LX their dossier; 25LX
/// holds 5 intakes in June and offers 3 places.
async fn school_year(broker: &TestBroker) {
    broker.clock.set(Utc.with_ymd_and_hms(2027, 3, 2, 10, 0, 0).unwrap());
    let students: Vec<Value> = (0..9)
        .map(|i| json!({"student_number": {"type": "bsn", "number": student(i)}, "reference": format!("R-{i}")}))
        .collect();
    let reply = broker
        .system(VO)
        .fetch(
            Method::POST,
            &format!("/v1/cohorts/{YEAR}/students"),
            Some(&json!({ "students": students })),
        )
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let mut at_mbo = Vec::new();
    for i in 0..8 {
        let mbo = if i < 6 { MBO } else { OTHER_MBO };
        let id = register_application(broker, mbo, &student(i)).await;
        if i < 6 {
            at_mbo.push(id);
        }
    }
    // 07AB records consent for support needs at 25LX for the first 5.
    for i in 0..5 {
        let body = json!({
            "student_number": {"type": "bsn", "number": student(i)},
            "date_of_birth": "2010-01-15",
            "recipient": MBO,
            "sections": ["support_needs"],
            "given_by": "student",
            "method": "paper_form",
            "evidence_ref": "formulier 2027-1",
            "notice_version": "privacyverklaring v3",
        });
        let reply = broker
            .system(VO)
            .fetch(Method::POST, "/v1/consents", Some(&body))
            .await
            .unwrap();
        assert!(reply.status.is_success(), "consent {i}: {}", reply.body);
    }
    // 07AB sends a dossier for each of the 6 at 25LX.
    for (n, id) in at_mbo.iter().enumerate() {
        let sealed = seal_package(broker, *id, MBO, &[personal_data(&student(u32::try_from(n).unwrap()))]);
        let reply = submit(&broker.system(VO), &sealed).await;
        assert!(reply.status.is_success(), "package {n}: {}", reply.body);
    }
    broker.clock.set(Utc.with_ymd_and_hms(2027, 6, 10, 10, 0, 0).unwrap());
    for (n, id) in at_mbo.iter().enumerate().take(5) {
        for status in ["received", "intake_held"] {
            let reply = report_status(broker, MBO, *id, status).await;
            assert_eq!(reply.status.as_u16(), 200, "{n} {status}: {}", reply.body);
        }
    }
    for id in at_mbo.iter().take(3) {
        let reply = report_status(broker, MBO, *id, "place_offered").await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    }
    // Counted on 10 April: student 8 has no application (at risk).
    broker.clock.set(Utc.with_ymd_and_hms(2027, 4, 10, 10, 0, 0).unwrap());
}

fn measure<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["measures"]
        .as_array()
        .expect("measures")
        .iter()
        .find(|m| m["measure"] == name)
        .unwrap_or_else(|| panic!("measure {name}"))
}

fn breakdown(body: &Value, name: &str, dimension: &str) -> Vec<(String, String)> {
    let b = measure(body, name)["breakdowns"]
        .as_array()
        .expect("breakdowns")
        .iter()
        .find(|b| b["dimension"] == dimension)
        .unwrap_or_else(|| panic!("{name} by {dimension}"))
        .clone();
    if b["withheld"] == true {
        return vec![("withheld".into(), String::new())];
    }
    b["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["category"].as_str().unwrap().to_owned(),
                r["cell"]["shown"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn rows(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

fn check_figures(body: &Value) {
    let totals: Vec<(String, String)> = body["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["measure"].as_str().unwrap().to_owned(),
                m["total"]["shown"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let published: Vec<(&str, &str)> = totals
        .iter()
        .filter(|(_, shown)| shown != "< 5")
        .map(|(m, s)| (m.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        published,
        vec![
            ("cohort_size", "9"),
            ("applications", "8"),
            ("dossiers_sent", "6"),
            ("inspections", "8"),
            ("consent_given.support_needs", "5"),
            ("intakes_held", "5")
        ],
        "every other measure is below 5 (zero included)"
    );
    assert_eq!(
        measure(body, "places_offered")["total"],
        json!({"count": null, "shown": "< 5", "suppressed": "below_threshold"})
    );
    assert_eq!(
        breakdown(body, "places_offered", "sending_school"),
        rows(&[("withheld", "")])
    );
    assert_eq!(
        breakdown(body, "applications", "receiving_mbo"),
        rows(&[(MBO, "x"), ("outside_region", "< 5")]),
        "2 outside the region is small; 25LX (6) is hidden with it"
    );
    assert_eq!(breakdown(body, "applications", "sending_school"), rows(&[(VO, "8")]));
    assert_eq!(breakdown(body, "applications", "programme"), rows(&[("25491", "8")]));
    assert_eq!(breakdown(body, "applications", "month"), rows(&[("2027-03", "8")]));
    assert_eq!(
        breakdown(body, "intakes_held", "receiving_mbo"),
        rows(&[("withheld", "")]),
        "25LX 5 and outside 0: no pattern protects the 0"
    );
    assert_eq!(breakdown(body, "intakes_held", "month"), rows(&[("2027-06", "5")]));
    assert_eq!(
        breakdown(body, "dossiers_sent", "receiving_mbo"),
        rows(&[(MBO, "x"), ("outside_region", "< 5")]),
        "25LX 6 and outside 0: hiding 25LX leaves 0..1 for outside"
    );
    assert_eq!(breakdown(body, "dossiers_sent", "month"), rows(&[("2027-03", "6")]));
    assert_eq!(
        breakdown(body, "consent_given.support_needs", "sending_school"),
        rows(&[(VO, "5")])
    );
    assert_eq!(
        breakdown(body, "consent_given.support_needs", "receiving_mbo"),
        rows(&[("withheld", "")])
    );
    assert_eq!(breakdown(body, "cohort_size", "sending_school"), rows(&[(VO, "9")]));
    assert_eq!(breakdown(body, "inspections", "month"), rows(&[("2027-03", "8")]));
    assert_eq!(measure(body, "at_risk.no_application")["total"]["shown"], "< 5");
    let funnel: Vec<&str> = body["funnel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["cell"]["shown"].as_str().unwrap())
        .collect();
    assert_eq!(funnel, ["8", "5", "< 5", "< 5"]);
    assert_eq!(body["threshold"], 5);
    assert_eq!(body["as_of"], "2027-04-10");
}

#[tokio::test]
async fn a_hand_counted_region_and_nobody_else_sees_it() {
    for db in TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        let broker = TestBroker::start_with(db, regions).await;
        school_year(&broker).await;
        let creds = broker.create_staff("rmc-twente", Role::RegionalCoordinator, None);
        let coordinator = broker.login(&creds).await;
        let reply = coordinator.fetch(Method::GET, PATH, None).await.unwrap();
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        check_figures(&reply.body);
        let text = String::from_utf8_lossy(&reply.raw).into_owned();
        for i in 0..9 {
            assert!(!text.contains(&student(i)), "a student number in the figures");
        }
        let uuid = regex_lite_uuid(&text);
        assert!(!uuid, "an id in the figures: {text}");

        let csv = coordinator
            .fetch(Method::GET, &format!("{PATH}&format=csv"), None)
            .await
            .unwrap();
        assert_eq!(csv.status.as_u16(), 200);
        let csv = String::from_utf8(csv.raw).unwrap();
        // The same CSV when asked for with Accept.
        let login =
            json!({"username": "rmc-twente", "password": creds.password, "totp": broker.totp(&creds.totp_secret)});
        let token = raw_request(
            &broker,
            As::Nobody,
            Method::POST,
            "/v1/auth/login",
            &[("content-type", "application/json")],
            Some(login.to_string().into_bytes()),
        )
        .await;
        let token = token.body["access_token"].as_str().expect("a token").to_owned();
        let accepted = raw_request(
            &broker,
            As::Token(&token),
            Method::GET,
            PATH,
            &[("accept", "text/csv")],
            None,
        )
        .await;
        assert_eq!(accepted.content_type.as_deref(), Some("text/csv; charset=utf-8"));
        assert_eq!(
            String::from_utf8(accepted.raw).unwrap(),
            csv,
            "Accept: text/csv is format=csv"
        );
        assert!(csv.starts_with("measure,dimension,category,value\n"), "{csv}");
        assert!(csv.contains(&format!("applications,receiving_mbo,{MBO},x\n")), "{csv}");
        assert!(csv.contains("applications,receiving_mbo,outside_region,< 5\n"), "{csv}");
        assert!(csv.contains("intakes_held,receiving_mbo,,withheld\n"), "{csv}");

        refusals(&broker, &coordinator).await;
    }
}

/// Whether `text` holds something shaped like a UUID (an application,
/// account or link id).
/// `doorstroom figures` as the coordinator: the JSON and the CSV answer;
/// another region's name fails with the broker's 404; each call is audited.
#[tokio::test]
async fn the_cli_reads_the_figures_as_the_coordinator() {
    use doorstroom_cli::commands::common::Who;
    use doorstroom_cli::commands::figures::{self, FiguresArgs};
    use doorstroom_domain::regional::RegionName;
    let broker = TestBroker::start_with(TestDb::sqlite(), regions).await;
    school_year(&broker).await;
    let creds = broker.create_staff("rmc-twente", Role::RegionalCoordinator, None);
    let login = broker
        .anonymous()
        .fetch(
            Method::POST,
            "/v1/auth/login",
            Some(&serde_json::json!({
                "username": creds.username,
                "password": creds.password,
                "totp": broker.totp(&creds.totp_secret),
            })),
        )
        .await
        .unwrap();
    let token = login.body["access_token"].as_str().expect("a token").to_owned();
    let (url, ca) = (broker.base_url.clone(), broker.pki.ca_cert_path());
    let run = |region: &str, csv: bool| {
        let args = FiguresArgs {
            who: Who::staff(token.clone()),
            region: RegionName::parse(region).unwrap(),
            school_year: doorstroom_domain::SchoolYear::parse("2027-2028").unwrap(),
            csv,
        };
        let (url, ca) = (url.clone(), ca.clone());
        // The command makes its own runtime: off this test's.
        tokio::task::spawn_blocking(move || figures::run(&url, &ca, args))
    };
    run("twente", false).await.unwrap().expect("doorstroom figures");
    run("twente", true).await.unwrap().expect("doorstroom figures --csv");
    let theirs = run("achterhoek", false).await.unwrap().expect_err("another region");
    assert!(format!("{theirs:#}").contains("404"), "{theirs:#}");
    let reads = broker
        .store
        .read(|c| {
            doorstroom_store::audit::list(
                c,
                &doorstroom_store::audit::AuditQuery {
                    action: Some("read_regional_figures".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    assert_eq!(reads.len(), 3, "every call audited: {reads:?}");
}

fn regex_lite_uuid(text: &str) -> bool {
    text.as_bytes().windows(36).any(|w| {
        w.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
    })
}

async fn refusals(broker: &TestBroker, own: &doorstroom_client::Client) {
    let before = broker
        .audit_events()
        .iter()
        .filter(|e| e.action.name == "read_regional_figures")
        .count();
    let other = broker.staff("rmc-achterhoek", Role::RegionalCoordinator, None).await;
    let coordinator = broker.staff("rmc-twente-2", Role::RegionalCoordinator, None).await;
    let admin = broker.staff("admin-rf", Role::BrokerAdmin, None).await;
    let officer = broker.staff("po-rf", Role::PrivacyOfficer, None).await;
    let intaker = broker.staff("intaker-rf", Role::Intaker, Some(MBO)).await;
    let unknown = "/v1/regions/nowhere/figures?school_year=2027-2028";
    let calls = [
        (&other, PATH),
        (&coordinator, PATH),
        (&admin, PATH),
        (&officer, PATH),
        (&intaker, PATH),
        (own, unknown),
        (own, "/v1/regions/Not_A_Name/figures?school_year=2027-2028"),
    ];
    let mut bodies = Vec::new();
    for (client, path) in calls {
        let reply = client.fetch(Method::GET, path, None).await.unwrap();
        assert_problem(reply.status.as_u16(), &reply.body, 404);
        bodies.push(problem_without_instance(&reply.body));
    }
    for system in [VO, MBO, OTHER_MBO] {
        let reply = broker.system(system).fetch(Method::GET, PATH, None).await.unwrap();
        assert_problem(reply.status.as_u16(), &reply.body, 404);
        bodies.push(problem_without_instance(&reply.body));
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the same 404 for all: {bodies:?}"
    );
    let events: Vec<_> = broker
        .audit_events()
        .into_iter()
        .filter(|e| e.action.name == "read_regional_figures")
        .collect();
    assert_eq!(events.len() - before, bodies.len(), "every refusal audited");
    assert!(
        events
            .iter()
            .skip(before)
            .all(|e| e.outcome != doorstroom_domain::Outcome::Success)
    );
    assert!(
        events.iter().all(|e| e.data_subject.is_none()),
        "no student in the events"
    );

    let bad = own
        .fetch(Method::GET, "/v1/regions/twente/figures?school_year=2027", None)
        .await
        .unwrap();
    assert_problem(bad.status.as_u16(), &bad.body, 400);
    let bad = own
        .fetch(Method::GET, &format!("{PATH}&format=xml"), None)
        .await
        .unwrap();
    assert_problem(bad.status.as_u16(), &bad.body, 400);
    let bad = own
        .fetch(Method::GET, "/v1/regions/twente/figures", None)
        .await
        .unwrap();
    assert_problem(bad.status.as_u16(), &bad.body, 400);
}

#[tokio::test]
async fn a_region_naming_an_unregistered_institution_is_refused_at_start() {
    let db = TestDb::all().into_iter().next().expect("a backend");
    let mut broker = TestBroker::start(db).await;
    let raw = vec![RegionSection {
        name: "twente".into(),
        institutions: vec![VO.into(), "99ZZ".into()],
        coordinators: Vec::new(),
    }];
    broker.settings.regional = checked_regions(RegionalSection { threshold: 5 }, raw).expect("regions");
    let refused = broker.start_again().await.err().expect("the broker refuses to start");
    assert_eq!(
        refused.to_string(),
        "refusing to start: regions: region twente: institution 99ZZ is not registered"
    );
}
