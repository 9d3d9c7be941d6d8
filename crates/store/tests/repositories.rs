//! Round trips of every repository, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::connection::SimpleConnection;
use doorstroom_domain::{InstitutionStatus, KeyStatus, Role, Sector, StaffStatus, Username};
use doorstroom_store::testing::TestDb;
use doorstroom_store::{
    DbConn, StoreError, audit, certificates, console_sessions, institutions, keys, login_failures, staff,
};

type R<T> = Result<T, StoreError>;

fn institutions_round_trip(db: &TestDb) {
    let store = db.store();
    let mut a = institution("30AB", Sector::Mbo);
    a.oin = Some(oin(1));
    let b = institution("25LX", Sector::Vo);
    store
        .write(|c| -> R<()> {
            institutions::insert(c, &a)?;
            institutions::insert(c, &b)
        })
        .unwrap();

    let got = store.read(|c| institutions::get(c, &a.brin)).unwrap();
    assert_eq!(got, Some(a.clone()));
    assert_eq!(store.read(|c| institutions::get(c, &brin("99ZZ"))).unwrap(), None);
    let all = store.read(institutions::list).unwrap();
    assert_eq!(all, vec![b.clone(), a.clone()], "ordered by brin");

    // Update each field; `updated_at` moves, the rest stays.
    let renamed = store
        .write(|c| institutions::update(c, &a.brin, Some("ROC Nieuw"), None, None, at(1000)))
        .unwrap()
        .unwrap();
    assert_eq!(renamed.name, "ROC Nieuw");
    assert_eq!(renamed.oin, a.oin);
    assert_eq!(renamed.updated_at, at(1000));
    assert_eq!(renamed.created_at, a.created_at);

    let new_oin = oin(2);
    let changed = store
        .write(|c| {
            institutions::update(
                c,
                &a.brin,
                None,
                Some(Some(&new_oin)),
                Some(InstitutionStatus::Suspended),
                at(2000),
            )
        })
        .unwrap()
        .unwrap();
    assert_eq!(changed.oin, Some(new_oin.clone()));
    assert_eq!(changed.status, InstitutionStatus::Suspended);
    assert_eq!(changed.name, "ROC Nieuw");

    let cleared = store
        .write(|c| institutions::update(c, &a.brin, None, Some(None), None, at(3000)))
        .unwrap()
        .unwrap();
    assert_eq!(cleared.oin, None);
    assert_eq!(store.read(|c| institutions::get(c, &a.brin)).unwrap(), Some(cleared));

    let missing = store
        .write(|c| institutions::update(c, &brin("99ZZ"), Some("x"), None, None, at(0)))
        .unwrap();
    assert_eq!(missing, None);
}

fn institution_conflicts(db: &TestDb) {
    let store = db.store();
    let mut a = institution("25LX", Sector::Vo);
    a.oin = Some(oin(1));
    let b = institution("30AB", Sector::Mbo);
    store
        .write(|c| -> R<()> {
            institutions::insert(c, &a)?;
            institutions::insert(c, &b)
        })
        .unwrap();

    let same_brin = institution("25LX", Sector::Mbo);
    let err = store.write(|c| institutions::insert(c, &same_brin)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict("institution")), "{err:?}");

    let mut same_oin = institution("40CD", Sector::Vo);
    same_oin.oin = Some(oin(1));
    let err = store.write(|c| institutions::insert(c, &same_oin)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict("institution")), "{err:?}");

    let taken = oin(1);
    let err = store
        .write(|c| institutions::update(c, &b.brin, None, Some(Some(&taken)), None, at(5)))
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("institution")), "{err:?}");
    assert_eq!(store.read(|c| institutions::get(c, &b.brin)).unwrap(), Some(b.clone()));
    assert_eq!(store.read(institutions::list).unwrap().len(), 2);
}

/// A conflict is contained in a savepoint: the same transaction can still
/// audit the rejected attempt and commit (on PostgreSQL a failed statement
/// would otherwise abort the whole transaction).
fn conflict_leaves_transaction_usable(db: &TestDb) {
    let store = db.store();
    let a = institution("25LX", Sector::Vo);
    store.write(|c| institutions::insert(c, &a)).unwrap();

    store
        .write(|c| -> R<()> {
            let again = institutions::insert(c, &institution("25LX", Sector::Mbo));
            assert!(matches!(again, Err(StoreError::Conflict("institution"))));
            audit::append(c, &event(1))
        })
        .unwrap();
    assert_eq!(doorstroom_store::testing::last_seq(&store), 1);
    assert_eq!(store.read(audit::count).unwrap(), 1);
    assert_eq!(store.read(|c| institutions::get(c, &a.brin)).unwrap(), Some(a));
}

fn corrupt_values_are_errors_not_panics(db: &TestDb) {
    let store = db.store();
    store
        .write(|c| institutions::insert(c, &institution("25LX", Sector::Vo)))
        .unwrap();
    store
        .write(|c| -> R<()> { Ok(c.batch_execute("UPDATE institutions SET sector = 'hbo' WHERE brin = '25LX'")?) })
        .unwrap();
    let err = store.read(|c| institutions::get(c, &brin("25LX"))).unwrap_err();
    match err {
        StoreError::Corrupt { table, column, .. } => {
            assert_eq!((table, column), ("institutions", "sector"));
            let msg = err.to_string();
            assert!(!msg.contains("hbo"), "the value must not be echoed: {msg}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(matches!(
        store.read(institutions::list),
        Err(StoreError::Corrupt { .. })
    ));
}

fn keys_round_trip_and_life_cycle(db: &TestDb) {
    let store = db.store();
    let school = brin("25LX");
    let k2 = key("25LX", "k2", 20);
    let k1 = key("25LX", "k1", 10);
    let mut enc = key("25LX", "k0", 20);
    enc.key_use = doorstroom_domain::KeyUse::Enc;
    enc.alg = "ECDH-ES+A256KW".to_owned();
    store
        .write(|c| -> R<()> {
            institutions::insert(c, &institution("25LX", Sector::Vo))?;
            institutions::insert(c, &institution("30AB", Sector::Mbo))?;
            keys::insert(c, &k2)?;
            keys::insert(c, &k1)?;
            keys::insert(c, &enc)
        })
        .unwrap();

    assert_eq!(store.read(|c| keys::get(c, &school, "k1")).unwrap(), Some(k1.clone()));
    assert_eq!(
        store.read(|c| keys::get(c, &brin("30AB"), "k1")).unwrap(),
        None,
        "other institution"
    );
    let listed = store.read(|c| keys::list_for(c, &school)).unwrap();
    assert_eq!(
        listed,
        vec![k1.clone(), enc.clone(), k2.clone()],
        "by created_at, then kid"
    );
    assert!(store.read(|c| keys::list_for(c, &brin("30AB"))).unwrap().is_empty());

    // Duplicate kid, even at another institution.
    let err = store.write(|c| keys::insert(c, &key("30AB", "k1", 0))).unwrap_err();
    assert!(matches!(err, StoreError::Conflict("key")), "{err:?}");
    // Unknown institution.
    let err = store.write(|c| keys::insert(c, &key("99ZZ", "k9", 0))).unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    // active -> active: nothing changes.
    let same = store
        .write(|c| keys::set_status(c, &school, "k1", KeyStatus::Active, at(50)))
        .unwrap();
    assert_eq!(same, Some(k1.clone()));

    // active -> retired.
    let retired = store
        .write(|c| keys::set_status(c, &school, "k1", KeyStatus::Retired, at(100)))
        .unwrap()
        .unwrap();
    assert_eq!(retired.status, KeyStatus::Retired);
    assert_eq!(retired.retired_at, Some(at(100)));
    assert_eq!(retired.revoked_at, None);
    // Retiring again keeps the first retired_at; no way back to active.
    let again = store
        .write(|c| keys::set_status(c, &school, "k1", KeyStatus::Retired, at(150)))
        .unwrap();
    assert_eq!(again, Some(retired.clone()));
    let back = store
        .write(|c| keys::set_status(c, &school, "k1", KeyStatus::Active, at(160)))
        .unwrap();
    assert_eq!(back, Some(retired.clone()));

    // retired -> revoked keeps retired_at.
    let revoked = store
        .write(|c| keys::set_status(c, &school, "k1", KeyStatus::Revoked, at(200)))
        .unwrap()
        .unwrap();
    assert_eq!(revoked.status, KeyStatus::Revoked);
    assert_eq!(revoked.retired_at, Some(at(100)));
    assert_eq!(revoked.revoked_at, Some(at(200)));

    // Revoked is final.
    for status in [KeyStatus::Revoked, KeyStatus::Retired, KeyStatus::Active] {
        let after = store
            .write(|c| keys::set_status(c, &school, "k1", status, at(300)))
            .unwrap();
        assert_eq!(after, Some(revoked.clone()), "{status:?} after revoked");
    }

    // active -> revoked directly.
    let k2_revoked = store
        .write(|c| keys::set_status(c, &school, "k2", KeyStatus::Revoked, at(400)))
        .unwrap()
        .unwrap();
    assert_eq!(
        (k2_revoked.status, k2_revoked.retired_at, k2_revoked.revoked_at),
        (KeyStatus::Revoked, None, Some(at(400)))
    );

    // Unknown key, or another institution's key.
    assert_eq!(
        store
            .write(|c| keys::set_status(c, &school, "nope", KeyStatus::Revoked, at(1)))
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .write(|c| keys::set_status(c, &brin("30AB"), "k0", KeyStatus::Revoked, at(1)))
            .unwrap(),
        None
    );
    assert_eq!(store.read(|c| keys::get(c, &school, "k0")).unwrap(), Some(enc));
}

fn certificates_round_trip(db: &TestDb) {
    let store = db.store();
    let school = brin("25LX");
    let first = binding("25LX", 1);
    let second = binding("25LX", 2);
    let other = binding("30AB", 3);
    store
        .write(|c| -> R<()> {
            institutions::insert(c, &institution("25LX", Sector::Vo))?;
            institutions::insert(c, &institution("30AB", Sector::Mbo))?;
            certificates::bind(c, &second)?;
            certificates::bind(c, &first)?;
            certificates::bind(c, &other)
        })
        .unwrap();

    let (found, owner) = store
        .read(|c| certificates::find(c, &first.fingerprint))
        .unwrap()
        .unwrap();
    assert_eq!(found, first);
    assert!(!found.is_revoked());
    assert_eq!(owner, institution("25LX", Sector::Vo));
    let (_, owner) = store
        .read(|c| certificates::find(c, &other.fingerprint))
        .unwrap()
        .unwrap();
    assert_eq!(owner.brin, brin("30AB"));
    assert_eq!(store.read(|c| certificates::find(c, &fingerprint(9))).unwrap(), None);
    // The request's own lookup, outside a transaction, reads the same.
    assert_eq!(
        store.certificate_binding(&first.fingerprint).unwrap(),
        Some((first.clone(), institution("25LX", Sector::Vo)))
    );
    assert_eq!(store.certificate_binding(&fingerprint(9)).unwrap(), None);

    let listed = store.read(|c| certificates::list_for(c, &school)).unwrap();
    assert_eq!(listed, vec![first.clone(), second.clone()]);

    // Bound already (to whichever institution).
    let err = store.write(|c| certificates::bind(c, &binding("30AB", 1))).unwrap_err();
    assert!(matches!(err, StoreError::Conflict("certificate")), "{err:?}");
    let err = store.write(|c| certificates::bind(c, &binding("99ZZ", 5))).unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    // Revoke; revoking again keeps the first time.
    let revoked = store
        .write(|c| certificates::revoke(c, &school, &first.fingerprint, at(500)))
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at(500)));
    assert!(revoked.is_revoked());
    let again = store
        .write(|c| certificates::revoke(c, &school, &first.fingerprint, at(600)))
        .unwrap();
    assert_eq!(again, Some(revoked.clone()));
    // find still returns it; the caller refuses revoked bindings. The
    // request's lookup sees the revocation at once.
    let (found, _) = store
        .read(|c| certificates::find(c, &first.fingerprint))
        .unwrap()
        .unwrap();
    assert_eq!(found, revoked);
    assert_eq!(
        store.certificate_binding(&first.fingerprint).unwrap().unwrap().0,
        revoked
    );

    // Another institution cannot revoke it; unknown fingerprints are None.
    assert_eq!(
        store
            .write(|c| certificates::revoke(c, &school, &other.fingerprint, at(700)))
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .read(|c| certificates::find(c, &other.fingerprint))
            .unwrap()
            .unwrap()
            .0,
        other
    );
    assert_eq!(
        store
            .write(|c| certificates::revoke(c, &school, &fingerprint(9), at(700)))
            .unwrap(),
        None
    );
}

fn staff_round_trip(db: &TestDb) {
    let store = db.store();
    let intaker = staff("intaker@roc.nl", Role::Intaker, Some("30AB"));
    let admin = staff("admin@roc.nl", Role::InstitutionAdmin, Some("30AB"));
    let other = staff("fg@school.nl", Role::PrivacyOfficer, Some("25LX"));
    let broker = staff("broker.admin", Role::BrokerAdmin, None);
    store
        .write(|c| -> R<()> {
            institutions::insert(c, &institution("25LX", Sector::Vo))?;
            institutions::insert(c, &institution("30AB", Sector::Mbo))?;
            for account in [&intaker, &admin, &other, &broker] {
                staff::insert(c, account)?;
            }
            Ok(())
        })
        .unwrap();

    assert_eq!(
        store.read(|c| staff::get(c, intaker.id)).unwrap(),
        Some(intaker.clone())
    );
    assert_eq!(store.read(|c| staff::get(c, broker.id)).unwrap(), Some(broker.clone()));
    let by_name = store
        .read(|c| staff::by_username(c, &Username::parse("INTAKER@roc.nl").unwrap()))
        .unwrap();
    assert_eq!(by_name, Some(intaker.clone()));
    assert_eq!(
        store
            .read(|c| staff::by_username(c, &Username::parse("nobody").unwrap()))
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .read(|c| staff::get(c, doorstroom_domain::StaffId(uuid::Uuid::new_v4())))
            .unwrap(),
        None
    );

    let all = store.read(|c| staff::list(c, None)).unwrap();
    assert_eq!(
        all,
        vec![admin.clone(), broker.clone(), other.clone(), intaker.clone()],
        "by username"
    );
    let roc = store.read(|c| staff::list(c, Some(&brin("30AB")))).unwrap();
    assert_eq!(roc, vec![admin.clone(), intaker.clone()]);

    // Username taken.
    let mut dup = staff("intaker@roc.nl", Role::Intaker, Some("25LX"));
    dup.display_name = "Someone else".into();
    let err = store.write(|c| staff::insert(c, &dup)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict("username")), "{err:?}");
    // Unknown institution.
    let err = store
        .write(|c| staff::insert(c, &staff("x@nowhere", Role::Intaker, Some("99ZZ"))))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    let off = store
        .write(|c| staff::set_status(c, intaker.id, StaffStatus::Deactivated, at(10)))
        .unwrap()
        .unwrap();
    assert_eq!(off.status, StaffStatus::Deactivated);
    assert_eq!(off.updated_at, at(10));

    let enrolled = store
        .write(|c| staff::set_totp_secret(c, admin.id, Some("JBSWY3DPEHPK3PXP"), at(20)))
        .unwrap()
        .unwrap();
    assert_eq!(enrolled.totp_secret.as_deref(), Some("JBSWY3DPEHPK3PXP"));
    assert_eq!(store.read(|c| staff::get(c, admin.id)).unwrap(), Some(enrolled.clone()));
    let reset = store
        .write(|c| staff::set_totp_secret(c, admin.id, None, at(30)))
        .unwrap()
        .unwrap();
    assert_eq!(reset.totp_secret, None);
    assert_eq!(reset.updated_at, at(30));

    // A TOTP step is taken once, and never one before the last.
    assert!(store.write(|c| staff::use_totp_step(c, admin.id, 100)).unwrap());
    assert!(!store.write(|c| staff::use_totp_step(c, admin.id, 100)).unwrap());
    assert!(!store.write(|c| staff::use_totp_step(c, admin.id, 99)).unwrap());
    assert!(store.write(|c| staff::use_totp_step(c, admin.id, 101)).unwrap());

    // Replacing a stored secret only while it is still the one read.
    store
        .write(|c| staff::set_totp_secret(c, admin.id, Some("PLAIN"), at(40)))
        .unwrap();
    let unsealed = store.read(|c| staff::totp_secrets_without_prefix(c, "v1:")).unwrap();
    assert_eq!(unsealed, vec![(admin.id, "PLAIN".to_owned())]);
    assert!(
        !store
            .write(|c| staff::replace_totp_secret(c, admin.id, "OTHER", "v1:x"))
            .unwrap()
    );
    assert!(
        store
            .write(|c| staff::replace_totp_secret(c, admin.id, "PLAIN", "v1:x"))
            .unwrap()
    );
    assert!(
        store
            .read(|c| staff::totp_secrets_without_prefix(c, "v1:"))
            .unwrap()
            .is_empty()
    );

    let nobody = doorstroom_domain::StaffId(uuid::Uuid::new_v4());
    assert!(!store.write(|c| staff::use_totp_step(c, nobody, 1)).unwrap());
    assert_eq!(
        store
            .write(|c| staff::set_status(c, nobody, StaffStatus::Active, at(1)))
            .unwrap(),
        None
    );
    assert_eq!(
        store.write(|c| staff::set_totp_secret(c, nobody, None, at(1))).unwrap(),
        None
    );

    // Debug never shows secrets.
    let shown = format!("{enrolled:?}");
    assert!(!shown.contains("argon2"), "{shown}");
    assert!(!shown.contains("JBSWY3DPEHPK3PXP"), "{shown}");
    assert!(shown.contains("admin@roc.nl"));
}

fn login_failures_round_trip(db: &TestDb) {
    let store = db.store();
    store
        .write(|c| -> R<()> {
            login_failures::record(c, "account", "aa", at(0))?;
            login_failures::record(c, "account", "aa", at(1000))?;
            login_failures::record(c, "account", "aa", at(2000))?;
            login_failures::record(c, "address", "aa", at(2000))?;
            login_failures::record(c, "account", "bb", at(2000))
        })
        .unwrap();
    let count = |scope: &'static str, key: &'static str, since| {
        store
            .read(|c| login_failures::count_since(c, scope, key, since))
            .unwrap()
    };
    assert_eq!(count("account", "aa", at(0)), 3);
    assert_eq!(count("account", "aa", at(1000)), 2, "since is inclusive");
    assert_eq!(count("account", "aa", at(2001)), 0);
    assert_eq!(count("address", "aa", at(0)), 1);
    assert_eq!(count("address", "zz", at(0)), 0);

    store.write(|c| login_failures::clear(c, "account", "aa")).unwrap();
    assert_eq!(count("account", "aa", at(0)), 0);
    assert_eq!(count("address", "aa", at(0)), 1, "other scope untouched");
    assert_eq!(count("account", "bb", at(0)), 1, "other key untouched");

    store
        .write(|c| -> R<()> {
            login_failures::record(c, "account", "cc", at(-5000))?;
            login_failures::record(c, "account", "cc", at(5000))
        })
        .unwrap();
    let pruned = store.write(|c| login_failures::prune_before(c, at(2000))).unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(count("account", "cc", at(-10_000)), 1);
    assert_eq!(count("account", "bb", at(0)), 1, "at == before is kept");

    // The lock is taken inside a write; forgetting takes back one failure
    // of the given instant only.
    store
        .write(|c| -> R<()> {
            login_failures::lock_bucket(c, "account", "dd")?;
            login_failures::lock_bucket(c, "address", "dd")?;
            login_failures::record(c, "account", "dd", at(3000))?;
            login_failures::record(c, "account", "dd", at(3000))?;
            login_failures::record(c, "account", "dd", at(4000))
        })
        .unwrap();
    store
        .write(|c| login_failures::forget_one(c, "account", "dd", at(3000)))
        .unwrap();
    assert_eq!(count("account", "dd", at(0)), 2);
    store
        .write(|c| login_failures::forget_one(c, "account", "dd", at(9999)))
        .unwrap();
    assert_eq!(count("account", "dd", at(0)), 2, "nothing at that instant");
}

fn foreign_keys_are_enforced(db: &TestDb) {
    let store = db.store();
    // Raw SQL, bypassing the repositories' checks: the database refuses.
    let result = store.write(|c: &mut DbConn| -> R<()> {
        Ok(c.batch_execute(
            "INSERT INTO client_certificates (fingerprint, brin, subject, not_after, created_at) \
             VALUES ('00', '99ZZ', 'CN=x', 0, 0)",
        )?)
    });
    assert!(result.is_err());
}

fn console_sessions_round_trip(db: &TestDb) {
    let store = db.store();
    let fg = staff("fg.sessions", Role::PrivacyOfficer, None);
    let other = staff("fg.other", Role::PrivacyOfficer, None);
    store
        .write(|c| -> R<()> {
            staff::insert(c, &fg)?;
            staff::insert(c, &other)?;
            console_sessions::insert(c, "h1", fg.id, at(0))?;
            console_sessions::insert(c, "h2", fg.id, at(0))?;
            console_sessions::insert(c, "h3", other.id, at(0))
        })
        .unwrap();
    let got = store.read(|c| console_sessions::get(c, "h1")).unwrap().unwrap();
    assert_eq!(got.staff_id, fg.id);
    assert_eq!((got.created_at, got.last_seen_at), (at(0), at(0)));
    assert_eq!(store.read(|c| console_sessions::get(c, "nope")).unwrap(), None);

    store.write(|c| console_sessions::touch(c, "h1", at(5000))).unwrap();
    let touched = store.read(|c| console_sessions::get(c, "h1")).unwrap().unwrap();
    assert_eq!((touched.created_at, touched.last_seen_at), (at(0), at(5000)));

    // Idle since before 1000 (h2, h3) or made before -1 (none): h1 stays.
    assert_eq!(
        store.write(|c| console_sessions::prune(c, at(1000), at(-1))).unwrap(),
        2
    );
    assert!(store.read(|c| console_sessions::get(c, "h1")).unwrap().is_some());
    // Made before 1: h1 goes, however recently used.
    assert_eq!(store.write(|c| console_sessions::prune(c, at(0), at(1))).unwrap(), 1);

    store
        .write(|c| -> R<()> {
            console_sessions::insert(c, "h4", fg.id, at(0))?;
            console_sessions::insert(c, "h5", other.id, at(0))
        })
        .unwrap();
    assert_eq!(
        store.write(|c| console_sessions::delete_for_staff(c, fg.id)).unwrap(),
        1
    );
    assert!(store.write(|c| console_sessions::delete(c, "h5")).unwrap());
    assert!(
        !store.write(|c| console_sessions::delete(c, "h5")).unwrap(),
        "gone already"
    );
    // A session of an unknown account is refused by the foreign key.
    let nobody = doorstroom_domain::StaffId(uuid::Uuid::new_v4());
    assert!(
        store
            .write(|c| console_sessions::insert(c, "h6", nobody, at(0)))
            .is_err()
    );
}

doorstroom_store::backend_tests!(
    console_sessions_round_trip,
    institutions_round_trip,
    institution_conflicts,
    conflict_leaves_transaction_usable,
    corrupt_values_are_errors_not_panics,
    keys_round_trip_and_life_cycle,
    certificates_round_trip,
    staff_round_trip,
    login_failures_round_trip,
    foreign_keys_are_enforced,
);
