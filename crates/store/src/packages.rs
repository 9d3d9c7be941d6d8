//! Submitted transfer packages and their sections.
//!
//! The broker stores what it was given and can never read: each section is
//! a compact JWE for the recipient; the envelope is the sender's compact JWS
//! over the metadata; the receipt is the broker's own compact JWS. The
//! database refuses a package that does not answer an application of the
//! same student at the same recipient (a composite foreign key), so "no
//! application, no dossier" holds even if a caller forgets to check.
//!
//! Listings ([`inbox`], [`for_application`]) return [`PackageSummary`]s:
//! metadata only, never envelope or ciphertext. Only [`sections`] returns
//! ciphertext.
//!
//! When consent for a section is withdrawn, [`withdraw_section`] deletes
//! the ciphertext of that section wherever it was not delivered yet; the
//! section row stays as a tombstone (`withdrawn_at` set, empty ciphertext,
//! size and digest kept) so the recipient's inbox can show that consent was
//! withdrawn. A section delivered before keeps its row as it was, with
//! `withdrawn_at` set: it cannot be called back.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Text};
use doorstroom_domain::{ActorRef, Brin, Pseudonym, Section};
use uuid::Uuid;

use crate::parse_id;
use crate::schema::{package_sections, packages};
use crate::{DbConn, StoreError, from_ms, from_ms_opt, mapped, parsed, to_ms};

/// The most packages one [`inbox`] call returns.
pub const MAX_LIST_LIMIT: i64 = 1000;

/// What [`insert`] stores for a package (sections apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPackage {
    /// The package id from the envelope.
    pub id: String,
    pub application_id: Uuid,
    pub sender: Brin,
    pub recipient: Brin,
    pub student: Pseudonym,
    /// The envelope's `jti`; unique across the broker (replay protection).
    pub jti: String,
    /// The envelope, a compact JWS, exactly as submitted.
    pub envelope: String,
    /// Hex SHA-256 of `envelope`, to recognise an identical resubmission.
    pub envelope_sha256: String,
    /// The `kid` of the sender's key that signed the envelope.
    pub sender_kid: String,
    /// The broker-signed receipt (compact JWS), returned again on an
    /// identical resubmission.
    pub receipt: String,
    pub submitted_at: DateTime<Utc>,
}

/// One section to store with a package.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSection {
    pub section: Section,
    /// The compact JWE.
    pub ciphertext: String,
    /// Size of the ciphertext in bytes, as listed in the envelope.
    pub size: i64,
    /// Hex SHA-256 of the ciphertext, as listed in the envelope.
    pub sha256: String,
}

impl std::fmt::Debug for NewSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSection")
            .field("section", &self.section)
            .field("ciphertext", &format_args!("<{} bytes>", self.ciphertext.len()))
            .field("size", &self.size)
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// A stored package (without its sections).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub id: String,
    pub application_id: Uuid,
    pub sender: Brin,
    pub recipient: Brin,
    pub student: Pseudonym,
    pub jti: String,
    pub envelope: String,
    pub envelope_sha256: String,
    pub sender_kid: String,
    pub receipt: String,
    pub submitted_at: DateTime<Utc>,
    /// The first time it was pulled.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The first acknowledgement of receipt, and by whom.
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<ActorRef>,
}

/// A section of one package that [`withdraw_section`] withdrew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawnSection {
    pub package_id: String,
    /// The section had been released to the recipient before the
    /// withdrawal (its ciphertext is kept: it cannot be called back). If
    /// `false`, its ciphertext is now deleted.
    pub delivered_before: bool,
}

/// A stored section, with its ciphertext.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSection {
    pub package_id: String,
    pub section: Section,
    pub ciphertext: String,
    pub size: i64,
    pub sha256: String,
    /// The first time it was released to the recipient.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Set when the section may no longer be released (consent withdrawn).
    /// If it was not delivered before, `ciphertext` is then empty.
    pub withdrawn_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for StoredSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSection")
            .field("package_id", &self.package_id)
            .field("section", &self.section)
            .field("ciphertext", &format_args!("<{} bytes>", self.ciphertext.len()))
            .field("size", &self.size)
            .field("sha256", &self.sha256)
            .field("delivered_at", &self.delivered_at)
            .field("withdrawn_at", &self.withdrawn_at)
            .finish()
    }
}

/// A package as listed: metadata only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSummary {
    pub id: String,
    pub application_id: Uuid,
    pub sender: Brin,
    pub recipient: Brin,
    /// The data subject, for the audit event of the listing.
    pub student: Pseudonym,
    pub submitted_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// In [`Section`] order.
    pub sections: Vec<SectionSummary>,
}

/// A section as listed: name and size, no ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionSummary {
    pub section: Section,
    pub size: i64,
    pub sha256: String,
    pub delivered_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = packages)]
struct Row {
    id: String,
    application_id: String,
    sender: String,
    recipient: String,
    student: String,
    jti: String,
    envelope: String,
    envelope_sha256: String,
    sender_kid: String,
    receipt: String,
    submitted_at: i64,
    delivered_at: Option<i64>,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
}

impl Row {
    fn into_domain(self) -> Result<Package, StoreError> {
        Ok(Package {
            application_id: parse_id(&self.application_id, "packages", "application_id")?,
            sender: parsed(Brin::parse(&self.sender), "packages", "sender")?,
            recipient: parsed(Brin::parse(&self.recipient), "packages", "recipient")?,
            student: parsed(Pseudonym::parse(&self.student), "packages", "student")?,
            submitted_at: from_ms(self.submitted_at, "packages", "submitted_at")?,
            delivered_at: from_ms_opt(self.delivered_at, "packages", "delivered_at")?,
            acknowledged_at: from_ms_opt(self.acknowledged_at, "packages", "acknowledged_at")?,
            id: self.id,
            jti: self.jti,
            envelope: self.envelope,
            envelope_sha256: self.envelope_sha256,
            sender_kid: self.sender_kid,
            receipt: self.receipt,
            acknowledged_by: self
                .acknowledged_by
                .as_deref()
                .map(|by| parsed(ActorRef::parse(by), "packages", "acknowledged_by"))
                .transpose()?,
        })
    }
}

/// The listed columns of a package: no envelope, no receipt.
#[derive(Queryable, Selectable)]
#[diesel(table_name = packages)]
struct SummaryRow {
    id: String,
    application_id: String,
    sender: String,
    recipient: String,
    student: String,
    submitted_at: i64,
    delivered_at: Option<i64>,
    acknowledged_at: Option<i64>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = package_sections)]
struct SectionRow {
    package_id: String,
    section: String,
    ciphertext: String,
    size: i64,
    sha256: String,
    delivered_at: Option<i64>,
    withdrawn_at: Option<i64>,
}

impl SectionRow {
    fn into_domain(self) -> Result<StoredSection, StoreError> {
        Ok(StoredSection {
            section: parsed(Section::parse(&self.section), "package_sections", "section")?,
            delivered_at: from_ms_opt(self.delivered_at, "package_sections", "delivered_at")?,
            withdrawn_at: from_ms_opt(self.withdrawn_at, "package_sections", "withdrawn_at")?,
            package_id: self.package_id,
            ciphertext: self.ciphertext,
            size: self.size,
            sha256: self.sha256,
        })
    }
}

/// The listed columns of a section: no ciphertext.
#[derive(Queryable, Selectable)]
#[diesel(table_name = package_sections)]
struct SectionSummaryRow {
    package_id: String,
    section: String,
    size: i64,
    sha256: String,
    delivered_at: Option<i64>,
    withdrawn_at: Option<i64>,
}

/// Stores a package and its sections, all or nothing, in one savepoint.
///
/// * A package id or `jti` already stored is `Conflict("package")`; the
///   caller tells a replay from an identical resubmission with [`by_jti`]
///   and `envelope_sha256`.
/// * The same section twice in `sections` is `Conflict("package_section")`
///   (nothing is written).
/// * An unknown sender or recipient, or an application that does not exist
///   or is not of this student at this recipient, is `NotFound`.
///
/// On error nothing of the package is stored. After a `Conflict` the
/// surrounding transaction stays usable (a replay's rejection can be
/// audited in it); after `NotFound` (a foreign key, which the use case has
/// checked before) it is, on PostgreSQL, a failed transaction that
/// [`crate::Store::write`] will not commit.
pub fn insert(conn: &mut DbConn, package: &NewPackage, sections: &[NewSection]) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    if !sections.iter().all(|s| seen.insert(s.section)) {
        return Err(StoreError::Conflict("package_section"));
    }
    let row = Row {
        id: package.id.clone(),
        application_id: package.application_id.to_string(),
        sender: package.sender.as_str().to_owned(),
        recipient: package.recipient.as_str().to_owned(),
        student: package.student.as_str().to_owned(),
        jti: package.jti.clone(),
        envelope: package.envelope.clone(),
        envelope_sha256: package.envelope_sha256.clone(),
        sender_kid: package.sender_kid.clone(),
        receipt: package.receipt.clone(),
        submitted_at: to_ms(package.submitted_at),
        delivered_at: None,
        acknowledged_at: None,
        acknowledged_by: None,
    };
    let section_rows: Vec<SectionRow> = sections
        .iter()
        .map(|s| SectionRow {
            package_id: package.id.clone(),
            section: s.section.as_str().to_owned(),
            ciphertext: s.ciphertext.clone(),
            size: s.size,
            sha256: s.sha256.clone(),
            delivered_at: None,
            withdrawn_at: None,
        })
        .collect();
    // `ON CONFLICT DO NOTHING` rather than a savepoint around a statement
    // that may fail: a replay is answered without a failed statement, so
    // the transaction stays usable on PostgreSQL with no `SAVEPOINT` and
    // `RELEASE` (two round trips) on every submission. What can still fail
    // here, a missing sender, recipient or application, fails the first
    // statement, before anything is written.
    let insert = diesel::insert_into(packages::table)
        .values(&row)
        .on_conflict_do_nothing();
    let inserted = mapped(
        "package",
        match conn {
            DbConn::Sqlite(c) => insert.execute(c),
            DbConn::Postgres(c) => insert.execute(c),
        },
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict("package"));
    }
    // All sections in one statement (there are at most five): a new
    // package's, each once, so nothing here can clash.
    if !section_rows.is_empty() {
        insert_sections(conn, &section_rows)?;
    }
    Ok(())
}

/// One multi-row `INSERT` of new section rows. Their `delivered_at` and
/// `withdrawn_at` are left to their `NULL` default rather than bound: a
/// `None` in an `Insertable` row means `DEFAULT`, which SQLite's `VALUES`
/// lacks, so diesel would insert such rows one statement each. The match
/// per backend: `MultiConnection` has no batch insert of its own.
fn insert_sections(conn: &mut DbConn, rows: &[SectionRow]) -> QueryResult<usize> {
    use package_sections::dsl as s;
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                s::package_id.eq(&r.package_id),
                s::section.eq(&r.section),
                s::ciphertext.eq(&r.ciphertext),
                s::size.eq(r.size),
                s::sha256.eq(&r.sha256),
            )
        })
        .collect();
    crate::insert_all!(conn, package_sections::table, &values)
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<Package>, StoreError> {
    crate::on_backend!(conn, |c| packages::table
        .find(id)
        .select(Row::as_select())
        .first(c)
        .optional())?
    .map(Row::into_domain)
    .transpose()
}

/// The package submitted with this `jti`, if any.
pub fn by_jti(conn: &mut DbConn, jti: &str) -> Result<Option<Package>, StoreError> {
    crate::on_backend!(conn, |c| packages::table
        .filter(packages::jti.eq(jti))
        .select(Row::as_select())
        .first(c)
        .optional())?
    .map(Row::into_domain)
    .transpose()
}

/// A page of the packages for `recipient`, oldest first (by submission,
/// then id), at most `limit` (clamped to `0..=MAX_LIST_LIMIT`), metadata
/// only. Page on by passing the last id seen as `after`; an `after` that is
/// not a package for this recipient is `NotFound` (the same whether it does
/// not exist or is another institution's).
pub fn inbox(
    conn: &mut DbConn,
    recipient: &Brin,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PackageSummary>, StoreError> {
    let mut query = packages::table
        .filter(packages::recipient.eq(recipient.as_str()))
        .order((packages::submitted_at.asc(), packages::id.asc()))
        .limit(limit.clamp(0, MAX_LIST_LIMIT))
        .select(SummaryRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        let submitted: i64 = packages::table
            .find(after)
            .filter(packages::recipient.eq(recipient.as_str()))
            .select(packages::submitted_at)
            .first(conn)
            .optional()?
            .ok_or(StoreError::NotFound)?;
        query = query.filter(
            packages::submitted_at
                .gt(submitted)
                .or(packages::submitted_at.eq(submitted).and(packages::id.gt(after))),
        );
    }
    let rows = query.load(conn)?;
    summaries(conn, rows)
}

/// The packages answering an application, oldest first, metadata only.
pub fn for_application(conn: &mut DbConn, application_id: Uuid) -> Result<Vec<PackageSummary>, StoreError> {
    let rows = packages::table
        .filter(packages::application_id.eq(application_id.to_string()))
        .order((packages::submitted_at.asc(), packages::id.asc()))
        .select(SummaryRow::as_select())
        .load(conn)?;
    summaries(conn, rows)
}

/// Attaches the section metadata to listed packages, keeping their order.
fn summaries(conn: &mut DbConn, rows: Vec<SummaryRow>) -> Result<Vec<PackageSummary>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut by_package: BTreeMap<String, Vec<SectionSummary>> = BTreeMap::new();
    for s in package_sections::table
        .filter(package_sections::package_id.eq_any(&ids))
        .select(SectionSummaryRow::as_select())
        .load(conn)?
    {
        let summary = SectionSummary {
            section: parsed(Section::parse(&s.section), "package_sections", "section")?,
            size: s.size,
            sha256: s.sha256,
            delivered_at: from_ms_opt(s.delivered_at, "package_sections", "delivered_at")?,
            withdrawn_at: from_ms_opt(s.withdrawn_at, "package_sections", "withdrawn_at")?,
        };
        by_package.entry(s.package_id).or_default().push(summary);
    }
    rows.into_iter()
        .map(|r| {
            let mut sections = by_package.remove(&r.id).unwrap_or_default();
            sections.sort_by_key(|s| s.section);
            Ok(PackageSummary {
                application_id: parse_id(&r.application_id, "packages", "application_id")?,
                sender: parsed(Brin::parse(&r.sender), "packages", "sender")?,
                recipient: parsed(Brin::parse(&r.recipient), "packages", "recipient")?,
                student: parsed(Pseudonym::parse(&r.student), "packages", "student")?,
                submitted_at: from_ms(r.submitted_at, "packages", "submitted_at")?,
                delivered_at: from_ms_opt(r.delivered_at, "packages", "delivered_at")?,
                acknowledged_at: from_ms_opt(r.acknowledged_at, "packages", "acknowledged_at")?,
                id: r.id,
                sections,
            })
        })
        .collect()
}

/// Records the first delivery (pull) of a package; later calls keep the
/// first time. Returns the package as it now is, or `None` if there is no
/// such package.
pub fn mark_delivered(conn: &mut DbConn, id: &str, now: DateTime<Utc>) -> Result<Option<Package>, StoreError> {
    set_delivered(conn, id, now)?;
    get(conn, id)
}

/// [`mark_delivered`] without reading the package back: one `UPDATE`.
/// Returns whether this call recorded the first delivery.
pub fn set_delivered(conn: &mut DbConn, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let update = SetDelivered { id, at: to_ms(now) };
    Ok(crate::on_backend!(conn, |c| update.execute(c))? > 0)
}

/// Records the acknowledgement of receipt by `by`. Idempotent: a later acknowledgement keeps the
/// first time and actor. Returns the package as it now is, or `None` if
/// there is no such package.
pub fn acknowledge(
    conn: &mut DbConn,
    id: &str,
    by: &ActorRef,
    now: DateTime<Utc>,
) -> Result<Option<Package>, StoreError> {
    diesel::update(packages::table.find(id).filter(packages::acknowledged_at.is_null()))
        .set((
            packages::acknowledged_at.eq(to_ms(now)),
            packages::acknowledged_by.eq(by.to_string()),
        ))
        .execute(conn)?;
    get(conn, id)
}

/// Whether a package has sections and every one of them is withdrawn
/// (without reading their ciphertext).
pub fn entirely_withdrawn(conn: &mut DbConn, package_id: &str) -> Result<bool, StoreError> {
    let withdrawn: Vec<bool> = package_sections::table
        .filter(package_sections::package_id.eq(package_id))
        .select(package_sections::withdrawn_at.is_not_null())
        .load(conn)?;
    Ok(!withdrawn.is_empty() && withdrawn.iter().all(|w| *w))
}

/// The sections of a package, with ciphertext, in [`Section`] order; empty
/// if there is no such package. Withdrawn sections are included: the caller
/// withholds them (see `withdrawn_at`; the ciphertext of one withdrawn
/// before delivery is empty).
pub fn sections(conn: &mut DbConn, package_id: &str) -> Result<Vec<StoredSection>, StoreError> {
    let mut sections = crate::on_backend!(conn, |c| package_sections::table
        .filter(package_sections::package_id.eq(package_id))
        .select(SectionRow::as_select())
        .load(c))?
    .into_iter()
    .map(SectionRow::into_domain)
    .collect::<Result<Vec<_>, _>>()?;
    sections.sort_by_key(|s| s.section);
    Ok(sections)
}

/// Records the first release of these sections of a package; sections
/// released before keep their first time, and withdrawn sections are never
/// marked (they are not released). Returns how many were newly marked.
pub fn mark_sections_delivered(
    conn: &mut DbConn,
    package_id: &str,
    sections: &[Section],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    if sections.is_empty() {
        return Ok(0);
    }
    let update = SetSectionsDelivered::new(package_id, sections, to_ms(now))?;
    Ok(crate::on_backend!(conn, |c| update.execute(c))?)
}

// ---- the pull's updates, written out ----
//
// Diesel compiles every `UPDATE` (and every `IN (…)`) afresh at each
// execution: it cannot know that a changeset's SQL does not vary with its
// values. The pull's two updates are written out here instead, with their
// binds, under types of their own, so that each is prepared once per
// connection and then reused from the statement cache.

/// `UPDATE packages SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL`.
struct SetDelivered<'a> {
    id: &'a str,
    at: i64,
}

impl<DB> QueryFragment<DB> for SetDelivered<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE packages SET delivered_at = ");
        out.push_bind_param::<BigInt, _>(&self.at)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(self.id)?;
        out.push_sql(" AND delivered_at IS NULL");
        Ok(())
    }
}

/// `UPDATE package_sections SET delivered_at = ? WHERE package_id = ? AND
/// section IN (?, ?, ?, ?) AND delivered_at IS NULL AND withdrawn_at IS
/// NULL`: always four section binds (the list is padded with its last
/// section), so the statement has one shape.
struct SetSectionsDelivered<'a> {
    package_id: &'a str,
    sections: [&'static str; Section::ALL.len()],
    at: i64,
}

impl<'a> SetSectionsDelivered<'a> {
    /// `sections`: one to four distinct sections (none is an error).
    fn new(package_id: &'a str, sections: &[Section], at: i64) -> Result<Self, StoreError> {
        let last = sections
            .last()
            .ok_or_else(|| StoreError::corrupt("package_sections", "section", "no section to mark"))?;
        let mut padded = [last.as_str(); Section::ALL.len()];
        for (slot, section) in padded.iter_mut().zip(sections) {
            *slot = section.as_str();
        }
        Ok(Self {
            package_id,
            sections: padded,
            at,
        })
    }
}

impl<DB> QueryFragment<DB> for SetSectionsDelivered<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE package_sections SET delivered_at = ");
        out.push_bind_param::<BigInt, _>(&self.at)?;
        out.push_sql(" WHERE package_id = ");
        out.push_bind_param::<Text, _>(self.package_id)?;
        out.push_sql(" AND section IN (");
        for (i, section) in self.sections.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<Text, _>(*section)?;
        }
        out.push_sql(") AND delivered_at IS NULL AND withdrawn_at IS NULL");
        Ok(())
    }
}

crate::prepared_once!(SetDelivered, SetSectionsDelivered);

/// Withdraws `section` from every package of `student` to `recipient` that
/// holds it and where it is not withdrawn yet (consent was withdrawn), and
/// returns those sections, oldest package first:
///
/// * not delivered yet: its ciphertext is deleted (set to the empty
///   string) and `withdrawn_at` set to `now`; the row stays as a tombstone
///   (`delivered_before: false`);
/// * delivered before: only `withdrawn_at` is set (it cannot be called
///   back; `delivered_before: true`).
///
/// Idempotent: a section already withdrawn is left as it is and not
/// returned again, so a second call returns nothing. Packages of other
/// students, to other recipients or from other senders are not touched:
/// a withdrawal is the withdrawing school's, and only its own packages
/// carry the consent it recorded. Run it in a `write`
/// transaction together with the consent event and its audit event.
///
/// Each section is decided by its own conditional `UPDATE`, so a delivery
/// committed concurrently (PostgreSQL) is seen: the row is re-checked after
/// the other transaction commits, and a section delivered meanwhile is
/// reported as `delivered_before` with its ciphertext kept.
pub fn withdraw_section(
    conn: &mut DbConn,
    student: &Pseudonym,
    sender: &Brin,
    recipient: &Brin,
    section: Section,
    now: DateTime<Utc>,
) -> Result<Vec<WithdrawnSection>, StoreError> {
    let candidates: Vec<String> = package_sections::table
        .inner_join(packages::table)
        .filter(packages::student.eq(student.as_str()))
        .filter(packages::sender.eq(sender.as_str()))
        .filter(packages::recipient.eq(recipient.as_str()))
        .filter(package_sections::section.eq(section.as_str()))
        .filter(package_sections::withdrawn_at.is_null())
        .order((packages::submitted_at.asc(), packages::id.asc()))
        .select(package_sections::package_id)
        .load(conn)?;
    let now = to_ms(now);
    let mut withdrawn = Vec::with_capacity(candidates.len());
    for package_id in candidates {
        let row = package_sections::table
            .filter(package_sections::package_id.eq(&package_id))
            .filter(package_sections::section.eq(section.as_str()))
            .filter(package_sections::withdrawn_at.is_null());
        let deleted = diesel::update(row.filter(package_sections::delivered_at.is_null()))
            .set((
                package_sections::ciphertext.eq(""),
                package_sections::withdrawn_at.eq(now),
            ))
            .execute(conn)?;
        if deleted > 0 {
            withdrawn.push(WithdrawnSection {
                package_id,
                delivered_before: false,
            });
            continue;
        }
        // Delivered before (the only other way the first update can miss,
        // unless a concurrent withdrawal got there first).
        let marked = diesel::update(row)
            .set(package_sections::withdrawn_at.eq(now))
            .execute(conn)?;
        if marked > 0 {
            withdrawn.push(WithdrawnSection {
                package_id,
                delivered_before: true,
            });
        }
    }
    Ok(withdrawn)
}
