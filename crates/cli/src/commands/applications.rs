//! `doorstroom applications …` and `doorstroom status …`: applications
//! (aanmeldingen) and their course.

use std::path::Path;

use chrono::NaiveDate;
use clap::Subcommand;
use doorstroom_domain::{ApplicationStatus, Brin, Crebo, SchoolYear};

use super::common::{StudentArg, Who, print_json, runtime};
use crate::exchange;

#[derive(Subcommand)]
pub enum ApplicationsCommand {
    /// Register that a student applied (mbo system). Idempotent.
    Register {
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        student: StudentArg,
        /// The programme's name as the mbo calls it.
        #[arg(long)]
        programme: String,
        /// CREBO code of the qualification (5 digits).
        #[arg(long)]
        crebo: Option<Crebo>,
        /// E.g. 2027-2028.
        #[arg(long)]
        school_year: SchoolYear,
        /// Date of the application, YYYY-MM-DD.
        #[arg(long)]
        applied_on: NaiveDate,
        /// BRIN of the student's vo school, if known (only it can find the application).
        #[arg(long)]
        sending_school: Option<Brin>,
    },
    /// Find the applications of one of the school's own students (vo system).
    Find {
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        student: StudentArg,
    },
}

#[derive(Subcommand)]
pub enum StatusCommand {
    /// Report the application's course (mbo).
    Report {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        application: uuid::Uuid,
        /// received, intake_scheduled, intake_held, place_offered, enrolled, not_enrolling, withdrawn, no_show.
        #[arg(long)]
        status: ApplicationStatus,
        /// With intake_scheduled: the day of the intake (YYYY-MM-DD).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Show an application with its course.
    Show {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        application: uuid::Uuid,
    },
}

pub fn run(url: &str, ca: &Path, command: ApplicationsCommand) -> anyhow::Result<()> {
    match command {
        ApplicationsCommand::Register {
            who,
            student,
            programme,
            crebo,
            school_year,
            applied_on,
            sending_school,
        } => {
            let request = exchange::registration(
                &student.student,
                &programme,
                crebo,
                school_year,
                applied_on,
                sending_school,
            )?;
            let client = exchange::connect(url, ca, &who.identity())?;
            let (view, created) = runtime()?.block_on(client.register_application(&request))?;
            eprintln!(
                "{}",
                if created {
                    "registered"
                } else {
                    "already registered (unchanged)"
                }
            );
            print_json(&view)
        }
        ApplicationsCommand::Find { who, student } => {
            let number = exchange::parse_student(&student.student)?;
            let client = exchange::connect(url, ca, &who.identity())?;
            let found = runtime()?.block_on(client.find_applications(&number))?;
            print_json(&found)
        }
    }
}

pub fn status(url: &str, ca: &Path, command: StatusCommand) -> anyhow::Result<()> {
    let (who, application, report) = match command {
        StatusCommand::Report {
            who,
            application,
            status,
            date,
        } => (who, application, Some((status, date))),
        StatusCommand::Show { who, application } => (who, application, None),
    };
    let client = exchange::connect(url, ca, &who.identity())?;
    let detail = runtime()?.block_on(async {
        match report {
            Some((status, date)) => client.report_status_on(application, status, date).await,
            None => client.application(application).await,
        }
    })?;
    print_json(&detail)
}
