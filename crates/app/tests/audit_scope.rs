//! The privacy officer's scope as the domain states it
//! ([`AuditScope::covers`]) and as the store filters by it
//! ([`AuditQuery::related_to`]) select the same events, on SQLite and
//! PostgreSQL: every combination of actor institution, data subject and
//! parties of the record is written with [`audit::append_related`] (as the
//! spine writes events), and for each scope the store's page is compared
//! with the rule applied to what was written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use doorstroom_domain::{
    Actor, ActorKind, AuditAction, AuditEvent, AuditScope, Brin, CrudKind, Outcome, Pseudonym, Purpose, ResourceKind,
    ResourceRef,
};
use doorstroom_store::audit::{self, AuditQuery};
use doorstroom_store::testing::TestDb;

const INSTITUTIONS: [&str; 3] = ["25LX", "30AB", "31CD"];

fn brin(code: &str) -> Brin {
    Brin::parse(code).unwrap()
}

/// An event by `actor` (the broker itself when `None`), about a student or not.
fn event(n: usize, actor: Option<Brin>, about_student: bool) -> AuditEvent {
    AuditEvent {
        time: chrono::DateTime::from_timestamp_millis(1_772_366_400_000 + n as i64).unwrap(),
        actor: Actor {
            kind: if actor.is_some() {
                ActorKind::System
            } else {
                ActorKind::Broker
            },
            institution: actor,
            id: Some(format!("actor-{n}")),
        },
        on_behalf_of: None,
        action: AuditAction::new(CrudKind::Read, "pull_package"),
        resource: ResourceRef::new(ResourceKind::Package, Some(n.to_string())),
        data_subject: about_student.then(|| Pseudonym::parse(&"ab".repeat(32)).unwrap()),
        purpose: Purpose::Supervision,
        outcome: Outcome::Success,
        reason: None,
        request_id: None,
    }
}

/// Every combination: actor (none, or one of two institutions), about a
/// student or not, and any subset of the three institutions as parties.
fn combinations() -> Vec<(AuditEvent, Vec<Brin>)> {
    let actors = [None, Some(brin(INSTITUTIONS[0])), Some(brin(INSTITUTIONS[1]))];
    let mut all = Vec::new();
    for actor in actors {
        for about_student in [false, true] {
            for subset in 0..(1u8 << INSTITUTIONS.len()) {
                let parties: Vec<Brin> = INSTITUTIONS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| subset & (1 << i) != 0)
                    .map(|(_, code)| brin(code))
                    .collect();
                all.push((event(all.len(), actor.clone(), about_student), parties));
            }
        }
    }
    all
}

fn rule_and_query_agree(db: &TestDb) {
    let store = db.store();
    let combinations = combinations();
    store
        .write(|conn| {
            combinations
                .iter()
                .try_for_each(|(event, parties)| audit::append_related(conn, event, parties))
        })
        .unwrap();
    // One write, no other writer: numbered from 1 in the order appended.
    let written: Vec<(i64, AuditEvent, Vec<Brin>)> = (1..)
        .zip(combinations)
        .map(|(seq, (event, parties))| (seq, event, parties))
        .collect();
    assert_eq!(
        doorstroom_store::testing::last_seq(&store),
        i64::try_from(written.len()).unwrap()
    );
    let scopes = [
        AuditScope::Whole,
        AuditScope::Institution(brin(INSTITUTIONS[0])),
        AuditScope::Institution(brin(INSTITUTIONS[1])),
        AuditScope::Institution(brin(INSTITUTIONS[2])),
        AuditScope::Institution(brin("99ZZ")),
    ];
    for scope in scopes {
        let query = AuditQuery {
            related_to: scope.institution().cloned(),
            ..Default::default()
        };
        let stored: Vec<i64> = store
            .read(|conn| audit::list(conn, &query))
            .unwrap()
            .into_iter()
            .map(|(seq, _)| seq)
            .collect();
        let ruled: Vec<i64> = written
            .iter()
            .filter(|(_, event, parties)| scope.covers(event, parties))
            .map(|(seq, _, _)| *seq)
            .collect();
        assert_eq!(stored, ruled, "{scope:?}");
        // Neither side is trivial: each institution sees part, not all.
        if scope.institution().is_some() {
            assert!(stored.len() < written.len(), "{scope:?}");
        }
    }
}

doorstroom_store::backend_tests!(rule_and_query_agree);
