//! The decrypted dossiers, in memory only and per intaker: what an intaker
//! sees decrypted was pulled in their own name (so the broker's audit log
//! has an access of theirs for every name on their screen). Nothing here is
//! ever written to disk or logged.
//!
//! A dossier is dropped when the broker says the package is gone (it is no
//! longer in the inbox, or a pull answers 404), a section when the inbox
//! says it was withdrawn, and all of an intaker's dossiers when they log out.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use doorstroom_client::{InboxEntry, ReceivedDossier};
use doorstroom_domain::{Section, StaffId};

/// One decrypted dossier with what the desk shows beside it.
#[derive(Clone)]
pub struct Held {
    pub dossier: ReceivedDossier,
    pub programme: Option<String>,
    pub delete_after: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct Vault {
    held: Mutex<HashMap<StaffId, HashMap<String, Held>>>,
}

impl Vault {
    pub fn get(&self, staff: StaffId, package: &str) -> Option<Held> {
        self.held.lock().ok()?.get(&staff)?.get(package).cloned()
    }

    pub fn put(&self, staff: StaffId, held: Held) {
        if let Ok(mut map) = self.held.lock() {
            map.entry(staff)
                .or_default()
                .insert(held.dossier.package_id.clone(), held);
        }
    }

    /// The broker says `package` is gone: every intaker's copy goes.
    pub fn forget(&self, package: &str) {
        if let Ok(mut map) = self.held.lock() {
            for packages in map.values_mut() {
                packages.remove(package);
            }
        }
    }

    /// The broker withdrew one section of `package`: it goes from every
    /// intaker's copy.
    pub fn forget_section(&self, package: &str, section: Section) {
        if let Ok(mut map) = self.held.lock() {
            for held in map.values_mut().filter_map(|packages| packages.get_mut(package)) {
                held.dossier.sections.remove(&section);
            }
        }
    }

    /// Brings every copy in line with the mbo's inbox: packages it no
    /// longer lists are dropped, sections it lists as withdrawn removed.
    pub fn prune(&self, inbox: &[InboxEntry]) {
        let Ok(mut map) = self.held.lock() else { return };
        for packages in map.values_mut() {
            packages.retain(|id, _| inbox.iter().any(|e| &e.package_id == id));
            for entry in inbox {
                let Some(held) = packages.get_mut(&entry.package_id) else {
                    continue;
                };
                for section in entry.sections.iter().filter(|s| s.withdrawn_at.is_some()) {
                    held.dossier.sections.remove(&section.section);
                }
            }
        }
    }

    /// An intaker logged out (and has no other session): their copies go.
    pub fn drop_intaker(&self, staff: StaffId) {
        if let Ok(mut map) = self.held.lock() {
            map.remove(&staff);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use doorstroom_client::InboxSection;
    use doorstroom_domain::Brin;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn held(package: &str) -> Held {
        let now = Utc::now();
        Held {
            dossier: ReceivedDossier {
                package_id: package.to_owned(),
                application_id: Uuid::new_v4(),
                sender: Brin::parse("07AB").unwrap(),
                recipient: Brin::parse("25LX").unwrap(),
                submitted_at: now,
                sealed_at: now.timestamp(),
                sender_kid: "07AB-sig".into(),
                sender_certificate: "CN=07AB".into(),
                sections: BTreeMap::from([
                    (Section::PersonalData, json!({"name": "Sam"})),
                    (Section::SupportNeeds, json!({"needs": "x"})),
                ]),
                withheld: Vec::new(),
            },
            programme: None,
            delete_after: None,
        }
    }

    fn listed(package: &str, withdrawn: Option<Section>) -> InboxEntry {
        let now = Utc::now();
        InboxEntry {
            package_id: package.to_owned(),
            application_id: Uuid::new_v4(),
            sender: "07AB".into(),
            submitted_at: now,
            delivered_at: Some(now),
            acknowledged_at: None,
            sections: [Section::PersonalData, Section::SupportNeeds]
                .into_iter()
                .map(|section| InboxSection {
                    section,
                    size: 10,
                    delivered_at: Some(now),
                    withdrawn_at: (Some(section) == withdrawn).then_some(now),
                })
                .collect(),
            delete_after: now,
        }
    }

    #[test]
    fn plaintext_goes_when_the_broker_says_so() {
        let vault = Vault::default();
        let (a, b) = (StaffId(Uuid::new_v4()), StaffId(Uuid::new_v4()));
        for staff in [a, b] {
            vault.put(staff, held("p1"));
            vault.put(staff, held("p2"));
        }
        // p2 is no longer listed; p1's support needs were withdrawn.
        vault.prune(&[listed("p1", Some(Section::SupportNeeds))]);
        for staff in [a, b] {
            assert!(vault.get(staff, "p2").is_none());
            let kept = vault.get(staff, "p1").unwrap();
            assert_eq!(
                kept.dossier.sections.keys().collect::<Vec<_>>(),
                [&Section::PersonalData]
            );
        }
        vault.forget("p1");
        assert!(vault.get(a, "p1").is_none() && vault.get(b, "p1").is_none());
        vault.put(a, held("p3"));
        vault.drop_intaker(a);
        assert!(vault.get(a, "p3").is_none());
    }

    #[test]
    fn a_withdrawn_section_goes_from_every_copy() {
        let vault = Vault::default();
        let (a, b) = (StaffId(Uuid::new_v4()), StaffId(Uuid::new_v4()));
        vault.put(a, held("p1"));
        vault.put(b, held("p1"));
        vault.forget_section("p1", Section::SupportNeeds);
        for staff in [a, b] {
            let copy = vault.get(staff, "p1").unwrap();
            assert!(!copy.dossier.sections.contains_key(&Section::SupportNeeds));
            assert!(copy.dossier.sections.contains_key(&Section::PersonalData));
        }
    }
}
