//! Applications (aanmelding): the mbo's system registers that a student
//! applied, the named vo school finds its students' applications, and the
//! mbo reports the application's course back for the school's aftercare.
//!
//! The national student number arrives over TLS, is turned into the keyed
//! pseudonym at once, and is never stored or logged.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use doorstroom_domain::{
    Action, ApplicationStatus, Brin, InstitutionStatus, Programme, Purpose, Resource, ResourceRef, RetentionPolicy,
    SchoolYear, StudentNumber, is_late,
};
use doorstroom_store::applications::{self, Application, NewApplication, StatusEvent};
use doorstroom_store::{institutions, retention};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{Access, Located, body_or_reject, perform};
use crate::auth::{Caller, SystemCaller};
use crate::error::{ApiError, Problem};
use crate::extract::{Json, path_param};
use crate::state::AppState;
use doorstroom_domain::ResourceKind;

/// An application as its parties see it (never the student number).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApplicationView {
    pub id: Uuid,
    /// The mbo where the student applied.
    pub receiving: String,
    /// The student's vo school, if the mbo named it.
    pub sending: Option<String>,
    pub programme: String,
    pub crebo: Option<String>,
    #[schema(example = "2027-2028")]
    pub school_year: String,
    pub applied_on: NaiveDate,
    /// Applied after 1 April of the school year's start year.
    pub late: bool,
    pub status: ApplicationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Application> for ApplicationView {
    fn from(a: Application) -> Self {
        Self {
            id: a.id,
            receiving: a.receiving.to_string(),
            sending: a.sending.map(|b| b.to_string()),
            programme: a.programme,
            crebo: a.crebo,
            school_year: SchoolYear::starting(a.school_year)
                .map(|y| y.to_string())
                .unwrap_or_else(|_| a.school_year.to_string()),
            applied_on: a.applied_on,
            late: a.late,
            status: a.status,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Registering an application.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterApplication {
    /// `{"type": "bsn" | "onderwijsnummer", "number": "…"}`, each checked by its own 11-proef.
    pub student_number: StudentNumber,
    /// BRIN of the student's vo school, if known; only that school can find the application.
    #[schema(value_type = Option<String>, pattern = "^[0-9]{2}[A-Z]{2}$", example = "07AB")]
    #[serde(default)]
    pub sending_school: Option<Brin>,
    pub programme: Programme,
    pub school_year: SchoolYear,
    pub applied_on: NaiveDate,
}

/// Registers that a student applied. Registering the same student,
/// programme and school year again returns the first registration (200); a
/// registration that differs in its other details is a conflict (409).
#[utoipa::path(
    tag = "exchange",
    request_body = RegisterApplication,
    responses(
        (status = 201, body = ApplicationView),
        (status = 200, description = "already registered", body = ApplicationView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[post("/v1/applications")]
pub async fn register(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<RegisterApplication>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let record = ResourceRef::new(ResourceKind::Application, None);
    let body = body_or_reject(
        &state,
        &caller,
        Action::RegisterApplication,
        record,
        Purpose::Intake,
        body,
    )
    .await?;
    let Some(receiving) = caller.principal.institution().cloned() else {
        return Err(ApiError::Forbidden);
    };
    let student = state.pseudonym_of(&body.student_number);
    let access = Access::new(
        Action::RegisterApplication,
        Resource::Application {
            receiving: receiving.clone(),
            sending: body.sending_school.clone(),
        },
        ResourceRef::new(ResourceKind::Application, None),
        Purpose::Intake,
    )
    .about(student.clone());
    let registered_by = doorstroom_domain::ActorRef::of(&caller.principal).to_string();
    let (view, created) = perform(&state, &caller, access, move |conn, now| {
        if let Some(sending) = &body.sending_school {
            match institutions::get(conn, sending)? {
                Some(i) if i.status == InstitutionStatus::Active && i.sector.is_sending() => {}
                _ => {
                    return Err(ApiError::invalid(
                        "/sending_school",
                        "sending_school: not an active vo, vso or pro school",
                    ));
                }
            }
        }
        let new = NewApplication {
            student,
            receiving,
            sending: body.sending_school,
            programme: body.programme.name().to_owned(),
            crebo: body.programme.crebo().map(|c| c.to_string()),
            school_year: body.school_year.start_year(),
            applied_on: body.applied_on,
            late: is_late(body.school_year, body.applied_on),
            registered_by,
        };
        let (application, created) = applications::register(conn, &new, now)?;
        if !created && !application.same_as(&new) {
            return Err(ApiError::Conflict(
                "an application of this student for this programme and school year is registered with other details"
                    .into(),
            ));
        }
        Ok((ApplicationView::from(application), created))
    })
    .await?;
    Ok(if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(view))
}

/// Finding one's own students' applications.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindApplications {
    pub student_number: StudentNumber,
}

/// An application with its course, for the sending school's aftercare.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApplicationDetail {
    #[serde(flatten)]
    pub application: ApplicationView,
    pub history: Vec<StatusEventView>,
    /// When the broker will delete the application under the retention
    /// rules as things stand now.
    pub delete_after: DateTime<Utc>,
    /// The packages sent for it, each with its own deletion moment.
    pub packages: Vec<PackageExpiry>,
}

/// A package of an application and when the broker will delete it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PackageExpiry {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub submitted_at: DateTime<Utc>,
    pub delete_after: DateTime<Utc>,
}

/// An application with its course and the retention rules' due moments.
fn detail(
    conn: &mut doorstroom_store::DbConn,
    policy: &RetentionPolicy,
    application: Application,
) -> Result<ApplicationDetail, ApiError> {
    let history = applications::status_history(conn, application.id)?;
    let facts = retention::application_facts(conn, application.id)?.ok_or(ApiError::NotFound)?;
    let packages = retention::packages_of(conn, application.id)?
        .into_iter()
        .map(|p| PackageExpiry {
            delete_after: policy.package_due(&p.facts),
            submitted_at: p.facts.submitted_at,
            package_id: p.id,
        })
        .collect();
    Ok(ApplicationDetail {
        application: application.into(),
        history: history.into_iter().map(StatusEventView::from).collect(),
        delete_after: policy.application_due(&facts),
        packages,
    })
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusEventView {
    pub status: ApplicationStatus,
    pub reported_at: DateTime<Utc>,
}

impl From<StatusEvent> for StatusEventView {
    fn from(e: StatusEvent) -> Self {
        Self {
            status: e.status,
            reported_at: e.reported_at,
        }
    }
}

/// The applications that name the calling vo school as the student's
/// school. The student number travels in the body (never in a URL) and is
/// turned into the pseudonym at once.
#[utoipa::path(
    tag = "exchange",
    request_body = FindApplications,
    responses((status = 200, body = Vec<ApplicationDetail>), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []))
)]
#[post("/v1/applications/search")]
pub async fn search(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<FindApplications>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let record = ResourceRef::new(ResourceKind::Applications, None);
    let body = body_or_reject(&state, &caller, Action::FindApplications, record, Purpose::Intake, body).await?;
    let Some(own) = caller.principal.institution().cloned() else {
        return Err(ApiError::Forbidden);
    };
    let student = state.pseudonym_of(&body.student_number);
    let access = Access::new(
        Action::FindApplications,
        Resource::Institution(own.clone()),
        ResourceRef::new(ResourceKind::Applications, None),
        Purpose::Intake,
    )
    .about(student.clone());
    let policy = crate::purge::policy(&state.settings);
    let found = perform(&state, &caller, access, move |conn, _| {
        let mut found = Vec::new();
        for application in applications::find_for_student(conn, &student, Some(&own))? {
            found.push(detail(conn, &policy, application)?);
        }
        Ok(found)
    })
    .await?;
    Ok(HttpResponse::Ok().json(found))
}

fn application_id(raw: &str) -> Result<Uuid, ApiError> {
    path_param("id", raw, |s| {
        Uuid::parse_str(s).map_err(|_| doorstroom_domain::ParseError::new("id", "must be a UUID"))
    })
}

/// Locates an application for the policy: its receiving and sending school
/// and its student.
fn locate_application(id: Uuid) -> impl FnOnce(&mut doorstroom_store::DbConn) -> Result<Option<Located>, ApiError> {
    move |conn| {
        Ok(applications::get(conn, id)?.map(|a| Located {
            resource: Resource::Application {
                receiving: a.receiving,
                sending: a.sending,
            },
            data_subject: Some(a.student),
        }))
    }
}

/// One application with its course: for the mbo where it was made and the
/// vo school it names.
#[utoipa::path(
    tag = "exchange",
    params(("id" = String, Path)),
    responses((status = 200, body = ApplicationDetail), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/applications/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = application_id(&path)?;
    let access = Access::lookup(
        Action::ReadApplication,
        locate_application(id),
        ResourceRef::new(ResourceKind::Application, Some(id.to_string())),
        Purpose::Intake,
    );
    let policy = crate::purge::policy(&state.settings);
    let detail = perform(&state, &caller, access, move |conn, _| {
        let application = applications::get(conn, id)?.ok_or(ApiError::NotFound)?;
        detail(conn, &policy, application)
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Reporting an application's course.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportStatus {
    pub status: ApplicationStatus,
}

/// Reports the application's course (terugkoppeling). Only moves the
/// domain's state machine allows; an impossible one is 409 with the rule.
#[utoipa::path(
    tag = "exchange",
    params(("id" = String, Path)),
    request_body = ReportStatus,
    responses(
        (status = 200, body = ApplicationDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "transition not allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/applications/{id}/status")]
pub async fn report_status(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<ReportStatus>,
) -> Result<HttpResponse, ApiError> {
    let id = application_id(&path)?;
    let next = body.0.status;
    let access = Access::lookup(
        Action::ReportStatus,
        locate_application(id),
        ResourceRef::new(ResourceKind::Application, Some(id.to_string())),
        Purpose::Intake,
    );
    let reported_by = doorstroom_domain::ActorRef::of(&caller.principal).to_string();
    let policy = crate::purge::policy(&state.settings);
    let detail = perform(&state, &caller, access, move |conn, now| {
        let current = applications::get(conn, id)?.ok_or(ApiError::NotFound)?;
        current
            .status
            .can_move_to(next)
            .map_err(|e| ApiError::Conflict(e.to_string()))?;
        let application = applications::set_status(conn, id, next, &reported_by, now)?.ok_or(ApiError::NotFound)?;
        detail(conn, &policy, application)
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}
