//! Regional figures with small-cell suppression: what a regional
//! coordinator (RMC region, VSV-overleg, OOGO) may see of the transition
//! from vo to mbo in their region — counts only, never a row about one
//! student.
//!
//! A [`Region`] is a name and its institutions by BRIN (configuration). The
//! region's population for a school year is everything *sent from* the
//! region's vo schools: their cohorts, their students' applications (at any
//! mbo, inside the region or not), the dossiers they sent, the inspections
//! and consents they recorded. [`figures`] counts [`Fact`]s per [`Measure`],
//! as a region total and one-dimensional breakdowns by sending school,
//! receiving mbo, programme (crebo) and month.
//!
//! # Suppression (the method)
//!
//! Every measure is published as independent one-dimensional tables (one
//! per breakdown) that each add up to the measure's region total; no
//! cross-tabulation is published, so the only linear relation an attacker
//! has between published numbers of one measure is "the cells of a
//! breakdown add up to the total". The method follows the rules of thumb of
//! the CBS / Eurostat SDC handbook for such tables:
//!
//! 1. **Primary**: a cell (zeros included) below the threshold `t` is shown
//!    as "< t". A total below `t` is shown as "< t" and then *no* breakdown
//!    of that measure is published (every cell of it would be small, and the
//!    categories listed could betray the total).
//! 2. **Secondary**: in a breakdown with primary cells, the suppressed group
//!    is grown with the smallest published cells (shown as "x") until (a)
//!    the group's known sum (total minus the published cells) is itself not
//!    below `t`, and (b) no suppressed cell can be pinned to one value from
//!    the total and what the attacker knows of each cell: a primary cell
//!    lies in `[lo, t-1]`, a secondary one in `[t, sum]`, where `lo` is 1 for
//!    categories listed only because they occur (programme, month) and 0
//!    for fixed ones (the region's schools, the mbo's).
//! 3. When even suppressing every cell cannot satisfy (a) and (b) the
//!    breakdown is **withheld** as a whole (no categories listed).
//!
//! Within this model the property test in this module plays the attacker
//! (every breakdown, the funnel, every interval reachable by exact integer
//! reasoning) and never pins a suppressed cell. Outside it: relations
//! *between* measures (e.g. enrolled ≤ applications, per school) and
//! differences between the figures of two different days are not
//! protected — see the README ("Regional figures").

use std::collections::{BTreeMap, BTreeSet};

use crate::application::SchoolYear;
use crate::dossier::Section;
use crate::ids::{Brin, ParseError};
use crate::safety_net::RiskReason;

/// The default threshold: a count below 5 is not shown.
pub const DEFAULT_THRESHOLD: u64 = 5;

/// A region's name: 1 to 64 lowercase letters, digits or `-` (it goes in
/// URLs as it is).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionName(String);

impl RegionName {
    pub fn parse(raw: &str) -> Result<RegionName, ParseError> {
        let fine = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if fine {
            Ok(RegionName(raw.to_owned()))
        } else {
            Err(ParseError::new(
                "region",
                "must be 1 to 64 lowercase letters, digits or '-'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RegionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A region: its name and its institutions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub name: RegionName,
    pub institutions: BTreeSet<Brin>,
}

/// The configured regions, validated: names unique, every BRIN in at most
/// one region (a school reports to one RMC region), no region empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Regions {
    by_name: BTreeMap<RegionName, Region>,
}

/// Why the configured regions were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    #[error("region {0}: {1}")]
    Invalid(String, String),
    #[error("region {0} is configured twice")]
    DuplicateRegion(String),
    #[error("institution {brin} is listed twice (in region {first} and in region {second})")]
    DuplicateBrin {
        brin: String,
        first: String,
        second: String,
    },
    #[error("region {0} has no institutions")]
    Empty(String),
    #[error("region {region}: institution {brin} is not registered")]
    Unknown { region: String, brin: String },
}

impl Regions {
    /// From configuration: (name, BRINs) pairs as written.
    pub fn new(raw: &[(String, Vec<String>)]) -> Result<Regions, RegionError> {
        let mut by_name = BTreeMap::new();
        let mut seen: BTreeMap<Brin, RegionName> = BTreeMap::new();
        for (name, brins) in raw {
            let region = RegionName::parse(name).map_err(|e| RegionError::Invalid(name.clone(), e.to_string()))?;
            if by_name.contains_key(&region) {
                return Err(RegionError::DuplicateRegion(name.clone()));
            }
            let mut institutions = BTreeSet::new();
            for raw_brin in brins {
                let brin = Brin::parse(raw_brin).map_err(|e| RegionError::Invalid(name.clone(), e.to_string()))?;
                if let Some(first) = seen.insert(brin.clone(), region.clone()) {
                    return Err(RegionError::DuplicateBrin {
                        brin: raw_brin.clone(),
                        first: first.to_string(),
                        second: name.clone(),
                    });
                }
                institutions.insert(brin);
            }
            if institutions.is_empty() {
                return Err(RegionError::Empty(name.clone()));
            }
            by_name.insert(
                region.clone(),
                Region {
                    name: region,
                    institutions,
                },
            );
        }
        Ok(Regions { by_name })
    }

    /// Refuses a region naming an institution that `registered` does not
    /// know (checked at start, against the registry).
    pub fn check_registered(&self, registered: impl Fn(&Brin) -> bool) -> Result<(), RegionError> {
        for region in self.by_name.values() {
            if let Some(brin) = region.institutions.iter().find(|b| !registered(b)) {
                return Err(RegionError::Unknown {
                    region: region.name.to_string(),
                    brin: brin.to_string(),
                });
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &RegionName) -> Option<&Region> {
        self.by_name.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.by_name.values()
    }
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Measure {
    /// Students in the leaving cohorts of the region's vo schools.
    CohortSize,
    Applications,
    /// Applications made after the national deadline.
    LateApplications,
    /// Dossiers (packages) sent by the region's vo schools.
    DossiersSent,
    /// Inspections (inzage) recorded by the region's vo schools.
    Inspections,
    /// Consents given for an optional section.
    ConsentGiven(Section),
    /// Applications that ever reached the status (the funnel counts
    /// "reached at least once", so a student enrolled without an intake
    /// report still counts as enrolled).
    IntakesHeld,
    PlacesOffered,
    Enrolled,
    NotEnrolling,
    Withdrawn,
    NoShow,
    /// Cohort students at risk today for the reason.
    AtRisk(RiskReason),
}

/// A breakdown of a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    SendingSchool,
    ReceivingMbo,
    Programme,
    Month,
}

impl Dimension {
    pub const ALL: [Dimension; 4] = [
        Dimension::SendingSchool,
        Dimension::ReceivingMbo,
        Dimension::Programme,
        Dimension::Month,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Dimension::SendingSchool => "sending_school",
            Dimension::ReceivingMbo => "receiving_mbo",
            Dimension::Programme => "programme",
            Dimension::Month => "month",
        }
    }

    /// Whether the categories are fixed in advance (listed even when zero)
    /// or listed only because they occur (so a listed one is at least 1).
    const fn fixed(self) -> bool {
        matches!(self, Dimension::SendingSchool | Dimension::ReceivingMbo)
    }
}

/// The category of facts about an mbo outside the region.
pub const OUTSIDE_REGION: &str = "outside_region";
/// The programme category of an application without a crebo.
pub const NO_CREBO: &str = "none";

impl Measure {
    /// Every measure, in the order they are published.
    pub fn all() -> Vec<Measure> {
        let mut all = vec![
            Measure::CohortSize,
            Measure::Applications,
            Measure::LateApplications,
            Measure::DossiersSent,
            Measure::Inspections,
        ];
        all.extend([Section::SupportNeeds, Section::CareerPortfolio, Section::Attachments].map(Measure::ConsentGiven));
        all.extend([
            Measure::IntakesHeld,
            Measure::PlacesOffered,
            Measure::Enrolled,
            Measure::NotEnrolling,
            Measure::Withdrawn,
            Measure::NoShow,
        ]);
        all.extend(RiskReason::ALL.map(Measure::AtRisk));
        all
    }

    /// The stable name (API, CSV).
    pub fn name(self) -> String {
        match self {
            Measure::CohortSize => "cohort_size".into(),
            Measure::Applications => "applications".into(),
            Measure::LateApplications => "late_applications".into(),
            Measure::DossiersSent => "dossiers_sent".into(),
            Measure::Inspections => "inspections".into(),
            Measure::ConsentGiven(s) => format!("consent_given.{s}"),
            Measure::IntakesHeld => "intakes_held".into(),
            Measure::PlacesOffered => "places_offered".into(),
            Measure::Enrolled => "enrolled".into(),
            Measure::NotEnrolling => "not_enrolling".into(),
            Measure::Withdrawn => "withdrawn".into(),
            Measure::NoShow => "no_show".into(),
            Measure::AtRisk(r) => format!("at_risk.{}", r.as_str()),
        }
    }

    /// The breakdowns published for the measure: a cohort student has no
    /// mbo, programme or month; an inspection has no mbo or programme.
    pub fn dimensions(self) -> &'static [Dimension] {
        match self {
            Measure::CohortSize | Measure::AtRisk(_) => &[Dimension::SendingSchool],
            Measure::Inspections => &[Dimension::SendingSchool, Dimension::Month],
            Measure::ConsentGiven(_) => &[Dimension::SendingSchool, Dimension::ReceivingMbo, Dimension::Month],
            _ => &Dimension::ALL,
        }
    }
}

/// The funnel from application to enrolment.
pub const FUNNEL: [Measure; 4] = [
    Measure::Applications,
    Measure::IntakesHeld,
    Measure::PlacesOffered,
    Measure::Enrolled,
];

/// One counted thing (a cohort student, an application reaching a status,
/// a dossier, ...). Nothing in it points at a student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub measure: Measure,
    pub sending: Brin,
    pub receiving: Option<Brin>,
    /// The crebo, if the programme has one.
    pub crebo: Option<String>,
    /// `YYYY-MM`, the month (in the Netherlands) of the counted event.
    pub month: Option<String>,
}

/// A published cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Count(u64),
    /// Below the threshold (primary suppression), shown as "< t".
    Small,
    /// Suppressed to protect a small cell (secondary), shown as "x".
    Hidden,
}

impl Cell {
    /// As shown in a table: the count, "< t" or "x".
    pub fn shown(self, threshold: u64) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Small => format!("< {threshold}"),
            Cell::Hidden => "x".to_owned(),
        }
    }

    pub fn count(self) -> Option<u64> {
        match self {
            Cell::Count(n) => Some(n),
            _ => None,
        }
    }
}

/// One breakdown of a measure: its rows (category, cell), or `None` when
/// withheld as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breakdown {
    pub dimension: Dimension,
    pub rows: Option<Vec<(String, Cell)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureFigures {
    pub measure: Measure,
    pub total: Cell,
    pub breakdowns: Vec<Breakdown>,
}

/// The region's figures for a school year, suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub region: RegionName,
    pub school_year: SchoolYear,
    pub threshold: u64,
    pub measures: Vec<MeasureFigures>,
}

impl Figures {
    pub fn measure(&self, measure: Measure) -> Option<&MeasureFigures> {
        self.measures.iter().find(|m| m.measure == measure)
    }

    /// The funnel: the region totals of [`FUNNEL`].
    pub fn funnel(&self) -> Vec<(Measure, Cell)> {
        FUNNEL
            .iter()
            .filter_map(|m| self.measure(*m).map(|f| (*m, f.total)))
            .collect()
    }
}

/// The region's vo schools and mbo's (the fixed categories of the
/// sending-school and receiving-mbo breakdowns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub sending: Vec<Brin>,
    pub receiving: Vec<Brin>,
}

/// Counts `facts` and suppresses. Facts whose sending school is not one of
/// the frame's are not the region's and are left out.
pub fn figures(region: &RegionName, year: SchoolYear, frame: &Frame, facts: &[Fact], threshold: u64) -> Figures {
    let threshold = threshold.max(1);
    let sending: BTreeSet<&Brin> = frame.sending.iter().collect();
    let ours: Vec<&Fact> = facts.iter().filter(|f| sending.contains(&f.sending)).collect();
    let measures = Measure::all()
        .into_iter()
        .map(|measure| {
            let facts: Vec<&Fact> = ours.iter().copied().filter(|f| f.measure == measure).collect();
            measure_figures(measure, frame, &facts, threshold)
        })
        .collect();
    Figures {
        region: region.clone(),
        school_year: year,
        threshold,
        measures,
    }
}

fn measure_figures(measure: Measure, frame: &Frame, facts: &[&Fact], threshold: u64) -> MeasureFigures {
    let total = facts.len() as u64;
    if total < threshold {
        return MeasureFigures {
            measure,
            total: Cell::Small,
            breakdowns: measure
                .dimensions()
                .iter()
                .map(|d| Breakdown {
                    dimension: *d,
                    rows: None,
                })
                .collect(),
        };
    }
    let breakdowns = measure
        .dimensions()
        .iter()
        .map(|d| {
            let counts = tally(*d, frame, facts);
            Breakdown {
                dimension: *d,
                rows: suppress(&counts, total, threshold, d.fixed()),
            }
        })
        .collect();
    MeasureFigures {
        measure,
        total: Cell::Count(total),
        breakdowns,
    }
}

/// The counts per category of one breakdown, in category order.
fn tally(dimension: Dimension, frame: &Frame, facts: &[&Fact]) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let fixed: &[Brin] = match dimension {
        Dimension::SendingSchool => &frame.sending,
        Dimension::ReceivingMbo => &frame.receiving,
        _ => &[],
    };
    for brin in fixed {
        counts.insert(brin.to_string(), 0);
    }
    if dimension == Dimension::ReceivingMbo {
        counts.insert(OUTSIDE_REGION.to_owned(), 0);
    }
    for fact in facts {
        let key = match dimension {
            Dimension::SendingSchool => fact.sending.to_string(),
            Dimension::ReceivingMbo => match &fact.receiving {
                Some(b) if frame.receiving.contains(b) => b.to_string(),
                _ => OUTSIDE_REGION.to_owned(),
            },
            Dimension::Programme => fact.crebo.clone().unwrap_or_else(|| NO_CREBO.to_owned()),
            Dimension::Month => fact.month.clone().unwrap_or_else(|| "unknown".to_owned()),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts.into_iter().collect()
}

/// Primary and secondary suppression of one breakdown whose cells add up
/// to the published `total` (at least the threshold). `None`: withheld.
fn suppress(counts: &[(String, u64)], total: u64, threshold: u64, fixed: bool) -> Option<Vec<(String, Cell)>> {
    let mut suppressed: Vec<bool> = counts.iter().map(|(_, n)| *n < threshold).collect();
    let lo = u64::from(!fixed);
    loop {
        if !suppressed.contains(&true) || protected(counts, &suppressed, total, threshold, lo) {
            break;
        }
        // Grow the group with the smallest published cell (ties: the
        // first category), which costs the least information.
        let next = (0..counts.len())
            .filter(|i| !suppressed[*i])
            .min_by_key(|i| counts[*i].1)?;
        suppressed[next] = true;
    }
    Some(
        counts
            .iter()
            .zip(suppressed)
            .map(|((label, n), hide)| {
                let cell = match (hide, *n < threshold) {
                    (false, _) => Cell::Count(*n),
                    (true, true) => Cell::Small,
                    (true, false) => Cell::Hidden,
                };
                (label.clone(), cell)
            })
            .collect(),
    )
}

/// Whether the suppressed group is safe: its known sum is not below the
/// threshold, and every suppressed cell can take at least two values given
/// the sum and the bounds the attacker knows of each cell.
fn protected(counts: &[(String, u64)], suppressed: &[bool], total: u64, threshold: u64, lo: u64) -> bool {
    let published: u64 = counts
        .iter()
        .zip(suppressed)
        .filter(|(_, s)| !**s)
        .map(|(c, _)| c.1)
        .sum();
    let sum = total - published;
    if sum < threshold {
        return false;
    }
    let bounds: Vec<(u64, u64)> = counts
        .iter()
        .zip(suppressed)
        .filter(|(_, s)| **s)
        .map(|((_, n), _)| {
            if *n < threshold {
                (lo, threshold - 1)
            } else {
                (threshold, sum)
            }
        })
        .collect();
    let lo_sum: u64 = bounds.iter().map(|b| b.0).sum();
    let hi_sum: u64 = bounds.iter().map(|b| b.1).sum();
    bounds.iter().all(|(l, h)| {
        // The range of this cell given the others' bounds and the sum.
        let low = (*l).max(sum.saturating_sub(hi_sum - h));
        let high = (*h).min(sum - (lo_sum - l));
        high > low
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
