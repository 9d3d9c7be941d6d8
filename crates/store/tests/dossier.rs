//! Applications, status feedback and packages, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::connection::SimpleConnection;
use doorstroom_domain::{ActorRef, ApplicationStatus, Section, Sector, StaffId, StatusReport};
use doorstroom_store::applications::{self, Application};
use doorstroom_store::packages::{self, PackageSummary};
use doorstroom_store::testing::TestDb;
use doorstroom_store::{DbConn, Store, StoreError, audit, institutions};

type R<T> = Result<T, StoreError>;

const VO: &str = "25LX";
const OTHER_VO: &str = "26AB";
const MBO: &str = "30AB";
const OTHER_MBO: &str = "31CD";

fn seeded(db: &TestDb) -> Store {
    let store = db.store();
    store
        .write(|c| -> R<()> {
            institutions::insert(c, &institution(VO, Sector::Vo))?;
            institutions::insert(c, &institution(OTHER_VO, Sector::Vo))?;
            institutions::insert(c, &institution(MBO, Sector::Mbo))?;
            institutions::insert(c, &institution(OTHER_MBO, Sector::Mbo))
        })
        .unwrap();
    store
}

fn register(store: &Store, new: &applications::NewApplication, t: i64) -> Application {
    let (app, created) = store.write(|c| applications::register(c, new, at(t))).unwrap();
    assert!(created);
    app
}

fn register_is_idempotent(db: &TestDb) {
    let store = seeded(db);
    let new = new_application(1, MBO, Some(VO), "Verzorgende IG");
    let (first, created) = store.write(|c| applications::register(c, &new, at(10))).unwrap();
    assert!(created);
    assert_eq!(first.status, ApplicationStatus::Registered);
    assert_eq!((first.created_at, first.updated_at), (at(10), at(10)));
    assert!(first.same_as(&new));
    assert_eq!(
        store.read(|c| applications::get(c, first.id)).unwrap(),
        Some(first.clone())
    );

    let (again, created) = store.write(|c| applications::register(c, &new, at(20))).unwrap();
    assert!(!created);
    assert_eq!(again, first, "same id, nothing touched");

    // Same key, other details: the existing row comes back unchanged.
    let mut differing = new.clone();
    differing.sending = Some(brin(OTHER_VO));
    differing.late = true;
    let (existing, created) = store.write(|c| applications::register(c, &differing, at(30))).unwrap();
    assert!(!created);
    assert_eq!(existing, first);
    assert!(!existing.same_as(&differing));

    // Another programme, school year or institution is another application.
    let mut next_year = new.clone();
    next_year.school_year = 2027;
    next_year.late = true;
    next_year.crebo = None;
    next_year.applied_on = chrono::NaiveDate::from_ymd_opt(2027, 4, 2).unwrap();
    let other = register(&store, &next_year, 40);
    assert_ne!(other.id, first.id);
    let stored = store.read(|c| applications::get(c, other.id)).unwrap().unwrap();
    assert!(stored.late && stored.same_as(&next_year), "{stored:?}");
    register(&store, &new_application(1, MBO, Some(VO), "Kok"), 50);
    register(&store, &new_application(1, OTHER_MBO, Some(VO), "Verzorgende IG"), 60);

    // Only the registration is in the history, once.
    let history = store.read(|c| applications::status_history(c, first.id)).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status, ApplicationStatus::Registered);
    assert_eq!(history[0].reported_by, system_actor());
    assert_eq!(history[0].reported_at, at(10));
    assert_eq!(
        store.read(|c| applications::get(c, uuid::Uuid::new_v4())).unwrap(),
        None
    );
}

/// Racing registrations of one application make one row; every caller
/// gets it back.
fn concurrent_registrations_make_one_application(db: &TestDb) {
    let store = seeded(db);
    let new = new_application(1, MBO, Some(VO), "Kok");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|n| {
            let (store, new, barrier) = (store.clone(), new.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store
                    .write(|c| -> R<_> {
                        let result = applications::register(c, &new, at(n))?;
                        // Hold the transaction open a little, so the others
                        // run into the uncommitted row.
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        Ok(result)
                    })
                    .unwrap()
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    let id = results[0].0.id;
    assert!(results.iter().all(|(app, _)| app.id == id));
    assert_eq!(
        store
            .read(|c| applications::find_for_student(c, &pseudonym(1), None))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.read(|c| applications::status_history(c, id)).unwrap().len(), 1);
}

fn register_unknown_institution_is_not_found(db: &TestDb) {
    let store = seeded(db);
    let err = store
        .write(|c| applications::register(c, &new_application(1, "99ZZ", Some(VO), "Kok"), at(0)))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = store
        .write(|c| applications::register(c, &new_application(1, MBO, Some("99ZZ"), "Kok"), at(0)))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    // The savepoint keeps the transaction usable for the audit event.
    store
        .write(|c| -> R<()> {
            let failed = applications::register(c, &new_application(1, "99ZZ", None, "Kok"), at(0));
            assert!(matches!(failed, Err(StoreError::NotFound)));
            audit::append(c, &event(1))
        })
        .unwrap();
    assert_eq!(doorstroom_store::testing::last_seq(&store), 1);
    assert!(
        store
            .read(|c| applications::find_for_student(c, &pseudonym(1), None))
            .unwrap()
            .is_empty()
    );
}

fn find_for_student_and_open_for(db: &TestDb) {
    let store = seeded(db);
    let a = register(&store, &new_application(1, MBO, Some(VO), "Kok"), 10);
    let b = register(&store, &new_application(1, OTHER_MBO, Some(OTHER_VO), "Kok"), 20);
    let c_ = register(&store, &new_application(1, MBO, None, "Bakker"), 30);
    let d = register(&store, &new_application(1, MBO, Some(VO), "Verzorgende IG"), 40);
    let _someone_else = register(&store, &new_application(2, MBO, Some(VO), "Kok"), 5);

    let all = store
        .read(|c| applications::find_for_student(c, &pseudonym(1), None))
        .unwrap();
    assert_eq!(all, vec![a.clone(), b.clone(), c_.clone(), d.clone()], "oldest first");
    let from_vo = store
        .read(|c| applications::find_for_student(c, &pseudonym(1), Some(&brin(VO))))
        .unwrap();
    assert_eq!(from_vo, vec![a.clone(), d.clone()], "only those naming the school");
    let from_other = store
        .read(|c| applications::find_for_student(c, &pseudonym(1), Some(&brin(OTHER_VO))))
        .unwrap();
    assert_eq!(from_other, vec![b.clone()]);
    assert!(
        store
            .read(|c| applications::find_for_student(c, &pseudonym(9), None))
            .unwrap()
            .is_empty()
    );

    let open = store
        .read(|c| applications::open_for(c, &pseudonym(1), &brin(MBO)))
        .unwrap();
    assert_eq!(open, vec![a.clone(), c_.clone(), d.clone()]);
    // Closing statuses take an application out; enrolled does not.
    store
        .write(|c| -> R<()> {
            applications::set_status(
                c,
                a.id,
                StatusReport::status_only(ApplicationStatus::Withdrawn),
                &system_actor(),
                at(100),
            )?;
            applications::set_status(
                c,
                c_.id,
                StatusReport::status_only(ApplicationStatus::Enrolled),
                &system_actor(),
                at(100),
            )?;
            Ok(())
        })
        .unwrap();
    let open: Vec<_> = store
        .read(|c| applications::open_for(c, &pseudonym(1), &brin(MBO)))
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(open, vec![c_.id, d.id]);
}

fn status_and_history(db: &TestDb) {
    let store = seeded(db);
    let app = register(&store, &new_application(1, MBO, Some(VO), "Kok"), 10);
    let received = store
        .write(|c| {
            applications::set_status(
                c,
                app.id,
                StatusReport::status_only(ApplicationStatus::Received),
                &system_actor(),
                at(20),
            )
        })
        .unwrap()
        .unwrap();
    assert_eq!(received.status, ApplicationStatus::Received);
    assert_eq!(received.updated_at, at(20));
    assert_eq!(received.created_at, at(10));

    // The same status again: nothing changes, no event.
    let same = store
        .write(|c| {
            applications::set_status(
                c,
                app.id,
                StatusReport::status_only(ApplicationStatus::Received),
                &system_actor(),
                at(25),
            )
        })
        .unwrap();
    assert_eq!(same, Some(received.clone()));

    let staff_actor = ActorRef::Staff(StaffId(uuid::Uuid::new_v4()));
    let may_12 = chrono::NaiveDate::from_ymd_opt(2027, 5, 12);
    let schedule = |day| StatusReport::new(ApplicationStatus::IntakeScheduled, day).unwrap();
    let scheduled = store
        .write(|c| applications::set_status(c, app.id, schedule(may_12), &staff_actor, at(30)))
        .unwrap()
        .unwrap();
    assert_eq!(store.read(|c| applications::get(c, app.id)).unwrap(), Some(scheduled));
    // The same day again: a retry, no event; another day: the intake moved.
    let may_19 = chrono::NaiveDate::from_ymd_opt(2027, 5, 19);
    for (day, time) in [(may_12, 31), (may_19, 32), (may_19, 33)] {
        store
            .write(|c| applications::set_status(c, app.id, schedule(day), &staff_actor, at(time)))
            .unwrap();
    }

    let history = store.read(|c| applications::status_history(c, app.id)).unwrap();
    let seen: Vec<_> = history
        .iter()
        .map(|e| {
            (
                e.status,
                e.reported_at,
                e.reported_by.clone(),
                e.application_id,
                e.intake_on,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (ApplicationStatus::Registered, at(10), system_actor(), app.id, None),
            (ApplicationStatus::Received, at(20), system_actor(), app.id, None),
            (
                ApplicationStatus::IntakeScheduled,
                at(30),
                staff_actor.clone(),
                app.id,
                may_12
            ),
            (
                ApplicationStatus::IntakeScheduled,
                at(32),
                staff_actor.clone(),
                app.id,
                may_19
            ),
        ]
    );

    let nobody = uuid::Uuid::new_v4();
    assert_eq!(
        store
            .write(|c| applications::set_status(
                c,
                nobody,
                StatusReport::status_only(ApplicationStatus::Received),
                &system_actor(),
                at(1)
            ))
            .unwrap(),
        None
    );
    assert!(
        store
            .read(|c| applications::status_history(c, nobody))
            .unwrap()
            .is_empty()
    );
}

fn list_for_sending_pages(db: &TestDb) {
    let store = seeded(db);
    let mut expected = Vec::new();
    for (n, programme) in ["Kok", "Bakker", "Kapper", "Schilder", "Monteur"].iter().enumerate() {
        let t = i64::try_from(n).unwrap() * 10;
        expected.push(register(&store, &new_application(1, MBO, Some(VO), programme), t).id);
    }
    // Two at the same time: ordered by id between them.
    let x = register(&store, &new_application(2, MBO, Some(VO), "Kok"), 100).id;
    let y = register(&store, &new_application(3, MBO, Some(VO), "Kok"), 100).id;
    expected.extend(if x < y { [x, y] } else { [y, x] });
    register(&store, &new_application(4, MBO, Some(OTHER_VO), "Kok"), 50);
    let foreign = register(&store, &new_application(5, MBO, None, "Kok"), 60);

    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .read(|c| applications::list_for_sending(c, &brin(VO), after, 3))
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        after = page.last().map(|a| a.id);
        pages.extend(page.into_iter().map(|a| a.id));
    }
    assert_eq!(pages, expected);
    let err = store
        .read(|c| applications::list_for_sending(c, &brin(VO), Some(foreign.id), 3))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(
        store
            .read(|c| applications::list_for_sending(c, &brin(VO), None, 0))
            .unwrap()
            .is_empty()
    );
}

/// A registered application and a package on it with three sections.
fn with_package(store: &Store) -> (Application, packages::NewPackage, Vec<packages::NewSection>) {
    let app = register(store, &new_application(1, MBO, Some(VO), "Kok"), 0);
    let package = new_package("pkg-1", app.id, 1, VO, MBO, 100);
    let sections = vec![
        new_section(Section::Remarks, 10),
        new_section(Section::PersonalData, 100),
        new_section(Section::SupportNeeds, 50),
    ];
    store.write(|c| packages::insert(c, &package, &sections)).unwrap();
    (app, package, sections)
}

fn package_round_trip(db: &TestDb) {
    let store = seeded(db);
    let (app, new, sections) = with_package(&store);

    let stored = store.read(|c| packages::get(c, "pkg-1")).unwrap().unwrap();
    assert_eq!(stored.id, new.id);
    assert_eq!(stored.application_id, app.id);
    assert_eq!((stored.sender.clone(), stored.recipient.clone()), (brin(VO), brin(MBO)));
    assert_eq!(stored.student, pseudonym(1));
    assert_eq!(stored.jti, new.jti);
    assert_eq!(stored.envelope, new.envelope);
    assert_eq!(stored.envelope_sha256, new.envelope_sha256);
    assert_eq!(stored.sender_kid, new.sender_kid);
    assert_eq!(stored.receipt, new.receipt);
    assert_eq!(stored.submitted_at, at(100));
    assert_eq!(
        (
            stored.delivered_at,
            stored.acknowledged_at,
            stored.acknowledged_by.clone()
        ),
        (None, None, None)
    );
    assert_eq!(
        store.read(|c| packages::by_jti(c, "jti-pkg-1")).unwrap(),
        Some(stored.clone())
    );
    assert_eq!(store.read(|c| packages::by_jti(c, "jti-nope")).unwrap(), None);
    assert_eq!(store.read(|c| packages::get(c, "nope")).unwrap(), None);

    let got = store.read(|c| packages::sections(c, "pkg-1")).unwrap();
    let order: Vec<_> = got.iter().map(|s| s.section).collect();
    assert_eq!(
        order,
        vec![Section::PersonalData, Section::SupportNeeds, Section::Remarks],
        "in section order"
    );
    for s in &got {
        let sent = sections.iter().find(|n| n.section == s.section).unwrap();
        assert_eq!(
            (&s.package_id, &s.ciphertext, s.size, &s.sha256),
            (&new.id, &sent.ciphertext, sent.size, &sent.sha256)
        );
        assert_eq!((s.delivered_at, s.withdrawn_at), (None, None));
        assert!(!format!("{s:?}").contains("CIPHERTEXT"), "Debug hides the ciphertext");
    }
    assert!(store.read(|c| packages::sections(c, "nope")).unwrap().is_empty());

    let summaries = store.read(|c| packages::for_application(c, app.id)).unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].id, "pkg-1");
    assert_eq!(summaries[0].sections.len(), 3);
}

fn duplicate_package_is_conflict_and_nothing_half_inserted(db: &TestDb) {
    let store = seeded(db);
    let (app, first, _) = with_package(&store);
    let count = |store: &Store| -> (i64, i64) {
        store
            .write(|c| -> R<(i64, i64)> {
                #[derive(diesel::QueryableByName)]
                struct N {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                use diesel::RunQueryDsl;
                let p: N = diesel::sql_query("SELECT COUNT(*) AS n FROM packages").get_result(c)?;
                let s: N = diesel::sql_query("SELECT COUNT(*) AS n FROM package_sections").get_result(c)?;
                Ok((p.n, s.n))
            })
            .unwrap()
    };
    assert_eq!(count(&store), (1, 3));

    // Same jti, new id: the package row would clash only on jti; its
    // sections must not stay behind.
    let mut replay = new_package("pkg-2", app.id, 1, VO, MBO, 200);
    replay.jti = first.jti.clone();
    let sections = [new_section(Section::PersonalData, 5), new_section(Section::Remarks, 5)];
    let err = store.write(|c| packages::insert(c, &replay, &sections)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict("package")), "{err:?}");
    assert_eq!(store.read(|c| packages::get(c, "pkg-2")).unwrap(), None);
    assert!(store.read(|c| packages::sections(c, "pkg-2")).unwrap().is_empty());

    // Same id, new jti.
    let mut same_id = new_package("pkg-1", app.id, 1, VO, MBO, 200);
    same_id.jti = "jti-fresh".into();
    let err = store.write(|c| packages::insert(c, &same_id, &sections)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict("package")), "{err:?}");

    // A section twice.
    let twice = [new_section(Section::Remarks, 1), new_section(Section::Remarks, 2)];
    let err = store
        .write(|c| packages::insert(c, &new_package("pkg-3", app.id, 1, VO, MBO, 300), &twice))
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("package_section")), "{err:?}");
    assert_eq!(count(&store), (1, 3));
    assert_eq!(
        store.read(|c| packages::by_jti(c, &first.jti)).unwrap().unwrap().id,
        "pkg-1"
    );

    // The rejection leaves the transaction usable for its audit event.
    store
        .write(|c| -> R<()> {
            assert!(matches!(
                packages::insert(c, &replay, &sections),
                Err(StoreError::Conflict("package"))
            ));
            audit::append(c, &event(1))
        })
        .unwrap();
    assert_eq!(doorstroom_store::testing::last_seq(&store), 1);
    assert_eq!(count(&store), (1, 3));
}

fn package_references_are_enforced(db: &TestDb) {
    let store = seeded(db);
    let app = register(&store, &new_application(1, MBO, Some(VO), "Kok"), 0);
    let other_student = register(&store, &new_application(2, OTHER_MBO, Some(VO), "Kok"), 0);
    let sections = [new_section(Section::PersonalData, 5)];
    let cases = [
        ("unknown sender", new_package("p1", app.id, 1, "99ZZ", MBO, 1)),
        ("unknown recipient", new_package("p2", app.id, 1, VO, "99ZZ", 1)),
        (
            "unknown application",
            new_package("p3", uuid::Uuid::new_v4(), 1, VO, MBO, 1),
        ),
        ("another student", new_package("p4", app.id, 2, VO, MBO, 1)),
        ("another recipient", new_package("p5", app.id, 1, VO, OTHER_MBO, 1)),
        (
            "another's application",
            new_package("p6", other_student.id, 1, VO, MBO, 1),
        ),
    ];
    for (what, package) in &cases {
        let err = store.write(|c| packages::insert(c, package, &sections)).unwrap_err();
        assert!(matches!(err, StoreError::NotFound), "{what}: {err:?}");
    }
    assert!(
        store
            .read(|c| packages::inbox(c, &brin(MBO), None, 100))
            .unwrap()
            .is_empty()
    );
    assert!(store.read(|c| packages::sections(c, "p1")).unwrap().is_empty());
}

fn sections_need_their_package(db: &TestDb) {
    let store = seeded(db);
    // Raw SQL, bypassing the repository: the database refuses.
    let result = store.write(|c: &mut DbConn| -> R<()> {
        Ok(c.batch_execute(
            "INSERT INTO package_sections (package_id, section, ciphertext, size, sha256) \
             VALUES ('no-such-package', 'remarks', 'x', 1, 'aa')",
        )?)
    });
    assert!(result.is_err());
    let result = store.write(|c: &mut DbConn| -> R<()> {
        Ok(c.batch_execute(
            "INSERT INTO application_status_events (application_id, status, reported_at, reported_by) \
             VALUES ('00000000-0000-0000-0000-000000000000', 'received', 0, 'system:x')",
        )?)
    });
    assert!(result.is_err());
}

fn inbox_is_metadata_in_submission_order(db: &TestDb) {
    let store = seeded(db);
    let app1 = register(&store, &new_application(1, MBO, Some(VO), "Kok"), 0);
    let app2 = register(&store, &new_application(2, MBO, Some(OTHER_VO), "Kok"), 0);
    let app3 = register(&store, &new_application(3, OTHER_MBO, Some(VO), "Kok"), 0);
    store
        .write(|c| -> R<()> {
            // Inserted out of order on purpose.
            packages::insert(
                c,
                &new_package("c-late", app1.id, 1, VO, MBO, 300),
                &[new_section(Section::PersonalData, 7)],
            )?;
            packages::insert(
                c,
                &new_package("a-early", app2.id, 2, OTHER_VO, MBO, 100),
                &[
                    new_section(Section::Attachments, 40),
                    new_section(Section::PersonalData, 20),
                    new_section(Section::CareerPortfolio, 30),
                ],
            )?;
            packages::insert(c, &new_package("b-mid", app1.id, 1, VO, MBO, 200), &[])?;
            packages::insert(c, &new_package("b-tie", app1.id, 1, VO, MBO, 200), &[])?;
            packages::insert(
                c,
                &new_package("elsewhere", app3.id, 3, VO, OTHER_MBO, 50),
                &[new_section(Section::PersonalData, 1)],
            )
        })
        .unwrap();

    let inbox = store.read(|c| packages::inbox(c, &brin(MBO), None, 100)).unwrap();
    let ids: Vec<_> = inbox.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, vec!["a-early", "b-mid", "b-tie", "c-late"]);
    let first: &PackageSummary = &inbox[0];
    assert_eq!(first.application_id, app2.id);
    assert_eq!(first.sender, brin(OTHER_VO));
    assert_eq!(first.recipient, brin(MBO));
    assert_eq!(first.student, pseudonym(2));
    assert_eq!(first.submitted_at, at(100));
    let listed: Vec<_> = first.sections.iter().map(|s| (s.section, s.size)).collect();
    let size = |s: Section, n: usize| i64::try_from(format!("CIPHERTEXT-{}-", s.as_str()).len() + n).unwrap();
    assert_eq!(
        listed,
        vec![
            (Section::PersonalData, size(Section::PersonalData, 20)),
            (Section::CareerPortfolio, size(Section::CareerPortfolio, 30)),
            (Section::Attachments, size(Section::Attachments, 40)),
        ]
    );
    assert!(inbox[1].sections.is_empty());
    // Metadata only: no ciphertext, envelope or receipt anywhere in it.
    let shown = format!("{inbox:?}");
    for secret in ["CIPHERTEXT", "envelope-", "receipt-"] {
        assert!(!shown.contains(secret), "{secret} leaked into the inbox: {shown}");
    }

    // Paging.
    let page1 = store.read(|c| packages::inbox(c, &brin(MBO), None, 2)).unwrap();
    assert_eq!(
        page1.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["a-early", "b-mid"]
    );
    let page2 = store
        .read(|c| packages::inbox(c, &brin(MBO), Some("b-mid"), 2))
        .unwrap();
    assert_eq!(
        page2.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["b-tie", "c-late"]
    );
    assert!(
        store
            .read(|c| packages::inbox(c, &brin(MBO), Some("c-late"), 2))
            .unwrap()
            .is_empty()
    );
    let err = store
        .read(|c| packages::inbox(c, &brin(MBO), Some("elsewhere"), 2))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound),
        "another recipient's cursor: {err:?}"
    );

    let other = store.read(|c| packages::inbox(c, &brin(OTHER_MBO), None, 100)).unwrap();
    assert_eq!(other.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["elsewhere"]);
    assert!(
        store
            .read(|c| packages::inbox(c, &brin(VO), None, 100))
            .unwrap()
            .is_empty()
    );

    let for_app1 = store.read(|c| packages::for_application(c, app1.id)).unwrap();
    assert_eq!(
        for_app1.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["b-mid", "b-tie", "c-late"]
    );
}

fn delivery_and_acknowledgement_are_idempotent(db: &TestDb) {
    let store = seeded(db);
    with_package(&store);

    let delivered = store
        .write(|c| packages::mark_delivered(c, "pkg-1", at(500)))
        .unwrap()
        .unwrap();
    assert_eq!(delivered.delivered_at, Some(at(500)));
    let again = store
        .write(|c| packages::mark_delivered(c, "pkg-1", at(600)))
        .unwrap()
        .unwrap();
    assert_eq!(again.delivered_at, Some(at(500)), "first delivery kept");
    assert_eq!(
        store.write(|c| packages::mark_delivered(c, "nope", at(1))).unwrap(),
        None
    );

    let newly = store
        .write(|c| packages::mark_sections_delivered(c, "pkg-1", &[Section::PersonalData, Section::Remarks], at(500)))
        .unwrap();
    assert_eq!(newly, 2);
    let newly = store
        .write(|c| {
            packages::mark_sections_delivered(
                c,
                "pkg-1",
                &[Section::PersonalData, Section::SupportNeeds, Section::Attachments],
                at(700),
            )
        })
        .unwrap();
    assert_eq!(
        newly, 1,
        "only support_needs was new; attachments is not in the package"
    );
    assert_eq!(
        store
            .write(|c| packages::mark_sections_delivered(c, "pkg-1", &[], at(800)))
            .unwrap(),
        0
    );
    let times: Vec<_> = store
        .read(|c| packages::sections(c, "pkg-1"))
        .unwrap()
        .into_iter()
        .map(|s| (s.section, s.delivered_at))
        .collect();
    assert_eq!(
        times,
        vec![
            (Section::PersonalData, Some(at(500))),
            (Section::SupportNeeds, Some(at(700))),
            (Section::Remarks, Some(at(500))),
        ]
    );

    let staff_actor = ActorRef::Staff(StaffId(uuid::Uuid::new_v4()));
    let acked = store
        .write(|c| packages::acknowledge(c, "pkg-1", &staff_actor, at(900)))
        .unwrap()
        .unwrap();
    assert_eq!(acked.acknowledged_at, Some(at(900)));
    assert_eq!(acked.acknowledged_by, Some(staff_actor.clone()));
    let again = store
        .write(|c| packages::acknowledge(c, "pkg-1", &ActorRef::System(fingerprint(1)), at(950)))
        .unwrap()
        .unwrap();
    assert_eq!(again, acked, "first acknowledgement kept");
    assert_eq!(
        store
            .write(|c| packages::acknowledge(c, "nope", &ActorRef::Operator, at(1)))
            .unwrap(),
        None
    );

    let listed = store.read(|c| packages::inbox(c, &brin(MBO), None, 10)).unwrap();
    assert_eq!(listed[0].delivered_at, Some(at(500)));
    assert_eq!(listed[0].acknowledged_at, Some(at(900)));
    assert_eq!(listed[0].sections[1].delivered_at, Some(at(700)));
}

fn corrupt_dossier_rows_are_errors(db: &TestDb) {
    let store = seeded(db);
    let (app, _, _) = with_package(&store);
    let corrupt = |sql: &'static str| {
        store.write(|c| -> R<()> { Ok(c.batch_execute(sql)?) }).unwrap();
    };
    corrupt("UPDATE applications SET applied_on = '15-03-2026'");
    let err = store.read(|c| applications::get(c, app.id)).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Corrupt {
                table: "applications",
                column: "applied_on",
                ..
            }
        ) && !err.to_string().contains("2026"),
        "{err:?}"
    );
    corrupt("UPDATE applications SET applied_on = '2026-03-15', status = 'accepted'");
    let err = store.read(|c| applications::get(c, app.id)).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Corrupt {
                table: "applications",
                column: "status",
                ..
            }
        ) && !err.to_string().contains("accepted"),
        "{err:?}"
    );
    corrupt("UPDATE package_sections SET section = 'diary' WHERE section = 'remarks'");
    let err = store.read(|c| packages::sections(c, "pkg-1")).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Corrupt {
                table: "package_sections",
                column: "section",
                ..
            }
        ),
        "{err:?}"
    );
    let err = store.read(|c| packages::inbox(c, &brin(MBO), None, 10)).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    // An actor that is no actor reference: the row fails closed, and the
    // error does not repeat the stored text.
    corrupt("UPDATE application_status_events SET reported_by = 'clerk-jansen'");
    let err = store.read(|c| applications::status_history(c, app.id)).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Corrupt {
                table: "application_status_events",
                column: "reported_by",
                ..
            }
        ) && !err.to_string().contains("jansen"),
        "{err:?}"
    );
    corrupt("UPDATE packages SET acknowledged_by = 'staff:not-a-uuid'");
    let err = store.read(|c| packages::get(c, "pkg-1")).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Corrupt {
                table: "packages",
                column: "acknowledged_by",
                ..
            }
        ),
        "{err:?}"
    );
}

doorstroom_store::backend_tests!(
    register_is_idempotent,
    concurrent_registrations_make_one_application,
    register_unknown_institution_is_not_found,
    find_for_student_and_open_for,
    status_and_history,
    list_for_sending_pages,
    package_round_trip,
    duplicate_package_is_conflict_and_nothing_half_inserted,
    package_references_are_enforced,
    sections_need_their_package,
    inbox_is_metadata_in_submission_order,
    delivery_and_acknowledgement_are_idempotent,
    corrupt_dossier_rows_are_errors,
);
