//! An OSO gegevensset dossier end to end, on both backends: the vo school
//! sends the file its administration system exported with the command's
//! own code (`send --oso`: its `<inzage>` recorded as the inspection, an
//! optional section without consent left out with a message), the intake
//! desk shows it per OSO category, the mbo pulls it as OSO
//! (`pull --format oso`) and gets an equivalent document of exactly the
//! released sections; with consent for every section, of the whole file.
//! And the same dossier read in headless Chromium.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use doorstroom_cli::exchange::{self, Identity, PullOptions, SendOptions};
use doorstroom_cli::oso::{self, OsoSource};
use doorstroom_client::oso::Limits;
use doorstroom_devkit::pki::{ENC_JWK_FILE, SIGN_JWK_FILE};
use doorstroom_domain::{Brin, Clock, InspectedBy, Role, Section, StaffId};
use doorstroom_oso::{canonical, export, parse, to_sections};
use doorstroom_tests::{MBO, TestBroker, VO};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::driver::Browser;
use crate::support::{DeskClient, start_desk};

/// The number in the fixture's `<bsn>`.
const FIXTURE_BSN: &str = "123456782";

fn fixture(name: &str) -> String {
    let path = format!("{}/../crates/oso/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The full fixture, inspected yesterday by the broker's clock (a recorded
/// inspection must lie before the submission).
fn dossier_file(broker: &TestBroker, dir: &Path) -> (PathBuf, String) {
    let yesterday = (broker.clock.now() - chrono::Duration::days(1)).date_naive();
    let xml = fixture("full.xml").replace(
        "<inzagedatum>2027-02-10</inzagedatum>",
        &format!("<inzagedatum>{yesterday}</inzagedatum>"),
    );
    let path = dir.join("dossier-uit-de-leerlingadministratie.xml");
    std::fs::write(&path, &xml).unwrap();
    (path, xml)
}

async fn register_application(broker: &TestBroker) -> Uuid {
    let (status, body) = broker
        .system(MBO)
        .send(
            Method::POST,
            "/v1/applications",
            Some(&json!({
                "student_number": {"type": "bsn", "number": FIXTURE_BSN},
                "sending_school": VO,
                "programme": {"name": "Verzorgende IG", "crebo": "25491"},
                "school_year": "2027-2028",
                "applied_on": "2027-03-01",
            })),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 201, "application: {body}");
    body["id"].as_str().unwrap().parse().unwrap()
}

async fn consent(broker: &TestBroker, sections: &[&str]) {
    let born = broker
        .clock
        .now()
        .date_naive()
        .checked_sub_months(chrono::Months::new(17 * 12))
        .unwrap();
    let (status, body) = broker
        .system(VO)
        .send(
            Method::POST,
            "/v1/consents",
            Some(&json!({
                "student_number": {"type": "bsn", "number": FIXTURE_BSN},
                "date_of_birth": born.to_string(),
                "recipient": MBO,
                "sections": sections,
                "given_by": "student",
                "method": "paper_form",
                "evidence_ref": "formulier OSO-16",
                "notice_version": "privacyverklaring v3",
            })),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 201, "consent: {body}");
}

/// `doorstroom send --oso FILE --to 25LX --application ID --as certs/07AB`,
/// through the command's own code; answers the package id and what the
/// command said.
async fn send_oso(broker: &TestBroker, application: Uuid, file: &Path) -> Result<(String, Vec<String>), String> {
    send_oso_with(broker, application, file, Vec::new()).await
}

/// The same with `--section NAME=FILE`s beside the dossier.
async fn send_oso_with(
    broker: &TestBroker,
    application: Uuid,
    file: &Path,
    sections: Vec<(Section, PathBuf)>,
) -> Result<(String, Vec<String>), String> {
    let dir = broker.institution_dir(VO);
    let identity = Identity {
        dir: Some(dir.clone()),
        token: None,
    };
    let client = exchange::connect(&broker.base_url, &broker.pki.ca_cert_path(), &identity).unwrap();
    let options = SendOptions {
        from: None,
        to: Brin::parse(MBO).unwrap(),
        application,
        sections,
        attachments: Vec::new(),
        signing_key: dir.join(SIGN_JWK_FILE),
        trust_anchors: broker.pki.ca_cert_path(),
        now: broker.clock.now(),
    };
    let source = OsoSource {
        path: file.to_owned(),
        student: None,
        inspected_by: InspectedBy::Parent,
        limits: Limits::default(),
    };
    let mut said = Vec::new();
    let mut say = |line: String| said.push(line);
    let sent = oso::send(&client, &options, &source, &mut say).await;
    match sent {
        Ok(receipt) => Ok((receipt.package_id, said)),
        Err(e) => Err(e.to_string()),
    }
}

/// `doorstroom pull --format oso --on-behalf-of INTAKER --as certs/25LX`;
/// answers the files written.
async fn pull_oso(broker: &TestBroker, package: &str, intaker: StaffId, out: &Path) -> Vec<PathBuf> {
    let dir = broker.institution_dir(MBO);
    let identity = Identity {
        dir: Some(dir.clone()),
        token: None,
    };
    let client = exchange::connect(&broker.base_url, &broker.pki.ca_cert_path(), &identity).unwrap();
    let options = PullOptions {
        package: package.parse().unwrap(),
        on_behalf_of: Some(intaker),
        decryption_key: dir.join(ENC_JWK_FILE),
        trust_anchors: broker.pki.ca_cert_path(),
        out: out.to_owned(),
        acknowledge: false,
        now: broker.clock.now(),
    };
    oso::pull(&client, &options).await.unwrap().written
}

/// What an export of `xml` holding only `released` looks like.
fn expected_export(xml: &str, released: &[Section]) -> Vec<String> {
    let mut sections: BTreeMap<Section, serde_json::Value> =
        to_sections(&parse(xml.as_bytes(), &Limits::default()).unwrap())
            .unwrap()
            .sections;
    sections.retain(|s, _| released.contains(s));
    canonical(&export(&sections, &Limits::default()).unwrap().xml).unwrap()
}

#[tokio::test]
async fn an_oso_dossier_goes_in_at_the_vo_and_comes_out_as_oso_at_the_mbo() {
    TestBroker::on_every_backend(|broker| async move {
        let files = tempfile::tempdir().unwrap();
        let (file, xml) = dossier_file(&broker, files.path());
        let application = register_application(&broker).await;
        let creds = broker.create_staff("intaker.oso", Role::Intaker, Some(MBO));
        let intaker: StaffId = creds.id.parse().unwrap();

        // A dossier the rules refuse is not sent, and says why.
        let forbidden = files.path().join("verboden.xml");
        std::fs::write(&forbidden, fixture("verboden_with_data.xml")).unwrap();
        let refused = send_oso(&broker, application, &forbidden).await.unwrap_err();
        assert!(refused.contains("cat_verzuim is VERBODEN"), "{refused}");
        assert!(!refused.contains(FIXTURE_BSN));
        // Nor one whose sections are given twice; nothing is recorded then.
        let personal = files.path().join("personal.json");
        std::fs::write(&personal, r#"{"name": "Sam"}"#).unwrap();
        let twice = send_oso_with(&broker, application, &file, vec![(Section::PersonalData, personal)])
            .await
            .unwrap_err();
        assert!(
            twice.contains("section personal_data comes from the OSO dossier"),
            "{twice}"
        );
        // Nor one whose student is not the application's.
        let other = fixture("full.xml").replace("<bsn>123456782</bsn>", "<bsn>111222333</bsn>");
        let other_file = files.path().join("ander.xml");
        std::fs::write(&other_file, other).unwrap();
        let mismatch = send_oso(&broker, application, &other_file).await.unwrap_err();
        assert!(
            mismatch.contains("is not one of the applications of the dossier's student"),
            "{mismatch}"
        );
        assert!(!mismatch.contains("111222333"), "{mismatch}");

        // 1. Consent for the support needs only: the rest stays out, said so.
        consent(&broker, &["support_needs"]).await;
        let (first, said) = send_oso(&broker, application, &file).await.unwrap();
        let said = said.join("\n");
        for line in [
            "recorded the inspection (inzage) of",
            "by parent, remarks added: yes",
            "<toestemming> is not taken as consent",
            "section career_portfolio needs consent for 25LX, and none is recorded: left out",
            "section attachments needs consent for 25LX, and none is recorded: left out",
            "section personal_data from the dossier",
            "section support_needs from the dossier",
        ] {
            assert!(said.contains(line), "{line:?} in {said}");
        }
        assert!(!said.contains(FIXTURE_BSN) && !said.contains("Testhuis"), "{said}");
        let (status, history) = broker
            .system(VO)
            .send(
                Method::POST,
                "/v1/consents/history",
                Some(&json!({"student_number": {"type": "bsn", "number": FIXTURE_BSN}})),
            )
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 200, "{history}");
        let inspections = history["inspections"].as_array().unwrap();
        assert_eq!(inspections.len(), 1, "{history}");
        assert_eq!(inspections[0]["inspected_by"], "parent");
        assert_eq!(inspections[0]["remarks_added"], true);

        // 2. The desk shows it per OSO category.
        let (_running, url) = start_desk(&broker).await;
        let mut desk = DeskClient::new(&broker, &url);
        assert_eq!(desk.login(&broker, &creds).await.status, 303);
        let page = desk.get(&format!("/dossiers/{first}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for shown in [
            "Sam van der Testhuis",
            "OSO gegevensset 2019.1",
            "<h3>Ouders/verzorgers</h3>",
            "<details class=\"oso-category\">\n<summary><h3>Metadata</h3>",
            "<h3>Schoolloopbaan</h3>",
            "<h3>Overstapadvies</h3>",
            "mbo niveau 4",
            "<h3>Onderwijsondersteuning</h3>",
            "Dyslexie",
            "<h3>Handelingsplannen</h3>",
            "<h3>Verzuim</h3>",
            "Het verzuim van vorig jaar is niet juist",
        ] {
            assert!(page.body.contains(shown), "{shown} in the dossier page");
        }
        assert!(!page.body.contains("Cito VAS"), "the career portfolio was not sent");
        // A document inside the support needs (a plan) is a download of it.
        assert!(page.body.contains("plan.pdf.zip"), "the plan is offered");
        let plan = desk.get(&format!("/dossiers/{first}/attachments/0")).await;
        assert_eq!(plan.status, 200);
        assert!(
            plan.headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains("plan.pdf.zip")
        );
        assert!(plan.body.starts_with("PK"));

        // 3. Pulled as OSO: exactly the released sections, equivalent.
        let out = files.path().join("first");
        let written = pull_oso(&broker, &first, intaker, &out).await;
        assert_eq!(written, [out.join("dossier.xml")]);
        let got = std::fs::read_to_string(out.join("dossier.xml")).unwrap();
        assert_eq!(
            canonical(&got).unwrap(),
            expected_export(&xml, &[Section::PersonalData, Section::SupportNeeds])
        );
        assert!(got.contains("<cat_toetsresultaten>OPT-UIT</cat_toetsresultaten>"));
        assert!(!got.contains("<cijferlijstlijst>") && !got.contains("<overigdocumentlijst>"));

        // 4. With consent for every section: the whole file comes back.
        consent(&broker, &["career_portfolio", "attachments"]).await;
        let remarks = files.path().join("remarks.json");
        std::fs::write(&remarks, r#"{"by": "ouder", "text": "Graag een gesprek."}"#).unwrap();
        let (second, said) = send_oso_with(&broker, application, &file, vec![(Section::Remarks, remarks)])
            .await
            .unwrap();
        let said = said.join("\n");
        assert!(!said.contains("left out"), "{said}");
        assert!(
            said.contains("the dossier's inspection (inzage) is already on record"),
            "{said}"
        );
        let out = files.path().join("second");
        let written = pull_oso(&broker, &second, intaker, &out).await;
        // The remarks are no OSO category: as JSON beside the dossier.
        assert_eq!(written, [out.join("dossier.xml"), out.join("remarks.json")]);
        let got = std::fs::read_to_string(out.join("dossier.xml")).unwrap();
        assert_eq!(canonical(&got).unwrap(), canonical(&xml).unwrap());

        // The desk shows the tests and hands out the attached documents.
        let page = desk.get(&format!("/dossiers/{second}")).await;
        for shown in ["Cito VAS", "<h3>VO-MBO</h3>", "verslag.pdf.zip", "rooster.png.zip"] {
            assert!(page.body.contains(shown), "{shown} in the dossier page");
        }
        let download = desk.get(&format!("/dossiers/{second}/attachments/0")).await;
        assert_eq!(download.status, 200);
        let disposition = download.headers["content-disposition"].to_str().unwrap();
        assert!(disposition.contains("verslag.pdf.zip"), "{disposition}");
        assert!(download.body.starts_with("PK"), "a ZIP, as the agreement sends it");
        let plan = desk.get(&format!("/dossiers/{second}/attachments/2")).await;
        assert!(
            plan.headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains("plan.pdf.zip")
        );

        // The national number is nowhere in the broker's database.
        let dump = broker.database_dump();
        assert!(!dump.windows(FIXTURE_BSN.len()).any(|w| w == FIXTURE_BSN.as_bytes()));
    })
    .await;
}

/// The same dossier in headless Chromium: the intaker reads it per OSO
/// category, and the attached documents are offered as downloads.
#[tokio::test]
async fn an_intaker_reads_an_oso_dossier_in_the_browser() {
    TestBroker::on_every_backend(|broker| async move {
        let files = tempfile::tempdir().unwrap();
        let (file, _) = dossier_file(&broker, files.path());
        let application = register_application(&broker).await;
        consent(&broker, &["support_needs", "career_portfolio", "attachments"]).await;
        let (package, _) = send_oso(&broker, application, &file).await.unwrap();

        let (_desk, url) = start_desk(&broker).await;
        let mut browser = Browser::start(&broker, &format!("desk-oso-{}", broker.backend.name())).await;
        browser.base_url = url;
        let creds = broker.create_staff("intaker.oso.browser", Role::Intaker, Some(MBO));
        browser.open("/login").await;
        browser.fill("username", &creds.username).await;
        browser.fill("password", &creds.password).await;
        browser.fill("totp", &broker.totp(&creds.totp_secret)).await;
        browser.submit("#login").await;
        assert_eq!(browser.path().await, "/inbox");
        assert!(
            browser
                .text(&format!("#package-{package}"))
                .await
                .contains("Sam van der Testhuis")
        );

        browser.submit(&format!("#package-{package} a")).await;
        assert_eq!(browser.text("#student").await, "Sam van der Testhuis");
        for (section, shown) in [
            (
                "personal_data",
                &[
                    "OSO gegevensset 2019.1",
                    "Ouders/verzorgers",
                    "moeder",
                    "mbo niveau 4",
                    "2026-2027",
                ][..],
            ),
            (
                "support_needs",
                &[
                    "Onderwijsondersteuning",
                    "Dyslexie",
                    "Handelingsplannen",
                    "begrijpend lezen",
                    "Verzuim",
                    "plan.pdf.zip",
                ][..],
            ),
            (
                "career_portfolio",
                &[
                    "Toetsresultaten",
                    "Cito VAS",
                    "Cijferlijsten",
                    "Engels",
                    "VO-MBO",
                    "Bakkerij De Proef",
                ][..],
            ),
            (
                "attachments",
                &["Verslag van de mentor", "verslag.pdf.zip", "rooster.png.zip"][..],
            ),
        ] {
            let text = browser.text(&format!("#section-{section}")).await;
            for s in shown {
                assert!(text.contains(s), "{s} in {section}: {text}");
            }
        }
        browser.screenshot("oso-dossier").await;
        browser.close().await;
    })
    .await;
}
