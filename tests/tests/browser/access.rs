//! Who may open which console page, CSRF, security headers and bad input,
//! over plain HTTPS (reqwest), as a script or an attacker would send it.

use doorstroom_domain::{Outcome, Role};
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, VO};

use crate::support::{ConsoleClient, bsn, student_applied};

/// An institution's admin creates accounts of their own institution only,
/// so the form offers only the roles it can have: a care coordinator at a
/// vo school, never at an mbo. A forged choice gets the form's own answer,
/// and no account.
#[tokio::test]
async fn the_staff_form_offers_only_roles_the_admins_institution_can_have() {
    TestBroker::on_every_backend(|broker| async move {
        let option = "<option value=\"care_coordinator\"";
        let mbo_admin = broker.create_staff("admin.roles.mbo", Role::InstitutionAdmin, Some(MBO));
        let mut mbo_console = ConsoleClient::new(&broker);
        mbo_console.login(&broker, &mbo_admin).await;
        let form = mbo_console.get("/console/staff").await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains("<option value=\"intaker\""), "{}", form.body);
        assert!(!form.body.contains(option), "{}", form.body);

        let forged = mbo_console
            .post(
                "/console/staff",
                &[
                    ("csrf", &form.csrf()),
                    ("username", "zorg.at.mbo"),
                    ("display_name", "Zorg Mbo"),
                    ("role", "care_coordinator"),
                ],
            )
            .await;
        assert_eq!(forged.status, 422, "{}", forged.body);
        assert!(forged.body.contains("Kies een rol uit de lijst."), "{}", forged.body);
        let listed = mbo_console.get("/console/staff").await;
        assert!(!listed.body.contains("zorg.at.mbo"), "no account made: {}", listed.body);

        let vo_admin = broker.create_staff("admin.roles.vo", Role::InstitutionAdmin, Some(VO));
        let mut vo_console = ConsoleClient::new(&broker);
        vo_console.login(&broker, &vo_admin).await;
        let form = vo_console.get("/console/staff").await;
        assert!(form.body.contains(option), "{}", form.body);
    })
    .await;
}

#[tokio::test]
async fn every_console_response_carries_the_security_headers() {
    TestBroker::on_every_backend(|broker| async move {
        let console = ConsoleClient::new(&broker);
        let page = console.get("/console/login").await;
        assert_eq!(page.status, 200);
        let header = |name: &str| {
            page.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            header("content-security-policy"),
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("cache-control"), "no-store");
        assert!(header("strict-transport-security").starts_with("max-age="));
        assert!(page.body.contains("<html lang=\"nl\">"));
        assert!(!page.body.contains("<script"), "no JavaScript");

        let css = console.get("/console/static/console.css").await;
        assert_eq!(css.status, 200);
        assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
        assert!(css.headers["cache-control"].to_str().unwrap().contains("max-age"));

        // The session cookie's flags.
        let fg = broker.create_staff("fg.headers", Role::PrivacyOfficer, Some(MBO));
        let mut console = ConsoleClient::new(&broker);
        let login = console.login(&broker, &fg).await;
        let cookie = login.headers["set-cookie"].to_str().unwrap().to_owned();
        for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(flag), "{flag} in {cookie}");
        }
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        // Only a hash of the session id is stored.
        let session_id = console.session.as_ref().unwrap().split('=').nth(1).unwrap().to_owned();
        assert!(
            !String::from_utf8_lossy(&broker.database_dump()).contains(&session_id),
            "the session id itself is not in the database"
        );
    })
    .await;
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_or_from_another_site_are_refused() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(812);
        let fg = broker.create_staff("fg.csrf", Role::PrivacyOfficer, Some(MBO));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &fg).await;
        let token = console.get("/console/audit").await.csrf();

        let missing = console.post("/console/audit", &[("student_number", &student)]).await;
        assert_eq!(missing.status, 403, "{}", missing.body);
        assert!(missing.body.contains("Het formulier is verlopen"), "{}", missing.body);
        let wrong = "0".repeat(token.len());
        let forged = console
            .post("/console/audit", &[("csrf", &wrong), ("student_number", &student)])
            .await;
        assert_eq!(forged.status, 403);
        let cross_site = console
            .post_raw(
                "/console/audit",
                serde_urlencoded::to_string([("csrf", token.as_str())]).unwrap(),
                &[("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")],
            )
            .await;
        assert_eq!(cross_site.status, 403);
        let logout_forged = console.post("/console/logout", &[("csrf", "nope")]).await;
        assert_eq!(logout_forged.status, 403, "logout needs the token too");

        // The right token works; nothing about the student was read before.
        let before = broker
            .audit_events()
            .iter()
            .filter(|e| e.action.name == "read_audit_log" && e.data_subject.is_some())
            .count();
        assert_eq!(before, 0, "refused forms read nothing");
        let ok = console
            .post("/console/audit", &[("csrf", &token), ("student_number", &student)])
            .await;
        assert_eq!(ok.status, 200, "{}", ok.body);
    })
    .await;
}

/// A page, the fields posted to it, and the status and message expected.
type BadInput<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);

#[tokio::test]
async fn bad_form_input_gets_a_page_with_the_message_never_a_500() {
    TestBroker::on_every_backend(|broker| async move {
        let fg = broker.create_staff("fg.badinput", Role::PrivacyOfficer, Some(MBO));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &fg).await;
        let token = console.get("/console/audit").await.csrf();

        let cases: [BadInput; 6] = [
            (
                "/console/audit",
                vec![("student_number", "12345")],
                422,
                "geen geldig BSN",
            ),
            (
                "/console/audit",
                vec![("institution", "XXXX")],
                422,
                "geen geldige BRIN",
            ),
            ("/console/audit", vec![("outcome", "maybe")], 422, "Kies een uitkomst"),
            ("/console/audit", vec![("from", "31-12-2026")], 422, "JJJJ-MM-DD"),
            (
                "/console/audit",
                vec![("from", "2027-02-01"), ("until", "2027-01-01")],
                422,
                "vóór de begindatum",
            ),
            ("/console/report", vec![("student_number", "")], 422, "Vul een BSN"),
        ];
        for (path, mut fields, status, message) in cases {
            fields.push(("csrf", &token));
            let page = console.post(path, &fields).await;
            assert_eq!(page.status, status, "{path} {fields:?}: {}", page.body);
            assert!(page.body.contains(message), "{message} in {}", page.body);
            for (name, value) in &fields {
                // A select cannot show a value it does not offer.
                if !["csrf", "outcome"].contains(name) && !value.is_empty() {
                    assert!(page.body.contains(&format!("value=\"{value}\"")), "{name} kept");
                }
            }
        }
        // A malformed form (a field twice), and an unknown export format:
        // 400 pages.
        let garbage = console
            .post_raw("/console/audit", format!("csrf={token}&csrf={token}"), &[])
            .await;
        assert_eq!(garbage.status, 400, "{}", garbage.body);
        assert!(
            garbage.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        // A control character in a field (here a NUL in the action, which
        // PostgreSQL cannot even compare): a 400 page on both backends.
        for escaped in ["%00", "%1B", "%7F", "%C2%85"] {
            let page = console
                .post_raw(
                    "/console/audit",
                    format!("csrf={token}&action=pull{escaped}package"),
                    &[],
                )
                .await;
            assert_eq!(page.status, 400, "{escaped}: {}", page.body);
            assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
        }
        let export = console
            .post("/console/audit", &[("csrf", &token), ("export", "pdf")])
            .await;
        assert_eq!(export.status, 400);
        // An action name without a label still filters (the log may hold
        // names the console has no label for): matched as it is, kept as a
        // choice of its own, escaped.
        let unknown = console
            .post("/console/audit", &[("csrf", &token), ("action", "<b>no_such_action")])
            .await;
        assert_eq!(unknown.status, 200, "{}", unknown.body);
        assert!(unknown.body.contains("id=\"no-events\""), "{}", unknown.body);
        assert!(!unknown.body.contains("<b>no_such_action"), "escaped: {}", unknown.body);
        assert!(
            unknown.body.contains("no_such_action\" selected>"),
            "kept as a choice: {}",
            unknown.body
        );
        // An unknown console page and a malformed staff id: 404 pages.
        assert_eq!(console.get("/console/nope").await.status, 404);
        let admin = broker.create_staff("admin.badinput", Role::InstitutionAdmin, Some(MBO));
        let mut admin_console = ConsoleClient::new(&broker);
        admin_console.login(&broker, &admin).await;
        let admin_token = admin_console.get("/console/staff").await.csrf();
        let page = admin_console
            .post("/console/staff/not-a-uuid/deactivate", &[("csrf", &admin_token)])
            .await;
        assert_eq!(page.status, 404);
        // A wrong password: 401 page, and past the limit 429.
        let mut stranger = ConsoleClient::new(&broker);
        stranger.session = None;
        for _ in 0..broker.settings.auth.max_failures_per_account {
            let page = stranger
                .post(
                    "/console/login",
                    &[("username", "fg.badinput"), ("password", "wrong"), ("totp", "1")],
                )
                .await;
            assert_eq!(page.status, 401);
        }
        let limited = stranger
            .post(
                "/console/login",
                &[("username", "fg.badinput"), ("password", "wrong"), ("totp", "1")],
            )
            .await;
        assert_eq!(limited.status, 429, "the API's rate limit applies to the console");
    })
    .await;
}

#[tokio::test]
async fn an_intaker_and_another_institutions_privacy_officer_see_nothing_of_it() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(813);
        student_applied(&broker, &student).await;

        // The mbo's own privacy officer sees the student's events.
        let own = broker.create_staff("fg.own", Role::PrivacyOfficer, Some(MBO));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &own).await;
        let token = console.get("/console/audit").await.csrf();
        let page = console
            .post("/console/audit", &[("csrf", &token), ("student_number", &student)])
            .await;
        // The rows show the action's code in a `<code>` (the action filter
        // offers every action, so the bare name is on every audit page).
        assert!(page.body.contains("<code>register_application</code>"), "{}", page.body);

        // Another mbo's privacy officer: the pages open, the rows do not.
        let other = broker.create_staff("fg.other", Role::PrivacyOfficer, Some(OTHER_MBO));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &other).await;
        let token = console.get("/console/audit").await.csrf();
        let page = console
            .post("/console/audit", &[("csrf", &token), ("student_number", &student)])
            .await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains("<code>register_application</code>"),
            "{}",
            page.body
        );
        assert!(page.body.contains("id=\"no-events\""));
        let report = console
            .post("/console/report", &[("csrf", &token), ("student_number", &student)])
            .await;
        assert_eq!(report.status, 200);
        assert!(!report.body.contains("Verzorgende IG"), "{}", report.body);
        assert!(!report.body.contains("<code>register_application</code>"));
        let history = console
            .post("/console/history", &[("csrf", &token), ("student_number", &student)])
            .await;
        assert!(!history.body.contains("support_needs"), "{}", history.body);
        assert!(
            !history.body.contains("Extra ondersteuningsbehoefte"),
            "{}",
            history.body
        );
        // Staff and keys, as far as the policy lets a privacy officer read
        // them, are their own institution's only.
        let staff = console.get("/console/staff").await;
        assert!(!staff.body.contains("fg.own"), "{}", staff.body);
        assert!(staff.body.contains("fg.other"));
        let keys = console.get("/console/keys").await;
        assert!(
            keys.body.contains(OTHER_MBO) && !keys.body.contains(MBO),
            "{}",
            keys.body
        );

        // An intaker: no console at all.
        let intaker = broker.create_staff("intaker.console", Role::Intaker, Some(MBO));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &intaker).await;
        let home = console.get("/console/").await;
        assert_eq!(home.status, 403);
        assert!(home.body.contains("geen toegang"));
        let token = home.csrf();
        for path in ["/console/audit", "/console/staff", "/console/keys", "/console/register"] {
            let page = console.get(path).await;
            assert_eq!(page.status, 404, "{path}: {}", page.body);
            assert!(!page.body.contains("register_application"));
        }
        for path in ["/console/audit", "/console/report", "/console/history"] {
            let page = console
                .post(path, &[("csrf", &token), ("student_number", &student)])
                .await;
            assert_eq!(page.status, 404, "{path}: {}", page.body);
            assert!(!page.body.contains("Verzorgende IG"));
        }
        // The refusals are on the record as denied accesses.
        let intaker_id = intaker.id.clone();
        let denied = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.actor.id.as_deref() == Some(intaker_id.as_str()) && e.outcome == Outcome::Denied)
            .count();
        assert!(denied >= 4, "denied page views audited: {denied}");

        // A deactivated account's session ends at once.
        let admin = broker.create_staff("admin.deact", Role::InstitutionAdmin, Some(MBO));
        let mut admin_console = ConsoleClient::new(&broker);
        admin_console.login(&broker, &admin).await;
        let fg_id = own.id.clone();
        let token = admin_console.get("/console/staff").await.csrf();
        let mut fg_console = ConsoleClient::new(&broker);
        fg_console.login(&broker, &own).await;
        assert_eq!(fg_console.get("/console/audit").await.status, 200);
        let page = admin_console
            .post(&format!("/console/staff/{fg_id}/deactivate"), &[("csrf", &token)])
            .await;
        // An institution admin may not manage privacy officers.
        assert_eq!(page.status, 404, "{}", page.body);
        let admin_api = broker.staff("broker.admin", Role::BrokerAdmin, None).await;
        let (status, _) = admin_api
            .send(reqwest::Method::POST, &format!("/v1/staff/{fg_id}/deactivate"), None)
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 200);
        let after = fg_console.get("/console/audit").await;
        assert_eq!(after.status, 303);
        assert_eq!(after.location(), Some("/console/login?expired=1"));
    })
    .await;
}

/// Issue 11: an mbo that registers an application for a student another
/// mbo is taking in sees, in the console, its own application and nothing
/// of the other mbo's intake (application, consent for it), in the audit
/// search and the art. 15 report alike.
#[tokio::test]
async fn another_mbos_later_application_opens_nothing_of_the_first_in_the_console() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(814);
        student_applied(&broker, &student).await;
        let (status, body) = broker
            .system(OTHER_MBO)
            .send(
                reqwest::Method::POST,
                "/v1/applications",
                Some(&serde_json::json!({
                    "student_number": {"type": "bsn", "number": student},
                    "sending_school": doorstroom_tests::VO,
                    "programme": {"name": "Techniek", "crebo": "25491"},
                    "school_year": "2027-2028",
                    "applied_on": "2027-03-02",
                })),
            )
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 201, "{body}");

        let other = broker.create_staff("fg.later", Role::PrivacyOfficer, Some(OTHER_MBO));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &other).await;
        let token = console.get("/console/audit").await.csrf();
        let page = console
            .post("/console/audit", &[("csrf", &token), ("student_number", &student)])
            .await;
        assert_eq!(page.status, 200);
        // Exactly one application registration in the rows: its own.
        assert_eq!(
            page.body.matches("<code>register_application</code>").count(),
            1,
            "{}",
            page.body
        );
        assert!(!page.body.contains("<code>record_consent</code>"), "{}", page.body);
        assert!(!page.body.contains("<code>record_inspection</code>"), "{}", page.body);
        let report = console
            .post("/console/report", &[("csrf", &token), ("student_number", &student)])
            .await;
        assert_eq!(report.status, 200);
        assert!(report.body.contains("Techniek"), "its own application: {}", report.body);
        assert!(!report.body.contains("Verzorgende IG"), "{}", report.body);
        assert_eq!(
            report.body.matches("<code>register_application</code>").count(),
            1,
            "{}",
            report.body
        );
        assert!(!report.body.contains("<code>record_consent</code>"), "{}", report.body);
    })
    .await;
}

#[tokio::test]
async fn broker_staff_use_the_console_across_institutions_and_admins_only_within_theirs() {
    TestBroker::on_every_backend(|broker| async move {
        // The broker admin creates an admin for 27GH and reads its keys.
        let admin = broker.create_staff("admin.broker", Role::BrokerAdmin, None);
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &admin).await;
        let home = console.get("/console/").await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains("/console/staff") && !home.body.contains("/console/audit"));
        let token = home.csrf();
        let created = console
            .post(
                "/console/staff",
                &[
                    ("csrf", token.as_str()),
                    ("username", "beheer.27gh"),
                    ("display_name", "Beheer 27GH"),
                    ("role", "institution_admin"),
                    ("institution", OTHER_MBO),
                ],
            )
            .await;
        assert_eq!(created.status, 200, "{}", created.body);
        assert!(created.body.contains("id=\"initial-password\""));
        let keys = console.get(&format!("/console/keys?institution={OTHER_MBO}")).await;
        assert_eq!(keys.status, 200);
        assert!(keys.body.contains("id=\"keys\"") && keys.body.contains(OTHER_MBO));
        let audit = console.get("/console/audit").await;
        assert_eq!(audit.status, 403, "broker admins do not read the audit log");

        // An institution admin may not create a privacy officer, nor an
        // account for another institution.
        let mbo_admin = broker.create_staff("admin.25lx", Role::InstitutionAdmin, Some(MBO));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &mbo_admin).await;
        let page = console.get("/console/staff").await;
        assert!(!page.body.contains("value=\"privacy_officer\""), "not offered");
        assert!(
            !page.body.contains("beheer.27gh"),
            "another institution's account is not listed"
        );
        let token = page.csrf();
        let refused = console
            .post(
                "/console/staff",
                &[
                    ("csrf", token.as_str()),
                    ("username", "fg.nieuw"),
                    ("display_name", "FG Nieuw"),
                    ("role", "privacy_officer"),
                    ("institution", OTHER_MBO),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.body.contains("Kies een rol"));
        let sneaky = console
            .post(
                "/console/staff",
                &[
                    ("csrf", token.as_str()),
                    ("username", "intaker.sneaky"),
                    ("display_name", "Sneaky"),
                    ("role", "intaker"),
                    ("institution", OTHER_MBO),
                ],
            )
            .await;
        assert_eq!(sneaky.status, 200, "{}", sneaky.body);
        let listed = console.get("/console/staff").await;
        let row_start = listed.body.find("data-username=\"intaker.sneaky\"").expect("created");
        assert!(
            listed.body[row_start..].split("</tr>").next().unwrap().contains(MBO),
            "created in the admin's own institution, whatever was posted"
        );

        // The broker's privacy officer sees every institution's events.
        let student = bsn(814);
        student_applied(&broker, &student).await;
        let fg = broker.create_staff("fg.broker.console", Role::PrivacyOfficer, None);
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &fg).await;
        let token = console.get("/console/audit").await.csrf();
        let page = console
            .post("/console/audit", &[("csrf", &token), ("student_number", &student)])
            .await;
        assert!(
            page.body.contains("<code>register_application</code>")
                && page.body.contains("<code>record_inspection</code>")
        );
    })
    .await;
}

#[tokio::test]
async fn the_log_badge_turns_red_when_the_stored_log_no_longer_matches_its_checkpoint() {
    use diesel::connection::SimpleConnection;
    use doorstroom_tests::TestBackend;

    TestBroker::on_every_backend(|broker| async move {
        student_applied(&broker, &bsn(815)).await;
        let broker_fg = broker.staff("fg.badge", Role::PrivacyOfficer, None).await;
        let (status, _) = broker_fg
            .send(reqwest::Method::POST, "/v1/audit/checkpoint", None)
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 200);
        let fg = broker.create_staff("fg.badge.mbo", Role::PrivacyOfficer, Some(MBO));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &fg).await;
        let page = console.get("/console/audit").await;
        assert!(page.body.contains("class=\"badge ok\""), "{}", page.body);
        assert!(page.body.contains("geverifieerd") && !page.body.contains("NIET geverifieerd"));

        // Someone with database access rewrites the stored tree.
        let tamper = match broker.backend {
            TestBackend::Sqlite => {
                "DROP TRIGGER audit_hashes_no_update; \
                 UPDATE audit_hashes SET hash = (SELECT hash FROM audit_hashes WHERE idx = 0) WHERE idx > 0;"
            }
            TestBackend::Postgres => {
                "ALTER TABLE audit_hashes DISABLE TRIGGER USER; \
                 UPDATE audit_hashes SET hash = (SELECT hash FROM audit_hashes WHERE idx = 0) WHERE idx > 0;"
            }
        };
        broker
            .store
            .write(|c| -> Result<(), doorstroom_store::StoreError> { Ok(c.batch_execute(tamper)?) })
            .unwrap();
        let page = console.get("/console/audit").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("class=\"badge bad\""), "{}", page.body);
        assert!(page.body.contains("NIET geverifieerd"), "{}", page.body);
    })
    .await;
}

/// Issue 15: the institution admin sees its webhook endpoint (registered
/// through the API) on the keys page; another institution's admin does not.
#[tokio::test]
async fn the_webhook_endpoint_is_on_its_own_institutions_keys_page_only() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = broker.create_staff("admin.hook", Role::InstitutionAdmin, Some(MBO));
        let api = broker.login(&admin).await;
        let url = "https://intake.rocmidden.example/doorstroom";
        let reply = api
            .fetch(
                reqwest::Method::PUT,
                &format!("/v1/institutions/{MBO}/webhook"),
                Some(&serde_json::json!({"url": url})),
            )
            .await
            .expect("register");
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &admin).await;
        let keys = console.get("/console/keys").await;
        assert_eq!(keys.status, 200);
        assert!(
            keys.body.contains("id=\"webhook-url\"") && keys.body.contains(url),
            "{}",
            keys.body
        );
        let other = broker.create_staff("admin.hook.other", Role::InstitutionAdmin, Some(OTHER_MBO));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &other).await;
        let keys = console.get("/console/keys").await;
        assert_eq!(keys.status, 200);
        assert!(!keys.body.contains(url), "{}", keys.body);

        // Only who may manage it gets the form; a privacy officer's post
        // is the same 404 as a missing page, and changes nothing.
        let officer = broker.create_staff("fg.hook", Role::PrivacyOfficer, Some(MBO));
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &officer).await;
        let keys = console.get("/console/keys").await;
        assert!(keys.body.contains(url) && !keys.body.contains("id=\"webhook-form\""));
        let csrf = keys.csrf();
        for path in ["/console/keys/webhook", "/console/keys/webhook/remove"] {
            let refused = console
                .post(path, &[("csrf", &csrf), ("url", "https://evil.example/x")])
                .await;
            assert_eq!(refused.status, 404, "{path}: {}", refused.body);
        }
        let mut console = ConsoleClient::new(&broker);
        console.login(&broker, &admin).await;
        let forged = console
            .post("/console/keys/webhook/remove", &[("csrf", "forged")])
            .await;
        assert_eq!(forged.status, 403, "{}", forged.body);
        let keys = console.get("/console/keys").await;
        assert!(keys.body.contains(url) && keys.body.contains("id=\"webhook-form\""));
        let refusals = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.action.name == "manage_certificates" && e.actor.id.as_deref() == Some(officer.id.as_str()))
            .count();
        assert_eq!(refusals, 2, "each refused post audited");
    })
    .await;
}
