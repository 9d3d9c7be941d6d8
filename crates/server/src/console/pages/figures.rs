//! The regional figures for the region's coordinator: the funnel, every
//! measure's region total, and one measure's breakdowns, each as a
//! server-rendered SVG bar chart (title and description for screen
//! readers) with the same numbers in a table beside it; and the CSV. The
//! same use case as `GET /v1/regions/{region}/figures`, so the same
//! policy, suppression and audit event.

use chrono::Datelike;
use doorstroom_api::regional::{FigureCell, RegionalFigures};
use doorstroom_app::regional;
use doorstroom_domain::SchoolYear;
use doorstroom_domain::regional::RegionName;

use super::*;

/// The page's own texts (it is the only page that uses them).
struct Texts {
    title: &'static str,
    intro: &'static str,
    legend: &'static str,
    school_year: &'static str,
    measure: &'static str,
    show: &'static str,
    csv: &'static str,
    funnel: &'static str,
    totals: &'static str,
    col_measure: &'static str,
    col_category: &'static str,
    col_count: &'static str,
    withheld: &'static str,
    chart_desc: &'static str,
    outside_region: &'static str,
    no_crebo: &'static str,
}

const NL: Texts = Texts {
    title: "Regionale cijfers",
    intro: "Aantallen over de overstap van vo naar mbo in de regio: nooit een leerling, alleen tellingen.",
    legend: "Een aantal onder de drempel staat als \u{201c}< 5\u{201d}; een \u{201c}x\u{201d} is verborgen zodat \
             zo\u{2019}n klein aantal niet uit de andere cijfers is terug te rekenen.",
    school_year: "Schooljaar (mbo)",
    measure: "Cijfer",
    show: "Toon",
    csv: "Download als CSV",
    funnel: "Van aanmelding tot inschrijving",
    totals: "Alle cijfers voor de regio",
    col_measure: "Cijfer",
    col_category: "Indeling",
    col_count: "Aantal",
    withheld: "Niet gepubliceerd: te klein om te tonen zonder kleine aantallen prijs te geven.",
    chart_desc: "Staafdiagram; de tabel ernaast geeft dezelfde aantallen. Verborgen aantallen hebben geen staaf.",
    outside_region: "buiten de regio",
    no_crebo: "geen crebo",
};

const EN: Texts = Texts {
    title: "Regional figures",
    intro: "Counts of the transition from vo to mbo in the region: never a student, only counts.",
    legend: "A count below the threshold shows as \u{201c}< 5\u{201d}; an \u{201c}x\u{201d} is hidden so that such a \
             small count cannot be worked out from the other figures.",
    school_year: "School year (mbo)",
    measure: "Figure",
    show: "Show",
    csv: "Download as CSV",
    funnel: "From application to enrolment",
    totals: "All figures of the region",
    col_measure: "Figure",
    col_category: "Category",
    col_count: "Count",
    withheld: "Not published: too small to show without giving small counts away.",
    chart_desc: "Bar chart; the table beside it gives the same counts. Hidden counts have no bar.",
    outside_region: "outside the region",
    no_crebo: "no crebo",
};

fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Nl => &NL,
        Lang::En => &EN,
    }
}

/// A measure's name in the page's language (the code is shown beside it).
fn measure_label(lang: Lang, code: &str) -> String {
    let (nl, en) = match code {
        "cohort_size" => ("Leerlingen in de cohorten", "Students in the cohorts"),
        "applications" => ("Aanmeldingen", "Applications"),
        "late_applications" => ("Aanmeldingen na 1 april", "Applications after 1 April"),
        "dossiers_sent" => ("Dossiers verstuurd", "Dossiers sent"),
        "inspections" => ("Inzages vastgelegd", "Inspections recorded"),
        "intakes_held" => ("Intakes gehouden", "Intakes held"),
        "places_offered" => ("Plaatsen aangeboden", "Places offered"),
        "enrolled" => ("Ingeschreven", "Enrolled"),
        "not_enrolling" => ("Schrijft zich niet in", "Not enrolling"),
        "withdrawn" => ("Ingetrokken", "Withdrawn"),
        "no_show" => ("Niet verschenen", "No-show"),
        other => {
            if let Some(section) = other.strip_prefix("consent_given.") {
                let s = Section::parse(section)
                    .map(|s| labels::section(s).of(lang))
                    .unwrap_or(section);
                return match lang {
                    Lang::Nl => format!("Toestemming gegeven: {s}"),
                    Lang::En => format!("Consent given: {s}"),
                };
            }
            if let Some(reason) = other.strip_prefix("at_risk.") {
                let r = match (lang, reason) {
                    (Lang::Nl, "no_application") => "geen aanmelding",
                    (Lang::Nl, "no_intake") => "geen intake",
                    (Lang::Nl, "no_place") => "geen plaats",
                    (Lang::Nl, "not_enrolled") => "niet ingeschreven",
                    (Lang::Nl, "no_show") => "niet verschenen",
                    (Lang::En, "no_application") => "no application",
                    (Lang::En, "no_intake") => "no intake",
                    (Lang::En, "no_place") => "no place",
                    (Lang::En, "not_enrolled") => "not enrolled",
                    (Lang::En, "no_show") => "no-show",
                    _ => reason,
                };
                return match lang {
                    Lang::Nl => format!("In het vangnet: {r}"),
                    Lang::En => format!("At risk: {r}"),
                };
            }
            (other, other)
        }
    };
    match lang {
        Lang::Nl => nl.to_owned(),
        Lang::En => en.to_owned(),
    }
}

fn dimension_label(lang: Lang, code: &str) -> &'static str {
    match (lang, code) {
        (Lang::Nl, "sending_school") => "Per vo-school",
        (Lang::Nl, "receiving_mbo") => "Per mbo-instelling",
        (Lang::Nl, "programme") => "Per opleiding (crebo)",
        (Lang::Nl, "month") => "Per maand",
        (Lang::En, "sending_school") => "By vo school",
        (Lang::En, "receiving_mbo") => "By mbo",
        (Lang::En, "programme") => "By programme (crebo)",
        (_, _) => "By month",
    }
}

/// One bar of a chart, laid out.
pub(super) struct Bar {
    label: String,
    shown: String,
    y: u32,
    width: u32,
    text_x: u32,
}

/// A bar chart and its table.
pub(super) struct Chart {
    id: String,
    title: String,
    withheld: bool,
    height: u32,
    bars: Vec<Bar>,
}

const LABEL_WIDTH: u32 = 195;
const BAR_SPACE: u32 = 230;
const ROW: u32 = 30;

fn chart(id: String, title: String, rows: Vec<(String, FigureCell)>, withheld: bool) -> Chart {
    let max = rows.iter().filter_map(|(_, c)| c.count).max().unwrap_or(0).max(1);
    let bars = rows
        .into_iter()
        .enumerate()
        .map(|(i, (label, cell))| {
            let width = cell.count.map_or(0, |n| {
                u32::try_from(n * u64::from(BAR_SPACE) / max).unwrap_or(BAR_SPACE)
            });
            Bar {
                label,
                shown: cell.shown,
                y: u32::try_from(i).unwrap_or(0) * ROW + 4,
                width,
                text_x: LABEL_WIDTH + width + 6,
            }
        })
        .collect::<Vec<_>>();
    Chart {
        id,
        title,
        withheld,
        height: u32::try_from(bars.len()).unwrap_or(0) * ROW + 8,
        bars,
    }
}

pub(super) struct TotalRow {
    label: String,
    code: String,
    shown: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/figures.html")]
struct FiguresPage {
    chrome: Chrome,
    x: &'static Texts,
    region: String,
    school_year: String,
    measure: String,
    measures: Vec<(String, String)>,
    funnel: Chart,
    totals: Vec<TotalRow>,
    breakdowns: Vec<Chart>,
    label_width: u32,
}

#[derive(Deserialize, Default)]
pub struct FiguresQuery {
    #[serde(default)]
    school_year: Option<String>,
    #[serde(default)]
    measure: Option<String>,
}

/// The region the user coordinates (by the configuration's usernames).
fn own_region(state: &AppState, user: &ConsoleUser) -> Result<RegionName, ConsoleError> {
    state
        .app
        .regional
        .coordinators
        .iter()
        .find(|(_, users)| users.contains(&user.account.username))
        .map(|(name, _)| name.clone())
        .ok_or_else(|| user.fail(ApiError::NotFound))
}

/// The school year asked for, or the one this year's leavers leave for
/// (from 1 August on, next year's).
fn year_of(user: &ConsoleUser, raw: Option<&str>, today: NaiveDate) -> Result<SchoolYear, ConsoleError> {
    match raw.filter(|s| !s.is_empty()) {
        Some(raw) => SchoolYear::parse(raw).map_err(|e| {
            user.fail(ApiError::Malformed {
                detail: format!("school_year: {e}"),
                pointer: None,
            })
        }),
        None => {
            let start = if today.month() >= 8 {
                today.year() + 1
            } else {
                today.year()
            };
            SchoolYear::starting(start).map_err(|_| user.fail(ApiError::NotFound))
        }
    }
}

async fn counted(
    state: &web::Data<AppState>,
    user: &ConsoleUser,
    query: &FiguresQuery,
) -> Result<RegionalFigures, ConsoleError> {
    let region = own_region(state, user)?;
    let today = state.app.clock.now().with_timezone(&Amsterdam).date_naive();
    let year = year_of(user, query.school_year.as_deref(), today)?;
    crate::access::run(state, &user.caller, move |app, caller| {
        regional::figures(app, caller, region.as_str(), year)
    })
    .await
    .map_err(|e| user.fail(e))
}

fn category(x: &Texts, raw: &str) -> String {
    match raw {
        doorstroom_domain::regional::OUTSIDE_REGION => x.outside_region.to_owned(),
        doorstroom_domain::regional::NO_CREBO => x.no_crebo.to_owned(),
        other => other.to_owned(),
    }
}

/// `GET /console/figures`: the page.
pub async fn figures_page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    query: web::Query<FiguresQuery>,
) -> Result<impl Responder, ConsoleError> {
    let figures = counted(&state, &user, &query).await?;
    let (lang, x) = (user.lang, texts(user.lang));
    let chosen = query
        .measure
        .clone()
        .filter(|m| figures.measures.iter().any(|f| &f.measure == m))
        .unwrap_or_else(|| "applications".to_owned());
    let funnel_rows = figures
        .funnel
        .iter()
        .map(|s| (measure_label(lang, &s.measure), s.cell.clone()))
        .collect();
    let breakdowns = figures
        .measures
        .iter()
        .filter(|m| m.measure == chosen)
        .flat_map(|m| &m.breakdowns)
        .map(|b| {
            let rows = b
                .rows
                .iter()
                .map(|r| (category(x, &r.category), r.cell.clone()))
                .collect();
            let title = format!(
                "{} — {}",
                measure_label(lang, &chosen),
                dimension_label(lang, &b.dimension)
            );
            chart(format!("chart-{}", b.dimension), title, rows, b.withheld)
        })
        .collect();
    Ok(FiguresPage {
        chrome: Chrome::of(&user, "/console/figures"),
        x,
        region: figures.region.clone(),
        school_year: figures.school_year.clone(),
        measures: figures
            .measures
            .iter()
            .map(|m| (m.measure.clone(), measure_label(lang, &m.measure)))
            .collect(),
        funnel: chart("chart-funnel".into(), x.funnel.into(), funnel_rows, false),
        totals: figures
            .measures
            .iter()
            .map(|m| TotalRow {
                label: measure_label(lang, &m.measure),
                code: m.measure.clone(),
                shown: m.total.shown.clone(),
            })
            .collect(),
        measure: chosen,
        breakdowns,
        label_width: LABEL_WIDTH,
    })
}

/// `GET /console/figures.csv`: the same figures as the API's CSV.
pub async fn figures_csv(
    state: web::Data<AppState>,
    user: ConsoleUser,
    query: web::Query<FiguresQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let figures = counted(&state, &user, &query).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"regional-figures.csv\"",
        ))
        .body(figures.to_csv()))
}
