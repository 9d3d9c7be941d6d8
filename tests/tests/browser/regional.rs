//! The regional figures page, in the browser, on both backends: the
//! region's coordinator sees the funnel and the breakdowns as SVG bar
//! charts with a table beside each, small cells as "< 5" and hidden ones
//! as "x", in Dutch and in English, at phone and desktop width (screenshots
//! of each), passes axe's WCAG 2.1 AA rules, and downloads the CSV; a
//! privacy officer has no such page.

use chrono::{TimeZone, Utc};
use doorstroom_domain::Role;
use doorstroom_server::config::{RegionSection, RegionalSection, checked_regions};
use doorstroom_tests::{MBO, OTHER_MBO, StaffCredentials, TestBroker, TestDb, VO};
use reqwest::Method;
use serde_json::json;

use crate::driver::Browser;
use crate::exchange_support::{bsn, register_application};
use crate::mijn::{assert_accessible, axe_source};

fn student(i: u32) -> String {
    bsn(52_000 + 7 * i)
}

/// 07AB's cohort of 9, and 8 applications in March: 6 at 25LX (in the
/// region), 2 at 27GH (outside it).
async fn data(broker: &TestBroker) {
    broker.clock.set(Utc.with_ymd_and_hms(2027, 3, 2, 10, 0, 0).unwrap());
    let students: Vec<_> = (0..9)
        .map(|i| json!({"student_number": {"type": "bsn", "number": student(i)}, "reference": format!("R-{i}")}))
        .collect();
    let reply = broker
        .system(VO)
        .fetch(
            Method::POST,
            "/v1/cohorts/2027-2028/students",
            Some(&json!({ "students": students })),
        )
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    for i in 0..8 {
        register_application(broker, if i < 6 { MBO } else { OTHER_MBO }, &student(i)).await;
    }
    broker.clock.set(Utc.with_ymd_and_hms(2027, 4, 10, 10, 0, 0).unwrap());
}

async fn log_in(browser: &Browser, broker: &TestBroker, creds: &StaffCredentials) {
    browser.open("/console/login").await;
    browser.fill("username", &creds.username).await;
    browser.fill("password", &creds.password).await;
    browser.fill("totp", &broker.totp(&creds.totp_secret)).await;
    browser.submit("#login").await;
    assert_eq!(browser.path().await, "/console/", "{}", browser.body_text().await);
}

#[tokio::test]
async fn the_coordinator_sees_the_regions_figures_as_charts_and_tables() {
    for db in TestDb::all() {
        let broker = TestBroker::start_with(db, |s| {
            let raw = vec![RegionSection {
                name: "twente".into(),
                institutions: vec![VO.into(), MBO.into()],
                coordinators: vec!["rmc.twente".into()],
            }];
            s.regional = checked_regions(RegionalSection { threshold: 5 }, raw).expect("regions");
        })
        .await;
        data(&broker).await;
        let axe = axe_source();
        let label = format!("regional-{}", broker.backend.name());
        let browser = Browser::start(&broker, &label).await;
        let rmc = broker.create_staff("rmc.twente", Role::RegionalCoordinator, None);
        log_in(&browser, &broker, &rmc).await;
        assert!(browser.body_text().await.contains("Regionale cijfers"), "the menu item");

        browser.open("/console/figures?school_year=2027-2028").await;
        let h1 = browser.text("h1").await;
        assert_eq!(h1, "Regionale cijfers — twente, 2027-2028");
        let mbo_table = browser.text("#chart-receiving_mbo-table").await;
        assert!(mbo_table.contains("25LX x"), "{mbo_table}");
        assert!(mbo_table.contains("buiten de regio < 5"), "{mbo_table}");
        let totals = browser.text("#totals").await;
        for row in [
            "Aanmeldingen applications 8",
            "Leerlingen in de cohorten cohort_size 9",
            "Ingeschreven enrolled < 5",
        ] {
            assert!(totals.contains(row), "{row} in {totals}");
        }
        let title = browser.text("#chart-funnel-title").await;
        assert!(
            title.is_empty() || title.contains("aanmelding"),
            "an SVG title: {title}"
        );
        let svgs = browser
            .client
            .find_all(fantoccini::Locator::Css("svg[role=img] title"))
            .await
            .unwrap();
        assert!(svgs.len() >= 4, "the funnel and the breakdowns are charts");
        browser.screenshot("desktop-nl").await;
        assert_accessible(&browser, &axe, "regional figures").await;

        browser.client.set_window_size(390, 844).await.expect("phone width");
        browser.open("/console/figures?school_year=2027-2028&lang=en").await;
        assert_eq!(browser.text("h1").await, "Regional figures — twente, 2027-2028");
        assert!(
            browser
                .text("#chart-receiving_mbo-table")
                .await
                .contains("outside the region < 5")
        );
        browser.screenshot("phone-en").await;
        browser
            .open("/console/figures?school_year=2027-2028#chart-receiving_mbo")
            .await;
        browser.screenshot("phone-en-chart").await;
        browser.client.set_window_size(1280, 1000).await.expect("desktop width");
        browser
            .open("/console/figures?school_year=2027-2028&measure=cohort_size")
            .await;
        browser.screenshot("desktop-en-cohort").await;
        assert_accessible(&browser, &axe, "regional figures, English").await;

        browser.click("#csv").await;
        let csv = browser.downloaded(".csv").await;
        assert!(csv.starts_with("measure,dimension,category,value\n"), "{csv}");
        assert!(csv.contains("applications,receiving_mbo,outside_region,< 5"), "{csv}");

        // Not a coordinator: no menu item, and the page is the 404 page.
        let officer = broker.create_staff("fg.rf", Role::PrivacyOfficer, Some(MBO));
        browser.submit("form.logout button").await;
        log_in(&browser, &broker, &officer).await;
        assert!(!browser.body_text().await.contains("Regional figures"));
        browser.open("/console/figures?school_year=2027-2028").await;
        let text = browser.body_text().await;
        assert!(!text.contains("twente"), "{text}");
        browser.close().await;
    }
}
