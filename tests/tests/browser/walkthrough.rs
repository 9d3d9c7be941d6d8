//! A privacy officer and an institution admin use the console in Chromium.

use doorstroom_domain::{Outcome, Role};
use doorstroom_tests::{MBO, StaffCredentials, TestBroker, VO};

use crate::driver::Browser;
use crate::support::{bsn, student_applied};

async fn log_in(browser: &Browser, broker: &TestBroker, creds: &StaffCredentials) {
    browser.open("/console/").await;
    assert_eq!(
        browser.path().await,
        "/console/login",
        "an anonymous visit goes to the login page"
    );
    browser.fill("username", &creds.username).await;
    browser.fill("password", &creds.password).await;
    browser.fill("totp", &broker.totp(&creds.totp_secret)).await;
    browser.submit("#login").await;
    let path = browser.path().await;
    assert_eq!(path, "/console/", "after login: home; {}", browser.body_text().await);
}

async fn log_out(browser: &Browser) {
    browser.submit("form.logout button").await;
    assert_eq!(browser.path().await, "/console/login?bye=1");
    assert!(browser.body_text().await.contains("U bent uitgelogd"));
}

#[tokio::test]
async fn privacy_officer_searches_exports_and_reports_in_the_browser() {
    doorstroom_tests::capture_logs();
    TestBroker::on_every_backend(|broker| async move {
        let label = format!("fg-{}", broker.backend.name());
        let student = bsn(811);
        student_applied(&broker, &student).await;
        let fg = broker.create_staff("fg.console", Role::PrivacyOfficer, Some(MBO));
        let browser = Browser::start(&broker, &label).await;

        // Login with password and TOTP.
        browser.open("/console/").await;
        let login_page = browser.body_text().await;
        assert!(login_page.contains("Inloggen"), "Dutch by default: {login_page}");
        browser.screenshot("01-login").await;
        // Keyboard: the first Tab reaches the skip link, the next ones the
        // language switch and then the first field.
        let order = browser.tab_order(3).await;
        assert_eq!(order, ["skip", "lang", "username"], "tab order");
        // A wrong code: the form again, the username kept, no session.
        browser.fill("username", &fg.username).await;
        browser.fill("password", &fg.password).await;
        browser.fill("totp", "000000").await;
        browser.submit("#login").await;
        assert_eq!(
            browser.text("#login-error").await,
            "Gebruikersnaam, wachtwoord of code onjuist."
        );
        let kept = browser
            .client
            .find(fantoccini::Locator::Id("username"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(kept.as_deref(), Some(fg.username.as_str()));
        log_in(&browser, &broker, &fg).await;
        let home = browser.body_text().await;
        for item in [
            "Auditlog",
            "Inzageverslag",
            "Toestemming en inzage",
            "Verwerkingsregister",
        ] {
            assert!(home.contains(item), "{item} in the menu: {home}");
        }
        assert!(
            !home.contains("Medewerkers"),
            "a privacy officer does not manage staff: {home}"
        );
        browser.screenshot("02-home").await;

        // The audit log: before any checkpoint the badge says so; after the
        // broker's privacy officer signs one it shows it as verified.
        browser.open("/console/audit").await;
        let badge = browser.text("#log-badge").await;
        assert!(badge.contains("nog geen ondertekend controlepunt"), "{badge}");
        let broker_fg = broker.staff("fg.broker", Role::PrivacyOfficer, None).await;
        let (status, _) = broker_fg
            .send(reqwest::Method::POST, "/v1/audit/checkpoint", None)
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 200);
        browser.open("/console/audit").await;
        let badge = browser.text("#log-badge").await;
        assert!(
            badge.contains("Laatste ondertekende controlepunt") && badge.contains("geverifieerd"),
            "{badge}"
        );
        assert!(!badge.contains("NIET"), "{badge}");
        browser.fill("student_number", &student).await;
        browser.submit("#search").await;
        assert_eq!(browser.path().await, "/console/audit", "the number is never in the URL");
        let table = browser.text("#events").await;
        // Dutch labels first, the wire code beside them (as in the export).
        // The consent given for the mbo and its application; the school's
        // inspection is the school's own record, not in the mbo's scope.
        for (label, action) in [
            ("Toestemming vastgelegd", "record_consent"),
            ("Aanmelding geregistreerd", "register_application"),
        ] {
            assert!(
                table.contains(&format!("{label} {action}")),
                "{label} {action} in {table}"
            );
        }
        assert!(!table.contains("record_inspection"), "{table}");
        for label in ["Systeem", "intake", "geslaagd"] {
            assert!(table.contains(label), "{label} in {table}");
        }
        for code in ["system", "success"] {
            assert!(!table.contains(code), "{code} only as a title in {table}");
        }
        assert!(
            !table.contains(&student),
            "the page shows the pseudonym, not the number"
        );
        browser.screenshot("03-audit-search").await;

        // The action filter is a list of labels that posts the wire code.
        let choices = browser.text("#action").await;
        assert!(
            choices.contains("Alle")
                && choices.contains("Auditlog geraadpleegd")
                && !choices.contains("read_audit_log"),
            "{choices}"
        );
        browser.choose("action", "register_application").await;
        browser.submit("#search").await;
        let filtered = browser.text("#events").await;
        assert!(filtered.contains("Aanmelding geregistreerd"), "{filtered}");
        assert!(
            !filtered.contains("Toestemming vastgelegd"),
            "only the chosen action: {filtered}"
        );
        let chosen = browser.text("#action option[selected]").await;
        assert_eq!(chosen, "Aanmelding geregistreerd", "the choice is kept");
        browser.choose("action", "").await;

        // Export: a CSV download of the same search.
        browser.click("#export-csv").await;
        let csv = browser.downloaded("audit.csv").await;
        assert!(csv.starts_with("seq,time,actor_kind"), "{csv}");
        assert!(csv.contains("register_application"), "{csv}");
        assert!(!csv.contains(&student), "no national number in the export");
        browser.click("#export-json").await;
        let json: serde_json::Value = serde_json::from_str(&browser.downloaded("audit.json").await).unwrap();
        assert!(!json["events"].as_array().unwrap().is_empty());

        // A student number that fails the 11-check: message next to the field.
        browser.fill("student_number", "123456789").await;
        browser.submit("#search").await;
        let error = browser.text("#student_number-error").await;
        assert!(error.contains("geen geldig BSN"), "{error}");

        // The art. 15 report.
        browser.open("/console/report").await;
        browser.fill("student_number", &student).await;
        browser.submit("#submit").await;
        let report = browser.text("#report").await;
        assert!(report.contains("Inzageverslag"), "{report}");
        assert!(report.contains("Verzorgende IG"), "the application: {report}");
        assert!(
            report.contains("Aanmelding geregistreerd register_application"),
            "the accesses: {report}"
        );
        let applications = browser.text("#applications").await;
        assert!(applications.contains("aangemeld"), "the status: {applications}");
        assert!(!applications.contains("registered"), "{applications}");
        browser.screenshot("04-report").await;

        // Consent and inspection history.
        browser.open("/console/history").await;
        browser.fill("student_number", &student).await;
        browser.submit("#submit").await;
        let consents = browser.text("#consents").await;
        for shown in [
            "Extra ondersteuningsbehoefte",
            "gegeven",
            "leerling",
            "papieren formulier",
            MBO,
        ] {
            assert!(consents.contains(shown), "{shown} in {consents}");
        }
        for code in ["support_needs", "given", "paper_form"] {
            assert!(!consents.contains(code), "{code} only as a title in {consents}");
        }
        browser.screenshot("05-history").await;

        // The register, and the English switch.
        browser.open("/console/register").await;
        assert!(
            browser
                .body_text()
                .await
                .contains("Register van verwerkingsactiviteiten")
        );
        browser.screenshot("06-register").await;
        browser.submit("a.lang").await;
        let english = browser.body_text().await;
        assert!(english.contains("Register of processing activities"), "{english}");
        browser.open("/console/audit").await;
        assert!(
            browser.body_text().await.contains("Audit log"),
            "the choice is remembered"
        );
        browser.fill("student_number", &student).await;
        browser.submit("#search").await;
        let table = browser.text("#events").await;
        for label in ["Application registered", "Consent recorded", "succeeded"] {
            assert!(table.contains(label), "{label} in {table}");
        }
        assert!(!table.contains("Aanmelding geregistreerd"), "{table}");
        browser.screenshot("07-audit-english").await;
        browser.open("/console/?lang=nl").await;

        // Every view of personal data above is on the record, with the
        // student's pseudonym.
        let events = broker.audit_events();
        let by_fg = |name: &str| {
            events.iter().any(|e| {
                e.action.name == name
                    && e.actor.id.as_deref() == Some(fg.id.as_str())
                    && e.outcome == Outcome::Success
                    && e.data_subject.is_some()
            })
        };
        assert!(by_fg("read_audit_log"), "the search and the report are audited");
        assert!(by_fg("read_consent_history"), "the history view is audited");
        assert!(
            events
                .iter()
                .filter(|e| e.resource.kind == "subject_report" && e.actor.id.as_deref() == Some(fg.id.as_str()))
                .count()
                == 1
        );

        // Logout ends the session: the next visit needs a login.
        log_out(&browser).await;
        browser.open("/console/audit").await;
        assert_eq!(browser.path().await, "/console/login");

        // Session expiry: idle longer than configured.
        log_in(&browser, &broker, &fg).await;
        broker
            .clock
            .advance(broker.settings.console.idle_timeout + chrono::Duration::seconds(1));
        browser.open("/console/audit").await;
        assert_eq!(browser.path().await, "/console/login?expired=1");
        assert!(browser.body_text().await.contains("sessie is verlopen"));
        browser.screenshot("08-expired").await;
        browser.close().await;

        // The number typed into the forms is in no log line and nowhere in
        // the database.
        let logs = doorstroom_tests::captured_logs();
        assert!(!logs.is_empty(), "logs were captured");
        assert!(
            !String::from_utf8_lossy(&logs).contains(&student),
            "no student number in the logs"
        );
        assert!(
            !String::from_utf8_lossy(&broker.database_dump()).contains(&student),
            "no student number in the database"
        );
    })
    .await;
}

#[tokio::test]
async fn institution_admin_manages_staff_and_sees_keys_in_the_browser() {
    TestBroker::on_every_backend(|broker| async move {
        let label = format!("admin-{}", broker.backend.name());
        let admin = broker.create_staff("admin.console", Role::InstitutionAdmin, Some(MBO));
        let browser = Browser::start(&broker, &label).await;
        log_in(&browser, &broker, &admin).await;
        assert!(browser.body_text().await.contains("Medewerkers"));

        // Create an intaker: the initial password and TOTP secret, once.
        browser.open("/console/staff").await;
        browser.fill("new-username", "nieuwe.intaker").await;
        browser.fill("display_name", "Nieuwe Intaker").await;
        browser.submit("#create").await;
        let password = browser.text("#initial-password").await;
        let secret = browser.text("#totp-secret").await;
        assert!(password.len() >= 12 && secret.len() >= 16, "{password} / {secret}");
        let row = browser.text("tr[data-username='nieuwe.intaker']").await;
        assert!(row.contains("Intaker") && row.contains("actief"), "{row}");
        browser.screenshot("01-staff-created").await;
        browser.open("/console/staff").await;
        assert!(
            browser
                .client
                .find(fantoccini::Locator::Id("initial-password"))
                .await
                .is_err(),
            "shown once only"
        );

        // Bad input: the form again with the message, the input kept.
        browser.fill("new-username", "x").await;
        browser.fill("display_name", "Iemand").await;
        browser.submit("#create").await;
        assert!(browser.text("#username-error").await.contains("Gebruikersnaam"));

        // The new account works: an intaker sees that the console is not
        // for them (in its own browser session).
        let intaker = StaffCredentials {
            username: "nieuwe.intaker".into(),
            password: password.clone(),
            totp_secret: secret.clone(),
            id: String::new(),
        };
        let other = Browser::start(&broker, &format!("intaker-{}", broker.backend.name())).await;
        log_in(&other, &broker, &intaker).await;
        assert!(other.text("#no-access").await.contains("geen toegang"));
        other.screenshot("01-no-access").await;
        other.open("/console/audit").await;
        assert!(
            !other.body_text().await.contains("Auditlog"),
            "no audit page for an intaker"
        );
        other.close().await;

        // Reset the second factor: a new secret, shown once.
        browser.open("/console/staff").await;
        browser.submit("tr[data-username='nieuwe.intaker'] button.reset").await;
        let new_secret = browser.text("#totp-secret").await;
        assert_ne!(new_secret, secret);
        // Deactivate.
        browser
            .submit("tr[data-username='nieuwe.intaker'] button.deactivate")
            .await;
        assert!(browser.text("#notice").await.contains("gedeactiveerd"));
        let row = browser.text("tr[data-username='nieuwe.intaker']").await;
        assert!(row.contains("gedeactiveerd"), "{row}");
        browser.screenshot("02-staff-deactivated").await;

        // Keys and certificates with their expiry dates.
        browser.open("/console/keys").await;
        let keys = browser.text("#keys").await;
        assert!(
            keys.contains("ondertekenen sig") && keys.contains("versleutelen enc"),
            "{keys}"
        );
        let certificates = browser.text("#certificates").await;
        assert!(certificates.contains(MBO), "{certificates}");
        browser.screenshot("03-keys").await;

        // The webhook: an http address is refused on the form, with what
        // was typed kept; an https one is saved; then removed.
        browser.fill("webhook-url-input", "http://intake.example.nl/hook").await;
        browser.submit("#webhook-form button").await;
        assert!(browser.text("#webhook-error").await.contains("https"));
        browser.screenshot("03b-webhook-refused").await;
        browser
            .fill("webhook-url-input", "https://intake.example.nl/hook")
            .await;
        browser.submit("#webhook-form button").await;
        assert!(browser.text("#webhook-done").await.contains("opgeslagen"));
        assert_eq!(browser.text("#webhook-url").await, "https://intake.example.nl/hook");
        browser.submit("#webhook-remove button").await;
        assert!(browser.text("#webhook-done").await.contains("geen webhook"));
        assert!(!browser.body_text().await.contains("https://intake.example.nl/hook"));

        // The contact for the warm handover: a phone number that is none
        // is refused on the form (the browser checks the e-mail field's
        // shape itself), then saved, and the whole exchange reads it.
        browser.open("/console/contact").await;
        browser.fill("contact-name", "J. de Boer").await;
        browser.fill("contact-role", "zorgcoördinator").await;
        browser.fill("contact-phone", "12").await;
        browser.submit("#contact-form button").await;
        assert!(browser.text("#contact-error").await.contains("phone"));
        browser.screenshot("03c-contact-refused").await;
        browser.fill("contact-phone", "").await;
        browser.fill("contact-email", "j.deboer@school.example").await;
        browser.fill("contact-privacy", "fg@school.example").await;
        browser.submit("#contact-form button").await;
        assert!(browser.text("#notice").await.contains("opgeslagen"));
        browser.screenshot("03d-contact-saved").await;
        let read = broker
            .system(VO)
            .fetch(reqwest::Method::GET, &format!("/v1/institutions/{MBO}/contact"), None)
            .await
            .expect("read");
        assert_eq!(read.body["privacy"], "fg@school.example", "{}", read.body);
        assert_eq!(
            read.body["handover"]["email"], "j.deboer@school.example",
            "{}",
            read.body
        );

        let events = broker.audit_events();
        for action in [
            "create_staff",
            "manage_staff",
            "list_staff",
            "read_credentials",
            "manage_certificates",
            "read_institution",
        ] {
            assert!(
                events
                    .iter()
                    .any(|e| e.action.name == action && e.actor.id.as_deref() == Some(admin.id.as_str())),
                "{action} audited"
            );
        }
        log_out(&browser).await;
        browser.close().await;
    })
    .await;
}
