//! The regional figures on the wire: aggregates of one region for its
//! coordinator, with small cells suppressed. Nothing in them points at a
//! student: no pseudonym, no id, no row about one person.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a cell shows no number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    /// Below the threshold (shown as "< 5" with the default threshold).
    BelowThreshold,
    /// Hidden so that a small cell cannot be worked out from the total
    /// (secondary suppression, shown as "x").
    Secondary,
}

/// One number of the figures, or why it is not shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FigureCell {
    /// The count, when shown.
    pub count: Option<u64>,
    /// As a table shows it: the count, "< 5" or "x".
    #[schema(example = "< 5")]
    pub shown: String,
    pub suppressed: Option<Suppression>,
}

/// One category of a breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FigureRow {
    /// A BRIN, `outside_region`, a crebo (`none`: no crebo), or a month
    /// `YYYY-MM`.
    pub category: String,
    pub cell: FigureCell,
}

/// A measure broken down by one dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Breakdown {
    /// `sending_school`, `receiving_mbo`, `programme` or `month`.
    pub dimension: String,
    /// Not published at all: the total is below the threshold, or no
    /// suppression pattern could protect its small cells.
    pub withheld: bool,
    pub rows: Vec<FigureRow>,
}

/// One measure: the region's total and its breakdowns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeasureFigures {
    /// E.g. `applications`, `consent_given.support_needs`,
    /// `at_risk.no_application`.
    pub measure: String,
    pub total: FigureCell,
    pub breakdowns: Vec<Breakdown>,
}

/// One step of the funnel from application to enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FunnelStep {
    pub measure: String,
    pub cell: FigureCell,
}

/// A region's figures for a school year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegionalFigures {
    pub region: String,
    #[schema(example = "2027-2028")]
    pub school_year: String,
    /// The day (in the Netherlands) the figures were counted.
    pub as_of: NaiveDate,
    /// Counts below this are not shown.
    pub threshold: u64,
    pub measures: Vec<MeasureFigures>,
    /// Applications, intakes held, places offered, enrolled.
    pub funnel: Vec<FunnelStep>,
}

impl RegionalFigures {
    /// The figures as CSV: `measure,dimension,category,value`, the total
    /// first (dimension `region`), a withheld breakdown as one row with
    /// value `withheld`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("measure,dimension,category,value\n");
        for m in &self.measures {
            out.push_str(&format!("{},region,total,{}\n", m.measure, m.total.shown));
            for b in &m.breakdowns {
                if b.withheld {
                    out.push_str(&format!("{},{},,withheld\n", m.measure, b.dimension));
                }
                for row in &b.rows {
                    out.push_str(&format!(
                        "{},{},{},{}\n",
                        m.measure, b.dimension, row.category, row.cell.shown
                    ));
                }
            }
        }
        out
    }
}

/// The query of the figures.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FiguresQuery {
    /// The mbo school year the region's leavers leave for, e.g. `2027-2028`.
    #[param(pattern = "^[0-9]{4}-[0-9]{4}$", example = "2027-2028")]
    pub school_year: String,
    /// `json` (default) or `csv` (or ask with `Accept: text/csv`).
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}
