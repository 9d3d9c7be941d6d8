//! The desk in headless Chromium, as an intaker uses it, on both backends:
//! log in (password + TOTP through the broker), an empty inbox, a dossier
//! sent by the vo school arriving with the marker, reading it per section,
//! acknowledging, reporting "intake scheduled" and "intake held" (which the
//! vo school then reads), a section disappearing after the student
//! withdrew consent, the English switch, and an intaker of another mbo
//! kept out. A screenshot of each step is saved and checked.

use chrono::Months;
use doorstroom_domain::{ApplicationStatus, Clock, Role};
use doorstroom_tests::{MBO, OTHER_MBO, StaffCredentials, TestBroker, VO};
use reqwest::Method;
use serde_json::json;

use crate::console_support::bsn;
use crate::driver::Browser;
use crate::support::{send_dossier, start_desk, student_applied};

async fn log_in(browser: &Browser, broker: &TestBroker, creds: &StaffCredentials) {
    browser.open("/login").await;
    browser.fill("username", &creds.username).await;
    browser.fill("password", &creds.password).await;
    browser.fill("totp", &broker.totp(&creds.totp_secret)).await;
    browser.submit("#login").await;
}

/// 07AB records that the student withdrew consent for the support needs.
async fn withdraw_support_needs(broker: &TestBroker, student: &str) {
    let born = broker
        .clock
        .now()
        .date_naive()
        .checked_sub_months(Months::new(17 * 12))
        .unwrap();
    let (status, body) = broker
        .system(VO)
        .send(
            Method::POST,
            "/v1/consents/withdraw",
            Some(&json!({
                "student_number": {"type": "bsn", "number": student},
                "date_of_birth": born.to_string(),
                "recipient": MBO,
                "sections": ["support_needs"],
                "given_by": "student",
                "method": "in_person",
                "evidence_ref": "formulier 2027-131",
                "notice_version": "privacyverklaring v3",
            })),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 201, "withdrawal: {body}");
}

async fn read_and_report(browser: &Browser, package: &str) {
    browser.submit(&format!("#package-{package} a")).await;
    assert_eq!(browser.path().await, format!("/dossiers/{package}"));
    assert_eq!(browser.text("#student").await, "Sam de Vries");
    assert_eq!(browser.text("#programme").await, "Verzorgende IG");
    let support = browser.text("#section-support_needs").await;
    assert!(support.contains("extra tijd bij toetsen"), "{support}");
    let remarks = browser.text("#section-remarks").await;
    assert!(
        remarks.contains("Door: ouder") && remarks.contains("2027-03-02"),
        "{remarks}"
    );
    assert!(browser.text("#section-attachments").await.contains("rapport.txt"));
    assert!(browser.text("#withheld").await.contains("Alle onderdelen"));
    assert!(!browser.text("#delete-after").await.is_empty());
    browser.screenshot("dossier").await;

    browser.submit("#acknowledge").await;
    for (status, day, shown) in [
        ("intake_scheduled", "2027-05-12", "intake gepland"),
        ("intake_held", "", "intake gehouden"),
    ] {
        browser.choose("status-choice", status).await;
        browser.set_value("intake-on", day).await;
        browser.submit("#report-status").await;
        assert_eq!(browser.text("#current-status").await, shown);
    }
    let history = browser.text("#status-history").await;
    assert!(history.contains("intake gepland (intake op 2027-05-12)"), "{history}");
    browser.screenshot("status-reported").await;
}

#[tokio::test]
async fn an_intaker_reads_a_dossier_and_reports_back_in_the_browser() {
    TestBroker::on_every_backend(|broker| async move {
        let (_desk, url) = start_desk(&broker).await;
        let mut browser = Browser::start(&broker, &format!("desk-{}", broker.backend.name())).await;
        browser.base_url = url;
        let intaker = broker.create_staff("intaker.balie", Role::Intaker, Some(MBO));
        browser.open("/login").await;
        browser.screenshot("login").await;
        log_in(&browser, &broker, &intaker).await;
        assert_eq!(browser.path().await, "/inbox");
        assert!(browser.text("#inbox-empty").await.contains("geen dossiers"));

        let student = bsn(601);
        let application = student_applied(&broker, &student).await;
        let package = send_dossier(&broker, application).await;
        browser.open("/inbox").await;
        let row = browser.text(&format!("#package-{package}")).await;
        for shown in ["nieuw", "Sam de Vries", "Verzorgende IG", VO] {
            assert!(row.contains(shown), "{shown} in {row}");
        }
        browser.screenshot("inbox-arrived").await;

        read_and_report(&browser, &package).await;
        let seen_by_vo = broker.system(VO).application(application).await.unwrap();
        assert_eq!(seen_by_vo.application.status, ApplicationStatus::IntakeHeld);
        let scheduled = seen_by_vo
            .history
            .iter()
            .find(|e| e.status == ApplicationStatus::IntakeScheduled);
        assert_eq!(
            scheduled.and_then(|e| e.intake_on),
            chrono::NaiveDate::from_ymd_opt(2027, 5, 12),
            "the vo school reads the day of the intake"
        );

        withdraw_support_needs(&broker, &student).await;
        // Via the inbox: from the page at `#status`, another fragment of the
        // same page would not load it again.
        browser.open("/inbox").await;
        browser.open(&format!("/dossiers/{package}#withheld")).await;
        assert!(!browser.body_text().await.contains("extra tijd bij toetsen"));
        assert!(browser.text("#withheld").await.contains("toestemming ingetrokken"));
        browser.screenshot("section-withdrawn").await;

        browser.open("/inbox?lang=en").await;
        assert!(browser.text("h1").await.contains("Incoming dossiers"));
        browser.screenshot("inbox-english").await;
        browser.submit("#logout").await;
        assert_eq!(browser.path().await, "/login");

        let other = broker.create_staff("intaker.ander", Role::Intaker, Some(OTHER_MBO));
        log_in(&browser, &broker, &other).await;
        assert!(browser.text("#login-error").await.contains("only for intakers"));
        browser.open("/inbox").await;
        assert_eq!(browser.path().await, "/login", "no session for another mbo's intaker");
        browser.screenshot("other-mbo-refused").await;
        browser.close().await;
    })
    .await;
}
