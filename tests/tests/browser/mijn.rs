//! The student's own page (issue 17) in headless Chromium, at phone and
//! desktop widths, in Dutch and English: wrong codes lock a link, the
//! right code shows the file, a withdrawal on the page reaches the mbo,
//! a revoked link opens nothing. Every page is saved as a screenshot and
//! checked by axe-core (WCAG 2.1 A and AA rules), which the test loads
//! into the page through WebDriver, never the page itself: axe-core is
//! installed with npm at a pinned version into the target folder.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use chrono::Months;
use doorstroom_domain::Clock;
use doorstroom_tests::{MBO, TestBroker, VO};
use reqwest::Method;
use serde_json::{Value, json};

use crate::driver::{Browser, artifacts_dir};
use crate::exchange_support::{personal_data, register_application, seal_package, submit, support_needs};
use crate::support::bsn;

/// The axe-core release the checks are made with.
const AXE_VERSION: &str = "4.10.2";

/// axe-core's browser bundle, installed with `npm` on first use.
///
/// Several browser tests run at once in this binary, and on a fresh clone
/// the first one installs: the others wait for it (`OnceLock`), and npm
/// installs into a folder of its own that is renamed into place only when
/// complete, so no test (nor another test process) reads a half-written
/// bundle.
pub(crate) fn axe_source() -> String {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(install_axe).clone()
}

fn install_axe() -> String {
    let dir: PathBuf = artifacts_dir()
        .parent()
        .expect("target dir")
        .join(format!("axe-core-{AXE_VERSION}"));
    let bundle = |dir: &std::path::Path| dir.join("node_modules/axe-core/axe.min.js");
    if !bundle(&dir).exists() {
        let partial = dir.with_extension(format!("partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&partial);
        let status = Command::new("npm")
            .args(["install", "--no-save", "--no-audit", "--no-fund", "--prefix"])
            .arg(&partial)
            .arg(format!("axe-core@{AXE_VERSION}"))
            .status()
            .unwrap_or_else(|e| panic!("npm (apt-get install npm): {e}"));
        assert!(status.success(), "npm install axe-core@{AXE_VERSION}");
        assert!(bundle(&partial).exists(), "npm installed no axe.min.js");
        // A folder left by an interrupted earlier run goes first; if
        // another process renamed its own into place meanwhile, either
        // bundle is whole.
        if !bundle(&dir).exists() {
            let _ = std::fs::remove_dir_all(&dir);
            if std::fs::rename(&partial, &dir).is_err() && !bundle(&dir).exists() {
                panic!("could not move axe-core into {}", dir.display());
            }
        }
        let _ = std::fs::remove_dir_all(&partial);
    }
    std::fs::read_to_string(bundle(&dir)).expect("axe.min.js")
}

/// Runs axe-core on the current page; fails with the violations, if any.
pub(crate) async fn assert_accessible(browser: &Browser, axe: &str, what: &str) {
    browser.client.execute(axe, Vec::new()).await.expect("loading axe-core");
    let script = "const done = arguments[arguments.length - 1];\
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})\
        .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))))\
        .catch(e => done([{id: 'axe-error', message: String(e)}]));";
    let violations = browser.client.execute_async(script, Vec::new()).await.expect("axe.run");
    assert_eq!(violations, json!([]), "{what}: accessibility violations");
}

/// The page fits the window: no horizontal scrolling (tables scroll in
/// their own box).
pub(crate) async fn assert_fits(browser: &Browser, what: &str) {
    let wide = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth ? [] : \
             Array.from(document.querySelectorAll('body *')).filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > window.innerWidth) \
             .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).concat([document.documentElement.scrollWidth, window.innerWidth, getComputedStyle(document.querySelector('.table-wrap')).overflowX, document.querySelector('.table-wrap').getBoundingClientRect().right, document.querySelector('main').getBoundingClientRect().right, document.styleSheets.length]);",
            Vec::new(),
        )
        .await
        .expect("measuring");
    assert_eq!(wide, json!([]), "{what}: wider than the window");
}

async fn issue(broker: &TestBroker, student: &str) -> (String, String, String) {
    let body = json!({"student_number": {"type": "bsn", "number": student}});
    let reply = broker
        .system(VO)
        .fetch(Method::POST, "/v1/transparency-links", Some(&body))
        .await
        .expect("issue");
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    let url = reply.body["url"].as_str().expect("url");
    (
        reply.body["id"].as_str().expect("id").to_owned(),
        url.rsplit('/').next().expect("token").to_owned(),
        reply.body["code"].as_str().expect("code").to_owned(),
    )
}

/// A student who applied at 25LX, gave consent for support needs, and
/// whose school sent a package with it.
async fn a_student_with_a_package(broker: &TestBroker, student: &str) {
    let application = register_application(broker, MBO, student).await;
    let born = broker
        .clock
        .now()
        .date_naive()
        .checked_sub_months(Months::new(17 * 12 + 3))
        .expect("date");
    let consent = json!({
        "student_number": {"type": "bsn", "number": student},
        "date_of_birth": born.to_string(),
        "recipient": MBO,
        "sections": ["support_needs"],
        "given_by": "student",
        "method": "paper_form",
        "evidence_ref": "formulier 17",
        "notice_version": "privacyverklaring v3",
    });
    let given = broker
        .system(VO)
        .fetch(Method::POST, "/v1/consents", Some(&consent))
        .await
        .expect("consent");
    assert_eq!(given.status.as_u16(), 201, "{}", given.body);
    let submission = seal_package(broker, application, MBO, &[personal_data(student), support_needs()]);
    let sent = submit(&broker.system(VO), &submission).await;
    assert_eq!(sent.status.as_u16(), 201, "{}", sent.body);
}

async fn enter_code(browser: &Browser, code: &str) {
    browser.fill("code", code).await;
    browser.submit("#open").await;
}

#[tokio::test]
async fn a_student_opens_the_page_on_a_phone_and_a_desktop_and_withdraws() {
    TestBroker::on_every_backend(|broker| async move {
        let axe = axe_source();
        let student = bsn(1771);
        a_student_with_a_package(&broker, &student).await;
        let (_, locked_token, locked_code) = issue(&broker, &student).await;
        let (link, token, code) = issue(&broker, &student).await;
        let browser = Browser::start(&broker, &format!("mijn-{}", broker.backend.name())).await;

        // Phone width, Dutch: the code form, and wrong codes lock a link.
        browser.client.set_window_size(390, 844).await.expect("phone width");
        browser.open(&format!("/mijn/{locked_token}?lang=nl")).await;
        assert!(browser.body_text().await.contains("Vul je code in"));
        browser.screenshot("phone-nl-code").await;
        assert_accessible(&browser, &axe, "code form").await;
        let wrong = format!("{:06}", (locked_code.parse::<u32>().expect("digits") + 1) % 1_000_000);
        for _ in 1..broker.settings.transparency.max_code_attempts {
            enter_code(&browser, &wrong).await;
            assert!(browser.text("#code-error").await.contains("klopt niet"));
        }
        enter_code(&browser, &wrong).await;
        assert!(browser.text("#message").await.contains("te vaak"));
        browser.screenshot("phone-nl-locked").await;
        assert_accessible(&browser, &axe, "locked").await;

        // The right code: the file.
        browser.open(&format!("/mijn/{token}")).await;
        enter_code(&browser, &code).await;
        let text = browser.body_text().await;
        for part in [
            "Je aanmeldingen",
            "Verzorgende IG",
            "Verstuurde dossiers",
            "Wie heeft je dossier bekeken?",
            "niet lezen",
        ] {
            assert!(text.contains(part), "the page shows {part}");
        }
        assert!(!text.contains(&student), "never the student number");
        assert_fits(&browser, "phone, Dutch").await;
        browser.screenshot("phone-nl-page").await;
        assert_accessible(&browser, &axe, "page, phone").await;
        browser.open(&format!("/mijn/{token}?lang=en")).await;
        assert!(browser.body_text().await.contains("Who looked at your dossier?"));
        assert_fits(&browser, "phone, English").await;
        browser.screenshot("phone-en-page").await;

        // Desktop width, English then Dutch.
        browser.client.set_window_size(1280, 1000).await.expect("desktop width");
        browser.open(&format!("/mijn/{token}")).await;
        browser.screenshot("desktop-en-page").await;
        assert_accessible(&browser, &axe, "page, desktop, English").await;
        browser.open(&format!("/mijn/{token}?lang=nl")).await;
        browser.screenshot("desktop-nl-page").await;

        // Withdraw support needs for 25LX as the student (17).
        browser.click("form.withdraw input[value=student]").await;
        browser.submit("form.withdraw button").await;
        assert!(browser.text("#notice").await.contains("ingetrokken"));
        browser.click("#withdrawal-receipt-link").await;
        let receipt = browser.downloaded(".jws").await;
        assert_eq!(receipt.split('.').count(), 3, "a signed receipt (compact JWS)");
        browser.screenshot("desktop-nl-withdrawn").await;
        assert_accessible(&browser, &axe, "after the withdrawal").await;
        let feed = broker
            .system(MBO)
            .fetch(Method::GET, "/v1/events", None)
            .await
            .expect("feed");
        let kinds: Vec<Value> = feed.body["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["kind"].clone())
            .collect();
        assert!(
            kinds.contains(&json!("section.withdrawn")),
            "the mbo learns it: {kinds:?}"
        );

        // The school revokes the link: the session ends, the code opens nothing.
        let revoked = broker
            .system(VO)
            .fetch(Method::DELETE, &format!("/v1/transparency-links/{link}"), None)
            .await
            .expect("revoke");
        assert_eq!(revoked.status.as_u16(), 204);
        browser.open(&format!("/mijn/{token}")).await;
        assert!(
            browser.body_text().await.contains("Vul je code in"),
            "the session ended"
        );
        enter_code(&browser, &code).await;
        assert!(browser.text("#message").await.contains("werkt niet"));
        browser.screenshot("desktop-nl-revoked").await;

        // Every view is in the audit log.
        let views = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.action.name == "read_own_file")
            .count();
        assert!(views >= 5, "{views} views audited");
        browser.close().await;
    })
    .await;
}
