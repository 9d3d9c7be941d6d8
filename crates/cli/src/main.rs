//! `doorstroom`: the broker and its tools in one binary. This file is the
//! argument parsing and the dispatch; each command group lives in
//! [`doorstroom_cli::commands`] (the audit log in [`doorstroom_cli::audit`],
//! the retention purge in [`doorstroom_cli::purge`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use doorstroom_cli::commands::admin::AdminCommand;
use doorstroom_cli::commands::applications::{ApplicationsCommand, StatusCommand};
use doorstroom_cli::commands::call::CallArgs;
use doorstroom_cli::commands::cohort::CohortCommand;
use doorstroom_cli::commands::common::{error_message, load_settings, print_json};
use doorstroom_cli::commands::consent::{ConsentCommand, InspectionArgs};
use doorstroom_cli::commands::desk::DeskArgs;
use doorstroom_cli::commands::link::LinkCommand;
use doorstroom_cli::commands::packages::{EventsArgs, InboxArgs, PullArgs, SendArgs};
use doorstroom_cli::commands::pki::PkiCommand;
use doorstroom_cli::commands::privacy::{EraseArgs, RegisterFormat};
use doorstroom_cli::commands::{
    admin, applications, call, cohort, consent, desk, figures, link, packages, pki, privacy, serve, tools,
};
use doorstroom_cli::exchange::{DEFAULT_CA, DEFAULT_URL};
use doorstroom_cli::{audit, purge};
use doorstroom_server::tls::install_default_provider;

#[derive(Parser)]
#[command(
    name = "doorstroom",
    version,
    about = "Broker for the digitaal doorstroomdossier (vo → mbo)"
)]
struct Cli {
    /// Configuration file (TOML) over config/default.toml; DOORSTROOM__… variables override both.
    #[arg(long, global = true, env = "DOORSTROOM_CONFIG")]
    config: Option<PathBuf>,
    /// Base URL of the broker (client commands).
    #[arg(long, global = true, default_value = DEFAULT_URL)]
    url: String,
    /// CA certificate of the broker's server certificate (client commands).
    #[arg(long, global = true, default_value = DEFAULT_CA)]
    ca: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker over HTTPS.
    Serve {
        /// Development mode: create the dev PKI, secrets, demo institutions and staff when missing.
        #[arg(long)]
        dev: bool,
        /// With --dev: also run 25LX's intake desk on https://localhost:8444 (the whole demo in one command).
        #[arg(long, requires = "dev")]
        desk: bool,
        /// Where that desk listens.
        #[arg(long, requires = "desk", default_value = "127.0.0.1:8444")]
        desk_bind: std::net::SocketAddr,
    },
    /// Run the intake desk (mbo): intakers read dossiers in their browser, decrypted with the mbo's own key.
    Desk(DeskArgs),
    /// Development PKI.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Operator commands on the broker's database (audited as the operator).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Calls to a running broker, as a school system (client certificate).
    Call(CallArgs),
    /// Record that the student and/or parents inspected the dossier (inzage; vo system).
    Inspection(InspectionArgs),
    /// Consent for sections beyond the legal minimum: give, withdraw, history.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Links to the student's own page: issue, revoke (vo system).
    #[command(subcommand)]
    Link(LinkCommand),
    /// Applications (aanmeldingen): register (mbo) and find (vo).
    #[command(subcommand)]
    Applications(ApplicationsCommand),
    /// The course of an application: report (mbo) and show (mbo, vo).
    #[command(subcommand)]
    Status(StatusCommand),
    /// The safety net (vo system): the leaving cohort, and who is at risk.
    #[command(subcommand)]
    Cohort(CohortCommand),
    /// A region's figures, small cells suppressed (regional coordinator, with --token).
    Figures(figures::FiguresArgs),
    /// Build, sign and encrypt a dossier package from JSON and files or an OSO dossier, and submit it (vo).
    Send(SendArgs),
    /// List the packages waiting for the institution (metadata only).
    Inbox(InboxArgs),
    /// What concerns the institution (ids and times), one page after --after; --wait long-polls.
    Events(EventsArgs),
    /// Fetch a package, verify every signature, decrypt it and write the sections out (JSON, or --format oso).
    Pull(PullArgs),
    /// The audit log: verify it (locally, against a broker, or from an export) and export it.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Erase a student's data on request (GDPR art. 17), as a privacy officer (--token).
    Erase(EraseArgs),
    /// Delete what the retention rules say must go (audited, in batches); --dry-run only counts.
    Purge {
        /// Count what is due, per kind and reason, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the current TOTP code for a base32 secret (development aid).
    Totp { secret: String },
    /// Print the OpenAPI document.
    Openapi,
    /// Print the register of processing activities (GDPR art. 30) of this configuration.
    Register {
        /// `text` (readable, Markdown) or `json`.
        #[arg(long, default_value = "text")]
        format: RegisterFormat,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("doorstroom: {}", error_message(&error));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    install_default_provider();
    let config = cli.config.as_deref();
    let (url, ca) = (cli.url.as_str(), cli.ca.as_path());
    match cli.command {
        Command::Serve { dev, desk, desk_bind } => {
            serve::run(load_settings(config)?, dev, desk.then_some((ca, desk_bind)))
        }
        Command::Desk(args) => desk::run(url, ca, args),
        Command::Pki(command) => pki::run(command, config),
        Command::Admin(command) => admin::run(&load_settings(config)?, command),
        Command::Call(args) => call::run(url, ca, args),
        Command::Inspection(args) => consent::inspection(url, ca, args),
        Command::Consent(command) => consent::run(url, ca, command),
        Command::Link(command) => link::run(url, ca, command),
        Command::Applications(command) => applications::run(url, ca, command),
        Command::Status(command) => applications::status(url, ca, command),
        Command::Cohort(command) => cohort::run(url, ca, command),
        Command::Figures(args) => figures::run(url, ca, args),
        Command::Send(args) => packages::send(url, ca, args),
        Command::Inbox(args) => packages::inbox(url, ca, args),
        Command::Events(args) => packages::events(url, ca, args),
        Command::Pull(args) => packages::pull(url, ca, args),
        Command::Audit(command) => audit::run(command, url, ca, config),
        Command::Erase(args) => privacy::erase(url, ca, args),
        Command::Purge { dry_run } => print_json(&purge::run(&load_settings(config)?, dry_run)?),
        Command::Totp { secret } => tools::totp(secret),
        Command::Openapi => {
            tools::openapi();
            Ok(())
        }
        Command::Register { format } => privacy::register(&load_settings(config)?, format),
    }
}
