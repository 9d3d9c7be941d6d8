//! `doorstroom inspection` and `doorstroom consent …`: the consent and
//! inspection ledger, as the vo school's system records it.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use doorstroom_domain::{Brin, ConsentMethod, GivenBy, InspectedBy, Section};

use doorstroom_client::oso::RecordInspection;

use super::common::{StudentArg, Who, post_and_print, print_json, runtime, student_json};
use crate::exchange;

#[derive(Args)]
pub struct InspectionArgs {
    #[command(flatten)]
    who: Who,
    #[command(flatten)]
    student: StudentArg,
    /// student, parent or guardian.
    #[arg(long)]
    by: InspectedBy,
    /// When it happened (RFC 3339); default now.
    #[arg(long)]
    at: Option<DateTime<Utc>>,
    /// The student or parents added remarks afterwards.
    #[arg(long)]
    remarks_added: bool,
}

#[derive(Args)]
pub struct ConsentArgs {
    #[command(flatten)]
    who: Who,
    #[command(flatten)]
    student: StudentArg,
    /// YYYY-MM-DD: checks who may decide (from 16 the student, under 16 a parent); not kept.
    #[arg(long)]
    date_of_birth: NaiveDate,
    /// The mbo the consent is for.
    #[arg(long)]
    to: Brin,
    /// A section on consent (support_needs, career_portfolio, attachments); repeatable.
    #[arg(long = "section", required = true)]
    sections: Vec<Section>,
    /// student, parent or guardian.
    #[arg(long)]
    given_by: GivenBy,
    /// paper_form, in_person or digital.
    #[arg(long)]
    method: ConsentMethod,
    /// Where the school keeps the evidence (form number, file reference).
    #[arg(long)]
    evidence_ref: String,
    /// The version of the privacy notice shown.
    #[arg(long)]
    notice_version: String,
}

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Record consent given; prints the broker-signed receipt.
    Give {
        #[command(flatten)]
        consent: ConsentArgs,
        /// When the consent ends by itself (RFC 3339).
        #[arg(long)]
        valid_until: Option<DateTime<Utc>>,
    },
    /// Record consent withdrawn: undelivered copies are deleted at once.
    Withdraw {
        #[command(flatten)]
        consent: ConsentArgs,
    },
    /// A student's consent and inspection history.
    History {
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        student: StudentArg,
    },
}

/// Records the inspection with [`doorstroom_client::Client::record_inspection`],
/// the call `send --oso` makes for a dossier's `<inzage>`.
pub fn inspection(url: &str, ca: &Path, args: InspectionArgs) -> anyhow::Result<()> {
    let request = RecordInspection {
        student_number: exchange::parse_student(&args.student.student)?,
        inspected_at: args.at.unwrap_or_else(Utc::now),
        inspected_by: args.by,
        remarks_added: args.remarks_added,
    };
    let client = exchange::connect(url, ca, &args.who.identity())?;
    let recorded = runtime()?.block_on(client.record_inspection(&request))?;
    print_json(&recorded)
}

pub fn run(url: &str, ca: &Path, command: ConsentCommand) -> anyhow::Result<()> {
    match command {
        ConsentCommand::Give { consent, valid_until } => {
            post_and_print(url, ca, &consent.who, "/v1/consents", body(&consent, valid_until)?)
        }
        ConsentCommand::Withdraw { consent } => {
            post_and_print(url, ca, &consent.who, "/v1/consents/withdraw", body(&consent, None)?)
        }
        ConsentCommand::History { who, student } => {
            let body = serde_json::json!({"student_number": student_json(&student.student)?});
            post_and_print(url, ca, &who, "/v1/consents/history", body)
        }
    }
}

/// The body of a consent given or withdrawn.
fn body(c: &ConsentArgs, valid_until: Option<DateTime<Utc>>) -> anyhow::Result<serde_json::Value> {
    let mut body = serde_json::json!({
        "student_number": student_json(&c.student.student)?,
        "date_of_birth": c.date_of_birth,
        "recipient": c.to,
        "sections": c.sections,
        "given_by": c.given_by,
        "method": c.method,
        "evidence_ref": c.evidence_ref,
        "notice_version": c.notice_version,
    });
    if let (Some(until), Some(map)) = (valid_until, body.as_object_mut()) {
        map.insert("valid_until".into(), serde_json::json!(until));
    }
    Ok(body)
}
