//! The GDPR commands: `doorstroom erase` (art. 17, as a privacy officer
//! against a running broker) and `doorstroom register` (art. 30, the
//! register of processing activities of this configuration).

use std::path::Path;

use clap::Args;
use doorstroom_app::register::processing_register;
use doorstroom_server::config::Settings;
use doorstroom_server::texts;

use super::common::{StudentArg, Who, post_and_print, student_json};

#[derive(Args)]
pub struct EraseArgs {
    /// The privacy officer's access token (the broker's: everything; an institution's: its part).
    #[arg(long, env = "DOORSTROOM_TOKEN", hide_env_values = true)]
    token: String,
    #[command(flatten)]
    student: StudentArg,
    /// Who asked: student, parent or guardian.
    #[arg(long)]
    requested_by: String,
    /// Why, in a few words; it stays in the audit log, so name nobody.
    #[arg(long)]
    reason: String,
    /// Your own reference for the request.
    #[arg(long)]
    reference: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum RegisterFormat {
    Text,
    Json,
}

pub fn erase(url: &str, ca: &Path, args: EraseArgs) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "student_number": student_json(&args.student.student)?,
        "requested_by": args.requested_by,
        "reason": args.reason,
        "reference": args.reference,
    });
    post_and_print(url, ca, &Who::staff(args.token), "/v1/erasures", body)
}

pub fn register(settings: &Settings, format: RegisterFormat) -> anyhow::Result<()> {
    let register = processing_register(settings.register_facts());
    match format {
        RegisterFormat::Text => print!("{}", texts::register(&register)?),
        RegisterFormat::Json => println!("{}", serde_json::to_string_pretty(&register)?),
    }
    Ok(())
}
