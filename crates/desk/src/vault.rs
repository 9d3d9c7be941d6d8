//! The decrypted dossiers, in memory only and per intaker: what an intaker
//! sees decrypted was pulled in their own name (so the broker's audit log
//! has an access of theirs for every name on their screen). Nothing here is
//! ever written to disk or logged.
//!
//! A dossier is dropped when the broker says the package is gone (it is no
//! longer in the inbox, or a pull answers 404), a section when the inbox
//! says it was withdrawn, and all of an intaker's dossiers when they log out.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use doorstroom_client::{InboxEntry, ReceivedDossier};
use doorstroom_domain::StaffId;

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
    /// The packages each intaker has seen listed (for the arrival marker).
    seen: Mutex<HashMap<StaffId, HashSet<String>>>,
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

    /// Which of `ids` this intaker has not seen listed before; all are
    /// marked seen from now on.
    pub fn arrivals(&self, staff: StaffId, ids: &[String]) -> HashSet<String> {
        let Ok(mut seen) = self.seen.lock() else {
            return HashSet::new();
        };
        let mine = seen.entry(staff).or_default();
        ids.iter().filter(|id| mine.insert((*id).clone())).cloned().collect()
    }
}
