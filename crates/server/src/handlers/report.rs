//! The data-subject report (GDPR art. 15): for one student, which sections
//! went to which institutions, who accessed them when and for what purpose,
//! and the consent and inspection history — as JSON and as a readable
//! document in Dutch. For privacy officers; producing it is itself audited.

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use doorstroom_domain::{Action, AuditEvent, Brin, Purpose, Resource, ResourceRef, StudentNumber};
use doorstroom_store::audit::{self, AuditQuery};
use doorstroom_store::{applications, packages};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::applications::ApplicationView;
use crate::access::{Access, body_or_reject, perform};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query};
use crate::state::AppState;
use doorstroom_api::consents::{ConsentEventView, InspectionView};
use doorstroom_app::ledger::{consent_event_view, inspection_view, ledger_in_scope};
use doorstroom_domain::ResourceKind;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub student_number: StudentNumber,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `json` (default) or `text` (a readable document in Dutch, Markdown).
    #[param(pattern = "^(json|text)$")]
    pub format: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SectionTransfer {
    pub section: String,
    pub delivered_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PackageTransfer {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub sender: String,
    pub recipient: String,
    pub submitted_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub sections: Vec<SectionTransfer>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccessRecord {
    pub seq: i64,
    #[schema(value_type = Object)]
    pub event: AuditEvent,
}

/// What the broker holds about one student, and every access to it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubjectReport {
    pub generated_at: DateTime<Utc>,
    /// The scope: the privacy officer's institution, or none (the broker's).
    pub institution: Option<String>,
    pub applications: Vec<ApplicationView>,
    pub packages: Vec<PackageTransfer>,
    pub accesses: Vec<AccessRecord>,
    pub consents: Vec<ConsentEventView>,
    pub inspections: Vec<InspectionView>,
}

fn concerns(own: &Option<Brin>, brins: &[&Brin]) -> bool {
    own.as_ref().is_none_or(|own| brins.contains(&own))
}

/// The data-subject report of one student (art. 15). An institution's
/// privacy officer gets what concerns their institution; the broker's
/// privacy officer gets everything.
#[utoipa::path(
    tag = "audit",
    params(ReportQuery),
    request_body = ReportRequest,
    responses(
        (status = 200, description = "the report: JSON, or Markdown (Dutch) with format=text", content(
            (SubjectReport = "application/json"),
            (String = "text/markdown; charset=utf-8"),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/audit/subject-report")]
pub async fn subject_report(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ReportQuery>,
    body: Result<Json<ReportRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let record = ResourceRef::new(ResourceKind::SubjectReport, None);
    let request = body_or_reject(
        &state,
        &caller,
        Action::ReadAuditLog,
        record,
        Purpose::Supervision,
        body,
    )
    .await?;
    let text = crate::extract::json_or(query.0.format.as_deref(), "text")?;
    let report = report_for(&state, &caller, &request.student_number).await?;
    Ok(if text {
        HttpResponse::Ok()
            .content_type("text/markdown; charset=utf-8")
            .body(render_dutch(&report))
    } else {
        HttpResponse::Ok().json(report)
    })
}

/// The one art. 15 report (the API and the web console): what concerns
/// the caller's institution (the broker's privacy officer: everything),
/// read through [`perform`] and audited with the student's pseudonym.
pub async fn report_for(
    state: &web::Data<AppState>,
    caller: &Caller,
    student_number: &StudentNumber,
) -> Result<SubjectReport, ApiError> {
    let student = state.pseudonym_of(student_number);
    let own = caller.principal.institution().cloned();
    let resource = own.clone().map(Resource::Institution).unwrap_or(Resource::Broker);
    let access = Access::new(
        Action::ReadAuditLog,
        resource,
        ResourceRef::new(ResourceKind::SubjectReport, None),
        Purpose::Supervision,
    )
    .about(student.clone());
    perform(state, caller, access, move |conn, now| {
        let apps: Vec<_> = applications::find_for_student(conn, &student, None)?
            .into_iter()
            .filter(|a| {
                let mut brins = vec![&a.receiving];
                brins.extend(a.sending.as_ref());
                concerns(&own, &brins)
            })
            .collect();
        let mut transfers = Vec::new();
        for application in &apps {
            for p in packages::for_application(conn, application.id)? {
                if !concerns(&own, &[&p.sender, &p.recipient]) {
                    continue;
                }
                transfers.push(PackageTransfer {
                    package_id: p.id,
                    sender: p.sender.to_string(),
                    recipient: p.recipient.to_string(),
                    submitted_at: p.submitted_at,
                    delivered_at: p.delivered_at,
                    acknowledged_at: p.acknowledged_at,
                    sections: p
                        .sections
                        .into_iter()
                        .map(|s| SectionTransfer {
                            section: s.section.to_string(),
                            delivered_at: s.delivered_at,
                            withdrawn_at: s.withdrawn_at,
                        })
                        .collect(),
                });
            }
        }
        // The privacy officer sees every access to the records their
        // institution is party to, not only their own staff's: the events
        // related to the institution when they were written (never widened
        // by a later application), which stay after the purge or an erasure
        // took the applications and packages (the audit log's relations;
        // the same scope as the search, `AuditQuery::related_to`).
        let mut accesses = Vec::new();
        let mut after = None;
        loop {
            let page = audit::list(
                conn,
                &AuditQuery {
                    after_seq: after,
                    limit: audit::MAX_LIST_LIMIT,
                    data_subject: Some(student.clone()),
                    related_to: own.clone(),
                    ..Default::default()
                },
            )?;
            let full = page.len() as i64 == audit::MAX_LIST_LIMIT;
            after = page.last().map(|(seq, _)| *seq);
            accesses.extend(page.into_iter().map(|(seq, event)| AccessRecord { seq, event }));
            if !full {
                break;
            }
        }
        // The ledger as the history shows it to the same privacy officer:
        // what the institution recorded, consent given for it, and the
        // inspections of the schools sending the student to it.
        let (consent_rows, inspection_rows) = ledger_in_scope(conn, &student, own.as_ref())?;
        let consent_rows = consent_rows.into_iter().map(consent_event_view).collect();
        let inspection_rows = inspection_rows.into_iter().map(inspection_view).collect();
        Ok(SubjectReport {
            generated_at: now,
            institution: own.map(|b| b.to_string()),
            applications: apps.into_iter().map(ApplicationView::from).collect(),
            packages: transfers,
            accesses,
            consents: consent_rows,
            inspections: inspection_rows,
        })
    })
    .await
}

fn when(t: &DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Amsterdam)
        .format("%d-%m-%Y %H:%M")
        .to_string()
}

/// The report as a readable document in Dutch.
pub fn render_dutch(report: &SubjectReport) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line("# Inzageverslag (art. 15 AVG)\n".into());
    line(format!("Opgesteld op {}.", when(&report.generated_at)));
    if let Some(institution) = &report.institution {
        line(format!("Dit verslag betreft wat instelling {institution} aangaat.\n"));
    } else {
        line("Dit verslag betreft alles wat de broker over deze leerling bewaart.\n".into());
    }
    line("## Aanmeldingen\n".into());
    if report.applications.is_empty() {
        line("Geen.".into());
    }
    for a in &report.applications {
        line(format!(
            "- Aangemeld bij {} voor {} ({}), status: {}{}",
            a.receiving,
            a.programme,
            a.school_year,
            a.status,
            a.sending
                .as_ref()
                .map(|s| format!("; school van herkomst {s}"))
                .unwrap_or_default()
        ));
    }
    line("\n## Verstrekte gegevens\n".into());
    if report.packages.is_empty() {
        line("Er is geen dossier verstrekt.".into());
    }
    for p in &report.packages {
        line(format!(
            "- Dossier van {} aan {}, ingediend {}{}",
            p.sender,
            p.recipient,
            when(&p.submitted_at),
            p.delivered_at
                .map(|t| format!(", opgehaald {}", when(&t)))
                .unwrap_or_default()
        ));
        for s in &p.sections {
            let state = match (s.withdrawn_at, s.delivered_at) {
                (Some(w), Some(_)) => format!("verstrekt, toestemming later ingetrokken op {}", when(&w)),
                (Some(w), None) => format!("niet verstrekt: toestemming ingetrokken op {}, gewist", when(&w)),
                (None, Some(d)) => format!("verstrekt op {}", when(&d)),
                (None, None) => "nog niet opgehaald".into(),
            };
            line(format!("  - onderdeel {}: {state}", s.section));
        }
    }
    line("\n## Wie heeft de gegevens ingezien of bewerkt\n".into());
    line("| tijd | wie | instelling | handeling | doel | uitkomst |".into());
    line("|---|---|---|---|---|---|".into());
    for a in &report.accesses {
        let e = &a.event;
        line(format!(
            "| {} | {} | {} | {} | {} | {} |",
            when(&e.time),
            e.actor.kind,
            e.actor
                .institution
                .as_ref()
                .map(|b| b.to_string())
                .unwrap_or_else(|| "-".into()),
            e.action.name,
            e.purpose,
            e.outcome
        ));
    }
    line("\n## Toestemming\n".into());
    if report.consents.is_empty() {
        line("Er is geen toestemming vastgelegd.".into());
    }
    for c in &report.consents {
        let event = match c.event.as_str() {
            "given" => "gegeven",
            "withdrawn" => "ingetrokken",
            other => other,
        };
        line(format!(
            "- {}: toestemming {} voor {} aan {} door {} ({})",
            when(&c.at),
            event,
            c.section,
            c.recipient,
            c.given_by,
            c.method
        ));
    }
    line("\n## Inzage in het dossier\n".into());
    if report.inspections.is_empty() {
        line("Er is geen inzage vastgelegd.".into());
    }
    for i in &report.inspections {
        line(format!(
            "- {}: ingezien door {} (vastgelegd door {}){}",
            when(&i.inspected_at),
            i.inspected_by,
            i.school,
            if i.remarks_added { ", met opmerkingen" } else { "" }
        ));
    }
    out
}
