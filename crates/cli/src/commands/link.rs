//! `doorstroom link …`: links to the student's own page, as the vo
//! school's system issues and revokes them.

use std::path::Path;

use anyhow::bail;
use clap::Subcommand;
use uuid::Uuid;

use super::common::{StudentArg, Who, post_and_print, problem_line, runtime, student_json};
use crate::exchange;

#[derive(Subcommand)]
pub enum LinkCommand {
    /// Issue a link to the student's own page; prints the URL and the
    /// 6-digit code (shown this once; hand the code over separately).
    Issue {
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        student: StudentArg,
    },
    /// Revoke a link: it opens nothing from now on.
    Revoke {
        #[command(flatten)]
        who: Who,
        /// The link's id (from `link issue`).
        id: Uuid,
    },
}

pub fn run(url: &str, ca: &Path, command: LinkCommand) -> anyhow::Result<()> {
    match command {
        LinkCommand::Issue { who, student } => {
            let body = serde_json::json!({"student_number": student_json(&student.student)?});
            post_and_print(url, ca, &who, "/v1/transparency-links", body)
        }
        LinkCommand::Revoke { who, id } => {
            let client = exchange::connect(url, ca, &who.identity())?;
            let path = format!("/v1/transparency-links/{id}");
            let reply = runtime()?.block_on(client.request(reqwest::Method::DELETE, &path, None, None))?;
            if !reply.status.is_success() {
                bail!("{}", problem_line(reply.status, &reply.body));
            }
            println!("revoked {id}");
            Ok(())
        }
    }
}
