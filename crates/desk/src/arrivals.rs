//! The arrival marker, fed by the mbo's event feed (`GET /v1/events`).
//!
//! The desk follows its mbo's feed as the mbo's system: a long poll that
//! the broker answers at once when something happens. What the feed says
//! is kept here, ids and sequence numbers only (the feed carries nothing
//! else):
//!
//! * `package.available` — the package is *new* for every intaker whose
//!   last look at the inbox came before it;
//! * `package.withdrawn` / `section.withdrawn` — the decrypted copies on
//!   the desk go at once, not at the next inbox view.
//!
//! The desk reads the feed to its head when it starts, so what arrived
//! before is not marked new. An inbox view that lists a package the feed
//! has not told us about yet (the long poll's answer still on its way)
//! asks the feed once more before it draws the page, so the marker never
//! depends on that race.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use doorstroom_client::{ClientError, EventKind, FeedEntry, FeedPage};
use doorstroom_domain::StaffId;

use crate::broker::Broker;
use crate::vault::Vault;

/// How long one long poll may wait; the broker bounds it further
/// (`events.max_wait_secs`).
const LONG_POLL_SECS: u32 = 25;

/// After a failed poll (broker down, network), the follower waits this
/// long before it asks again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Arrivals {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The cursor to ask with next, and the sequence number it stands for.
    cursor: Option<String>,
    head: i64,
    /// What the desk saw when it started: arrivals up to here are not new.
    baseline: i64,
    /// Package id → the sequence number of its `package.available`.
    available: HashMap<String, i64>,
    /// Each intaker's last inbox view, as the feed head at that moment.
    looked: HashMap<StaffId, i64>,
}

impl Arrivals {
    /// Reads the feed to its head: what is there now is not new.
    pub async fn from_head(broker: &Broker, vault: &Vault) -> Result<Arrivals, ClientError> {
        let arrivals = Arrivals::default();
        loop {
            let page = broker.events(arrivals.cursor().as_deref(), 0).await?;
            let more = page.more;
            arrivals.apply(page, vault);
            if !more {
                break;
            }
        }
        if let Ok(mut state) = arrivals.state.lock() {
            state.baseline = state.head;
        }
        Ok(arrivals)
    }

    fn cursor(&self) -> Option<String> {
        self.state.lock().ok()?.cursor.clone()
    }

    /// Takes in one page of the feed. Applying a page twice (the follower
    /// and an inbox view may read the same entries) changes nothing, and
    /// the cursor only moves forward.
    fn apply(&self, page: FeedPage, vault: &Vault) {
        for entry in &page.events {
            forget_withdrawn(entry, vault);
        }
        let Ok(mut state) = self.state.lock() else { return };
        let last = page.events.iter().map(|e| e.seq).max();
        for entry in page.events {
            if let (EventKind::PackageAvailable, Some(package)) = (entry.kind, entry.package_id) {
                state.available.insert(package, entry.seq);
            }
        }
        if let Some(last) = last.filter(|last| *last > state.head) {
            state.head = last;
            state.cursor = Some(page.next);
        }
    }

    /// Whether the feed has told the desk about each of `packages`.
    fn knows_all(&self, packages: &[String]) -> bool {
        let Ok(state) = self.state.lock() else { return false };
        packages.iter().all(|p| state.available.contains_key(p))
    }

    /// Asks the feed once, without waiting, when the inbox lists a package
    /// it has not announced yet. A failure only costs the marker.
    pub async fn catch_up(&self, broker: &Broker, vault: &Vault, listed: &[String]) {
        if self.knows_all(listed) {
            return;
        }
        match broker.events(self.cursor().as_deref(), 0).await {
            Ok(page) => self.apply(page, vault),
            Err(e) => tracing::warn!(error = %e, "the event feed could not be read"),
        }
    }

    /// Which of `listed` arrived after this intaker's previous look (or,
    /// on their first look, after the desk started); from now on they have
    /// looked.
    pub fn new_for(&self, staff: StaffId, listed: &[String]) -> Vec<String> {
        let Ok(mut state) = self.state.lock() else {
            return Vec::new();
        };
        let since = state.looked.get(&staff).copied().unwrap_or(state.baseline);
        let new = listed
            .iter()
            .filter(|p| state.available.get(*p).is_some_and(|seq| *seq > since))
            .cloned()
            .collect();
        let head = state.head;
        state.looked.insert(staff, head);
        new
    }

    /// Follows the feed until the task is dropped: long polls, one after
    /// the other, and a pause after a failure.
    pub async fn follow(&self, broker: &Broker, vault: &Vault) {
        loop {
            match broker.events(self.cursor().as_deref(), LONG_POLL_SECS).await {
                Ok(page) => self.apply(page, vault),
                Err(e) => {
                    tracing::warn!(error = %e, "the event feed could not be read; asking again shortly");
                    tokio::time::sleep(RETRY_AFTER).await;
                }
            }
        }
    }
}

/// What the broker withdrew is deleted from the desk at once.
fn forget_withdrawn(entry: &FeedEntry, vault: &Vault) {
    let Some(package) = entry.package_id.as_deref() else {
        return;
    };
    match (entry.kind, entry.section) {
        (EventKind::PackageWithdrawn, _) => vault.forget(package),
        (EventKind::SectionWithdrawn, Some(section)) => vault.forget_section(package, section),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    fn entry(seq: i64, kind: EventKind, package: &str) -> FeedEntry {
        FeedEntry {
            id: Uuid::new_v4(),
            seq,
            kind,
            package_id: Some(package.to_owned()),
            application_id: None,
            section: None,
            occurred_at: Utc::now(),
            at_risk: None,
        }
    }

    fn page(events: Vec<FeedEntry>, next: &str) -> FeedPage {
        FeedPage {
            events,
            next: next.to_owned(),
            more: false,
        }
    }

    #[test]
    fn an_arrival_is_new_once_for_each_intaker_and_never_before_the_baseline() {
        let (arrivals, vault) = (Arrivals::default(), Vault::default());
        arrivals.apply(page(vec![entry(1, EventKind::PackageAvailable, "old")], "c1"), &vault);
        arrivals.state.lock().unwrap().baseline = 1;
        arrivals.apply(page(vec![entry(2, EventKind::PackageAvailable, "p")], "c2"), &vault);
        let (a, b) = (StaffId(Uuid::new_v4()), StaffId(Uuid::new_v4()));
        let listed = ["old".to_owned(), "p".to_owned()];
        assert_eq!(arrivals.new_for(a, &listed), ["p"]);
        assert!(arrivals.new_for(a, &listed).is_empty(), "looked at once");
        assert_eq!(arrivals.new_for(b, &listed), ["p"], "another intaker has not looked");
    }

    #[test]
    fn a_page_read_twice_or_late_does_not_move_the_cursor_back() {
        let (arrivals, vault) = (Arrivals::default(), Vault::default());
        arrivals.apply(page(vec![entry(3, EventKind::PackageAvailable, "p")], "c3"), &vault);
        arrivals.apply(page(vec![entry(2, EventKind::PackageAcknowledged, "q")], "c2"), &vault);
        arrivals.apply(page(vec![], "c2"), &vault);
        assert_eq!(arrivals.cursor().as_deref(), Some("c3"));
        assert!(arrivals.knows_all(&["p".to_owned()]));
        assert!(!arrivals.knows_all(&["q".to_owned()]), "only arrivals are remembered");
    }
}
