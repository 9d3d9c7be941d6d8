//! `doorstroom`: the broker and its tools in one binary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};
use doorstroom_cli::exchange::{self, DEFAULT_CA, DEFAULT_URL, Identity, PullOptions, SendOptions};
use doorstroom_devkit::{operator, pki, seed};
use doorstroom_domain::{
    ApplicationStatus, Brin, Crebo, InstitutionStatus, Oin, Password, Role, SchoolYear, Section, Sector, StaffId,
    Username,
};
use doorstroom_jose::TrustAnchors;
use doorstroom_server::config::{LogFormat, Settings};
use doorstroom_server::secrets::TotpKey;
use doorstroom_server::tls::{ClientRoots, install_default_provider};
use doorstroom_server::{Secrets, clock::SystemClock};
use doorstroom_store::Store;

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
    },
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
    /// Applications (aanmeldingen): register (mbo) and find (vo).
    #[command(subcommand)]
    Applications(ApplicationsCommand),
    /// The course of an application: report (mbo) and show (mbo, vo).
    #[command(subcommand)]
    Status(StatusCommand),
    /// Build, sign and encrypt a dossier package from JSON and files, and submit it (vo).
    Send(SendArgs),
    /// List the packages waiting for the institution (metadata only).
    Inbox(InboxArgs),
    /// Fetch a package, verify every signature, decrypt it and write the sections out.
    Pull(PullArgs),
    /// The audit log: verify it (locally, against a broker, or from an export) and export it.
    #[command(subcommand)]
    Audit(doorstroom_cli::audit::AuditCommand),
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
        format: RegisterFormatArg,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RegisterFormatArg {
    Text,
    Json,
}

#[derive(Subcommand)]
enum PkiCommand {
    /// Create (or complete) the development PKI: CA, server certificate, and per demo
    /// institution a client certificate and JOSE signing and encryption keys.
    InitDev {
        #[arg(long, default_value = "certs/dev")]
        dir: PathBuf,
    },
    /// Generate missing secret files (pseudonym key, token key, broker signing key, TOTP sealing key), mode 0600.
    InitSecrets,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Register an institution.
    AddInstitution {
        #[arg(long)]
        brin: Brin,
        #[arg(long)]
        name: String,
        #[arg(long)]
        sector: Sector,
        #[arg(long)]
        oin: Option<Oin>,
    },
    /// List the registry.
    ListInstitutions,
    /// Suspend or reactivate an institution.
    SetInstitutionStatus {
        #[arg(long)]
        brin: Brin,
        #[arg(long)]
        status: InstitutionStatus,
    },
    /// Bind a client certificate (PEM file) to an institution.
    BindCertificate {
        #[arg(long)]
        brin: Brin,
        #[arg(long)]
        cert: PathBuf,
    },
    /// Publish a JOSE key (public JWK with x5c, JSON file) for an institution.
    AddKey {
        #[arg(long)]
        brin: Brin,
        #[arg(long)]
        jwk: PathBuf,
    },
    /// Create a staff account; the password is read from DOORSTROOM_NEW_PASSWORD.
    CreateStaff {
        #[arg(long)]
        username: Username,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: Role,
        #[arg(long)]
        institution: Option<Brin>,
    },
    /// List staff accounts.
    ListStaff {
        #[arg(long)]
        institution: Option<Brin>,
    },
    /// Deactivate a staff account.
    DeactivateStaff {
        #[arg(long)]
        id: StaffId,
    },
}

#[derive(Args)]
struct CallArgs {
    /// Client certificate (PEM); its key is read from --key.
    #[arg(long)]
    cert: Option<PathBuf>,
    #[arg(long)]
    key: Option<PathBuf>,
    #[command(subcommand)]
    what: CallCommand,
}

#[derive(Subcommand)]
enum CallCommand {
    /// Who the broker takes the caller to be.
    Whoami,
    /// An institution's published JWK Set.
    Jwks { brin: Brin },
    /// The active intakers of your own mbo, with the ids to name in `--on-behalf-of`.
    Intakers { brin: Brin },
}

/// Who calls: a school system's folder or a staff token.
#[derive(Args, Clone)]
struct Who {
    /// The institution's folder: client.pem + client.key (TLS), sign.jwk and enc.jwk (private JOSE keys).
    #[arg(long = "as", value_name = "DIR", conflicts_with = "token")]
    as_dir: Option<PathBuf>,
    /// A staff access token (from POST /v1/auth/login) instead of a client certificate.
    #[arg(long, env = "DOORSTROOM_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl Who {
    fn identity(&self) -> Identity {
        Identity {
            dir: self.as_dir.clone(),
            token: self.token.clone(),
        }
    }
}

/// The student, as `bsn:NNNNNNNNN` or `onderwijsnummer:NNNNNNNNN`. Prefer
/// the environment variable, which keeps the number out of shell history.
#[derive(Args, Clone)]
struct StudentArg {
    /// bsn:NNNNNNNNN or onderwijsnummer:NNNNNNNNN (never printed).
    #[arg(long, env = "DOORSTROOM_STUDENT", hide_env_values = true, value_name = "KIND:NUMBER")]
    student: String,
}

#[derive(Args)]
struct EraseArgs {
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

#[derive(Args)]
struct InspectionArgs {
    #[command(flatten)]
    who: Who,
    #[command(flatten)]
    student: StudentArg,
    /// student, parent or guardian.
    #[arg(long)]
    by: doorstroom_domain::InspectedBy,
    /// When it happened (RFC 3339); default now.
    #[arg(long)]
    at: Option<chrono::DateTime<Utc>>,
    /// The student or parents added remarks afterwards.
    #[arg(long)]
    remarks_added: bool,
}

#[derive(Args)]
struct ConsentArgs {
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
    sections: Vec<doorstroom_domain::Section>,
    /// student, parent or guardian.
    #[arg(long)]
    given_by: doorstroom_domain::GivenBy,
    /// paper_form, in_person or digital.
    #[arg(long)]
    method: doorstroom_domain::ConsentMethod,
    /// Where the school keeps the evidence (form number, file reference).
    #[arg(long)]
    evidence_ref: String,
    /// The version of the privacy notice shown.
    #[arg(long)]
    notice_version: String,
}

#[derive(Subcommand)]
enum ConsentCommand {
    /// Record consent given; prints the broker-signed receipt.
    Give {
        #[command(flatten)]
        consent: ConsentArgs,
        /// When the consent ends by itself (RFC 3339).
        #[arg(long)]
        valid_until: Option<chrono::DateTime<Utc>>,
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

#[derive(Subcommand)]
enum ApplicationsCommand {
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
enum StatusCommand {
    /// Report the application's course (mbo).
    Report {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        application: uuid::Uuid,
        /// received, intake_scheduled, intake_held, place_offered, enrolled, not_enrolling, withdrawn, no_show.
        #[arg(long)]
        status: ApplicationStatus,
    },
    /// Show an application with its course.
    Show {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        application: uuid::Uuid,
    },
}

#[derive(Args)]
struct SendArgs {
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
struct InboxArgs {
    #[command(flatten)]
    who: Who,
    /// For a school system: the staff id of the intaker it acts for.
    #[arg(long)]
    on_behalf_of: Option<StaffId>,
}

#[derive(Args)]
struct PullArgs {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("doorstroom: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    install_default_provider();
    let settings = || Settings::load(cli.config.as_deref()).map_err(|e| e.to_string());
    match cli.command {
        Command::Serve { dev } => serve(settings()?, dev),
        Command::Pki(PkiCommand::InitDev { dir }) => {
            let pki = pki::ensure_dev_pki(&dir, Utc::now()).map_err(|e| e.to_string())?;
            print_pki(&pki);
            Ok(())
        }
        Command::Pki(PkiCommand::InitSecrets) => {
            let created = Secrets::generate_missing(&settings()?.secrets).map_err(|e| e.to_string())?;
            for path in created {
                println!("created {}", path.display());
            }
            Ok(())
        }
        Command::Admin(command) => admin(&settings()?, command),
        Command::Call(args) => call(&cli.url, &cli.ca, args),
        Command::Inspection(args) => inspection(&cli.url, &cli.ca, args),
        Command::Consent(command) => consent(&cli.url, &cli.ca, command),
        Command::Applications(command) => applications(&cli.url, &cli.ca, command),
        Command::Status(command) => status(&cli.url, &cli.ca, command),
        Command::Send(args) => send(&cli.url, &cli.ca, args),
        Command::Inbox(args) => inbox(&cli.url, &cli.ca, args),
        Command::Pull(args) => pull(&cli.url, &cli.ca, args),
        Command::Audit(command) => doorstroom_cli::audit::run(command, &cli.url, &cli.ca, cli.config.as_deref()),
        Command::Erase(args) => {
            let who = Who {
                as_dir: None,
                token: Some(args.token.clone()),
            };
            let body = serde_json::json!({
                "student_number": student_json(&args.student.student)?,
                "requested_by": args.requested_by,
                "reason": args.reason,
                "reference": args.reference,
            });
            post_and_print(&cli.url, &cli.ca, &who, "/v1/erasures", body)
        }
        Command::Purge { dry_run } => {
            let summary = doorstroom_cli::purge::run(&settings()?, dry_run)?;
            print_json(&summary)
        }
        Command::Totp { secret } => {
            let code = totp_rs::Secret::Encoded(secret)
                .to_bytes()
                .ok()
                .and_then(|bytes| {
                    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).ok()
                })
                .and_then(|totp| totp.generate_current().ok())
                .ok_or("not a valid base32 TOTP secret")?;
            println!("{code}");
            Ok(())
        }
        Command::Register { format } => {
            let register = doorstroom_server::handlers::register::processing_register(&settings()?);
            match format {
                RegisterFormatArg::Text => print!("{}", doorstroom_server::handlers::register::render_text(&register)),
                RegisterFormatArg::Json => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&register).map_err(|e| e.to_string())?
                    )
                }
            }
            Ok(())
        }
        Command::Openapi => {
            print!("{}", doorstroom_server::openapi::document_json());
            Ok(())
        }
    }
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log.filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // actix-http's ERROR for a request it cannot parse becomes a WARN.
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(doorstroom_server::malformed_http::MalformedHttpLog);
    let format = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match settings.log.format {
        LogFormat::Json => registry.with(format.json()).init(),
        LogFormat::Pretty => registry.with(format).init(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn open_store(settings: &Settings) -> Result<Store, String> {
    Store::open(&settings.database.url, settings.database.max_connections).map_err(|e| e.to_string())
}

fn serve(settings: Settings, dev_mode: bool) -> Result<(), String> {
    init_logging(&settings);
    let now = Utc::now();
    let mut banner = None;
    if dev_mode {
        let dir = settings.tls.cert.parent().unwrap_or(Path::new("certs/dev"));
        let pki = pki::ensure_dev_pki(dir, now).map_err(|e| e.to_string())?;
        for path in Secrets::generate_missing(&settings.secrets).map_err(|e| e.to_string())? {
            println!("created secret {}", path.display());
        }
        banner = Some(pki);
    }
    let secrets = Secrets::load(&settings.secrets).map_err(|e| e.to_string())?;
    let store = open_store(&settings)?;
    if let Some(pki) = banner {
        let roots = ClientRoots::load(&settings.tls.client_ca).map_err(|e| e.to_string())?;
        let anchors = load_anchors(&settings)?;
        let registered =
            seed::register_demo_institutions(&store, now, &pki, &roots, &anchors).map_err(|e| e.to_string())?;
        let accounts_file = data_dir(&settings).join("dev-accounts.txt");
        let staff =
            seed::create_demo_staff(&store, secrets.totp_key(), now, &accounts_file).map_err(|e| e.to_string())?;
        print_pki(&pki);
        for brin in registered {
            println!("registered demo institution {brin} with its client certificate and JOSE keys");
        }
        if !staff.is_empty() {
            println!(
                "\ncreated demo staff accounts (also in {}):\n{staff}",
                accounts_file.display()
            );
        }
        print_dev_help(&settings, &pki, &accounts_file);
    }
    runtime()?.block_on(async move {
        let server = doorstroom_server::start(settings, store, secrets, Arc::new(SystemClock))
            .await
            .map_err(|e| e.to_string())?;
        server.wait().await.map_err(|e| e.to_string())
    })
}

fn data_dir(settings: &Settings) -> PathBuf {
    settings
        .secrets
        .pseudonym_key_file
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("data"))
}

fn load_anchors(settings: &Settings) -> Result<TrustAnchors, String> {
    let pem = std::fs::read(&settings.jose.trust_anchors)
        .map_err(|e| format!("{}: {e}", settings.jose.trust_anchors.display()))?;
    TrustAnchors::from_pem(&pem).map_err(|e| e.to_string())
}

fn print_pki(pki: &pki::DevPki) {
    println!(
        "development PKI in {}{}",
        pki.dir.display(),
        if pki.created { " (created now)" } else { "" }
    );
    println!("  CA           {}", pki.ca_cert_path().display());
    println!("  server       {}", pki.server_cert_path().display());
    for inst in &pki.institutions {
        println!(
            "  {} {:<24} {:<4} client cert {}  (SPKI SHA-256 {})",
            inst.brin,
            inst.name,
            inst.sector.as_str(),
            inst.client_cert.display(),
            inst.fingerprint
        );
    }
}

fn print_dev_help(settings: &Settings, pki: &pki::DevPki, accounts: &Path) {
    let url = format!("https://localhost:{}", settings.server.bind.port());
    let ca = pki.ca_cert_path();
    let vo = pki.institutions.first();
    println!("\nTry it:");
    println!("  curl --cacert {} {url}/healthz", ca.display());
    if let Some(vo) = vo {
        println!(
            "  curl --cacert {} --cert {} --key {} {url}/v1/whoami",
            ca.display(),
            vo.client_cert.display(),
            vo.client_key.display()
        );
        println!(
            "  doorstroom call --url {url} --ca {} --cert {} --key {} whoami",
            ca.display(),
            vo.client_cert.display(),
            vo.client_key.display()
        );
    }
    println!("  curl --cacert {} {url}/v1/institutions/25LX/jwks", ca.display());
    println!(
        "  staff login: POST {url}/v1/auth/login with the credentials in {}",
        accounts.display()
    );
    println!("    (the current TOTP code: doorstroom totp <secret>)\n");
}

fn admin(settings: &Settings, command: AdminCommand) -> Result<(), String> {
    let store = open_store(settings)?;
    let now = Utc::now();
    let show = |value: serde_json::Value| println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
    match command {
        AdminCommand::AddInstitution {
            brin,
            name,
            sector,
            oin,
        } => {
            let i = operator::register_institution(&store, now, brin, oin, &name, sector).map_err(|e| e.to_string())?;
            println!("registered {} {} ({})", i.brin, i.name, i.sector);
        }
        AdminCommand::ListInstitutions => {
            for i in operator::list_institutions(&store, now).map_err(|e| e.to_string())? {
                println!(
                    "{}  {:<4} {:<9} {}",
                    i.brin,
                    i.sector.as_str(),
                    i.status.as_str(),
                    i.name
                );
            }
        }
        AdminCommand::SetInstitutionStatus { brin, status } => {
            let i = operator::set_institution_status(&store, now, brin, status).map_err(|e| e.to_string())?;
            println!("{} is now {}", i.brin, i.status);
        }
        AdminCommand::BindCertificate { brin, cert } => {
            let roots = ClientRoots::load(&settings.tls.client_ca).map_err(|e| e.to_string())?;
            let pem = std::fs::read_to_string(&cert).map_err(|e| format!("{}: {e}", cert.display()))?;
            let b = operator::bind_certificate(&store, now, &roots, brin, &pem).map_err(|e| e.to_string())?;
            println!("bound {} to {} ({})", b.fingerprint, b.brin, b.subject);
        }
        AdminCommand::AddKey { brin, jwk } => {
            let anchors = load_anchors(settings)?;
            let text = std::fs::read_to_string(&jwk).map_err(|e| format!("{}: {e}", jwk.display()))?;
            let value: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", jwk.display()))?;
            let k = operator::add_key(&store, now, &anchors, brin, &value).map_err(|e| e.to_string())?;
            println!("published {} ({} {}) for {}", k.kid, k.key_use, k.alg, k.brin);
        }
        AdminCommand::CreateStaff {
            username,
            name,
            role,
            institution,
        } => {
            let raw = std::env::var("DOORSTROOM_NEW_PASSWORD")
                .map_err(|_| "set DOORSTROOM_NEW_PASSWORD to the initial password")?;
            let password = Password::parse(&raw).map_err(|e| e.to_string())?;
            let totp_key = TotpKey::load(&settings.secrets).map_err(|e| e.to_string())?;
            let created = operator::create_staff(&store, &totp_key, now, username, &name, role, institution, &password)
                .map_err(|e| e.to_string())?;
            show(serde_json::json!({
                "id": created.account.id,
                "username": created.account.username,
                "role": created.account.role,
                "institution": created.account.institution,
                "totp_secret": created.totp_secret,
                "totp_uri": created.totp_uri,
            }));
        }
        AdminCommand::ListStaff { institution } => {
            for a in operator::list_staff(&store, now, institution).map_err(|e| e.to_string())? {
                println!(
                    "{}  {:<20} {:<18} {:<5} {}",
                    a.id,
                    a.username.as_str(),
                    a.role.as_str(),
                    a.institution.as_ref().map(Brin::as_str).unwrap_or("-"),
                    a.status.as_str()
                );
            }
        }
        AdminCommand::DeactivateStaff { id } => {
            let a = operator::deactivate_staff(&store, now, id).map_err(|e| e.to_string())?;
            println!("{} is now {}", a.username.as_str(), a.status.as_str());
        }
    }
    Ok(())
}

fn call(url: &str, ca: &Path, args: CallArgs) -> Result<(), String> {
    let ca = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let mut pem = std::fs::read(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
            pem.extend(std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?);
            Some(pem)
        }
        (None, None) => None,
        _ => return Err("--cert and --key go together".into()),
    };
    let client = doorstroom_client::Client::new(url, &ca, identity.as_deref()).map_err(|e| e.to_string())?;
    let value = runtime()?.block_on(async {
        match args.what {
            CallCommand::Whoami => client.whoami().await,
            CallCommand::Jwks { brin } => client.jwks(brin.as_str()).await,
            CallCommand::Intakers { brin } => client.intakers(brin.as_str()).await,
        }
    });
    let value = value.map_err(|e| e.to_string())?;
    print_json(&value)
}

/// Prints `value` as pretty JSON; a closed pipe (`| head`) is an error, not a panic.
fn print_json<T: serde::Serialize>(value: &T) -> Result<(), String> {
    use std::io::Write as _;
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    writeln!(std::io::stdout().lock(), "{text}").map_err(|e| format!("stdout: {e}"))
}

/// Posts `body` to `path` and prints the answer, or the problem.
fn post_and_print(url: &str, ca: &Path, who: &Who, path: &str, body: serde_json::Value) -> Result<(), String> {
    let client = exchange::connect(url, ca, &who.identity()).map_err(|e| e.to_string())?;
    let reply = runtime()?
        .block_on(client.request(reqwest::Method::POST, path, Some(&body), None))
        .map_err(|e| e.to_string())?;
    if !reply.status.is_success() {
        let text = |k: &str| {
            reply
                .body
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        return Err(format!(
            "{}: {}: {}",
            reply.status.as_u16(),
            text("title"),
            text("detail")
        ));
    }
    print_json(&reply.body)
}

fn student_json(raw: &str) -> Result<serde_json::Value, String> {
    let number = exchange::parse_student(raw).map_err(|e| e.to_string())?;
    serde_json::to_value(&number).map_err(|e| e.to_string())
}

fn inspection(url: &str, ca: &Path, args: InspectionArgs) -> Result<(), String> {
    let body = serde_json::json!({
        "student_number": student_json(&args.student.student)?,
        "inspected_at": args.at.unwrap_or_else(Utc::now),
        "inspected_by": args.by,
        "remarks_added": args.remarks_added,
    });
    post_and_print(url, ca, &args.who, "/v1/inspections", body)
}

fn consent(url: &str, ca: &Path, command: ConsentCommand) -> Result<(), String> {
    let body = |c: &ConsentArgs, valid_until: Option<chrono::DateTime<Utc>>| -> Result<serde_json::Value, String> {
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
    };
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

fn applications(url: &str, ca: &Path, command: ApplicationsCommand) -> Result<(), String> {
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
            )
            .map_err(|e| e.to_string())?;
            let client = exchange::connect(url, ca, &who.identity()).map_err(|e| e.to_string())?;
            let (view, created) = runtime()?
                .block_on(client.register_application(&request))
                .map_err(|e| e.to_string())?;
            eprintln!(
                "{}",
                if created {
                    "registered"
                } else {
                    "already registered (unchanged)"
                }
            );
            print_json(&view)?;
        }
        ApplicationsCommand::Find { who, student } => {
            let number = exchange::parse_student(&student.student).map_err(|e| e.to_string())?;
            let client = exchange::connect(url, ca, &who.identity()).map_err(|e| e.to_string())?;
            let found = runtime()?
                .block_on(client.find_applications(&number))
                .map_err(|e| e.to_string())?;
            print_json(&found)?;
        }
    }
    Ok(())
}

fn status(url: &str, ca: &Path, command: StatusCommand) -> Result<(), String> {
    let (who, application, report) = match command {
        StatusCommand::Report {
            who,
            application,
            status,
        } => (who, application, Some(status)),
        StatusCommand::Show { who, application } => (who, application, None),
    };
    let client = exchange::connect(url, ca, &who.identity()).map_err(|e| e.to_string())?;
    let detail = runtime()?
        .block_on(async {
            match report {
                Some(status) => client.report_status(application, status).await,
                None => client.application(application).await,
            }
        })
        .map_err(|e| e.to_string())?;
    print_json(&detail)?;
    Ok(())
}

fn send(url: &str, ca: &Path, args: SendArgs) -> Result<(), String> {
    let identity = args.who.identity();
    let signing_key = match args.signing_key {
        Some(path) => path,
        None => identity.signing_key().map_err(|e| e.to_string())?,
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
    let client = exchange::connect(url, ca, &identity).map_err(|e| e.to_string())?;
    let receipt = runtime()?
        .block_on(exchange::send(&client, &options))
        .map_err(|e| e.to_string())?;
    print_json(&receipt)?;
    Ok(())
}

fn inbox(url: &str, ca: &Path, args: InboxArgs) -> Result<(), String> {
    let client = exchange::connect(url, ca, &args.who.identity()).map_err(|e| e.to_string())?;
    let on_behalf_of = args.on_behalf_of.map(|s| s.to_string());
    let entries = runtime()?
        .block_on(client.inbox(on_behalf_of.as_deref()))
        .map_err(|e| e.to_string())?;
    print_json(&entries)?;
    Ok(())
}

fn pull(url: &str, ca: &Path, args: PullArgs) -> Result<(), String> {
    let identity = args.who.identity();
    let decryption_key = match args.key {
        Some(path) => path,
        None => identity.decryption_key().map_err(|e| e.to_string())?,
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
    let client = exchange::connect(url, ca, &identity).map_err(|e| e.to_string())?;
    let outcome = runtime()?
        .block_on(exchange::pull(&client, &options))
        .map_err(|e| e.to_string())?;
    use std::io::Write as _;
    write!(std::io::stdout().lock(), "{}", exchange::describe_pull(&outcome)).map_err(|e| format!("stdout: {e}"))
}
