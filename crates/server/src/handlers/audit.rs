//! Reading the audit log (the spine; search, proofs and reports follow with
//! the Merkle log). Reading is itself audited and needs the second factor.

use actix_web::{HttpResponse, get, post, web};
use doorstroom_domain::{Action, AuditEvent, Brin, Outcome, Purpose, Resource, ResourceRef};
use doorstroom_store::audit::{self, AuditQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::{Access, body_or_reject, perform};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{Query, query_param};
use crate::state::AppState;
use doorstroom_domain::ResourceKind;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only events in which this institution acted or that are about a
    /// record it was party to when they were written (its applications,
    /// packages it sent or received, its consent and inspection records).
    /// Required for an institution's privacy officer.
    #[param(pattern = "^[0-9]{2}[A-Z]{2}$")]
    pub institution: Option<String>,
    /// Only events with this outcome.
    pub outcome: Option<Outcome>,
    /// Keyset pagination: events after this sequence number.
    pub after: Option<i64>,
    /// At most this many events (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
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
        ResourceRef::new(ResourceKind::AuditLog, institution.as_ref().map(|b| b.to_string())),
        Purpose::Supervision,
    );
    let page = perform(&state, &caller, access, move |conn, _| {
        let rows = audit::list(
            conn,
            &AuditQuery {
                after_seq: query.after,
                limit,
                related_to: institution,
                outcome: query.outcome,
                ..Default::default()
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

/// Searching the log. The student number travels in the body, never in a
/// URL, and is turned into the pseudonym at once.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditSearch {
    #[serde(default)]
    pub student_number: Option<doorstroom_domain::StudentNumber>,
    /// Staff id or certificate fingerprint of the actor.
    #[serde(default)]
    pub actor: Option<String>,
    /// For the broker's privacy officer: events related to this institution.
    /// An institution's privacy officer always sees their own scope.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{2}[A-Z]{2}$")]
    pub institution: Option<Brin>,
    /// The action's name, e.g. `pull_package`.
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Only events at or after this time.
    #[serde(default)]
    #[schema(example = "2027-03-01T00:00:00Z")]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Only events before this time; must lie after `from`.
    #[serde(default)]
    #[schema(example = "2027-04-01T00:00:00Z")]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Keyset pagination: events after this sequence number.
    #[serde(default, deserialize_with = "optional_integer")]
    pub after: Option<i64>,
    /// 1 to 1000, default 100.
    #[serde(default, deserialize_with = "optional_integer")]
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// An optional integer, also when written with a fraction of zero (`77.0`):
/// JSON has one kind of number, and JSON Schema's `integer` is any number
/// without a fractional part, so a client may send either.
fn optional_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    // A number with a fraction or exponent, or an integer beyond i64 (which
    // serde_json reads as f64, rounded): taken only up to 2^53 in magnitude,
    // where an f64 holds every integer exactly, so that nothing out of
    // range is rounded into range.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match number.as_f64() {
        #[allow(clippy::cast_possible_truncation)]
        Some(f) if f.fract() == 0.0 && (-EXACT..=EXACT).contains(&f) => Ok(Some(f as i64)),
        _ => Err(D::Error::custom("must be an integer from -2^63 to 2^63-1")),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportFormat {
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

const CSV_COLUMNS: [&str; 16] = [
    "seq",
    "time",
    "actor_kind",
    "actor_institution",
    "actor_id",
    "on_behalf_of",
    "action_crud",
    "action_name",
    "resource_kind",
    "resource_id",
    "data_subject",
    "purpose",
    "outcome",
    "reason",
    "request_id",
    "entry_hash_input",
];

/// The page as CSV (the export), one row per event with the columns
/// [`CSV_COLUMNS`].
pub fn to_csv(page: &EventPage) -> Result<String, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ApiError::Internal(e.to_string());
    writer.write_record(CSV_COLUMNS).map_err(csv_error)?;
    for SequencedEvent { seq, event } in &page.events {
        let opt = |v: Option<String>| v.unwrap_or_default();
        writer
            .write_record([
                seq.to_string(),
                event.time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                event.actor.kind.to_string(),
                opt(event.actor.institution.as_ref().map(|b| b.to_string())),
                opt(event.actor.id.clone()),
                opt(event.on_behalf_of.map(|s| s.to_string())),
                event.action.crud.to_string(),
                event.action.name.clone(),
                event.resource.kind.clone(),
                opt(event.resource.id.clone()),
                opt(event.data_subject.as_ref().map(|p| p.to_string())),
                event.purpose.to_string(),
                event.outcome.to_string(),
                opt(event.reason.clone()),
                opt(event.request_id.clone()),
                event.canonical_json(),
            ])
            .map_err(csv_error)?;
    }
    let bytes = writer.into_inner().map_err(|e| ApiError::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Searches the audit log by student, staff member or system, institution,
/// action, outcome and period, a page at a time (keyset on `seq`), as JSON
/// or CSV (`?format=csv`, an export). An institution's privacy officer sees
/// the events in which their institution acted and the events about records
/// it was party to when they were written (its applications, packages it
/// sent or received, consent recorded by it or given for it, its
/// inspections), never what happened between others before it became
/// party; the broker's privacy officer sees all.
/// The search itself is audited (with the student's pseudonym, if any).
#[utoipa::path(
    tag = "audit",
    params(ExportFormat),
    request_body = AuditSearch,
    responses(
        (status = 200, description = "a page of events: JSON, or CSV with format=csv", content(
            (EventPage = "application/json"),
            (String = "text/csv; charset=utf-8"),
        )),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/audit/search")]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    format: Query<ExportFormat>,
    body: Result<crate::extract::Json<AuditSearch>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let record = ResourceRef::new(ResourceKind::AuditLog, None);
    let search = body_or_reject(
        &state,
        &caller,
        Action::ReadAuditLog,
        record,
        Purpose::Supervision,
        body,
    )
    .await?;
    let csv = crate::extract::json_or(format.0.format.as_deref(), "csv")?;
    let page = search_log(&state, &caller, search).await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Content-Disposition", "attachment; filename=\"audit.csv\""))
            .body(to_csv(&page)?)
    } else {
        HttpResponse::Ok().json(page)
    })
}

/// The one audit-log search (the API and the web console): checks the
/// period and page size, turns the student number into the pseudonym,
/// holds an institution's privacy officer to their own institution, and
/// reads the page through [`perform`], so the search is itself audited.
pub async fn search_log(
    state: &web::Data<AppState>,
    caller: &Caller,
    request: AuditSearch,
) -> Result<EventPage, ApiError> {
    let limit = request.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("/limit", "limit: must be between 1 and 1000"));
    }
    if let (Some(from), Some(until)) = (request.from, request.until)
        && from >= until
    {
        return Err(ApiError::invalid("/until", "until: must lie after from"));
    }
    // An institution's privacy officer is held to their own institution.
    let scope = caller.principal.institution().cloned().or(request.institution.clone());
    let resource = scope.clone().map(Resource::Institution).unwrap_or(Resource::Broker);
    let subject = request.student_number.as_ref().map(|n| state.pseudonym_of(n));
    let mut access = Access::new(
        Action::ReadAuditLog,
        resource,
        ResourceRef::new(ResourceKind::AuditLog, scope.as_ref().map(|b| b.to_string())),
        Purpose::Supervision,
    );
    if let Some(subject) = &subject {
        access = access.about(subject.clone());
    }
    perform(state, caller, access, move |conn, _| {
        let rows = audit::list(
            conn,
            &AuditQuery {
                after_seq: request.after,
                limit,
                data_subject: subject,
                outcome: request.outcome,
                actor_id: request.actor,
                action: request.action,
                from: request.from,
                until: request.until,
                related_to: scope,
                ..Default::default()
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
    .await
}

#[cfg(test)]
mod integer_tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Numbers {
        #[serde(default, deserialize_with = "optional_integer")]
        n: Option<i64>,
    }

    fn n(json: &str) -> Result<Option<i64>, String> {
        serde_json::from_str::<Numbers>(json)
            .map(|v| v.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_integer_may_be_written_with_a_zero_fraction() {
        assert_eq!(n(r#"{"n": 77}"#), Ok(Some(77)));
        assert_eq!(n(r#"{"n": 77.0}"#), Ok(Some(77)));
        assert_eq!(n(r#"{"n": -1e3}"#), Ok(Some(-1000)));
        assert_eq!(n(r#"{"n": -9223372036854775808}"#), Ok(Some(i64::MIN)));
        assert_eq!(n(r#"{"n": null}"#), Ok(None));
        assert_eq!(n("{}"), Ok(None));
        assert_eq!(n(r#"{"n": 9007199254740992.0}"#), Ok(Some(9_007_199_254_740_992)));
        for refused in [
            r#"{"n": 77.5}"#,
            r#"{"n": 1e300}"#,
            r#"{"n": 9223372036854775808}"#,
            r#"{"n": -9223372036854775809}"#,
            r#"{"n": 9007199254740994.0}"#,
            r#"{"n": "7"}"#,
        ] {
            assert!(n(refused).is_err(), "{refused}");
        }
    }
}
