//! The audit log: filters, paging, CSV/JSON export and the log badge.

use doorstroom_app::audit_log::search_audit_log;
use doorstroom_app::checkpoints::check_latest_checkpoint;

use super::*;

/// Rows shown per page; an export holds up to the API's maximum.
const PAGE_SIZE: i64 = 50;
const EXPORT_SIZE: i64 = 1000;

#[derive(Deserialize, Default, Clone)]
pub struct AuditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    student_number: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    institution: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    export: String,
}

/// Messages next to the fields of the audit form.
#[derive(Default)]
struct AuditErrors {
    student_number: Option<&'static str>,
    institution: Option<&'static str>,
    outcome: Option<&'static str>,
    from: Option<&'static str>,
    until: Option<&'static str>,
}

impl AuditErrors {
    fn any(&self) -> bool {
        self.student_number.is_some()
            || self.institution.is_some()
            || self.outcome.is_some()
            || self.from.is_some()
            || self.until.is_some()
    }
}

pub(super) struct EventRow {
    pub(super) seq: i64,
    pub(super) time: String,
    pub(super) actor: Coded,
    pub(super) actor_institution: String,
    pub(super) actor_id: String,
    pub(super) action: Coded,
    pub(super) resource: Coded,
    pub(super) resource_id: String,
    pub(super) subject: String,
    pub(super) purpose: Coded,
    pub(super) outcome: Coded,
    pub(super) denied: bool,
}

/// The badge: the latest signed checkpoint and whether the log as stored
/// now still matches it (`verified`); `failed` when that could not even be
/// computed (hashes missing), which is shown as not verified.
struct Badge {
    checkpoint: Option<(i64, String)>,
    verified: bool,
    failed: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    form: AuditForm,
    errors: AuditErrors,
    rows: Vec<EventRow>,
    searched: bool,
    next_after: Option<i64>,
    badge: Badge,
    /// The action filter's choices, `(code, label)`, by label.
    actions: Vec<(&'static str, &'static str)>,
    /// A posted action name without a label (the filter takes any name the
    /// log holds), offered as a choice of its own so the form shows it.
    other_action: Option<String>,
    outcomes: Vec<(&'static str, &'static str)>,
}

/// Checks the latest checkpoint on each view: its signature is the
/// broker's, and the stored tree at its size has its root hash (a few
/// stored hashes, not the whole log). The whole log is verified at start
/// (the broker refuses to start otherwise) and by `doorstroom audit verify`.
async fn badge(state: &web::Data<AppState>) -> Badge {
    let st = state.clone();
    let checked = crate::request_id::block(move || check_latest_checkpoint(&st.app, &st.checkpoints)).await;
    match checked {
        Ok(Ok(Some(latest))) => Badge {
            checkpoint: Some((latest.size, when(&latest.created_at))),
            verified: latest.verified,
            failed: false,
        },
        Ok(Ok(None)) => Badge {
            checkpoint: None,
            verified: false,
            failed: false,
        },
        Ok(Err(err)) => {
            tracing::error!(error = %err, "audit log badge: the log could not be checked");
            Badge {
                checkpoint: None,
                verified: false,
                failed: true,
            }
        }
        Err(_) => Badge {
            checkpoint: None,
            verified: false,
            failed: true,
        },
    }
}

/// The day `raw` (YYYY-MM-DD) starts in the Netherlands, as UTC.
fn day_start(raw: &str) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()?;
    let midnight = date.and_hms_opt(0, 0, 0)?;
    Amsterdam
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// A form field that was filled in (`raw`), parsed; when it does not parse,
/// the message goes next to the field (`error`) and the search is not run.
fn field<T>(
    raw: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, &'static str>,
    error: &mut Option<&'static str>,
) -> Option<T> {
    match parse(&raw?) {
        Ok(value) => Some(value),
        Err(message) => {
            *error = Some(message);
            None
        }
    }
}

/// The form as the API's search, or the messages next to its fields.
fn audit_search(form: &AuditForm, t: &'static Messages, limit: i64) -> Result<AuditSearch, AuditErrors> {
    let mut errors = AuditErrors::default();
    let text = |raw: &str| Some(raw.trim().to_owned()).filter(|s| !s.is_empty());
    let student = field(
        text(&form.student_number),
        |raw| student_number(raw, t),
        &mut errors.student_number,
    );
    let institution = field(
        text(&form.institution),
        |raw| Brin::parse(raw).map_err(|_| t.institution_invalid),
        &mut errors.institution,
    );
    let outcome = field(
        text(&form.outcome),
        |raw| Outcome::parse(raw).map_err(|_| t.outcome_invalid),
        &mut errors.outcome,
    );
    let from = field(
        text(&form.from),
        |raw| day_start(raw).ok_or(t.date_invalid),
        &mut errors.from,
    );
    // "Until" is inclusive: up to the start of the next day.
    let until = field(
        text(&form.until),
        |raw| {
            day_start(raw)
                .map(|d| d + chrono::Duration::days(1))
                .ok_or(t.date_invalid)
        },
        &mut errors.until,
    );
    if let (Some(f), Some(u)) = (from, until)
        && f >= u
    {
        errors.until = Some(t.period_invalid);
    }
    let after = text(&form.after).and_then(|raw| raw.parse::<i64>().ok());
    if errors.any() {
        return Err(errors);
    }
    Ok(AuditSearch {
        student_number: student,
        actor: text(&form.actor),
        institution,
        action: text(&form.action),
        outcome,
        from,
        until,
        after,
        limit: Some(limit),
    })
}

pub(super) fn event_rows(lang: Lang, page: &EventPage) -> Vec<EventRow> {
    page.events
        .iter()
        .map(|e| {
            let ev = &e.event;
            EventRow {
                seq: e.seq,
                time: when(&ev.time),
                actor: Coded::new(lang, Some(labels::actor_kind(ev.actor.kind)), ev.actor.kind.as_str()),
                actor_institution: ev.actor.institution.as_ref().map(|b| b.to_string()).unwrap_or_default(),
                actor_id: ev.actor.id.clone().unwrap_or_default(),
                action: Coded::new(lang, labels::action_name(&ev.action.name), ev.action.name.clone()),
                resource: Coded::new(lang, labels::resource_kind(&ev.resource.kind), ev.resource.kind.clone()),
                resource_id: ev.resource.id.clone().unwrap_or_default(),
                subject: ev.data_subject.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                purpose: Coded::new(lang, Some(labels::purpose(ev.purpose)), ev.purpose.as_str()),
                outcome: Coded::new(lang, Some(labels::outcome(ev.outcome)), ev.outcome.as_str()),
                denied: ev.outcome != Outcome::Success,
            }
        })
        .collect()
}

/// The action filter's choices in `lang`, by label.
fn action_choices(lang: Lang) -> Vec<(&'static str, &'static str)> {
    let mut choices: Vec<_> = labels::known_actions()
        .map(|(code, label)| (code, label.of(lang)))
        .collect();
    choices.sort_by_key(|(_, label)| *label);
    choices
}

/// The search of the API ([`search_audit_log`]), for the console's user.
async fn search_log(
    state: &web::Data<AppState>,
    user: &ConsoleUser,
    search: AuditSearch,
) -> Result<EventPage, ConsoleError> {
    crate::access::run(state, &user.caller, move |app, caller| {
        search_audit_log(app, caller, search)
    })
    .await
    .map_err(|e| user.fail(e))
}

async fn render_audit(
    state: &web::Data<AppState>,
    user: &ConsoleUser,
    form: AuditForm,
) -> Result<WithStatus<AuditPage>, ConsoleError> {
    let t = user.lang.messages();
    let lang = user.lang;
    let page_of = |form: AuditForm, errors, rows, searched, next_after, badge| {
        let action = form.action.trim();
        let other_action = Some(action.to_owned()).filter(|a| !a.is_empty() && labels::action_name(a).is_none());
        AuditPage {
            chrome: Chrome::of(user, "/console/audit"),
            form,
            errors,
            rows,
            searched,
            next_after,
            badge,
            actions: action_choices(lang),
            other_action,
            outcomes: Outcome::ALL
                .iter()
                .map(|o| (o.as_str(), labels::outcome(*o).of(lang)))
                .collect(),
        }
    };
    let search = match audit_search(&form, t, PAGE_SIZE) {
        Ok(search) => search,
        Err(errors) => {
            let badge = badge(state).await;
            return Ok(WithStatus(
                StatusCode::UNPROCESSABLE_ENTITY,
                page_of(form, errors, Vec::new(), false, None, badge),
            ));
        }
    };
    let result = search_log(state, user, search).await?;
    let badge = badge(state).await;
    let rows = event_rows(lang, &result);
    Ok(WithStatus(
        StatusCode::OK,
        page_of(form, AuditErrors::default(), rows, true, result.next_after, badge),
    ))
}

/// The audit log's first page in the user's scope (an audited search).
pub async fn audit_page(state: web::Data<AppState>, user: ConsoleUser) -> Result<impl Responder, ConsoleError> {
    render_audit(&state, &user, AuditForm::default()).await
}

/// A search, a further page or an export (the `export` button).
pub async fn audit_search_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: crate::extract::FormBody,
) -> Result<impl Responder, ConsoleError> {
    let form: AuditForm = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    let export = match form.export.as_str() {
        "" => None,
        "csv" => Some(true),
        "json" => Some(false),
        _ => {
            return Err(user.fail(ApiError::Malformed {
                detail: "export: must be csv or json".into(),
                pointer: None,
            }));
        }
    };
    let Some(csv) = export else {
        return render_audit(&state, &user, form).await.map(Either::Left);
    };
    let t = user.lang.messages();
    let search = match audit_search(&form, t, EXPORT_SIZE) {
        Ok(search) => search,
        Err(_) => return render_audit(&state, &user, form).await.map(Either::Left),
    };
    let page = search_log(&state, &user, search).await?;
    let (body, content_type, name) = if csv {
        (
            to_csv(&page).map_err(|e| user.fail(e))?,
            "text/csv; charset=utf-8",
            "audit.csv",
        )
    } else {
        (
            serde_json::to_string_pretty(&page).map_err(|e| user.fail(ApiError::Internal(e.to_string())))?,
            "application/json",
            "audit.json",
        )
    };
    Ok(Either::Right(
        HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
            .body(body),
    ))
}
