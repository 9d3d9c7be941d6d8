//! `doorstroom send --oso FILE` and `doorstroom pull --format oso`: the
//! school system's side of OSO gegevensset dossiers (the work is in
//! `doorstroom_client::oso` and `doorstroom_oso`).
//!
//! At the sender the dossier's `<inzage>` is recorded as the inspection
//! with the call `doorstroom inspection` makes; its `toestemming` is *not*
//! taken as consent: the school records consent per mbo and section as
//! for any dossier, and an optional section without it stays out, with a
//! message.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use doorstroom_client::oso::{Dossier, Limits, Mapped, OsoError, export_oso, oso_student, prepare_oso, read_oso};
use doorstroom_client::{Client, Receipt, ReceivedDossier};
use doorstroom_domain::{Brin, InspectedBy, StudentNumber};
use doorstroom_jose::SectionInput;

use crate::exchange::{
    ExchangeError, PullOptions, PullOutcome, SendOptions, parse_student, pull_into, read_sections, seal_and_submit,
    write_dossier, write_private_file,
};

/// Where `send` takes an OSO dossier from.
#[derive(Debug, Clone)]
pub struct OsoSource {
    pub path: PathBuf,
    /// `--student`; default: the dossier's `bsn` (else `onderwijsnummer`).
    pub student: Option<String>,
    /// Who inspected (`<inzage>` is the parents'; default parent).
    pub inspected_by: InspectedBy,
    pub limits: Limits,
}

fn oso_error(path: &Path) -> impl FnOnce(OsoError) -> ExchangeError + '_ {
    move |source| ExchangeError::Oso {
        path: path.to_owned(),
        source,
    }
}

/// What the sender is told, line by line (never a value of the dossier).
pub const CONSENT_NOTICE: &str = "the dossier's <toestemming> is not taken as consent: the school records \
     consent per mbo and section (doorstroom consent give), as for any dossier";

/// An OSO dossier read, checked and mapped at the school, before the
/// broker is asked anything.
pub struct ReadDossier {
    pub dossier: Dossier,
    pub mapped: Mapped,
    pub student: StudentNumber,
}

/// Reads `source`: the file under its bounds and the agreement's rules,
/// and the student number (`--student`, else the dossier's own).
pub fn read(source: &OsoSource) -> Result<ReadDossier, ExchangeError> {
    let bytes = std::fs::read(&source.path).map_err(|e| ExchangeError::Io {
        path: source.path.clone(),
        source: e,
    })?;
    let (dossier, mapped) = read_oso(&bytes, &source.limits).map_err(oso_error(&source.path))?;
    let student = match &source.student {
        Some(raw) => parse_student(raw)?,
        None => oso_student(&dossier).ok_or_else(|| {
            ExchangeError::Usage(format!(
                "{}: the dossier has no valid bsn or onderwijsnummer; give --student",
                source.path.display()
            ))
        })?,
    };
    Ok(ReadDossier {
        dossier,
        mapped,
        student,
    })
}

/// Records the dossier's inspection (once) and answers the sections to
/// send to `to`; each message for the user goes to `say`.
pub async fn prepare(
    client: &Client,
    read: ReadDossier,
    to: &Brin,
    inspected_by: InspectedBy,
    now: DateTime<Utc>,
    say: &mut dyn FnMut(String),
) -> Result<Vec<SectionInput>, ExchangeError> {
    let history = client.consent_history(&read.student).await?;
    let import = prepare_oso(
        &read.dossier,
        read.mapped,
        &read.student,
        &history,
        to,
        inspected_by,
        now,
    );
    for note in &import.notes {
        say(format!("oso: {note}"));
    }
    match &import.inspection {
        Some(inspection) => {
            client.record_inspection(inspection).await?;
            say(format!(
                "oso: recorded the inspection (inzage) of {} by {}, remarks added: {}",
                inspection.inspected_at.date_naive(),
                inspection.inspected_by,
                if inspection.remarks_added { "yes" } else { "no" }
            ));
        }
        None if import.inspection_on_record => {
            say("oso: the dossier's inspection (inzage) is already on record".into())
        }
        None => say(
            "oso: the dossier records no inspection with a date; record one with `doorstroom inspection` if \
             the region requires it"
                .into(),
        ),
    }
    say(format!("oso: {CONSENT_NOTICE}"));
    for (_, message) in &import.left_out {
        say(format!("oso: {message}"));
    }
    for section in &import.sections {
        say(format!("oso: section {} from the dossier", section.section));
    }
    Ok(import.sections)
}

/// `doorstroom send --oso FILE`: the dossier's sections (see [`prepare`]),
/// with any `--section`/`--attachment` the dossier does not fill (e.g.
/// `remarks`), sealed and submitted as [`crate::exchange::send`] does.
pub async fn send(
    client: &Client,
    options: &SendOptions,
    source: &OsoSource,
    say: &mut dyn FnMut(String),
) -> Result<Receipt, ExchangeError> {
    let mut sections = if options.sections.is_empty() && options.attachments.is_empty() {
        Vec::new()
    } else {
        read_sections(&options.sections, &options.attachments)?
    };
    // Everything that can be wrong locally is, before the broker is asked.
    let read = read(source)?;
    if let Some(twice) = sections.iter().find(|s| read.mapped.sections.contains_key(&s.section)) {
        return Err(ExchangeError::Usage(format!(
            "section {} comes from the OSO dossier; do not give it as --section or --attachment too",
            twice.section
        )));
    }
    // The package goes with `--application`; the dossier names a student.
    // They must be the same student, or a dossier would travel with
    // another student's application.
    let applications = client.find_applications(&read.student).await?;
    if !applications.iter().any(|a| a.application.id == options.application) {
        return Err(ExchangeError::Usage(format!(
            "{}: application {} is not one of the applications of the dossier's student (as this school \
             finds them); check --application and the dossier, or give --student",
            source.path.display(),
            options.application
        )));
    }
    sections.extend(prepare(client, read, &options.to, source.inspected_by, options.now, say).await?);
    sections.sort_by_key(|s| s.section);
    if sections.is_empty() {
        return Err(ExchangeError::Usage(
            "nothing to send: every section was left out".into(),
        ));
    }
    seal_and_submit(client, options, &sections).await
}

/// `doorstroom pull --format oso`: [`crate::exchange::pull`], written out
/// by [`write_oso`].
pub async fn pull(client: &Client, options: &PullOptions) -> Result<PullOutcome, ExchangeError> {
    pull_into(client, options, write_oso).await
}

/// Writes the released OSO-sourced sections of `dossier` to `out/dossier.xml`
/// (0600, in a 0700 folder) as an OSO 2019.1 dossier and, beside it, the
/// released sections that did not come from an OSO dossier as JSON
/// ([`write_dossier`]); answers the files written.
pub fn write_oso(out: &Path, dossier: &ReceivedDossier) -> Result<Vec<PathBuf>, ExchangeError> {
    let path = out.join("dossier.xml");
    let exported = export_oso(dossier, &Limits::default()).map_err(oso_error(&path))?;
    write_private_file(out, &path, exported.xml.as_bytes())?;
    let mut rest = dossier.clone();
    rest.sections.retain(|section, _| exported.left_out.contains(section));
    let mut written = vec![path];
    written.extend(write_dossier(out, &rest)?);
    Ok(written)
}
