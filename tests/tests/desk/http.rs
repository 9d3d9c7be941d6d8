//! The desk over plain HTTPS: the start-up key check, the console's
//! security headers and cookie flags, who gets in, each class of bad input
//! on the desk's forms and paths (a 4xx page, never a 500), and that the
//! broker's audit log names the intaker for every pull and status.

use doorstroom_domain::{ApplicationStatus, Role};
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, VO};
use reqwest::header::{HeaderName, SET_COOKIE};

use crate::console_support::bsn;
use crate::support::{DeskClient, connect, send_dossier, start_desk, start_desk_of, student_applied};

#[tokio::test]
async fn a_desk_whose_key_is_not_the_published_one_refuses_to_start() {
    TestBroker::on_every_backend(|broker| async move {
        let wrong_key = connect(&broker, MBO, OTHER_MBO).await.err().expect("refused");
        let message = wrong_key.to_string();
        assert!(
            message.contains("does not match the encryption key the broker publishes for 25LX"),
            "{message}"
        );
        assert!(
            message.contains("27GH-enc") && message.contains("25LX-enc"),
            "names both keys: {message}"
        );

        let not_an_mbo = connect(&broker, VO, VO).await.err().expect("refused");
        assert!(
            not_an_mbo.to_string().contains("not an mbo's system certificate"),
            "{not_an_mbo}"
        );

        assert!(connect(&broker, MBO, MBO).await.is_ok(), "the right key starts");
    })
    .await;
}

fn header<'a>(page: &'a crate::support::Page, name: &str) -> &'a str {
    page.headers
        .get(HeaderName::from_bytes(name.as_bytes()).unwrap())
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Headers of the console on every page, pages never cached.
fn assert_security_headers(page: &crate::support::Page) {
    assert_eq!(
        header(page, "content-security-policy"),
        doorstroom_desk::CONTENT_SECURITY_POLICY
    );
    assert_eq!(header(page, "x-content-type-options"), "nosniff");
    assert_eq!(header(page, "x-frame-options"), "DENY");
    assert_eq!(header(page, "referrer-policy"), "no-referrer");
    assert_eq!(header(page, "cache-control"), "no-store");
    assert!(header(page, "strict-transport-security").starts_with("max-age="));
}

/// Who gets in: bad logins are refused by class, before a session exists.
async fn logins(broker: &TestBroker, desk: &mut DeskClient) {
    let login_page = desk.get("/login").await;
    assert_eq!(login_page.status, 200);
    assert_security_headers(&login_page);
    assert!(!login_page.body.contains("<script"), "no JavaScript");

    let missing = desk.post("/login", &[("username", "x"), ("password", "y")]).await;
    assert_eq!(missing.status, 400, "a field missing");
    let shape = desk
        .post("/login", &[("username", "x"), ("password", "y"), ("totp", "12ab56")])
        .await;
    assert_eq!(shape.status, 422, "a code that is not six digits");
    let cross_site = desk
        .post_raw(
            "/login",
            "username=x&password=y&totp=123456".into(),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross_site.status, 403, "a login posted from another site");

    let intaker = broker.create_staff("intaker.desk", Role::Intaker, Some(MBO));
    let mut wrong = intaker.clone();
    wrong.password = "not the password at all".into();
    assert_eq!(desk.login(broker, &wrong).await.status, 401);

    for (username, role, institution) in [
        ("intaker.other", Role::Intaker, OTHER_MBO),
        ("fg.desk", Role::PrivacyOfficer, MBO),
    ] {
        let creds = broker.create_staff(username, role, Some(institution));
        let page = desk.login(broker, &creds).await;
        assert_eq!(page.status, 403, "{username}: {}", page.body);
        assert!(page.body.contains("alleen voor intakers"), "{}", page.body);
        assert!(desk.session.is_none(), "{username} got no session");
    }

    let ok = desk.login(broker, &intaker).await;
    assert_eq!((ok.status, ok.location()), (303, Some("/inbox")), "{}", ok.body);
    let cookie = header(&ok, SET_COOKIE.as_str());
    assert!(cookie.starts_with("__Host-doorstroom-desk="), "{cookie}");
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
}

#[tokio::test]
async fn the_desk_keeps_the_console_rules_and_refuses_bad_input() {
    TestBroker::on_every_backend(|broker| async move {
        let (_running, url) = start_desk(&broker).await;
        let mut desk = DeskClient::new(&broker, &url);
        let no_session = desk.get("/inbox").await;
        assert_eq!((no_session.status, no_session.location()), (303, Some("/login")));
        desk.session = Some("__Host-doorstroom-desk=forged".into());
        let forged = desk.get("/inbox").await;
        assert_eq!((forged.status, forged.location()), (303, Some("/login?expired=1")));
        desk.session = None;

        logins(&broker, &mut desk).await;
        let empty = desk.get("/inbox").await;
        assert_eq!(empty.status, 200, "{}", empty.body);
        assert!(empty.body.contains("id=\"inbox-empty\""), "{}", empty.body);

        let application = student_applied(&broker, &bsn(501)).await;
        let package = send_dossier(&broker, application).await;
        let inbox = desk.get("/inbox").await;
        assert_security_headers(&inbox);
        for shown in [
            "Sam de Vries",
            "Verzorgende IG",
            "class=\"new\"",
            "http-equiv=\"refresh\"",
        ] {
            assert!(inbox.body.contains(shown), "{shown} in {}", inbox.body);
        }
        assert!(
            !desk.get("/inbox").await.body.contains("class=\"new\""),
            "seen once, new no more"
        );

        bad_paths(&desk, &package).await;
        let page = desk.get(&format!("/dossiers/{package}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for shown in [
            "extra tijd bij toetsen",
            "Sam wil graag eerst kennismaken.",
            "ouder",
            "2027-03-02",
            "rapport.txt",
        ] {
            assert!(page.body.contains(shown), "{shown} in the dossier page");
        }
        let file = desk.get(&format!("/dossiers/{package}/attachments/0")).await;
        assert_eq!((file.status, file.body.as_str()), (200, "Rapport van Sam"));
        assert!(header(&file, "content-disposition").starts_with("attachment;"));

        bad_forms(&desk, &package, &page.csrf()).await;
        statuses(&broker, &desk, &package, &page.csrf(), application).await;

        let out = desk.post("/logout", &[("csrf", &page.csrf())]).await;
        assert_eq!((out.status, out.location()), (303, Some("/login")));
        assert_eq!(desk.get("/inbox").await.location(), Some("/login?expired=1"));
    })
    .await;
}

/// Paths that name nothing: the same 404 page.
async fn bad_paths(desk: &DeskClient, package: &str) {
    let other = uuid::Uuid::new_v4();
    for path in [
        "/dossiers/not-a-uuid".to_owned(),
        format!("/dossiers/{other}"),
        format!("/dossiers/{package}/attachments/x"),
        format!("/dossiers/{package}/attachments/7"),
        format!("/dossiers/{other}/attachments/0"),
        "/nothing-here".to_owned(),
    ] {
        let page = desk.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.body);
        assert!(page.body.contains("id=\"error-message\""), "{path}: a page");
    }
}

/// A form without the right token, from another site, or with a value the
/// desk does not take.
async fn bad_forms(desk: &DeskClient, package: &str, csrf: &str) {
    let path = format!("/dossiers/{package}/status");
    let refused = [
        (desk.post(&path, &[("status", "intake_held")]).await, 403, "no token"),
        (
            desk.post(&path, &[("status", "intake_held"), ("csrf", "wrong")]).await,
            403,
            "a wrong token",
        ),
        (
            desk.post_raw(
                &path,
                format!("status=intake_held&csrf={csrf}"),
                &[("sec-fetch-site", "cross-site")],
            )
            .await,
            403,
            "another site",
        ),
        (desk.post(&path, &[("csrf", csrf)]).await, 400, "no status"),
        (
            desk.post(&path, &[("status", "graduated"), ("csrf", csrf)]).await,
            422,
            "no such status",
        ),
        (
            desk.post(&path, &[("status", "registered"), ("csrf", csrf)]).await,
            422,
            "not the desk's to report",
        ),
        (
            desk.post("/dossiers/not-a-uuid/acknowledge", &[("csrf", csrf)]).await,
            404,
            "no such package",
        ),
        (desk.post("/logout", &[]).await, 403, "a logout without token"),
    ];
    for (page, status, why) in refused {
        assert_eq!(page.status, status, "{why}: {}", page.body);
    }
}

/// Acknowledge and report through the desk; the broker refuses a move its
/// state machine does not allow (409 page), and the vo side sees the rest.
/// The audit log names the intaker for each pull and status.
async fn statuses(broker: &TestBroker, desk: &DeskClient, package: &str, csrf: &str, application: uuid::Uuid) {
    let ack = desk
        .post(&format!("/dossiers/{package}/acknowledge"), &[("csrf", csrf)])
        .await;
    assert_eq!(ack.status, 303, "{}", ack.body);
    let path = format!("/dossiers/{package}/status");
    let early = desk.post(&path, &[("status", "intake_held"), ("csrf", csrf)]).await;
    assert_eq!(early.status, 409, "intake held before it was scheduled: {}", early.body);
    let bad_day = desk
        .post(
            &path,
            &[
                ("status", "intake_scheduled"),
                ("intake_on", "12-05-2027"),
                ("csrf", csrf),
            ],
        )
        .await;
    assert_eq!(bad_day.status, 400, "a day of intake that is not one: {}", bad_day.body);
    for status in ["intake_scheduled", "intake_held"] {
        let page = desk.post(&path, &[("status", status), ("csrf", csrf)]).await;
        assert_eq!(page.status, 303, "{status}: {}", page.body);
    }
    let seen_by_vo = broker.system(VO).application(application).await.unwrap();
    assert_eq!(seen_by_vo.application.status, ApplicationStatus::IntakeHeld);

    let username = doorstroom_domain::Username::parse("intaker.desk").unwrap();
    let intaker = broker
        .store
        .read(|conn| doorstroom_store::staff::by_username(conn, &username))
        .unwrap()
        .unwrap()
        .id;
    let events = broker.audit_events();
    let pulls: Vec<_> = events.iter().filter(|e| e.action.name == "pull_package").collect();
    assert!(!pulls.is_empty());
    assert!(
        pulls.iter().all(|e| e.on_behalf_of == Some(intaker)),
        "every pull names the intaker"
    );
    let reported = events
        .iter()
        .filter(|e| e.action.name == "report_status" && e.outcome == doorstroom_domain::Outcome::Success)
        .count();
    assert_eq!(reported, 2);
    assert!(
        events
            .iter()
            .filter(|e| e.action.name == "report_status")
            .all(|e| e.actor.id.as_deref() == Some(intaker.to_string().as_str())),
        "the intaker reported"
    );
}

/// When the broker no longer has a package (here: erased on the student's
/// request), the desk shows nothing of it any more: the dossier and its
/// attachment are the same 404 as an unknown package, the inbox is empty.
#[tokio::test]
async fn a_package_the_broker_erased_is_gone_from_the_desk() {
    TestBroker::on_every_backend(|broker| async move {
        let (_running, url) = start_desk(&broker).await;
        let mut desk = DeskClient::new(&broker, &url);
        let intaker = broker.create_staff("intaker.weg", Role::Intaker, Some(MBO));
        assert_eq!(desk.login(&broker, &intaker).await.status, 303);
        let student = bsn(701);
        let application = student_applied(&broker, &student).await;
        let package = send_dossier(&broker, application).await;
        let dossier = format!("/dossiers/{package}");
        let file = format!("{dossier}/attachments/0");
        assert_eq!(desk.get(&dossier).await.status, 200);
        assert_eq!(desk.get(&file).await.status, 200);

        let officer = broker.staff("fg.weg", Role::PrivacyOfficer, Some(MBO)).await;
        let number = doorstroom_domain::StudentNumber::bsn(&student).unwrap();
        let erased = officer
            .erase_student(&number, "student", "verzoek van de leerling", None)
            .await
            .unwrap();
        assert_eq!(erased.packages, 1, "{erased:?}");

        for path in [&file, &dossier] {
            let page = desk.get(path).await;
            assert_eq!(page.status, 404, "{path}: {}", page.body);
            assert!(!page.body.contains("Sam de Vries"), "{path}");
        }
        let inbox = desk.get("/inbox").await;
        assert!(inbox.body.contains("id=\"inbox-empty\"") && !inbox.body.contains("Sam de Vries"));
    })
    .await;
}

/// The broker decides how long a login lasts: once it refuses the
/// intaker's token (here: expired on the broker's clock), the desk ends
/// the session at the next access that needs the token, and the intaker
/// must log in again.
#[tokio::test]
async fn the_session_ends_when_the_broker_refuses_the_token() {
    TestBroker::on_every_backend(|broker| async move {
        let (_running, url) = start_desk(&broker).await;
        let mut desk = DeskClient::new(&broker, &url);
        let intaker = broker.create_staff("intaker.laat", Role::Intaker, Some(MBO));
        assert_eq!(desk.login(&broker, &intaker).await.status, 303);
        let application = student_applied(&broker, &bsn(801)).await;
        let package = send_dossier(&broker, application).await;
        assert_eq!(desk.get(&format!("/dossiers/{package}")).await.status, 200);

        broker.clock.advance(chrono::Duration::minutes(16));
        let page = desk.get(&format!("/dossiers/{package}")).await;
        assert_eq!(
            (page.status, page.location()),
            (303, Some("/login?expired=1")),
            "{}",
            page.body
        );
        let after = desk.get("/inbox").await;
        assert_eq!(after.location(), Some("/login?expired=1"), "the session is gone");
    })
    .await;
}

/// The other mbo's intaker, on the other mbo's own desk, sees nothing of a
/// dossier sent to 25LX: not in the inbox, and its page and attachment are
/// the 404 of a package that does not exist.
#[tokio::test]
async fn another_mbos_desk_shows_nothing_of_it() {
    TestBroker::on_every_backend(|broker| async move {
        let (_running, url) = start_desk_of(&broker, OTHER_MBO).await;
        let mut desk = DeskClient::new(&broker, &url);
        let other = broker.create_staff("intaker.zuid", Role::Intaker, Some(OTHER_MBO));
        assert_eq!(desk.login(&broker, &other).await.status, 303);
        let application = student_applied(&broker, &bsn(901)).await;
        let package = send_dossier(&broker, application).await;

        let inbox = desk.get("/inbox").await;
        assert!(inbox.body.contains("id=\"inbox-empty\""), "{}", inbox.body);
        let unknown = desk.get(&format!("/dossiers/{}", uuid::Uuid::new_v4())).await;
        for path in [
            format!("/dossiers/{package}"),
            format!("/dossiers/{package}/attachments/0"),
        ] {
            let page = desk.get(&path).await;
            assert_eq!(page.status, 404, "{path}");
            assert_eq!(page.body, unknown.body, "{path}: the same page as for nothing");
        }
        // The broker recorded each attempt, in the other intaker's name.
        let refused = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.action.name == "pull_package" && e.outcome == doorstroom_domain::Outcome::Denied)
            .filter(|e| e.on_behalf_of.map(|s| s.to_string()) == Some(other.id.clone()))
            .count();
        assert!(refused >= 2, "the refused pulls are audited: {refused}");
        // 25LX's intaker is not let in at 27GH's desk.
        let ours = broker.create_staff("intaker.noord", Role::Intaker, Some(MBO));
        let mut stranger = DeskClient::new(&broker, &url);
        assert_eq!(stranger.login(&broker, &ours).await.status, 403);
    })
    .await;
}

/// A long inbox fills in its names over a few views: one view pulls at
/// most 20 packages (each pull is an access on the record and counts
/// towards the broker's anomaly alert), the next the rest.
#[tokio::test]
async fn one_inbox_view_pulls_a_bounded_number_of_packages() {
    TestBroker::on_every_backend(|broker| async move {
        let (_running, url) = start_desk(&broker).await;
        let mut desk = DeskClient::new(&broker, &url);
        let intaker = broker.create_staff("intaker.veel", Role::Intaker, Some(MBO));
        assert_eq!(desk.login(&broker, &intaker).await.status, 303);
        let application = student_applied(&broker, &bsn(1001)).await;
        for _ in 0..21 {
            send_dossier(&broker, application).await;
        }
        let pulls = |broker: &TestBroker| {
            broker
                .audit_events()
                .iter()
                .filter(|e| e.action.name == "pull_package")
                .count()
        };
        let first = desk.get("/inbox").await;
        assert_eq!(first.body.matches("Sam de Vries").count(), 20, "twenty names");
        assert_eq!(pulls(&broker), 20);
        let second = desk.get("/inbox").await;
        assert_eq!(second.body.matches("Sam de Vries").count(), 21, "then all");
        assert_eq!(pulls(&broker), 21, "the held ones are not pulled again");
    })
    .await;
}

/// The arrival marker comes from the mbo's event feed: a package that was
/// there before the desk started is not new; one that arrives while it
/// runs is new once for each intaker.
#[tokio::test]
async fn the_arrival_marker_follows_the_event_feed() {
    TestBroker::on_every_backend(|broker| async move {
        let before = send_dossier(&broker, student_applied(&broker, &bsn(801)).await).await;
        let (_running, url) = start_desk(&broker).await;
        let mut desk = DeskClient::new(&broker, &url);
        let intaker = broker.create_staff("intaker.feed", Role::Intaker, Some(MBO));
        assert_eq!(desk.login(&broker, &intaker).await.status, 303);
        let first = desk.get("/inbox").await;
        assert!(first.body.contains(&format!("package-{before}")), "{}", first.body);
        assert!(!first.body.contains("class=\"new\""), "there before the desk started");

        let arrived = send_dossier(&broker, student_applied(&broker, &bsn(802)).await).await;
        let inbox = desk.get("/inbox").await;
        let row = |body: &str, package: &str| {
            let start = body.find(&format!("id=\"package-{package}\"")).expect("listed");
            body[start..].split("</tr>").next().unwrap_or_default().to_owned()
        };
        assert!(row(&inbox.body, &arrived).contains("class=\"new\""), "{}", inbox.body);
        assert!(!row(&inbox.body, &before).contains("class=\"new\""), "{}", inbox.body);
        assert!(
            !desk.get("/inbox").await.body.contains("class=\"new\""),
            "looked at once"
        );

        let mut colleague = DeskClient::new(&broker, &url);
        let other = broker.create_staff("intaker.feed2", Role::Intaker, Some(MBO));
        assert_eq!(colleague.login(&broker, &other).await.status, 303);
        let theirs = colleague.get("/inbox").await;
        assert!(
            row(&theirs.body, &arrived).contains("class=\"new\""),
            "new to a colleague"
        );
    })
    .await;
}

/// The dossier page names the sending school's contact for the warm
/// handover, as the school's admin set it in the registry, and says so
/// when there is none.
#[tokio::test]
async fn the_dossier_names_the_schools_handover_contact() {
    TestBroker::on_every_backend(|broker| async move {
        let (_running, url) = start_desk(&broker).await;
        let mut desk = DeskClient::new(&broker, &url);
        let intaker = broker.create_staff("intaker.contact", Role::Intaker, Some(MBO));
        assert_eq!(desk.login(&broker, &intaker).await.status, 303);
        let package = send_dossier(&broker, student_applied(&broker, &bsn(803)).await).await;
        let dossier = format!("/dossiers/{package}");
        let none = desk.get(&dossier).await;
        assert!(none.body.contains("geen contactpersoon"), "{}", none.body);

        let admin = broker.staff("admin.contact.vo", Role::InstitutionAdmin, Some(VO)).await;
        let contact = serde_json::json!({"handover": {"name": "J. de Boer", "role": "zorgcoördinator", "email": "j.deboer@school.example", "phone": "030 123 45 67"}});
        let set = admin
            .fetch(reqwest::Method::PUT, &format!("/v1/institutions/{VO}/contact"), Some(&contact))
            .await
            .unwrap();
        assert_eq!(set.status.as_u16(), 200, "{}", set.body);
        let page = desk.get(&dossier).await;
        let start = page.body.find("id=\"handover-contact\"").expect("the contact");
        let shown: String = page.body[start..].chars().take(300).collect();
        for part in ["J. de Boer", "zorgcoördinator", "030 123 45 67", "mailto:j.deboer@school.example"] {
            assert!(shown.contains(part), "{part} in {shown}");
        }
    })
    .await;
}
