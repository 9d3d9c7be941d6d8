//! Applications (aanmelding): the mbo's system registers that a student
//! applied, the named vo school finds its students' applications, either
//! party reads one with its course, and the mbo reports the course back
//! for the school's aftercare.
//!
//! The national student number arrives in the command, is turned into the
//! keyed pseudonym at once, and is never stored or logged.

use doorstroom_api::applications::{
    ApplicationDetail, ApplicationView, FindApplications, PackageExpiry, RegisterApplication, StatusEventView,
};
use doorstroom_domain::retention::has_ended;
use doorstroom_domain::{
    Action, ActorRef, Brin, FeedEventKind, InstitutionStatus, Purpose, Resource, ResourceKind, ResourceRef,
    RetentionPolicy, SchoolYear, StatusReport, is_late,
};
use doorstroom_store::DbConn;
use doorstroom_store::applications::{self, Application, NewApplication};
use doorstroom_store::{institutions, retention};
use uuid::Uuid;

use crate::events::{Emit, emit};
use crate::{Access, App, AppError, Caller, Located, perform_in};

/// A registration: the application, and whether this call created it.
#[derive(Debug)]
pub struct Registration {
    pub application: ApplicationView,
    pub created: bool,
}

/// Registers that a student applied at the calling mbo (its own system).
/// Registering the same student, programme and school year again returns
/// the first registration (`created: false`); one that differs in its
/// other details is a conflict. A named sending school must be an active
/// vo, vso or pro school. Records `register_application` about the student.
pub fn register_application(
    app: &App,
    caller: Caller<'_>,
    command: RegisterApplication,
) -> Result<Registration, AppError> {
    let receiving = caller.principal.institution().cloned().ok_or(AppError::Forbidden)?;
    let student = app.pseudonym_of(&command.student_number);
    let access = Access::new(
        Action::RegisterApplication,
        Resource::Application {
            receiving: receiving.clone(),
            sending: command.sending_school.clone(),
        },
        ResourceRef::new(ResourceKind::Application, None),
        Purpose::Intake,
    )
    .about(student.clone());
    let new = NewApplication {
        student,
        receiving,
        sending: command.sending_school,
        programme: command.programme.name().to_owned(),
        crebo: command.programme.crebo().map(|c| c.to_string()),
        school_year: command.school_year.start_year(),
        applied_on: command.applied_on,
        late: is_late(command.school_year, command.applied_on),
        registered_by: ActorRef::of(caller.principal),
    };
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        if let Some(sending) = &new.sending {
            match institutions::get(ctx.conn, sending)? {
                Some(i) if i.status == InstitutionStatus::Active && i.sector.is_sending() => {}
                _ => {
                    return Err(AppError::invalid(
                        "/sending_school",
                        "sending_school: not an active vo, vso or pro school",
                    ));
                }
            }
        }
        let (application, created) = applications::register(ctx.conn, &new, ctx.now)?;
        if !created && !application.same_as(&new) {
            return Err(AppError::Conflict(
                "an application of this student for this programme and school year is registered with other details"
                    .into(),
            ));
        }
        Ok(Registration {
            application: application_view(application),
            created,
        })
    })
}

/// The applications of a student that name the calling vo school as the
/// student's school, each with its course and due moments. Only for that
/// school's system; records `find_applications` about the student.
pub fn find_applications(
    app: &App,
    caller: Caller<'_>,
    command: FindApplications,
) -> Result<Vec<ApplicationDetail>, AppError> {
    let policy = &app.rules.retention;
    let own = caller.principal.institution().cloned().ok_or(AppError::Forbidden)?;
    let student = app.pseudonym_of(&command.student_number);
    let access = Access::new(
        Action::FindApplications,
        Resource::Institution(own.clone()),
        ResourceRef::new(ResourceKind::Applications, None),
        Purpose::Intake,
    )
    .about(student.clone());
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let mut found = Vec::new();
        for application in applications::find_for_student(ctx.conn, &student, Some(&own))? {
            found.push(application_detail(ctx.conn, policy, application)?);
        }
        Ok(found)
    })
}

/// One application with its course: for the mbo where it was made and the
/// vo school it names; anyone else gets not-found, as for no application.
/// Records `read_application`.
pub fn read_application(app: &App, caller: Caller<'_>, id: Uuid) -> Result<ApplicationDetail, AppError> {
    let policy = &app.rules.retention;
    let access = application_access(Action::ReadApplication, id);
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let application = applications::get(ctx.conn, id)?.ok_or(AppError::NotFound)?;
        application_detail(ctx.conn, policy, application)
    })
}

/// Reports the application's course (terugkoppeling): only a move the
/// domain's state machine allows, else a conflict naming the rule. For the
/// parties of the application the policy lets report; records
/// `report_status`, and the status event names the reporting actor.
pub fn report_status(
    app: &App,
    caller: Caller<'_>,
    id: Uuid,
    report: StatusReport,
) -> Result<ApplicationDetail, AppError> {
    let policy = &app.rules.retention;
    let access = application_access(Action::ReportStatus, id);
    let reported_by = ActorRef::of(caller.principal);
    let reported = perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let current = applications::get(ctx.conn, id)?.ok_or(AppError::NotFound)?;
        current
            .status
            .can_move_to(report.status())
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        let (application, recorded) =
            applications::report_status(ctx.conn, id, report, &reported_by, ctx.now)?.ok_or(AppError::NotFound)?;
        // Both parties learn that the course moved (the status itself is
        // read from the application, through the policy), and so when the
        // day of the intake moved; a repeated report tells nobody.
        let next = report.status();
        let kind = match has_ended(next) {
            true => FeedEventKind::ApplicationEnded,
            false => FeedEventKind::ApplicationStatusChanged,
        };
        let parties: Vec<&Brin> = std::iter::once(&application.receiving)
            .chain(application.sending.as_ref())
            .collect();
        if recorded {
            emit(ctx, &parties, Emit::application(kind, application.id))?;
        }
        application_detail(ctx.conn, policy, application)
    })?;
    Ok(reported)
}

/// The access to application `id`, located by its receiving and sending
/// school and its student.
fn application_access(action: Action, id: Uuid) -> Access {
    let locate = move |conn: &mut DbConn| {
        Ok(applications::get(conn, id)?.map(|a| Located {
            resource: Resource::Application {
                receiving: a.receiving,
                sending: a.sending,
            },
            data_subject: Some(a.student),
        }))
    };
    Access::lookup(
        action,
        locate,
        ResourceRef::new(ResourceKind::Application, Some(id.to_string())),
        Purpose::Intake,
    )
}

/// An application as its parties see it (never the student number).
pub fn application_view(a: Application) -> ApplicationView {
    ApplicationView {
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

/// An application with its course and the retention rules' due moments.
pub fn application_detail(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    application: Application,
) -> Result<ApplicationDetail, AppError> {
    let history = applications::status_history(conn, application.id)?;
    let facts = retention::application_facts(conn, application.id)?.ok_or(AppError::NotFound)?;
    let packages = retention::packages_of(conn, application.id)?
        .into_iter()
        .map(|p| PackageExpiry {
            delete_after: policy.package_due(&p.facts),
            submitted_at: p.facts.submitted_at,
            package_id: p.id,
        })
        .collect();
    Ok(ApplicationDetail {
        application: application_view(application),
        history: history
            .into_iter()
            .map(|e| StatusEventView {
                status: e.status,
                reported_at: e.reported_at,
                intake_on: e.intake_on,
            })
            .collect(),
        delete_after: policy.application_due(&facts),
        packages,
    })
}
