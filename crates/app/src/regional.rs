//! The regional figures: what a region's coordinator may see of the
//! transition from vo to mbo in the region, as counts with small cells
//! suppressed ([`doorstroom_domain::regional`]). Only a coordinator bound
//! to the region (configuration `[[regions]] coordinators`) reads them; an
//! unknown region and another region's name are the same "not found",
//! both audited.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Amsterdam;
use doorstroom_api::regional::{
    Breakdown, FigureCell, FigureRow, FunnelStep, MeasureFigures, RegionalFigures, Suppression,
};
use doorstroom_domain::regional::{self, Cell, Fact, Figures, Frame, Measure, Region, RegionName, Regions};
use doorstroom_domain::safety_net::{ApplicationState, Deadlines, assess};
use doorstroom_domain::staff::Username;
use doorstroom_domain::{
    Action, ApplicationStatus, Brin, NamedCoordinator, Purpose, Resource, ResourceKind, ResourceRef, SchoolYear,
};
use doorstroom_store::{DbConn, StoreError, cohorts, institutions, regional as store, staff};

use crate::{Access, App, AppError, Caller, Located, perform_in};

/// The regions, who coordinates each, and the suppression threshold.
#[derive(Debug, Clone, Default)]
pub struct RegionalRules {
    pub regions: Regions,
    /// The coordinators' usernames per region.
    pub coordinators: BTreeMap<RegionName, Vec<Username>>,
    pub threshold: u64,
}

/// The region's figures for `year`, counted today. Records
/// `read_regional_figures` on `<region>/<year>`.
pub fn figures(app: &App, caller: Caller<'_>, region: &str, year: SchoolYear) -> Result<RegionalFigures, AppError> {
    let name = RegionName::parse(region).ok();
    let known = name.as_ref().and_then(|n| app.regional.regions.get(n)).cloned();
    let coordinators = name
        .as_ref()
        .and_then(|n| app.regional.coordinators.get(n))
        .cloned()
        .unwrap_or_default();
    // Only a name that could be a region is written to the log.
    let record = format!("{}/{year}", name.as_ref().map_or("-", RegionName::as_str));
    let located = known.clone();
    let access = Access::lookup(
        Action::ReadRegionalFigures,
        move |conn| locate(conn, located, &coordinators),
        ResourceRef::new(ResourceKind::RegionalFigures, Some(record)),
        Purpose::RegionalMonitoring,
    );
    let threshold = app.regional.threshold;
    let deadlines = app.rules.deadlines;
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let region = known.ok_or(AppError::NotFound)?;
        let today = ctx.now.with_timezone(&Amsterdam).date_naive();
        let frame = frame(ctx.conn, &region)?;
        let facts = facts(ctx.conn, &frame, year, &deadlines, today)?;
        let counted = regional::figures(&region.name, year, &frame, &facts, threshold);
        Ok(wire(&counted, today))
    })
}

/// The region with the accounts its settings name as coordinators, as
/// found (the policy decides which of them count); `None` for an unknown
/// region.
fn locate(conn: &mut DbConn, region: Option<Region>, coordinators: &[Username]) -> Result<Option<Located>, AppError> {
    let Some(region) = region else { return Ok(None) };
    let mut named = Vec::new();
    for username in coordinators {
        if let Some(account) = staff::by_username(conn, username)? {
            named.push(NamedCoordinator {
                id: account.id,
                role: account.role,
                status: account.status,
            });
        }
    }
    Ok(Some(Located::from(Resource::Region {
        name: region.name,
        coordinators: named,
    })))
}

/// The region's vo schools and mbo's, by their registered sector.
fn frame(conn: &mut DbConn, region: &Region) -> Result<Frame, StoreError> {
    let mut frame = Frame {
        sending: Vec::new(),
        receiving: Vec::new(),
    };
    for brin in &region.institutions {
        match institutions::get(conn, brin)? {
            Some(i) if i.sector.is_sending() => frame.sending.push(brin.clone()),
            Some(i) if i.sector.is_receiving() => frame.receiving.push(brin.clone()),
            _ => {}
        }
    }
    Ok(frame)
}

fn month(t: DateTime<Utc>) -> String {
    t.with_timezone(&Amsterdam).format("%Y-%m").to_string()
}

fn brin(raw: &str, table: &'static str) -> Result<Brin, StoreError> {
    Brin::parse(raw).map_err(|e| StoreError::corrupt(table, "brin", e.to_string()))
}

fn fact(measure: Measure, sending: Brin, receiving: Option<&str>, crebo: Option<String>, month: String) -> Fact {
    Fact {
        measure,
        sending,
        receiving: receiving.and_then(|r| Brin::parse(r).ok()),
        crebo,
        month: Some(month),
    }
}

/// Everything counted for the region's vo schools in `year`.
fn facts(
    conn: &mut DbConn,
    frame: &Frame,
    year: SchoolYear,
    deadlines: &Deadlines,
    today: chrono::NaiveDate,
) -> Result<Vec<Fact>, StoreError> {
    let (schools, start) = (&frame.sending, year.start_year());
    let mut out = Vec::new();
    for a in store::applications(conn, schools, start)? {
        let sending = brin(&a.sending, "applications")?;
        let month = a.applied_on.get(..7).unwrap_or_default().to_owned();
        let applied = fact(Measure::Applications, sending, Some(&a.receiving), a.crebo, month);
        if a.late {
            out.push(Fact {
                measure: Measure::LateApplications,
                ..applied.clone()
            });
        }
        out.push(applied);
    }
    for r in store::reached(conn, schools, start)? {
        let measure = match r.status {
            ApplicationStatus::IntakeHeld => Measure::IntakesHeld,
            ApplicationStatus::PlaceOffered => Measure::PlacesOffered,
            ApplicationStatus::Enrolled => Measure::Enrolled,
            ApplicationStatus::NotEnrolling => Measure::NotEnrolling,
            ApplicationStatus::Withdrawn => Measure::Withdrawn,
            ApplicationStatus::NoShow => Measure::NoShow,
            _ => continue,
        };
        let sending = brin(&r.sending, "applications")?;
        out.push(fact(measure, sending, Some(&r.receiving), r.crebo, month(r.first)));
    }
    for d in store::dossiers(conn, schools, start)? {
        let sending = brin(&d.sending, "packages")?;
        out.push(fact(
            Measure::DossiersSent,
            sending,
            d.receiving.as_deref(),
            d.crebo,
            month(d.at),
        ));
    }
    for i in store::inspections(conn, schools, start)? {
        let sending = brin(&i.sending, "inspections")?;
        out.push(fact(Measure::Inspections, sending, None, None, month(i.at)));
    }
    for c in store::consents_given(conn, schools, start)? {
        let Some(section) = c
            .section
            .filter(|s| Measure::all().contains(&Measure::ConsentGiven(*s)))
        else {
            continue;
        };
        let sending = brin(&c.sending, "consent_events")?;
        let measure = Measure::ConsentGiven(section);
        out.push(fact(measure, sending, c.receiving.as_deref(), None, month(c.at)));
    }
    cohort_facts(conn, schools, year, deadlines, today, &mut out)?;
    Ok(out)
}

/// Each cohort member (cohort size) and each member at risk today, by
/// reason: the safety net's own rule ([`assess`]), school by school.
fn cohort_facts(
    conn: &mut DbConn,
    schools: &[Brin],
    year: SchoolYear,
    deadlines: &Deadlines,
    today: chrono::NaiveDate,
    out: &mut Vec<Fact>,
) -> Result<(), StoreError> {
    let start = year.start_year();
    for school in schools {
        let members = cohorts::list(conn, school, start)?;
        let mut states: HashMap<String, Vec<ApplicationState>> = HashMap::new();
        for s in cohorts::application_states(conn, school, start)? {
            states
                .entry(s.student.as_str().to_owned())
                .or_default()
                .push(ApplicationState {
                    status: s.status,
                    since: s.since.with_timezone(&Amsterdam).date_naive(),
                });
        }
        let plain = |measure| Fact {
            measure,
            sending: school.clone(),
            receiving: None,
            crebo: None,
            month: None,
        };
        for m in &members {
            out.push(plain(Measure::CohortSize));
            let applications = states.get(m.student.as_str()).map(Vec::as_slice).unwrap_or_default();
            if let Some(risk) = assess(year, deadlines, applications, today) {
                out.push(plain(Measure::AtRisk(risk.reason)));
            }
        }
    }
    Ok(())
}

fn cell(c: Cell, threshold: u64) -> FigureCell {
    FigureCell {
        count: c.count(),
        shown: c.shown(threshold),
        suppressed: match c {
            Cell::Count(_) => None,
            Cell::Small => Some(Suppression::BelowThreshold),
            Cell::Hidden => Some(Suppression::Secondary),
        },
    }
}

/// The figures on the wire.
pub fn wire(f: &Figures, today: chrono::NaiveDate) -> RegionalFigures {
    let t = f.threshold;
    RegionalFigures {
        region: f.region.to_string(),
        school_year: f.school_year.to_string(),
        as_of: today,
        threshold: t,
        measures: f
            .measures
            .iter()
            .map(|m| MeasureFigures {
                measure: m.measure.name(),
                total: cell(m.total, t),
                breakdowns: m
                    .breakdowns
                    .iter()
                    .map(|b| Breakdown {
                        dimension: b.dimension.as_str().to_owned(),
                        withheld: b.rows.is_none(),
                        rows: b
                            .rows
                            .iter()
                            .flatten()
                            .map(|(category, c)| FigureRow {
                                category: category.clone(),
                                cell: cell(*c, t),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
        funnel: f
            .funnel()
            .into_iter()
            .map(|(m, c)| FunnelStep {
                measure: m.name(),
                cell: cell(c, t),
            })
            .collect(),
    }
}
