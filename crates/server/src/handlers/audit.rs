//! Reading the audit log (the spine; search, proofs and reports follow with
//! the Merkle log). Reading is itself audited and needs the second factor.

use actix_web::{HttpResponse, get, web};
use doorstroom_domain::{Action, AuditEvent, Brin, Outcome, Purpose, Resource, ResourceRef};
use doorstroom_store::audit::{self, AuditQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::{Access, perform};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{Query, query_param};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only events in which this institution acted. Required for an
    /// institution's privacy officer.
    pub institution: Option<String>,
    /// Only events with this outcome.
    pub outcome: Option<Outcome>,
    /// Keyset pagination: events after this sequence number.
    pub after: Option<i64>,
    /// At most this many events (1 to 1000, default 100).
    pub limit: Option<i64>,
}

/// One page of audit events.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<SequencedEvent>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SequencedEvent {
    pub seq: i64,
    #[schema(value_type = Object)]
    pub event: AuditEvent,
}

#[utoipa::path(
    tag = "audit",
    params(EventQuery),
    responses((status = 200, body = EventPage), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/v1/audit/events")]
pub async fn events(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let institution = query
        .institution
        .map(|raw| query_param("institution", &raw, Brin::parse))
        .transpose()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Malformed {
            detail: "limit: must be between 1 and 1000".into(),
            pointer: None,
        });
    }
    let resource = institution
        .clone()
        .map(Resource::Institution)
        .unwrap_or(Resource::Broker);
    let access = Access::new(
        Action::ReadAuditLog,
        resource,
        ResourceRef::new("audit_log", institution.as_ref().map(|b| b.to_string())),
        Purpose::Supervision,
    );
    let page = perform(&state, &caller, access, move |conn, _| {
        let rows = audit::list(
            conn,
            &AuditQuery {
                after_seq: query.after,
                limit,
                actor_institution: institution,
                data_subject: None,
                outcome: query.outcome,
            },
        )?;
        let next_after = if rows.len() as i64 == limit {
            rows.last().map(|(seq, _)| *seq)
        } else {
            None
        };
        Ok(EventPage {
            events: rows
                .into_iter()
                .map(|(seq, event)| SequencedEvent { seq, event })
                .collect(),
            next_after,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
