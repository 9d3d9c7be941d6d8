//! Signed webhooks: each institution's one HTTPS endpoint
//! (`webhook_endpoints`) and the outbox of deliveries
//! (`webhook_deliveries`).
//!
//! [`crate::events::append`] puts a `pending` row into the outbox in the
//! same transaction as the feed entry when the institution has an endpoint,
//! so a delivery exists exactly when its entry committed. The deliverer
//! [`claim`]s a due row with a conditional `UPDATE` (so two broker nodes
//! never send one attempt twice at once), posts it outside any transaction
//! and records the outcome: [`delivered`], [`retry_at`] or [`give_up`]. A
//! claim holds a lease (`next_attempt_at` moved past the attempt): a broker
//! that stops mid-delivery leaves the row pending, to be sent again when the
//! lease runs out (at least once).

use chrono::{DateTime, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use doorstroom_domain::Brin;

use crate::schema::{institution_events, webhook_deliveries as deliveries, webhook_endpoints as endpoints};
use crate::{DbConn, StoreError, from_ms, from_ms_opt, parsed, to_ms};

/// An institution's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub institution: Brin,
    pub url: String,
    pub ca_pem: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

type EndpointRow = (String, String, Option<String>, i64, i64);

fn endpoint_from((institution, url, ca_pem, created_at, updated_at): EndpointRow) -> Result<Endpoint, StoreError> {
    const T: &str = "webhook_endpoints";
    Ok(Endpoint {
        institution: parsed(Brin::parse(&institution), T, "institution")?,
        url,
        ca_pem,
        created_at: from_ms(created_at, T, "created_at")?,
        updated_at: from_ms(updated_at, T, "updated_at")?,
    })
}

/// Registers (or replaces) the institution's endpoint.
pub fn set_endpoint(
    conn: &mut DbConn,
    institution: &Brin,
    url: &str,
    ca_pem: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Endpoint, StoreError> {
    let updated = diesel::update(endpoints::table.find(institution.as_str()))
        .set((
            endpoints::url.eq(url),
            endpoints::ca_pem.eq(ca_pem),
            endpoints::updated_at.eq(to_ms(now)),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(endpoints::table)
            .values((
                endpoints::institution.eq(institution.as_str()),
                endpoints::url.eq(url),
                endpoints::ca_pem.eq(ca_pem),
                endpoints::created_at.eq(to_ms(now)),
                endpoints::updated_at.eq(to_ms(now)),
            ))
            .execute(conn)?;
    }
    endpoint(conn, institution)?.ok_or(StoreError::NotFound)
}

/// The institution's endpoint, if it registered one.
pub fn endpoint(conn: &mut DbConn, institution: &Brin) -> Result<Option<Endpoint>, StoreError> {
    let row: Option<EndpointRow> = endpoints::table
        .find(institution.as_str())
        .select((
            endpoints::institution,
            endpoints::url,
            endpoints::ca_pem,
            endpoints::created_at,
            endpoints::updated_at,
        ))
        .first(conn)
        .optional()?;
    row.map(endpoint_from).transpose()
}

/// Removes the institution's endpoint; whether there was one. Pending
/// deliveries stay and are given up when due.
pub fn delete_endpoint(conn: &mut DbConn, institution: &Brin) -> Result<bool, StoreError> {
    Ok(diesel::delete(endpoints::table.find(institution.as_str())).execute(conn)? > 0)
}

/// Puts the feed entry `event_id` into the outbox when `institution` has an
/// endpoint (in the entry's transaction).
pub(crate) fn enqueue(
    conn: &mut DbConn,
    event_id: &str,
    institution: &Brin,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let registered: i64 = crate::on_backend!(conn, |c| endpoints::table
        .find(institution.as_str())
        .count()
        .get_result(c))?;
    if registered == 0 {
        return Ok(());
    }
    diesel::insert_into(deliveries::table)
        .values((
            deliveries::event_id.eq(event_id),
            deliveries::institution.eq(institution.as_str()),
            deliveries::state.eq(PENDING),
            deliveries::attempts.eq(0),
            deliveries::next_attempt_at.eq(to_ms(now)),
            deliveries::created_at.eq(to_ms(now)),
        ))
        .execute(conn)?;
    Ok(())
}

const PENDING: &str = "pending";
const DELIVERED: &str = "delivered";
const FAILED: &str = "failed";

/// The ids of up to `limit` pending deliveries due at `now`, oldest first.
pub fn due(conn: &mut DbConn, now: DateTime<Utc>, limit: i64) -> Result<Vec<String>, StoreError> {
    Ok(deliveries::table
        .filter(deliveries::state.eq(PENDING))
        .filter(deliveries::next_attempt_at.le(to_ms(now)))
        // Only once its entry is numbered (PostgreSQL numbers it just
        // after its commit: `crate::sequencer`).
        .filter(exists(
            institution_events::table
                .filter(institution_events::id.eq(deliveries::event_id))
                .filter(institution_events::seq.gt(0)),
        ))
        .order((deliveries::next_attempt_at.asc(), deliveries::created_at.asc()))
        .limit(limit)
        .select(deliveries::event_id)
        .load(conn)?)
}

/// A claimed delivery: which entry (read it with
/// `crate::events::by_id`), where, and how it went so far.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub institution: Brin,
    pub event_id: String,
    /// `None`: the endpoint was removed since.
    pub endpoint: Option<Endpoint>,
    /// Including this one.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// Claims delivery `event_id` for one attempt at `now` if it is still due,
/// holding it until `lease_until`. `None`: not due (delivered, given up,
/// or claimed by another node meanwhile).
pub fn claim(
    conn: &mut DbConn,
    event_id: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<Claimed>, StoreError> {
    let claimed = diesel::update(
        deliveries::table
            .find(event_id)
            .filter(deliveries::state.eq(PENDING))
            .filter(deliveries::next_attempt_at.le(to_ms(now))),
    )
    .set((
        deliveries::attempts.eq(deliveries::attempts + 1),
        deliveries::next_attempt_at.eq(to_ms(lease_until)),
        deliveries::last_attempt_at.eq(to_ms(now)),
    ))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    let (institution, attempts, created_at): (String, i32, i64) = deliveries::table
        .find(event_id)
        .select((deliveries::institution, deliveries::attempts, deliveries::created_at))
        .first(conn)?;
    let institution = parsed(Brin::parse(&institution), "webhook_deliveries", "institution")?;
    Ok(Some(Claimed {
        endpoint: endpoint(conn, &institution)?,
        institution,
        event_id: event_id.to_owned(),
        attempts,
        created_at: from_ms(created_at, "webhook_deliveries", "created_at")?,
    }))
}

fn finish(
    conn: &mut DbConn,
    event_id: &str,
    state: &str,
    next_attempt_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    outcome: &str,
) -> Result<(), StoreError> {
    // Only a delivery still pending takes an outcome: an attempt that ends
    // late (it hung past its lease, and another attempt delivered the entry
    // or the delivery was given up meanwhile) changes nothing. A success
    // is recorded whatever came before.
    let row = deliveries::table.find(event_id);
    let pending_only = state != DELIVERED;
    let updated = if pending_only {
        diesel::update(row.filter(deliveries::state.eq(PENDING)))
            .set((deliveries::state.eq(state), deliveries::last_outcome.eq(outcome)))
            .execute(conn)?
    } else {
        diesel::update(row)
            .set((deliveries::state.eq(state), deliveries::last_outcome.eq(outcome)))
            .execute(conn)?
    };
    if updated == 0 {
        return Ok(());
    }
    if let Some(at) = next_attempt_at {
        diesel::update(row)
            .set(deliveries::next_attempt_at.eq(to_ms(at)))
            .execute(conn)?;
    }
    if let Some(at) = delivered_at {
        diesel::update(row)
            .set(deliveries::delivered_at.eq(to_ms(at)))
            .execute(conn)?;
    }
    Ok(())
}

/// The endpoint took the delivery (2xx).
pub fn delivered(conn: &mut DbConn, event_id: &str, now: DateTime<Utc>, outcome: &str) -> Result<(), StoreError> {
    finish(conn, event_id, DELIVERED, None, Some(now), outcome)
}

/// The attempt failed; try again at `at`.
pub fn retry_at(conn: &mut DbConn, event_id: &str, at: DateTime<Utc>, outcome: &str) -> Result<(), StoreError> {
    finish(conn, event_id, PENDING, Some(at), None, outcome)
}

/// The attempt failed and the retry period is over.
pub fn give_up(conn: &mut DbConn, event_id: &str, outcome: &str) -> Result<(), StoreError> {
    finish(conn, event_id, FAILED, None, None, outcome)
}

/// A delivery as the institution's admin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub state: String,
    pub attempts: i32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

type DeliveryRow = (String, String, i32, Option<i64>, Option<String>, i64, Option<i64>);

/// The institution's latest `limit` deliveries, newest first.
pub fn recent(conn: &mut DbConn, institution: &Brin, limit: i64) -> Result<Vec<Delivery>, StoreError> {
    const T: &str = "webhook_deliveries";
    let rows: Vec<DeliveryRow> = deliveries::table
        .filter(deliveries::institution.eq(institution.as_str()))
        .order((deliveries::created_at.desc(), deliveries::event_id.desc()))
        .limit(limit)
        .select((
            deliveries::event_id,
            deliveries::state,
            deliveries::attempts,
            deliveries::last_attempt_at,
            deliveries::last_outcome,
            deliveries::created_at,
            deliveries::delivered_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(event_id, state, attempts, last, outcome, created, delivered)| {
            Ok(Delivery {
                event_id,
                state,
                attempts,
                last_attempt_at: from_ms_opt(last, T, "last_attempt_at")?,
                last_outcome: outcome,
                created_at: from_ms(created, T, "created_at")?,
                delivered_at: from_ms_opt(delivered, T, "delivered_at")?,
            })
        })
        .collect()
}
