//! The safety net (vangnet) for a vo school's care coordinator: which of
//! the school's leavers of a school year are at risk, why and since when,
//! and the same list as CSV. The list is the API's (`at_risk`, with the
//! care coordinator as caller), so each view is authorized and audited as
//! `read_safety_net` exactly like the school's system reading it.

use doorstroom_api::safety_net::AtRiskList;
use doorstroom_app::safety_net::at_risk;
use doorstroom_domain::SchoolYear;
use doorstroom_domain::safety_net::current_cohort_year;

use super::*;
use crate::handlers::safety_net::to_csv;

/// `?school_year=2027-2028` (default: the school year the school works on
/// now), `&format=csv` for the download. A GET: it changes nothing, and
/// the URL holds no personal data.
#[derive(Deserialize, Default)]
struct SafetyNetQuery {
    #[serde(default)]
    school_year: String,
    #[serde(default)]
    format: String,
}

struct RiskRow {
    reference: String,
    reason: Coded,
    since: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/safety_net.html")]
struct SafetyNetPage {
    chrome: Chrome,
    /// The school years to choose from, the chosen one marked.
    years: Vec<(String, bool)>,
    year: String,
    year_error: Option<&'static str>,
    as_of: String,
    cohort_size: usize,
    rows: Vec<RiskRow>,
}

/// The school year the school works on today, per the broker's deadlines
/// and cohort retention.
fn current_year(state: &AppState) -> Option<SchoolYear> {
    let today = state.app.clock.now().with_timezone(&Amsterdam).date_naive();
    let start = current_cohort_year(&state.app.rules.deadlines, &state.app.rules.retention.cohorts(), today);
    SchoolYear::starting(start).ok()
}

/// The year before and after the current one, and the chosen one.
fn year_choices(current: Option<SchoolYear>, chosen: &str) -> Vec<(String, bool)> {
    let mut years: Vec<String> = current
        .map(|c| c.start_year())
        .into_iter()
        .flat_map(|start| [start - 1, start, start + 1])
        .filter_map(|start| SchoolYear::starting(start).ok())
        .map(|y| y.to_string())
        .collect();
    if !chosen.is_empty() && !years.iter().any(|y| y == chosen) {
        years.push(chosen.to_owned());
        years.sort();
    }
    years.into_iter().map(|y| (y.clone(), y == chosen)).collect()
}

fn page(user: &ConsoleUser, years: Vec<(String, bool)>, year: String, list: Option<AtRiskList>) -> SafetyNetPage {
    let lang = user.lang;
    let (as_of, cohort_size, rows) = match list {
        Some(list) => (
            list.as_of.format("%d-%m-%Y").to_string(),
            list.cohort_size,
            list.at_risk
                .into_iter()
                .map(|r| RiskRow {
                    reference: r.reference,
                    reason: Coded::new(lang, Some(labels::risk_reason(r.reason)), r.reason.as_str()),
                    since: r.since.format("%d-%m-%Y").to_string(),
                })
                .collect(),
        ),
        None => (String::new(), 0, Vec::new()),
    };
    SafetyNetPage {
        chrome: Chrome::of(user, "/console/safety-net"),
        years,
        year,
        year_error: None,
        as_of,
        cohort_size,
        rows,
    }
}

pub async fn safety_net_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
) -> Result<impl Responder, ConsoleError> {
    let query: SafetyNetQuery = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let current = current_year(&state);
    let raw = query.school_year.trim();
    let parsed = if raw.is_empty() {
        current.ok_or(())
    } else {
        SchoolYear::parse(raw).map_err(|_| ())
    };
    let Ok(year) = parsed else {
        let mut again = page(&user, year_choices(current, ""), raw.to_owned(), None);
        again.year_error = Some(user.lang.messages().school_year_invalid);
        return Ok(Either::Left(WithStatus(StatusCode::UNPROCESSABLE_ENTITY, again)));
    };
    let list = crate::access::run(&state, &user.caller, move |app, caller| at_risk(app, caller, year))
        .await
        .map_err(|e| user.fail(e))?;
    if query.format == "csv" {
        let body = to_csv(&list).map_err(|e| user.fail(e))?;
        let name = format!("attachment; filename=\"at-risk-{year}.csv\"");
        return Ok(Either::Right(
            HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((header::CONTENT_DISPOSITION, name))
                .body(body),
        ));
    }
    let chosen = year.to_string();
    let years = year_choices(current, &chosen);
    Ok(Either::Left(WithStatus(
        StatusCode::OK,
        page(&user, years, chosen, Some(list)),
    )))
}
