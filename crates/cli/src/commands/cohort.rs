//! `doorstroom cohort …`: the safety net (vangnet) of a vo school's system —
//! register its leaving cohort from a CSV file, remove a student, and list
//! who is at risk (JSON, or CSV for the school's own records).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Subcommand;
use doorstroom_domain::SchoolYear;
use reqwest::Method;
use serde_json::{Value, json};

use super::common::{Who, print_json, runtime};
use crate::exchange;

/// Students per call: the broker takes at most 500.
const BATCH: usize = 500;

#[derive(Subcommand)]
pub enum CohortCommand {
    /// Add the school's leavers for a school year from a CSV file with the
    /// columns `student,reference` (student as bsn:NNNNNNNNN or
    /// onderwijsnummer:NNNNNNNNN; reference the school's own id). Adding a
    /// student again changes nothing.
    Add {
        #[command(flatten)]
        who: Who,
        /// The mbo school year they leave for, e.g. 2027-2028.
        #[arg(long)]
        school_year: SchoolYear,
        /// The CSV file (a header line `student,reference` first).
        #[arg(long)]
        file: PathBuf,
    },
    /// Remove one student (by the school's reference) from the cohort.
    Remove {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        school_year: SchoolYear,
        #[arg(long)]
        reference: String,
    },
    /// The cohort's students at risk today, with reason and since when.
    AtRisk {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        school_year: SchoolYear,
        /// CSV (`reference,reason,since`) instead of JSON.
        #[arg(long)]
        csv: bool,
    },
}

/// The students of a cohort file, as the API takes them.
fn read_students(file: &Path) -> anyhow::Result<Vec<Value>> {
    let mut reader = csv::Reader::from_path(file).with_context(|| format!("reading {}", file.display()))?;
    let headers = reader.headers()?.clone();
    if headers.iter().collect::<Vec<_>>() != ["student", "reference"] {
        bail!("{}: the first line must be `student,reference`", file.display());
    }
    let mut students = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record?;
        let (Some(student), Some(reference)) = (record.get(0), record.get(1)) else {
            bail!("{} line {}: two columns expected", file.display(), line + 2);
        };
        let number =
            exchange::parse_student(student.trim()).with_context(|| format!("{} line {}", file.display(), line + 2))?;
        students.push(json!({"student_number": number, "reference": reference.trim()}));
    }
    Ok(students)
}

pub fn run(url: &str, ca: &Path, command: CohortCommand) -> anyhow::Result<()> {
    match command {
        CohortCommand::Add { who, school_year, file } => {
            let students = read_students(&file)?;
            let client = exchange::connect(url, ca, &who.identity())?;
            let path = format!("/v1/cohorts/{school_year}/students");
            let mut last = Value::Null;
            for batch in students.chunks(BATCH) {
                let body = json!({"students": batch});
                last = answer(runtime()?.block_on(client.fetch(Method::POST, &path, Some(&body)))?)?;
            }
            print_json(&last)
        }
        CohortCommand::Remove {
            who,
            school_year,
            reference,
        } => {
            let client = exchange::connect(url, ca, &who.identity())?;
            let path = format!("/v1/cohorts/{school_year}/students/{reference}");
            answer(runtime()?.block_on(client.fetch(Method::DELETE, &path, None))?)?;
            eprintln!("removed {reference} from the cohort of {school_year}");
            Ok(())
        }
        CohortCommand::AtRisk { who, school_year, csv } => {
            let client = exchange::connect(url, ca, &who.identity())?;
            let format = if csv { "csv" } else { "json" };
            let path = format!("/v1/cohorts/{school_year}/at-risk?format={format}");
            let reply = runtime()?.block_on(client.fetch(Method::GET, &path, None))?;
            if csv && reply.status.is_success() {
                print!("{}", String::from_utf8_lossy(&reply.raw));
                return Ok(());
            }
            print_json(&answer(reply)?)
        }
    }
}

/// The body of a 2xx answer, or the problem's detail as the error.
fn answer(reply: doorstroom_client::Reply) -> anyhow::Result<Value> {
    if reply.status.is_success() {
        return Ok(reply.body);
    }
    let detail = reply.body["detail"].as_str().unwrap_or("no detail");
    bail!("the broker answered {}: {detail}", reply.status)
}
