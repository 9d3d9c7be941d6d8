//! Development seeding is idempotent under concurrent starts (issue 11):
//! two `serve --dev` at once on one empty database both start. Here two
//! seedings run at once, each on a store of its own (as two processes
//! would: its own pool and, on SQLite, its own writer queue), from opening
//! the empty database (its migrations) to the demo institutions and staff;
//! both succeed and every demo record exists exactly once.

use std::sync::{Arc, Barrier};

use chrono::Utc;
use doorstroom_devkit::{pki, seed};
use doorstroom_domain::Username;
use doorstroom_jose::TrustAnchors;
use doorstroom_server::Secrets;
use doorstroom_server::config::Settings;
use doorstroom_server::secrets::TotpKey;
use doorstroom_server::tls::ClientRoots;
use doorstroom_store::{Store, certificates, institutions, keys, staff};
use doorstroom_tests::TestDb;

const DEMO_USERNAMES: &[&str] = &[
    "admin",
    "fg.broker",
    "intaker.25lx",
    "beheer.25lx",
    "fg.25lx",
    "intaker.27gh",
    "rmc.demo",
    "zorg.07ab",
];

/// A TOTP sealing key made in `dir`, as `serve --dev` makes its secrets.
fn totp_key_in(dir: &std::path::Path) -> TotpKey {
    let mut settings = Settings::load(None).expect("default settings").secrets;
    let secrets = dir.join("secrets");
    settings.pseudonym_key_file = secrets.join("pseudonym.key");
    settings.token_key_file = secrets.join("token.key");
    settings.signing_key_file = secrets.join("broker-signing.pem");
    Secrets::generate_missing(&settings).expect("secrets");
    TotpKey::load(&settings).expect("TOTP key")
}

#[test]
fn two_dev_seedings_at_once_on_one_empty_database_both_succeed() {
    // A few rounds: the race is between two threads, and each round is a
    // new chance for it to go the wrong way.
    for db in (0..3).flat_map(|_| TestDb::all()) {
        eprintln!("-- on {}", db.backend.name());
        let dir = tempfile::tempdir().expect("temp dir");
        let now = Utc::now();
        let dev_pki = pki::ensure_dev_pki(&dir.path().join("certs"), now).expect("dev PKI");
        doorstroom_server::tls::install_default_provider();
        let roots = ClientRoots::load(&dev_pki.ca_cert_path()).expect("client roots");
        let anchors = TrustAnchors::from_pem(&std::fs::read(dev_pki.ca_cert_path()).expect("ca.pem")).expect("anchors");
        let totp_key = Arc::new(totp_key_in(dir.path()));
        let shared = Arc::new((dev_pki, roots, anchors, db.url.clone()));
        let start = Arc::new(Barrier::new(2));

        let seedings: Vec<_> = (0..2)
            .map(|i| {
                let shared = shared.clone();
                let start = start.clone();
                let totp_key = totp_key.clone();
                let accounts = dir.path().join(format!("dev-accounts-{i}.txt"));
                std::thread::spawn(move || {
                    let (dev_pki, roots, anchors, url) = &*shared;
                    start.wait();
                    let store = Store::open(url, 4).map_err(|e| format!("open: {e}"))?;
                    let registered = seed::register_demo_institutions(&store, now, dev_pki, roots, anchors)
                        .map_err(|e| format!("institutions: {e}"))?;
                    let created = seed::create_demo_staff(&store, &totp_key, now, &accounts)
                        .map_err(|e| format!("staff: {e}"))?;
                    Ok::<_, String>((registered, created))
                })
            })
            .collect();
        let mut registered = Vec::new();
        let mut created = 0;
        for seeding in seedings {
            let (brins, summary) = seeding
                .join()
                .expect("seeding thread")
                .unwrap_or_else(|e| panic!("a concurrent seeding failed: {e}"));
            registered.extend(brins);
            created += summary.lines().count();
        }
        let (dev_pki, ..) = &*shared;

        // Each record was made by exactly one of the two.
        registered.sort();
        let mut expected: Vec<_> = dev_pki.institutions.iter().map(|i| i.brin.clone()).collect();
        expected.sort();
        assert_eq!(registered, expected, "each institution registered once");
        assert_eq!(created, DEMO_USERNAMES.len(), "each account created once");

        let store = db.store();
        store
            .read(|conn| {
                for inst in &dev_pki.institutions {
                    assert!(institutions::get(conn, &inst.brin)?.is_some(), "{}", inst.brin);
                    assert_eq!(certificates::list_for(conn, &inst.brin)?.len(), 1, "{}", inst.brin);
                    assert_eq!(keys::list_for(conn, &inst.brin)?.len(), 2, "{}", inst.brin);
                }
                for name in DEMO_USERNAMES {
                    let username = Username::parse(name).expect("username");
                    assert!(staff::by_username(conn, &username)?.is_some(), "{name}");
                }
                Ok::<_, doorstroom_store::StoreError>(())
            })
            .expect("read the seeded records");

        // A later start (a restart) finds everything and makes nothing.
        let again =
            seed::register_demo_institutions(&store, now, dev_pki, &shared.1, &shared.2).expect("institutions again");
        assert!(again.is_empty());
        let accounts = dir.path().join("dev-accounts-again.txt");
        let summary = seed::create_demo_staff(&store, &totp_key, now, &accounts).expect("staff again");
        assert!(summary.is_empty());
        drop(store);
    }
}
