//! Recording an inspection (inzage).

use doorstroom_api::consents::{InspectionView, RecordInspection};
use doorstroom_domain::{Action, ActorRef, Purpose, ResourceKind, ResourceRef, inspection_time_plausible};
use doorstroom_store::inspections::{self, NewInspection};

use super::{inspection_view, ledger_of_student, own_institution};
use crate::{Access, App, AppError, Caller, perform_in};

/// Records that the student and/or parents inspected the dossier, in the
/// recording school's own records. By default (`exchange.require_inspection`)
/// a package from this school is refused until this school recorded it
/// (another school's record does not count). Only a school that an mbo
/// named as the student's sending school (or that recorded about the
/// student before) may record; any other school gets "not found", as for a
/// student nobody knows. An inspection that lies in the future (beyond the
/// clocks' skew) is refused. Records `record_inspection` about the student.
pub fn record_inspection(app: &App, caller: Caller<'_>, command: RecordInspection) -> Result<InspectionView, AppError> {
    let own = own_institution(caller)?;
    let student = app.pseudonym_of(&command.student_number);
    let access = Access::lookup(
        Action::RecordInspection,
        ledger_of_student(student.clone(), None),
        ResourceRef::new(ResourceKind::Inspection, None),
        Purpose::Intake,
    )
    .about(student.clone());
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        if !inspection_time_plausible(command.inspected_at, ctx.now) {
            return Err(AppError::invalid("/inspected_at", "inspected_at: lies in the future"));
        }
        let row = inspections::record(
            ctx.conn,
            &NewInspection {
                student,
                school: own,
                at: command.inspected_at,
                inspected_by: command.inspected_by,
                remarks_added: command.remarks_added,
                recorded_at: ctx.now,
                recorded_by: ActorRef::of(ctx.principal()),
            },
        )?;
        Ok(inspection_view(row))
    })
}
