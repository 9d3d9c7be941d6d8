//! The register of processing activities (GDPR art. 30): the door of
//! [`doorstroom_app::register::processing_register`], as JSON and as
//! Markdown ([`crate::texts::register`]).

use actix_web::{HttpResponse, get, web};
use doorstroom_api::register::{ProcessingRegister, RegisterFormat, RegisterQuery};
use doorstroom_app::register::processing_register;

use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

/// The register of processing activities, generated from the broker's
/// configuration. Public: it holds no personal data.
#[utoipa::path(
    tag = "privacy",
    params(RegisterQuery),
    responses(
        (status = 200, description = "the register: JSON, or Markdown with format=text", content(
            (ProcessingRegister = "application/json"),
            (String = "text/markdown; charset=utf-8"),
        )),
    )
)]
#[get("/v1/register")]
pub async fn register_of_processing(
    state: web::Data<AppState>,
    query: Query<RegisterQuery>,
) -> Result<HttpResponse, ApiError> {
    let document = processing_register(state.settings.register_facts());
    Ok(match query.0.format.unwrap_or(RegisterFormat::Json) {
        RegisterFormat::Json => HttpResponse::Ok().json(document),
        RegisterFormat::Text => {
            let text = crate::texts::register(&document).map_err(|e| ApiError::Internal(e.to_string()))?;
            HttpResponse::Ok()
                .content_type("text/markdown; charset=utf-8")
                .body(text)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn the_register_lists_the_configured_retention() {
        let mut raw = crate::config::SettingsFile::load(None).unwrap_or_else(|e| panic!("{e}"));
        raw.retention.package_after_acknowledged_days = 14;
        let settings = Settings::try_from(raw).unwrap_or_else(|e| panic!("{e}"));
        let register = processing_register(settings.register_facts());
        assert_eq!(register.retention_periods.package_after_acknowledged_days, 14);
        assert_eq!(register.retention_periods.package_max_days, 365);
        assert_eq!(register.retention_periods.audit_days, 1827);
        let text = crate::texts::register(&register).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text.contains("| package | after delivery and acknowledgement | 14 |"),
            "{text}"
        );
        assert!(
            text.contains("| package | at the latest, after submission | 365 |"),
            "{text}"
        );
        assert!(text.contains("The broker purges every 3600 seconds."), "{text}");
    }
}
