//! The event feed, the door: parses the cursor and the wait, holds a long
//! poll until the caller's feed has something (or the wait is over), and
//! runs the one audited read of `doorstroom_app::events`.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use doorstroom_api::events::{EventsQuery, FeedPage};
use doorstroom_app::events::{self as feed, Cursor, ReadEvents};
use doorstroom_domain::{Action, Purpose, ResourceKind, ResourceRef};

use crate::access::{reject, run};
use crate::auth::{Caller, SystemCaller};
use crate::config::MAX_EVENTS_WAIT_SECS;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::state::AppState;

/// What concerns the caller's institution, oldest first, at most 100
/// entries: ids and times only (read the record an entry names for the
/// rest). For school systems, each its own institution's feed. With
/// `wait`, a call that finds nothing new waits up to that many seconds
/// (bounded by the broker) and answers as soon as an entry commits. Every
/// call is one access in the audit log. A cursor that is not one of this
/// feed's is 400; one of another institution, or beyond the feed's head,
/// is 404, the same answer for both.
#[utoipa::path(
    tag = "exchange",
    params(EventsQuery),
    responses(
        (status = 200, body = FeedPage),
        (status = 400, description = "`after` is not a cursor of this feed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`after` is another institution's cursor or lies beyond the feed's head", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[get("/v1/events")]
pub async fn events(
    state: web::Data<AppState>,
    caller: SystemCaller,
    query: Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let EventsQuery { after, wait } = query.0;
    let after = match parse_query(after.as_deref(), wait) {
        Ok(after) => after,
        Err(refusal) => {
            let record = ResourceRef::new(ResourceKind::EventFeed, None);
            return Err(reject(&state, &caller, Action::ReadEvents, record, Purpose::Intake, refusal).await);
        }
    };
    let wait = Duration::from_secs(u64::from(wait.unwrap_or(0))).min(state.settings.events.max_wait);
    wait_for_entries(&state, &caller, after.as_ref(), wait).await;
    let page = run(&state, &caller, move |app, caller| {
        feed::read_events(app, caller, ReadEvents { after })
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The cursor, if one is given, and a `wait` within the document's bound
/// (more is 400, as the OpenAPI document's `maximum` says).
fn parse_query(after: Option<&str>, wait: Option<u32>) -> Result<Option<Cursor>, ApiError> {
    if wait.is_some_and(|w| u64::from(w) > MAX_EVENTS_WAIT_SECS) {
        return Err(ApiError::Malformed {
            detail: format!("query parameter wait: at most {MAX_EVENTS_WAIT_SECS} seconds"),
            pointer: None,
        });
    }
    Ok(after.map(Cursor::parse).transpose()?)
}

/// Returns once the caller's feed has an entry after `after`, the cursor
/// is not one to wait on (another institution's, beyond the head: the read
/// that follows answers it), or `wait` is over. Woken by this node's
/// commits at once, and looks every `events.poll_interval` for other
/// nodes'.
async fn wait_for_entries(state: &web::Data<AppState>, caller: &Caller, after: Option<&Cursor>, wait: Duration) {
    if wait.is_zero() {
        return;
    }
    let deadline = tokio::time::Instant::now() + wait;
    // Subscribed before the first look, so a commit between the look and
    // the nap is not missed.
    let mut woken = state.feed_wake.subscribe();
    loop {
        woken.borrow_and_update();
        let (st, principal, cursor) = (state.clone(), caller.principal.clone(), after.cloned());
        let at_head = crate::request_id::block(move || feed::at_head(&st.app, &principal, cursor.as_ref())).await;
        if !matches!(at_head, Ok(Ok(true))) {
            return;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return;
        }
        let nap = (deadline - now).min(state.settings.events.poll_interval);
        let _ = tokio::time::timeout(nap, woken.changed()).await;
    }
}
