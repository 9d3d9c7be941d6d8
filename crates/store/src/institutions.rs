//! The institution registry.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::{Brin, InstitutionStatus, Oin, Sector};

use crate::schema::institutions;
use crate::{DbConn, StoreError, from_ms, guarded, parsed, to_ms};

/// A registered school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    pub brin: Brin,
    pub oin: Option<Oin>,
    pub name: String,
    pub sector: Sector,
    pub status: InstitutionStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = institutions)]
pub(crate) struct Row {
    brin: String,
    oin: Option<String>,
    name: String,
    sector: String,
    status: String,
    created_at: i64,
    updated_at: i64,
}

impl Row {
    fn from_domain(i: &Institution) -> Row {
        Row {
            brin: i.brin.as_str().to_owned(),
            oin: i.oin.as_ref().map(|o| o.as_str().to_owned()),
            name: i.name.clone(),
            sector: i.sector.as_str().to_owned(),
            status: i.status.as_str().to_owned(),
            created_at: to_ms(i.created_at),
            updated_at: to_ms(i.updated_at),
        }
    }

    pub(crate) fn into_domain(self) -> Result<Institution, StoreError> {
        Ok(Institution {
            brin: parsed(Brin::parse(&self.brin), "institutions", "brin")?,
            oin: self
                .oin
                .as_deref()
                .map(|o| parsed(Oin::parse(o), "institutions", "oin"))
                .transpose()?,
            name: self.name,
            sector: parsed(Sector::parse(&self.sector), "institutions", "sector")?,
            status: parsed(InstitutionStatus::parse(&self.status), "institutions", "status")?,
            created_at: from_ms(self.created_at, "institutions", "created_at")?,
            updated_at: from_ms(self.updated_at, "institutions", "updated_at")?,
        })
    }
}

/// Registers an institution. A duplicate BRIN or OIN is
/// `Conflict("institution")`.
pub fn insert(conn: &mut DbConn, institution: &Institution) -> Result<(), StoreError> {
    let row = Row::from_domain(institution);
    guarded(conn, "institution", |c| {
        diesel::insert_into(institutions::table).values(&row).execute(c)
    })?;
    Ok(())
}

pub fn get(conn: &mut DbConn, brin: &Brin) -> Result<Option<Institution>, StoreError> {
    crate::on_backend!(conn, |c| institutions::table
        .find(brin.as_str())
        .select(Row::as_select())
        .first(c)
        .optional())?
    .map(Row::into_domain)
    .transpose()
}

/// All institutions, ordered by BRIN.
pub fn list(conn: &mut DbConn) -> Result<Vec<Institution>, StoreError> {
    institutions::table
        .order(institutions::brin.asc())
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_domain)
        .collect()
}

#[derive(AsChangeset)]
#[diesel(table_name = institutions)]
struct Changes<'a> {
    name: Option<&'a str>,
    /// `None`: leave alone; `Some(None)`: clear; `Some(Some(oin))`: set.
    oin: Option<Option<&'a str>>,
    status: Option<&'static str>,
    updated_at: i64,
}

/// Changes the given fields (`oin: Some(None)` clears the OIN) and sets
/// `updated_at`. Returns the row as updated, or `None` if there is no such
/// institution. An OIN already used by another institution is
/// `Conflict("institution")`.
pub fn update(
    conn: &mut DbConn,
    brin: &Brin,
    name: Option<&str>,
    oin: Option<Option<&Oin>>,
    status: Option<InstitutionStatus>,
    now: DateTime<Utc>,
) -> Result<Option<Institution>, StoreError> {
    let changes = Changes {
        name,
        oin: oin.map(|o| o.map(Oin::as_str)),
        status: status.map(InstitutionStatus::as_str),
        updated_at: to_ms(now),
    };
    let updated = guarded(conn, "institution", |c| {
        diesel::update(institutions::table.find(brin.as_str()))
            .set(&changes)
            .execute(c)
    })?;
    if updated == 0 {
        return Ok(None);
    }
    get(conn, brin)
}
