//! The consent and inspection ledger and section withdrawal, on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::connection::SimpleConnection;
use doorstroom_domain::{ConsentEventKind, ConsentMethod, GivenBy, InspectedBy, Section, Sector};
use doorstroom_store::consents::{self, ConsentEventRow, NewConsentEvent};
use doorstroom_store::inspections::{self, NewInspection};
use doorstroom_store::packages::{self, WithdrawnSection};
use doorstroom_store::testing::TestDb;
use doorstroom_store::{Store, StoreError, applications, audit, institutions};
use uuid::Uuid;

type R<T> = Result<T, StoreError>;

const VO: &str = "25LX";
const MBO: &str = "30AB";
const OTHER_MBO: &str = "31CD";
/// A second sending school (after a change of school).
const SECOND_VO: &str = "26VO";

/// The actor the tests' events are recorded by: a school's system.
fn recorder() -> doorstroom_domain::ActorRef {
    doorstroom_domain::ActorRef::System(fingerprint(0xff))
}

fn seeded(db: &TestDb) -> Store {
    let store = db.store();
    store
        .write(|c| -> R<()> {
            institutions::insert(c, &institution(VO, Sector::Vo))?;
            institutions::insert(c, &institution(SECOND_VO, Sector::Vo))?;
            institutions::insert(c, &institution(MBO, Sector::Mbo))?;
            institutions::insert(c, &institution(OTHER_MBO, Sector::Mbo))
        })
        .unwrap();
    store
}

fn consent(student: u8, recipient: &str, section: Section, kind: &str, t: i64) -> NewConsentEvent {
    let id = Uuid::new_v4();
    NewConsentEvent {
        id,
        student: pseudonym(student),
        recipient: brin(recipient),
        school: brin(VO),
        section,
        kind: ConsentEventKind::parse(kind).unwrap(),
        purpose: "intake_and_support".to_owned(),
        at: at(t),
        given_by: GivenBy::Parent,
        student_under_16: true,
        method: ConsentMethod::PaperForm,
        evidence_ref: format!("form-{t}"),
        notice_version: "2026-01".to_owned(),
        valid_until: (kind == "given").then(|| at(t + 86_400_000)),
        recorded_by: recorder(),
        receipt: format!("eyJhbGciOiJFUzI1NiJ9.receipt-{id}.sig"),
    }
}

fn same_event(row: &ConsentEventRow, new: &NewConsentEvent) -> bool {
    row.id == new.id
        && row.student == new.student
        && row.recipient == new.recipient
        && row.school == new.school
        && row.section == new.section
        && row.kind == new.kind
        && row.purpose == new.purpose
        && row.at == new.at
        && row.given_by == new.given_by
        && row.student_under_16 == new.student_under_16
        && row.method == new.method
        && row.evidence_ref == new.evidence_ref
        && row.notice_version == new.notice_version
        && row.valid_until == new.valid_until
        && row.recorded_by == new.recorded_by
        && row.receipt == new.receipt
}

fn consent_events_append_in_order(db: &TestDb) {
    let store = seeded(db);
    // Times deliberately not in append order: the ledger keeps append order.
    let events = [
        consent(1, MBO, Section::SupportNeeds, "given", 500),
        consent(1, OTHER_MBO, Section::CareerPortfolio, "given", 100),
        consent(2, MBO, Section::SupportNeeds, "given", 50),
        consent(1, MBO, Section::SupportNeeds, "withdrawn", 400),
        consent(1, MBO, Section::Attachments, "expired", 900),
    ];
    let mut stored = Vec::new();
    for e in &events {
        let row = store.write(|c| consents::append(c, e)).unwrap();
        assert!(same_event(&row, e), "{row:?}");
        stored.push(row);
    }
    assert!(stored.windows(2).all(|w| w[0].n < w[1].n), "n follows append order");
    assert_eq!(
        store.read(|c| consents::get(c, events[0].id)).unwrap(),
        Some(stored[0].clone())
    );
    assert_eq!(store.read(|c| consents::get(c, Uuid::new_v4())).unwrap(), None);

    let mine = store.read(|c| consents::for_student(c, &pseudonym(1))).unwrap();
    assert_eq!(
        mine,
        vec![
            stored[0].clone(),
            stored[1].clone(),
            stored[3].clone(),
            stored[4].clone()
        ]
    );
    let at_mbo = store
        .read(|c| consents::for_owner_recipient(c, &pseudonym(1), &brin(VO), &brin(MBO)))
        .unwrap();
    assert_eq!(at_mbo, vec![stored[0].clone(), stored[3].clone(), stored[4].clone()]);
    let theirs = store.read(|c| consents::for_student(c, &pseudonym(2))).unwrap();
    assert_eq!(theirs, vec![stored[2].clone()]);
    assert!(
        store
            .read(|c| consents::for_student(c, &pseudonym(9)))
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .read(|c| consents::for_owner_recipient(c, &pseudonym(2), &brin(VO), &brin(OTHER_MBO)))
            .unwrap()
            .is_empty()
    );
}

fn consent_append_conflicts_and_references(db: &TestDb) {
    let store = seeded(db);
    let first = consent(1, MBO, Section::SupportNeeds, "given", 0);
    store.write(|c| consents::append(c, &first)).unwrap();

    // The same id again: a conflict, and the transaction stays usable.
    let mut again = consent(1, MBO, Section::Attachments, "given", 10);
    again.id = first.id;
    store
        .write(|c| -> R<()> {
            let err = consents::append(c, &again).unwrap_err();
            assert!(matches!(err, StoreError::Conflict("consent_event")), "{err:?}");
            let err = consents::append(c, &consent(1, "99ZZ", Section::SupportNeeds, "given", 20)).unwrap_err();
            assert!(matches!(err, StoreError::NotFound), "unknown recipient: {err:?}");
            audit::append(c, &event(1))
        })
        .unwrap();
    assert_eq!(doorstroom_store::testing::last_seq(&store), 1);

    // Spellings outside the enumerations are refused by the database too
    // (the types keep them out of `append`).
    for (column, value) in [("kind", "revoked"), ("given_by", "teacher")] {
        let sql = raw_consent_insert(1, column, value);
        assert!(
            store.write(|c| -> R<()> { Ok(c.batch_execute(&sql)?) }).is_err(),
            "{column} = {value} must be refused"
        );
    }

    let all = store.read(|c| consents::for_student(c, &pseudonym(1))).unwrap();
    assert_eq!(all.len(), 1);
    assert!(same_event(&all[0], &first));
}

/// An INSERT of a consent event of `student` (given for support needs at
/// MBO, recorded by VO) whose `column` holds `value`, straight into the
/// table, past `append`.
fn raw_consent_insert(student: u8, column: &str, value: &str) -> String {
    let mut values = vec![
        ("id", format!("'{}'", Uuid::new_v4())),
        ("student", format!("'{}'", pseudonym(student).as_str())),
        ("recipient", format!("'{MBO}'")),
        ("school", format!("'{VO}'")),
        ("section", "'support_needs'".to_owned()),
        ("kind", "'given'".to_owned()),
        ("purpose", "'intake_and_support'".to_owned()),
        ("at", "5".to_owned()),
        ("given_by", "'parent'".to_owned()),
        ("student_under_16", "TRUE".to_owned()),
        ("method", "'paper_form'".to_owned()),
        ("evidence_ref", "'form-5'".to_owned()),
        ("notice_version", "'2026-01'".to_owned()),
        ("valid_until", "NULL".to_owned()),
        ("recorded_by", format!("'{}'", recorder())),
        ("receipt", "'eyJhbGciOiJFUzI1NiJ9.raw.sig'".to_owned()),
    ];
    for (name, stored) in &mut values {
        if *name == column {
            *stored = format!("'{value}'");
        }
    }
    let (columns, stored): (Vec<&str>, Vec<String>) = values.into_iter().unzip();
    format!(
        "INSERT INTO consent_events ({}) VALUES ({})",
        columns.join(", "),
        stored.join(", ")
    )
}

/// One of the reads the consent ledger is derived from.
type LedgerRead = Box<dyn Fn(&mut doorstroom_store::DbConn) -> R<Vec<ConsentEventRow>>>;

/// A consent event whose kind does not parse (here one that reads like a
/// withdrawal but is not spelled as one) must fail every read of the
/// ledger: left out, the ledger would show the consent given before it as
/// still in force.
fn a_consent_event_of_unknown_kind_fails_the_ledger(db: &TestDb) {
    let store = seeded(db);
    store
        .write(|c| consents::append(c, &consent(1, MBO, Section::SupportNeeds, "given", 0)))
        .unwrap();
    doorstroom_store::testing::write_past_checks(&store, "consent_events", &raw_consent_insert(1, "kind", "Withdrawn"));
    let reads: [(&str, LedgerRead); 3] = [
        (
            "for_owner_recipient",
            Box::new(|c| consents::for_owner_recipient(c, &pseudonym(1), &brin(VO), &brin(MBO))),
        ),
        (
            "for_owner",
            Box::new(|c| consents::for_owner(c, &pseudonym(1), &brin(VO))),
        ),
        ("for_student", Box::new(|c| consents::for_student(c, &pseudonym(1)))),
    ];
    for (name, read) in reads {
        let err = store.read(|c| read(c)).unwrap_err();
        match &err {
            StoreError::Corrupt { table, column, problem } => {
                assert_eq!((*table, *column), ("consent_events", "kind"), "{name}");
                assert!(
                    !problem.contains("Withdrawn"),
                    "{name}: the value must not be echoed: {err}"
                );
            }
            other => panic!("{name}: expected Corrupt, got {other:?}"),
        }
        assert!(!err.to_string().contains("Withdrawn"), "{err}");
    }
}

/// The same for the other typed columns of the ledger: who gave consent,
/// how, and who inspected the dossier.
fn other_ledger_values_that_do_not_parse_fail_the_read(db: &TestDb) {
    let store = seeded(db);
    for (student, column, value) in [
        (1, "given_by", "teacher"),
        (2, "method", "carrier_pigeon"),
        (3, "recorded_by", "system:someone"),
    ] {
        doorstroom_store::testing::write_past_checks(
            &store,
            "consent_events",
            &raw_consent_insert(student, column, value),
        );
        let err = store
            .read(|c| consents::for_owner_recipient(c, &pseudonym(student), &brin(VO), &brin(MBO)))
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt { table: "consent_events", column: c, .. } if *c == column),
            "{column}: {err:?}"
        );
        assert!(!err.to_string().contains(value), "{err}");
    }
    store
        .write(|c| inspections::record(c, &new_inspection(1, 0, 10)))
        .unwrap();
    doorstroom_store::testing::write_past_checks(
        &store,
        "inspections",
        &format!(
            "INSERT INTO inspections (id, student, school, at, inspected_by, remarks_added, recorded_at, recorded_by) \
             VALUES ('{}', '{}', '{VO}', 20, 'neighbour', FALSE, 30, '{}')",
            Uuid::new_v4(),
            pseudonym(1).as_str(),
            recorder()
        ),
    );
    let err = store
        .read(|c| inspections::for_school(c, &pseudonym(1), &brin(VO)))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Corrupt {
                table: "inspections",
                column: "inspected_by",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("neighbour"), "{err}");
}

fn ledgers_are_append_only(db: &TestDb) {
    let store = seeded(db);
    let given = store
        .write(|c| consents::append(c, &consent(1, MBO, Section::SupportNeeds, "given", 0)))
        .unwrap();
    let inspected = store
        .write(|c| inspections::record(c, &new_inspection(1, 0, 10)))
        .unwrap();
    let id = given.id;
    let inspection = inspected.id;
    for sql in [
        format!("UPDATE consent_events SET kind = 'withdrawn' WHERE id = '{id}'"),
        "UPDATE consent_events SET receipt = 'x'".to_owned(),
        format!("DELETE FROM consent_events WHERE id = '{id}'"),
        "DELETE FROM consent_events".to_owned(),
        format!("UPDATE inspections SET remarks_added = NOT remarks_added WHERE id = '{inspection}'"),
        format!("DELETE FROM inspections WHERE id = '{inspection}'"),
    ] {
        let result = store.write(|c| -> R<()> { Ok(c.batch_execute(&sql)?) });
        assert!(result.is_err(), "{sql} must be refused");
    }
    assert_eq!(
        store.read(|c| consents::for_student(c, &pseudonym(1))).unwrap(),
        vec![given]
    );
    assert_eq!(
        store.read(|c| inspections::for_student(c, &pseudonym(1))).unwrap(),
        vec![inspected]
    );
}

fn new_inspection(student: u8, t: i64, recorded: i64) -> NewInspection {
    NewInspection {
        student: pseudonym(student),
        school: brin(VO),
        at: at(t),
        inspected_by: InspectedBy::Student,
        remarks_added: false,
        recorded_at: at(recorded),
        recorded_by: recorder(),
    }
}

fn inspections_round_trip(db: &TestDb) {
    let store = seeded(db);
    let late = NewInspection {
        inspected_by: InspectedBy::Parent,
        remarks_added: true,
        ..new_inspection(1, 300, 310)
    };
    let early = new_inspection(1, 100, 400);
    let other = new_inspection(2, 50, 60);
    let late_row = store.write(|c| inspections::record(c, &late)).unwrap();
    let early_row = store.write(|c| inspections::record(c, &early)).unwrap();
    let other_row = store.write(|c| inspections::record(c, &other)).unwrap();
    assert_ne!(late_row.id, early_row.id);
    assert_eq!(
        (
            &late_row.student,
            &late_row.school,
            late_row.at,
            late_row.inspected_by.as_str(),
            late_row.remarks_added,
            late_row.recorded_at,
            late_row.recorded_by.clone()
        ),
        (&pseudonym(1), &brin(VO), at(300), "parent", true, at(310), recorder())
    );

    let mine = store.read(|c| inspections::for_student(c, &pseudonym(1))).unwrap();
    assert_eq!(mine, vec![early_row, late_row], "by the time of inspection");
    assert_eq!(
        store.read(|c| inspections::for_student(c, &pseudonym(2))).unwrap(),
        vec![other_row]
    );
    assert!(
        store
            .read(|c| inspections::for_student(c, &pseudonym(9)))
            .unwrap()
            .is_empty()
    );

    // An unknown school: NotFound, and the transaction stays usable.
    store
        .write(|c| -> R<()> {
            let unknown = NewInspection {
                school: brin("99ZZ"),
                ..new_inspection(3, 0, 0)
            };
            let err = inspections::record(c, &unknown).unwrap_err();
            assert!(matches!(err, StoreError::NotFound), "{err:?}");
            audit::append(c, &event(1))
        })
        .unwrap();
    assert_eq!(doorstroom_store::testing::last_seq(&store), 1);
    assert!(
        store
            .read(|c| inspections::for_student(c, &pseudonym(3)))
            .unwrap()
            .is_empty()
    );
}

/// Packages of student 1 to MBO ("p-delivered", "p-fresh"), of student 1
/// to OTHER_MBO ("p-elsewhere") and of student 2 to MBO ("p-someone-else"),
/// each with personal data and support needs; "p-delivered"'s support needs
/// and personal data have been released.
fn with_packages(store: &Store) {
    let app1 = store
        .write(|c| applications::register(c, &new_application(1, MBO, Some(VO), "Kok"), at(0)))
        .unwrap()
        .0;
    let app1_other = store
        .write(|c| applications::register(c, &new_application(1, OTHER_MBO, Some(VO), "Kok"), at(0)))
        .unwrap()
        .0;
    let app2 = store
        .write(|c| applications::register(c, &new_application(2, MBO, Some(VO), "Kok"), at(0)))
        .unwrap()
        .0;
    let sections = [
        new_section(Section::PersonalData, 10),
        new_section(Section::SupportNeeds, 20),
    ];
    store
        .write(|c| -> R<()> {
            packages::insert(c, &new_package("p-delivered", app1.id, 1, VO, MBO, 100), &sections)?;
            packages::insert(c, &new_package("p-fresh", app1.id, 1, VO, MBO, 200), &sections)?;
            packages::insert(
                c,
                &new_package("p-elsewhere", app1_other.id, 1, VO, OTHER_MBO, 150),
                &sections,
            )?;
            packages::insert(c, &new_package("p-someone-else", app2.id, 2, VO, MBO, 120), &sections)?;
            packages::insert(
                c,
                &new_package("p-without", app1.id, 1, VO, MBO, 50),
                &[new_section(Section::PersonalData, 5)],
            )?;
            packages::mark_sections_delivered(
                c,
                "p-delivered",
                &[Section::PersonalData, Section::SupportNeeds],
                at(300),
            )?;
            packages::mark_delivered(c, "p-delivered", at(300))?;
            Ok(())
        })
        .unwrap();
}

fn section(store: &Store, package: &str, section: Section) -> packages::StoredSection {
    store
        .read(|c| packages::sections(c, package))
        .unwrap()
        .into_iter()
        .find(|s| s.section == section)
        .unwrap()
}

fn withdraw_section_deletes_undelivered_ciphertext(db: &TestDb) {
    let store = seeded(db);
    with_packages(&store);
    let support = new_section(Section::SupportNeeds, 20);
    let personal = new_section(Section::PersonalData, 10);

    let withdrawn = store
        .write(|c| packages::withdraw_section(c, &pseudonym(1), &brin(VO), &brin(MBO), Section::SupportNeeds, at(1000)))
        .unwrap();
    assert_eq!(
        withdrawn,
        vec![
            WithdrawnSection {
                package_id: "p-delivered".to_owned(),
                delivered_before: true,
            },
            WithdrawnSection {
                package_id: "p-fresh".to_owned(),
                delivered_before: false,
            },
        ],
        "oldest package first; the package without the section is not listed"
    );

    // Undelivered: the ciphertext is gone, the row stays as a tombstone.
    let fresh = section(&store, "p-fresh", Section::SupportNeeds);
    assert_eq!(fresh.ciphertext, "");
    assert_eq!(fresh.withdrawn_at, Some(at(1000)));
    assert_eq!(fresh.delivered_at, None);
    assert_eq!((fresh.size, &fresh.sha256), (support.size, &support.sha256));
    // Delivered before: kept, marked withdrawn.
    let delivered = section(&store, "p-delivered", Section::SupportNeeds);
    assert_eq!(delivered.ciphertext, support.ciphertext);
    assert_eq!(
        (delivered.delivered_at, delivered.withdrawn_at),
        (Some(at(300)), Some(at(1000)))
    );
    // The raw row holds no ciphertext either.
    #[derive(diesel::QueryableByName)]
    struct Ciphertext {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ciphertext: String,
    }
    let raw: Vec<Ciphertext> = store
        .read(|c| -> R<_> {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query(
                "SELECT ciphertext FROM package_sections WHERE package_id = 'p-fresh' AND section = 'support_needs'",
            )
            .load(c)?)
        })
        .unwrap();
    assert_eq!(raw.len(), 1);
    assert!(raw[0].ciphertext.is_empty());

    // Other sections, other recipients, other students: untouched.
    for (package, s, ciphertext) in [
        ("p-fresh", Section::PersonalData, &personal.ciphertext),
        ("p-delivered", Section::PersonalData, &personal.ciphertext),
        ("p-elsewhere", Section::SupportNeeds, &support.ciphertext),
        ("p-someone-else", Section::SupportNeeds, &support.ciphertext),
    ] {
        let kept = section(&store, package, s);
        assert_eq!(
            (&kept.ciphertext, kept.withdrawn_at),
            (ciphertext, None),
            "{package} {s:?}"
        );
    }

    // The inbox reports the withdrawal.
    let inbox = store.read(|c| packages::inbox(c, &brin(MBO), None, 100)).unwrap();
    let withdrawn_in_inbox: Vec<_> = inbox
        .iter()
        .flat_map(|p| {
            p.sections
                .iter()
                .filter(|s| s.withdrawn_at.is_some())
                .map(move |s| (p.id.as_str(), s.section, s.withdrawn_at, s.delivered_at))
        })
        .collect();
    assert_eq!(
        withdrawn_in_inbox,
        vec![
            ("p-delivered", Section::SupportNeeds, Some(at(1000)), Some(at(300))),
            ("p-fresh", Section::SupportNeeds, Some(at(1000)), None),
        ]
    );

    // A withdrawn section is never marked delivered afterwards.
    let marked = store
        .write(|c| packages::mark_sections_delivered(c, "p-fresh", &[Section::SupportNeeds], at(1100)))
        .unwrap();
    assert_eq!(marked, 0);
    assert_eq!(section(&store, "p-fresh", Section::SupportNeeds).delivered_at, None);
}

fn withdraw_section_is_idempotent(db: &TestDb) {
    let store = seeded(db);
    with_packages(&store);
    let first = store
        .write(|c| packages::withdraw_section(c, &pseudonym(1), &brin(VO), &brin(MBO), Section::SupportNeeds, at(1000)))
        .unwrap();
    assert_eq!(first.len(), 2);
    let again = store
        .write(|c| packages::withdraw_section(c, &pseudonym(1), &brin(VO), &brin(MBO), Section::SupportNeeds, at(2000)))
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    // The first withdrawal time is kept.
    for package in ["p-delivered", "p-fresh"] {
        assert_eq!(
            section(&store, package, Section::SupportNeeds).withdrawn_at,
            Some(at(1000))
        );
    }

    // Nothing to withdraw: no package with the section, no such student.
    for (student, recipient, s) in [
        (1, MBO, Section::Attachments),
        (9, MBO, Section::SupportNeeds),
        (2, OTHER_MBO, Section::SupportNeeds),
    ] {
        let none = store
            .write(|c| packages::withdraw_section(c, &pseudonym(student), &brin(VO), &brin(recipient), s, at(3000)))
            .unwrap();
        assert!(none.is_empty());
    }

    // A later package with the section is withdrawn by a later call (the
    // broker refuses such a submission while consent is withdrawn; the store
    // does not judge).
    let app = store
        .read(|c| applications::open_for(c, &pseudonym(1), &brin(MBO)))
        .unwrap()
        .remove(0);
    store
        .write(|c| {
            packages::insert(
                c,
                &new_package("p-later", app.id, 1, VO, MBO, 4000),
                &[new_section(Section::SupportNeeds, 3)],
            )
        })
        .unwrap();
    let later = store
        .write(|c| packages::withdraw_section(c, &pseudonym(1), &brin(VO), &brin(MBO), Section::SupportNeeds, at(5000)))
        .unwrap();
    assert_eq!(
        later,
        vec![WithdrawnSection {
            package_id: "p-later".to_owned(),
            delivered_before: false,
        }]
    );
    // Another recipient's and another student's copies stayed as they were.
    assert_eq!(section(&store, "p-elsewhere", Section::SupportNeeds).withdrawn_at, None);
    assert_eq!(
        section(&store, "p-someone-else", Section::SupportNeeds).withdrawn_at,
        None
    );
}

/// Two schools sending for one student each keep their own ledger: the
/// per-owner reads never return the other school's records, and a
/// withdrawal by one school touches only the packages it sent.
fn the_ledger_is_kept_per_owner(db: &TestDb) {
    let store = seeded(db);
    with_packages(&store);
    store
        .write(|c| applications::register(c, &new_application(1, MBO, Some(SECOND_VO), "Zorg"), at(0)))
        .unwrap();
    let first = consent(1, MBO, Section::SupportNeeds, "given", 100);
    let mut second = consent(1, MBO, Section::SupportNeeds, "given", 200);
    second.school = brin(SECOND_VO);
    let mut second_elsewhere = consent(1, OTHER_MBO, Section::CareerPortfolio, "given", 300);
    second_elsewhere.school = brin(SECOND_VO);
    let stored: Vec<ConsentEventRow> = [&first, &second, &second_elsewhere]
        .iter()
        .map(|e| store.write(|c| consents::append(c, e)).unwrap())
        .collect();
    assert_eq!(stored[1].school, brin(SECOND_VO));

    let own = |school: &str, recipient: &str| {
        store
            .read(|c| consents::for_owner_recipient(c, &pseudonym(1), &brin(school), &brin(recipient)))
            .unwrap()
    };
    assert_eq!(own(VO, MBO), vec![stored[0].clone()]);
    assert_eq!(own(SECOND_VO, MBO), vec![stored[1].clone()]);
    assert_eq!(own(SECOND_VO, OTHER_MBO), vec![stored[2].clone()]);
    assert!(own(VO, OTHER_MBO).is_empty());
    assert_eq!(
        store
            .read(|c| consents::for_owner(c, &pseudonym(1), &brin(SECOND_VO)))
            .unwrap(),
        vec![stored[1].clone(), stored[2].clone()]
    );
    assert_eq!(
        store.read(|c| consents::owners(c, &pseudonym(1), None)).unwrap(),
        vec![brin(VO), brin(SECOND_VO)]
    );
    assert_eq!(
        store
            .read(|c| consents::owners(c, &pseudonym(1), Some(&brin(OTHER_MBO))))
            .unwrap(),
        vec![brin(SECOND_VO)]
    );
    assert!(
        store
            .read(|c| consents::owners(c, &pseudonym(2), None))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .read(|c| applications::sending_schools(c, &pseudonym(1), Some(&brin(OTHER_MBO))))
            .unwrap(),
        vec![brin(VO)]
    );
    assert_eq!(
        store
            .read(|c| applications::sending_schools(c, &pseudonym(1), None))
            .unwrap(),
        vec![brin(VO), brin(SECOND_VO)]
    );

    let mut theirs = new_inspection(1, 10, 20);
    theirs.school = brin(SECOND_VO);
    store.write(|c| inspections::record(c, &theirs)).unwrap();
    assert!(
        store
            .read(|c| inspections::for_school(c, &pseudonym(1), &brin(VO)))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .read(|c| inspections::for_school(c, &pseudonym(1), &brin(SECOND_VO)))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.read(|c| inspections::schools(c, &pseudonym(1))).unwrap(),
        vec![brin(SECOND_VO)]
    );

    // The second school sent nothing: its withdrawal touches no package of 07AB's.
    let none = store
        .write(|c| {
            packages::withdraw_section(
                c,
                &pseudonym(1),
                &brin(SECOND_VO),
                &brin(MBO),
                Section::SupportNeeds,
                at(1000),
            )
        })
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(section(&store, "p-fresh", Section::SupportNeeds).withdrawn_at, None);
}

doorstroom_store::backend_tests!(
    the_ledger_is_kept_per_owner,
    consent_events_append_in_order,
    consent_append_conflicts_and_references,
    ledgers_are_append_only,
    a_consent_event_of_unknown_kind_fails_the_ledger,
    other_ledger_values_that_do_not_parse_fail_the_read,
    inspections_round_trip,
    withdraw_section_deletes_undelivered_ciphertext,
    withdraw_section_is_idempotent,
);
