//! The institutions' event feed on the wire (`GET /v1/events`): ids and
//! times only, never a student, pseudonym or student number.

use chrono::{DateTime, Utc};
use doorstroom_domain::{FeedEventKind, Section};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// What happened (`subject.verb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum EventKind {
    /// A package arrived for the mbo (to the recipient).
    #[serde(rename = "package.available")]
    PackageAvailable,
    /// Every section of a package was withdrawn after a consent withdrawal
    /// (to its sender and recipient).
    #[serde(rename = "package.withdrawn")]
    PackageWithdrawn,
    /// One section of a package was withdrawn after a consent withdrawal
    /// (to its sender and recipient; `section` names it).
    #[serde(rename = "section.withdrawn")]
    SectionWithdrawn,
    /// The mbo acknowledged a package (to its sender).
    #[serde(rename = "package.acknowledged")]
    PackageAcknowledged,
    /// An application's status moved and it is still open (to the mbo and
    /// the sending school it names); read the application for the status.
    #[serde(rename = "application.status_changed")]
    ApplicationStatusChanged,
    /// An application reached an end state (to the mbo and the sending
    /// school it names).
    #[serde(rename = "application.ended")]
    ApplicationEnded,
    /// The broker deletes a package within a week under its retention
    /// rules (to the recipient, once; see the package's `delete_after`).
    #[serde(rename = "package.expiring")]
    PackageExpiring,
    /// A student of the school's safety-net cohort became at risk, or the
    /// reason changed (to that school only; `at_risk` says who by the
    /// school's own reference, why and since when).
    #[serde(rename = "student.at_risk")]
    StudentAtRisk,
}

impl From<FeedEventKind> for EventKind {
    fn from(kind: FeedEventKind) -> Self {
        match kind {
            FeedEventKind::PackageAvailable => EventKind::PackageAvailable,
            FeedEventKind::PackageWithdrawn => EventKind::PackageWithdrawn,
            FeedEventKind::SectionWithdrawn => EventKind::SectionWithdrawn,
            FeedEventKind::PackageAcknowledged => EventKind::PackageAcknowledged,
            FeedEventKind::ApplicationStatusChanged => EventKind::ApplicationStatusChanged,
            FeedEventKind::ApplicationEnded => EventKind::ApplicationEnded,
            FeedEventKind::PackageExpiring => EventKind::PackageExpiring,
            FeedEventKind::StudentAtRisk => EventKind::StudentAtRisk,
        }
    }
}

/// One entry of the caller's feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FeedEntry {
    /// The entry's own id (also the idempotency id of its webhook delivery).
    pub id: Uuid,
    /// Its number in the caller's feed: 1, 2, 3, … without gaps (entries
    /// older than the retention period are gone).
    pub seq: i64,
    pub kind: EventKind,
    #[schema(format = Uuid)]
    pub package_id: Option<String>,
    pub application_id: Option<Uuid>,
    /// The withdrawn section (`section.withdrawn` only).
    #[schema(value_type = Option<crate::schema::Section>)]
    pub section: Option<Section>,
    pub occurred_at: DateTime<Utc>,
    /// `student.at_risk` only (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_risk: Option<StudentAtRisk>,
}

/// Who of the school's cohort became at risk, why and since when: the
/// school's own reference, never a student number or pseudonym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StudentAtRisk {
    /// The cohort's school year, e.g. `2027-2028`.
    #[schema(example = "2027-2028")]
    pub school_year: String,
    /// The school's own reference for the student.
    pub reference: String,
    pub reason: crate::safety_net::RiskReason,
    /// The day the student became at risk for this reason.
    pub since: chrono::NaiveDate,
}

/// A page of the feed, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FeedPage {
    pub events: Vec<FeedEntry>,
    /// The cursor to ask with next (`after`): past the last entry of this
    /// page, or the cursor asked with if the page is empty. Opaque.
    pub next: String,
    /// Whether more entries follow this page right now.
    pub more: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The `next` of the previous page; without it, the feed from its
    /// oldest kept entry.
    pub after: Option<String>,
    /// Seconds to wait for an entry when there is none yet (long poll; 0,
    /// the default, answers at once; at most the broker's
    /// `events.max_wait_secs`, 30 by default, whatever is asked; more than
    /// 120 is refused).
    #[param(maximum = 120)]
    pub wait: Option<u32>,
}

/// An institution admin registers (or replaces) the institution's webhook
/// endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// An `https` URL, no user or password in it. Addresses in private,
    /// loopback or link-local ranges are refused (unless the broker runs
    /// with the development setting `webhooks.allow_private_addresses`).
    pub url: String,
    /// PEM of the CA the endpoint's certificate must chain to (then only
    /// it is trusted); without it, the broker's operating-system trust
    /// store.
    pub ca_pem: Option<String>,
}

/// The registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    pub url: String,
    /// Whether a CA of the institution's own is used instead of the
    /// broker's operating-system trust store.
    pub own_ca: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One delivery of a feed entry to the endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// The feed entry's id: the delivery's idempotency id.
    pub event_id: Uuid,
    /// `pending`, `delivered` or `failed` (the retry period is over).
    pub state: String,
    pub attempts: i32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// How the last attempt ended: `http 200`, `http 503`, `redirect 302
    /// (not followed)`, `timeout`, `tls`, `connect`, `refused address`, …
    pub last_outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The institution's endpoint and its latest deliveries (newest first, at
/// most 100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookStatus {
    pub endpoint: Option<WebhookView>,
    pub deliveries: Vec<DeliveryView>,
}
