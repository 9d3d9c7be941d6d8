//! Packages whose retention may have run out, their facts and their
//! deletion.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::{Brin, PackageFacts, Pseudonym, RetentionPolicy};
use uuid::Uuid;

use super::{cutoff, ended_at, ended_statuses, status_of};
use crate::schema::{applications, package_expiry_notices, package_sections, packages};
use crate::{DbConn, StoreError, from_ms, from_ms_opt, parse_id, parsed};

/// A package whose retention may have run out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageCandidate {
    pub id: String,
    pub application_id: Uuid,
    pub sender: Brin,
    pub recipient: Brin,
    pub student: Pseudonym,
    pub facts: PackageFacts,
}

type PackageJoinRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    i64,
);

fn package_candidate(row: PackageJoinRow) -> Result<PackageCandidate, StoreError> {
    let (id, application_id, sender, recipient, student, submitted_at, delivered_at, acknowledged_at, status, updated) =
        row;
    let application_status = status_of(&status, "applications", "status")?;
    Ok(PackageCandidate {
        application_id: parse_id(&application_id, "packages", "application_id")?,
        sender: parsed(Brin::parse(&sender), "packages", "sender")?,
        recipient: parsed(Brin::parse(&recipient), "packages", "recipient")?,
        student: parsed(Pseudonym::parse(&student), "packages", "student")?,
        facts: PackageFacts {
            submitted_at: from_ms(submitted_at, "packages", "submitted_at")?,
            delivered_at: from_ms_opt(delivered_at, "packages", "delivered_at")?,
            acknowledged_at: from_ms_opt(acknowledged_at, "packages", "acknowledged_at")?,
            application_status,
            application_ended_at: ended_at(application_status, updated)?,
        },
        id,
    })
}

const PACKAGE_COLUMNS: (
    packages::id,
    packages::application_id,
    packages::sender,
    packages::recipient,
    packages::student,
    packages::submitted_at,
    packages::delivered_at,
    packages::acknowledged_at,
    applications::status,
    applications::updated_at,
) = (
    packages::id,
    packages::application_id,
    packages::sender,
    packages::recipient,
    packages::student,
    packages::submitted_at,
    packages::delivered_at,
    packages::acknowledged_at,
    applications::status,
    applications::updated_at,
);

/// Up to `limit` packages for which one of the package rules has fired at
/// `now`, oldest submission first, with their facts.
pub fn due_packages(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<PackageCandidate>, StoreError> {
    let p = policy.periods();
    packages::table
        .inner_join(applications::table.on(applications::id.eq(packages::application_id)))
        .filter(
            packages::submitted_at
                .le(cutoff(now, p.package_max))
                .or(packages::delivered_at
                    .is_not_null()
                    .and(packages::acknowledged_at.le(cutoff(now, p.package_after_acknowledged))))
                .or(applications::status
                    .eq_any(ended_statuses())
                    .and(applications::updated_at.le(cutoff(now, p.package_after_application_end)))),
        )
        .order((packages::submitted_at.asc(), packages::id.asc()))
        .limit(limit.max(0))
        .select(PACKAGE_COLUMNS)
        .load::<PackageJoinRow>(conn)?
        .into_iter()
        .map(package_candidate)
        .collect()
}

/// Up to `limit` packages that one of the package rules deletes by
/// `horizon` and whose deletion was not yet announced, oldest submission
/// first (the feed's `package.expiring`).
pub fn unannounced_expiring(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    horizon: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<PackageCandidate>, StoreError> {
    let p = policy.periods();
    let announced = package_expiry_notices::table.filter(package_expiry_notices::package_id.eq(packages::id));
    packages::table
        .inner_join(applications::table.on(applications::id.eq(packages::application_id)))
        .filter(
            packages::submitted_at
                .le(cutoff(horizon, p.package_max))
                .or(packages::delivered_at
                    .is_not_null()
                    .and(packages::acknowledged_at.le(cutoff(horizon, p.package_after_acknowledged))))
                .or(applications::status
                    .eq_any(ended_statuses())
                    .and(applications::updated_at.le(cutoff(horizon, p.package_after_application_end)))),
        )
        .filter(diesel::dsl::not(diesel::dsl::exists(announced)))
        .order((packages::submitted_at.asc(), packages::id.asc()))
        .limit(limit.max(0))
        .select(PACKAGE_COLUMNS)
        .load::<PackageJoinRow>(conn)?
        .into_iter()
        .map(package_candidate)
        .collect()
}

/// Records that package `id`'s coming deletion was announced.
pub fn mark_announced(conn: &mut DbConn, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    diesel::insert_into(package_expiry_notices::table)
        .values((
            package_expiry_notices::package_id.eq(id),
            package_expiry_notices::noticed_at.eq(crate::to_ms(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The packages of one application, with their facts (for an application
/// that goes with its packages).
pub fn packages_of(conn: &mut DbConn, application_id: Uuid) -> Result<Vec<PackageCandidate>, StoreError> {
    packages::table
        .inner_join(applications::table.on(applications::id.eq(packages::application_id)))
        .filter(packages::application_id.eq(application_id.to_string()))
        .order((packages::submitted_at.asc(), packages::id.asc()))
        .select(PACKAGE_COLUMNS)
        .load::<PackageJoinRow>(conn)?
        .into_iter()
        .map(package_candidate)
        .collect()
}

/// The retention facts of one package (for the expiry shown to users), or
/// `None` if there is no such package.
pub fn package_facts(conn: &mut DbConn, id: &str) -> Result<Option<PackageFacts>, StoreError> {
    packages::table
        .inner_join(applications::table.on(applications::id.eq(packages::application_id)))
        .filter(packages::id.eq(id))
        .select(PACKAGE_COLUMNS)
        .first::<PackageJoinRow>(conn)
        .optional()?
        .map(|row| package_candidate(row).map(|c| c.facts))
        .transpose()
}

/// Deletes a package and its sections. `false` if it was already gone.
pub fn delete_package(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    diesel::delete(package_sections::table.filter(package_sections::package_id.eq(id))).execute(conn)?;
    Ok(diesel::delete(packages::table.find(id)).execute(conn)? > 0)
}
