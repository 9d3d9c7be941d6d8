//! `doorstroom send`, `inbox`, `events` and `pull`: the dossier exchange as the
//! school systems run it ([`crate::exchange`] does the work; an OSO dossier
//! in and out through [`crate::oso`]).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Utc;
use clap::Args;
use doorstroom_client::oso::Limits;
use doorstroom_domain::{Brin, InspectedBy, Section, StaffId};

use super::common::{Who, print_json, runtime};
use crate::exchange::{self, DEFAULT_CA, PullOptions, SendOptions};
use crate::oso::{self, OsoSource};

/// How `pull` writes a dossier out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PullFormat {
    /// One `<section>.json` per section, attachments as files.
    #[default]
    Json,
    /// `dossier.xml`, an OSO gegevensset 2019.1 dossier of the released
    /// OSO-sourced sections (for the mbo's own student information
    /// system); any other released section as JSON beside it.
    Oso,
}

#[derive(Args)]
pub struct SendArgs {
    #[command(flatten)]
    who: Who,
    /// The receiving mbo.
    #[arg(long)]
    to: Brin,
    /// The broker's id of the student's application at the receiver.
    #[arg(long)]
    application: uuid::Uuid,
    /// A section as NAME=FILE.json (personal_data, support_needs, career_portfolio, remarks, attachments); repeatable.
    #[arg(long = "section", value_name = "NAME=FILE", value_parser = exchange::parse_section_arg)]
    sections: Vec<(Section, PathBuf)>,
    /// A file for the attachments section (base64 in the package); repeatable.
    #[arg(long = "attachment", value_name = "FILE")]
    attachments: Vec<PathBuf>,
    /// An OSO gegevensset 2019.1 dossier (XML) as exported by the school's
    /// administration system: its categories become the sections, its
    /// <inzage> the inspection record; optional sections without consent
    /// for --to stay out.
    #[arg(long, value_name = "FILE")]
    oso: Option<PathBuf>,
    /// With --oso: the student (bsn:NNNNNNNNN or onderwijsnummer:NNNNNNNNN);
    /// default the dossier's own number. Never printed.
    #[arg(
        long,
        env = "DOORSTROOM_STUDENT",
        hide_env_values = true,
        value_name = "KIND:NUMBER",
        requires = "oso"
    )]
    student: Option<String>,
    /// With --oso: who inspected the dossier (student, parent or guardian);
    /// OSO's <inzage> is the parents'.
    #[arg(long, default_value = "parent")]
    inspected_by: InspectedBy,
    /// With --oso: the largest dossier file read, in bytes (default 20 MiB).
    #[arg(long, default_value_t = Limits::default().max_bytes)]
    oso_max_bytes: usize,
    /// With --oso: the largest attached document, decoded, in bytes (default 10 MiB).
    #[arg(long, default_value_t = Limits::default().max_document_bytes)]
    oso_max_document_bytes: usize,
    /// The sending school; default: as the broker knows the client certificate.
    #[arg(long)]
    from: Option<Brin>,
    /// The private signing key; default DIR/sign.jwk.
    #[arg(long)]
    signing_key: Option<PathBuf>,
    /// Trust anchors for the receiver's key certificate chain.
    #[arg(long, default_value = DEFAULT_CA)]
    trust_anchors: PathBuf,
}

#[derive(Args)]
pub struct InboxArgs {
    #[command(flatten)]
    who: Who,
    /// For a school system: the staff id of the intaker it acts for.
    #[arg(long)]
    on_behalf_of: Option<StaffId>,
}

#[derive(Args)]
pub struct EventsArgs {
    #[command(flatten)]
    who: Who,
    /// The `next` cursor of the previous page; without it, from the start.
    #[arg(long)]
    after: Option<String>,
    /// Seconds to wait for an entry when there is none yet (the broker
    /// bounds it, 30 by default).
    #[arg(long, default_value_t = 0)]
    wait: u32,
}

#[derive(Args)]
pub struct PullArgs {
    #[command(flatten)]
    who: Who,
    /// For a school system: the staff id of the intaker it acts for.
    #[arg(long)]
    on_behalf_of: Option<StaffId>,
    /// The package id.
    #[arg(long)]
    package: uuid::Uuid,
    /// Folder to write <section>.json (and attachments/) to; created 0700, files 0600.
    #[arg(long)]
    out: PathBuf,
    /// The private decryption key; default DIR/enc.jwk.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Trust anchors for the sender's key certificate chain.
    #[arg(long, default_value = DEFAULT_CA)]
    trust_anchors: PathBuf,
    /// Acknowledge receipt after everything verified and was written.
    #[arg(long)]
    acknowledge: bool,
    /// json: <section>.json files; oso: dossier.xml, an OSO gegevensset
    /// 2019.1 dossier of the released sections, for the mbo's own system.
    #[arg(long, value_enum, default_value = "json")]
    format: PullFormat,
}

pub fn send(url: &str, ca: &Path, args: SendArgs) -> anyhow::Result<()> {
    let identity = args.who.identity();
    let signing_key = match args.signing_key {
        Some(path) => path,
        None => identity.signing_key()?,
    };
    let options = SendOptions {
        from: args.from,
        to: args.to,
        application: args.application,
        sections: args.sections,
        attachments: args.attachments,
        signing_key,
        trust_anchors: args.trust_anchors,
        now: Utc::now(),
    };
    let client = exchange::connect(url, ca, &identity)?;
    let receipt = match args.oso {
        Some(path) => {
            let source = OsoSource {
                path,
                student: args.student,
                inspected_by: args.inspected_by,
                limits: Limits {
                    max_bytes: args.oso_max_bytes,
                    max_document_bytes: args.oso_max_document_bytes,
                    ..Limits::default()
                },
            };
            // Messages to stderr, so that stdout stays the receipt's JSON.
            let mut say = |line: String| eprintln!("{line}");
            runtime()?.block_on(oso::send(&client, &options, &source, &mut say))?
        }
        None => runtime()?.block_on(exchange::send(&client, &options))?,
    };
    print_json(&receipt)
}

pub fn inbox(url: &str, ca: &Path, args: InboxArgs) -> anyhow::Result<()> {
    let client = exchange::connect(url, ca, &args.who.identity())?;
    let on_behalf_of = args.on_behalf_of.map(|s| s.to_string());
    let entries = runtime()?.block_on(client.inbox(on_behalf_of.as_deref()))?;
    print_json(&entries)
}

/// One page of the institution's event feed, as JSON (its `next` is the
/// `--after` of the following call).
pub fn events(url: &str, ca: &Path, args: EventsArgs) -> anyhow::Result<()> {
    let client = exchange::connect(url, ca, &args.who.identity())?;
    let page = runtime()?.block_on(client.events(args.after.as_deref(), args.wait))?;
    print_json(&page)
}

pub fn pull(url: &str, ca: &Path, args: PullArgs) -> anyhow::Result<()> {
    let identity = args.who.identity();
    let decryption_key = match args.key {
        Some(path) => path,
        None => identity.decryption_key()?,
    };
    let options = PullOptions {
        package: args.package,
        on_behalf_of: args.on_behalf_of,
        decryption_key,
        trust_anchors: args.trust_anchors,
        out: args.out,
        acknowledge: args.acknowledge,
        now: Utc::now(),
    };
    let client = exchange::connect(url, ca, &identity)?;
    let outcome = match args.format {
        PullFormat::Json => runtime()?.block_on(exchange::pull(&client, &options))?,
        PullFormat::Oso => runtime()?.block_on(oso::pull(&client, &options))?,
    };
    use std::io::Write as _;
    write!(std::io::stdout().lock(), "{}", exchange::describe_pull(&outcome)).context("stdout")
}
