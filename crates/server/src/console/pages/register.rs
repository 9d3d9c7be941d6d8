//! The register of processing activities (GDPR art. 30).

use doorstroom_app::register::processing_register;

use super::*;

struct CategoryRow {
    section: Coded,
    description: String,
    basis: Coded,
    special: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/register.html")]
struct RegisterPage {
    chrome: Chrome,
    name: String,
    controller: String,
    contact: String,
    privacy_officer_contact: String,
    purposes: Vec<String>,
    data_subjects: Vec<String>,
    categories: Vec<CategoryRow>,
    recipients: Vec<String>,
    transfers: String,
    retention: String,
    security: Vec<String>,
}

/// The register of processing activities, as the API produces it. It holds
/// no personal data; shown to users with any console page.
pub async fn register_page(state: web::Data<AppState>, user: ConsoleUser) -> Result<impl Responder, ConsoleError> {
    let chrome = Chrome::of(&user, "/console/register");
    if chrome.menu.is_empty() {
        return Err(user.fail(ApiError::NotFound));
    }
    let t = user.lang.messages();
    let register = processing_register(state.settings.register_facts());
    Ok(RegisterPage {
        chrome,
        name: register.name,
        controller: register.controller,
        contact: register.contact,
        privacy_officer_contact: register.privacy_officer_contact,
        purposes: register.purposes,
        data_subjects: register.data_subjects,
        categories: register
            .categories
            .into_iter()
            .map(|c| CategoryRow {
                section: Coded::new(user.lang, Some(labels::section(c.section)), c.section.as_str()),
                description: c.description,
                basis: Coded::new(
                    user.lang,
                    Some(labels::lawful_basis(c.lawful_basis)),
                    c.lawful_basis.as_str(),
                ),
                special: if c.special_category { t.yes } else { t.no },
            })
            .collect(),
        recipients: register.recipients,
        transfers: register.transfers_outside_eea,
        retention: register.retention,
        security: register.security_measures,
    })
}
