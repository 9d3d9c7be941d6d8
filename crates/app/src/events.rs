//! The institutions' event feed (`GET /v1/events`): what happened that
//! concerns a school, as ids and times only, so that its system need not
//! poll its inbox or every application.
//!
//! Entries are written by the use cases that make the change, in the same
//! transaction ([`emit`]): `package.available` to the recipient on submit,
//! `package.acknowledged` to the sender on the first acknowledgement,
//! `section.withdrawn` (and `package.withdrawn` once no section is left) to
//! the sender and the recipient on a consent withdrawal,
//! `application.status_changed` / `application.ended` to the mbo and the
//! sending school the application names. Reading the feed ([`read_events`])
//! is one audited access per call, for the institution's own system only.
//!
//! A cursor is opaque to callers: base64url of `v1.<brin>.<seq>`. It names
//! its institution, so that a cursor of another one is refused by the
//! policy (not found, audited as denied) without that institution's feed
//! being read; one beyond the caller's own head is not found too.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use doorstroom_api::events::{FeedEntry, FeedPage};
use doorstroom_domain::{
    Action, Brin, FeedEventKind, Principal, Purpose, Resource, ResourceKind, ResourceRef, SchoolYear, Section,
};
use doorstroom_store::DbConn;
use doorstroom_store::events::{self, AtRiskDetail, FeedEvent, NewFeedEvent};
use uuid::Uuid;

use crate::{Access, App, AppError, Caller, Ctx, Located, perform_in};

/// The most entries one page holds.
pub const PAGE: i64 = 100;

/// A position in one institution's feed: after entry `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub institution: Brin,
    pub seq: i64,
}

impl Cursor {
    /// Before the first entry of `institution`'s feed.
    pub fn start(institution: Brin) -> Self {
        Cursor { institution, seq: 0 }
    }

    /// The opaque form.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1.{}.{}", self.institution, self.seq))
    }

    /// Reads a cursor; anything that is not one this broker wrote is
    /// malformed (400).
    pub fn parse(raw: &str) -> Result<Cursor, AppError> {
        let malformed = || AppError::Malformed {
            detail: "query parameter after: not a cursor of this feed (use the `next` of a page)".into(),
            pointer: None,
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| malformed())?;
        let text = String::from_utf8(bytes).map_err(|_| malformed())?;
        let mut parts = text.split('.');
        let (Some("v1"), Some(brin), Some(seq), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(malformed());
        };
        let institution = Brin::parse(brin).map_err(|_| malformed())?;
        // Digits only: no sign, no spaces, no leading `+`.
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let seq = seq.parse::<i64>().map_err(|_| malformed())?;
        Ok(Cursor { institution, seq })
    }
}

/// One entry to write in a use case's transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Emit<'a> {
    pub kind: FeedEventKind,
    pub package_id: Option<&'a str>,
    pub application_id: Option<Uuid>,
    pub section: Option<Section>,
}

impl<'a> Emit<'a> {
    pub fn package(kind: FeedEventKind, package_id: &'a str, application_id: Option<Uuid>) -> Self {
        Emit {
            kind,
            package_id: Some(package_id),
            application_id,
            section: None,
        }
    }

    pub fn application(kind: FeedEventKind, application_id: Uuid) -> Self {
        Emit {
            kind,
            package_id: None,
            application_id: Some(application_id),
            section: None,
        }
    }
}

/// Writes `entry` into the feed of each of `to`, in the access's
/// transaction: it commits with the change, or not at all.
pub(crate) fn emit(ctx: &mut Ctx<'_>, to: &[&Brin], entry: Emit<'_>) -> Result<(), AppError> {
    for institution in to {
        events::append(
            ctx.conn,
            &NewFeedEvent {
                institution,
                kind: entry.kind,
                package_id: entry.package_id,
                application_id: entry.application_id,
                section: entry.section,
                occurred_at: ctx.now,
                at_risk: None,
            },
        )?;
    }
    Ok(())
}

/// Writes a `student.at_risk` entry into the feed of the school whose
/// cohort it is (never anyone else's), in the access's transaction.
pub(crate) fn emit_at_risk(ctx: &mut Ctx<'_>, school: &Brin, detail: AtRiskDetail) -> Result<(), AppError> {
    events::append(
        ctx.conn,
        &NewFeedEvent {
            institution: school,
            kind: FeedEventKind::StudentAtRisk,
            package_id: None,
            application_id: None,
            section: None,
            occurred_at: ctx.now,
            at_risk: Some(detail),
        },
    )?;
    Ok(())
}

/// A page of the feed after `after` (from the start of the caller's own
/// feed when `None`).
pub struct ReadEvents {
    pub after: Option<Cursor>,
}

/// The entries of the caller's feed after the cursor, oldest first, at
/// most [`PAGE`]. Only an institution's own system; a cursor of another
/// institution, or one beyond the caller's head, is not found (the same
/// answer). Records `read_events` (no data subject: entries name none).
pub fn read_events(app: &App, caller: Caller<'_>, command: ReadEvents) -> Result<FeedPage, AppError> {
    let own = caller.principal.institution().cloned();
    let Some(cursor) = command.after.or_else(|| own.clone().map(Cursor::start)) else {
        // No institution, no feed: the policy refuses the broker as the
        // target, and the refusal is audited like any other.
        let access = Access::new(
            Action::ReadEvents,
            Resource::Broker,
            ResourceRef::new(ResourceKind::EventFeed, None),
            Purpose::Intake,
        );
        perform_in(&app.store, app.clock.now(), caller, access, |_| {
            Err::<(), _>(AppError::Forbidden)
        })?;
        return Err(AppError::Forbidden);
    };
    let (target, seq) = (cursor.institution.clone(), cursor.seq);
    let locate = move |conn: &mut DbConn| {
        // Only the caller's own head is ever read: another institution's
        // cursor goes to the policy, which refuses it.
        if own.as_ref() == Some(&target) && seq > events::head(conn, &target)? {
            return Ok(None);
        }
        Ok(Some(Located::from(Resource::Institution(target))))
    };
    let record = ResourceRef::new(ResourceKind::EventFeed, Some(cursor.institution.to_string()));
    let access = Access::lookup(Action::ReadEvents, locate, record, Purpose::Intake);
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let mut rows = events::after(ctx.conn, &cursor.institution, cursor.seq, PAGE + 1)?;
        let more = rows.len() > PAGE as usize;
        rows.truncate(PAGE as usize);
        let seq = match rows.last() {
            Some(last) => last.seq,
            // Nothing after the cursor: the head, which is past entries
            // the purge deleted, so the next call does not start below it.
            None => events::head(ctx.conn, &cursor.institution)?.max(cursor.seq),
        };
        let next = Cursor {
            institution: cursor.institution.clone(),
            seq,
        };
        Ok(FeedPage {
            events: rows.into_iter().map(entry).collect(),
            next: next.encode(),
            more,
        })
    })
}

/// An entry as the feed gives it (and a webhook delivery carries it).
pub(crate) fn entry(e: FeedEvent) -> FeedEntry {
    FeedEntry {
        id: e.id,
        seq: e.seq,
        kind: e.kind.into(),
        package_id: e.package_id,
        application_id: e.application_id,
        section: e.section,
        occurred_at: e.occurred_at,
        at_risk: e.at_risk.map(|r| doorstroom_api::events::StudentAtRisk {
            school_year: SchoolYear::starting(r.school_year)
                .map(|y| y.to_string())
                .unwrap_or_else(|_| r.school_year.to_string()),
            reference: r.reference,
            reason: r.reason.into(),
            since: r.since,
        }),
    }
}

/// Whether a long poll at `after` should wait: the cursor is the caller's
/// own and at its head (nothing to answer yet). Not an access: it reads
/// only the caller's own head, tells the caller nothing but by the time it
/// answers, and the call that follows is the audited one. Any other cursor
/// (another institution's, beyond the head, or with entries after it) is
/// answered at once by [`read_events`].
pub fn at_head(app: &App, principal: &Principal, after: Option<&Cursor>) -> Result<bool, AppError> {
    let Some(own) = principal.institution() else {
        return Ok(false);
    };
    let seq = match after {
        Some(cursor) if &cursor.institution == own => cursor.seq,
        Some(_) => return Ok(false),
        None => 0,
    };
    let head = app.store.read(|conn| events::head(conn, own))?;
    Ok(seq == head)
}
