//! The safety net's console page (issue 18) in headless Chromium, at phone
//! and desktop widths, in Dutch and English: the demo vo school's care
//! coordinator sees the demo cohort that `serve --dev` seeds (seeded here
//! with the same code, twice: the second time adds nothing) — who is at
//! risk, why in plain words, since when — and downloads it as CSV, the
//! API's CSV. Every view is audited as `read_safety_net` by the staff
//! member; the institution admin has no such page. Screenshots are kept
//! and each page is checked by axe-core.

use chrono::{TimeZone, Utc};
use doorstroom_devkit::demo_cohort::{demo_year, seed_demo_cohort};
use doorstroom_domain::{ActorKind, Role};
use doorstroom_tests::{MBO, SECOND_VO, TestBroker, VO};
use reqwest::Method;

use crate::driver::Browser;
use crate::mijn::{assert_accessible, assert_fits, axe_source};
use crate::support::ConsoleClient;

/// Seeds the demo cohort as `serve --dev` does; how many students it added.
async fn seed(broker: &TestBroker) -> usize {
    let state = broker.server.state.clone();
    let pki = broker.pki.clone();
    tokio::task::spawn_blocking(move || {
        let year = demo_year(&state.app)?;
        seed_demo_cohort(&state.app, &pki, year)
    })
    .await
    .expect("seeding task")
    .expect("seeding")
}

async fn log_in(browser: &Browser, broker: &TestBroker, username: &str, password: &str, secret: &str) {
    browser.open("/console/login").await;
    browser.fill("username", username).await;
    browser.fill("password", password).await;
    browser.fill("totp", &broker.totp(secret)).await;
    browser.submit("#login").await;
    assert_eq!(browser.path().await, "/console/", "{}", browser.body_text().await);
}

/// The rows of the at-risk table: reference, reason as shown, since.
const EXPECTED_NL: &[(&str, &str, &str)] = &[
    ("DB-2001", "niet aangemeld bij een mbo", "02-04-2027"),
    ("DB-2002", "niet aangemeld bij een mbo", "02-04-2027"),
    ("DB-2003", "geen intake gepland of gehouden", "02-07-2027"),
    ("DB-2004", "geen intake gepland of gehouden", "02-07-2027"),
    ("DB-2005", "geen plaats aangeboden", "02-08-2027"),
    ("DB-2006", "niet ingeschreven", "02-10-2027"),
    ("DB-2009", "niet verschenen op het mbo", "20-10-2027"),
    ("DB-2011", "niet aangemeld bij een mbo", "20-10-2027"),
    ("DB-2012", "niet verschenen op het mbo", "20-10-2027"),
];

#[tokio::test]
async fn a_care_coordinator_sees_the_demo_cohort_at_risk_on_a_phone_and_a_desktop() {
    TestBroker::on_every_backend(|mut broker| async move {
        let axe = axe_source();
        broker.add_institution(&SECOND_VO);
        // 20 October 2027: every deadline of 2027-2028 has passed, and its
        // cohorts are kept until 30 November.
        broker.clock.set(Utc.with_ymd_and_hms(2027, 10, 20, 10, 0, 0).unwrap());
        assert_eq!(seed(&broker).await, 12, "the demo cohort: twelve leavers");
        assert_eq!(seed(&broker).await, 0, "a second start adds nothing");
        let zorg = broker.create_staff("zorg.test", Role::CareCoordinator, Some(VO));
        let admin = broker.create_staff("beheer.test", Role::InstitutionAdmin, Some(VO));
        let browser = Browser::start(&broker, &format!("vangnet-{}", broker.backend.name())).await;

        // Phone width, Dutch.
        browser.client.set_window_size(390, 844).await.expect("phone width");
        log_in(&browser, &broker, &zorg.username, &zorg.password, &zorg.totp_secret).await;
        let home = browser.body_text().await;
        assert!(home.contains("Vangnet"), "the menu: {home}");
        assert!(!home.contains("Auditlog") && !home.contains("Medewerkers"), "{home}");
        browser.click("a[href='/console/safety-net']").await;
        assert_eq!(browser.path().await, "/console/safety-net");
        assert_eq!(browser.text("#cohort-size").await, "12");
        assert_eq!(browser.text("#at-risk-count").await, "9");
        let rows: Vec<String> = browser
            .text("#at-risk tbody")
            .await
            .lines()
            .map(str::to_owned)
            .collect();
        let expected: Vec<String> = EXPECTED_NL
            .iter()
            .map(|(reference, reason, since)| format!("{reference} {reason} {since}"))
            .collect();
        assert_eq!(rows, expected, "who, why and since when, by day");
        assert!(browser.text("#school_year").await.contains("2027-2028"));
        assert_fits(&browser, "phone, Dutch").await;
        browser.screenshot("phone-nl").await;
        assert_accessible(&browser, &axe, "safety net, phone").await;

        // Desktop width, English.
        browser.client.set_window_size(1280, 1000).await.expect("desktop width");
        browser.open("/console/safety-net?lang=en").await;
        let table = browser.text("#at-risk").await;
        for part in [
            "no application at any mbo",
            "did not show up at the mbo",
            "not enrolled",
        ] {
            assert!(table.contains(part), "{part} in {table}");
        }
        browser.screenshot("desktop-en").await;
        assert_accessible(&browser, &axe, "safety net, desktop").await;

        // Another school year: an empty cohort says so.
        browser.choose("school_year", "2028-2029").await;
        browser.submit("#show").await;
        assert!(browser.text("#no-cohort").await.contains("no students"));
        browser.screenshot("desktop-en-other-year").await;

        // The CSV is the API's.
        browser.open("/console/safety-net?lang=nl").await;
        browser.click("#export-csv").await;
        let csv = browser.downloaded("at-risk-2027-2028.csv").await;
        let api = broker
            .system(VO)
            .fetch(Method::GET, "/v1/cohorts/2027-2028/at-risk?format=csv", None)
            .await
            .expect("API CSV");
        assert_eq!(
            csv,
            String::from_utf8(api.raw).expect("utf-8"),
            "the download is the API's CSV"
        );
        assert_eq!(csv.lines().count(), 10, "{csv}");

        // Every view audited as the staff member's read_safety_net.
        let views = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.action.name == "read_safety_net" && e.actor.kind == ActorKind::Staff)
            .count();
        assert_eq!(views, 5, "four pages (phone, English, another year, Dutch) and the CSV");

        // The institution admin administers accounts: no such page.
        browser.submit("form.logout button").await;
        log_in(&browser, &broker, &admin.username, &admin.password, &admin.totp_secret).await;
        assert!(!browser.body_text().await.contains("Vangnet"));
        browser.open("/console/safety-net").await;
        let refused = browser.body_text().await;
        assert!(!refused.contains("DB-2001"), "{refused}");
        browser.screenshot("admin-refused").await;

        // Another vo school's care coordinator sees its own (empty) cohort,
        // nothing of 07AB's; an mbo's intaker gets the refusal (404).
        let other = broker.create_staff("zorg.other", Role::CareCoordinator, Some(SECOND_VO.brin));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &other).await;
        let page = console.get("/console/safety-net?school_year=2027-2028").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("id=\"no-cohort\"") && !page.body.contains("DB-20"),
            "{}",
            page.body
        );
        let intaker = broker.create_staff("intaker.mbo", Role::Intaker, Some(MBO));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &intaker).await;
        let page = console.get("/console/safety-net").await;
        assert_eq!(page.status, 404, "{}", page.body);
        let denied = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.action.name == "read_safety_net" && e.outcome == doorstroom_domain::Outcome::Denied)
            .count();
        assert_eq!(denied, 2, "the admin's and the intaker's refusals are on the record");
        browser.close().await;
    })
    .await;
}
