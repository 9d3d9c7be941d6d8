//! The desk's texts: Dutch by default, English on request (`?lang=en`,
//! remembered in a cookie), as in the broker's console. One [`Messages`]
//! value per language, each a struct literal of every field, so a text
//! missing in one language does not compile.

use actix_web::HttpRequest;
use doorstroom_domain::{ApplicationStatus, Section};

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Nl,
    En,
}

/// The cookie that remembers the choice.
pub const LANG_COOKIE: &str = "__Host-doorstroom-desk-lang";

impl Lang {
    pub fn parse(raw: &str) -> Option<Lang> {
        match raw {
            "nl" => Some(Lang::Nl),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language asked for in the query, else the cookie's, else Dutch.
    pub fn of(req: &HttpRequest) -> Lang {
        query_lang(req)
            .or_else(|| req.cookie(LANG_COOKIE).and_then(|c| Lang::parse(c.value())))
            .unwrap_or(Lang::Nl)
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Nl => Lang::En,
            Lang::En => Lang::Nl,
        }
    }

    pub fn messages(self) -> &'static Messages {
        match self {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }

    /// A section's name on the page.
    pub fn section(self, section: Section) -> &'static str {
        let (nl, en) = match section {
            Section::PersonalData => ("Persoonsgegevens", "Personal data"),
            Section::SupportNeeds => ("Ondersteuningsbehoefte", "Support needs"),
            Section::CareerPortfolio => ("Loopbaandossier", "Career portfolio"),
            Section::Remarks => ("Opmerkingen van leerling of ouders", "Remarks of student or parents"),
            Section::Attachments => ("Bijlagen", "Attachments"),
        };
        self.pick(nl, en)
    }

    /// A status's name on the page.
    pub fn status(self, status: ApplicationStatus) -> &'static str {
        let (nl, en) = match status {
            ApplicationStatus::Registered => ("aangemeld", "registered"),
            ApplicationStatus::Received => ("dossier ontvangen", "dossier received"),
            ApplicationStatus::IntakeScheduled => ("intake gepland", "intake scheduled"),
            ApplicationStatus::IntakeHeld => ("intake gehouden", "intake held"),
            ApplicationStatus::PlaceOffered => ("plaats aangeboden", "place offered"),
            ApplicationStatus::Enrolled => ("ingeschreven", "enrolled"),
            ApplicationStatus::NotEnrolling => ("schrijft zich niet in", "not enrolling"),
            ApplicationStatus::Withdrawn => ("aanmelding ingetrokken", "application withdrawn"),
            ApplicationStatus::NoShow => ("niet verschenen", "no-show"),
        };
        self.pick(nl, en)
    }

    /// Why the broker withheld a section, from its reason text.
    pub fn withheld(self, reason: &str) -> String {
        if reason == "consent withdrawn" {
            self.pick("toestemming ingetrokken", "consent withdrawn").to_owned()
        } else {
            format!("{} ({reason})", self.pick("geen toestemming", "no consent"))
        }
    }

    fn pick(self, nl: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Nl => nl,
            Lang::En => en,
        }
    }
}

/// The `lang` query parameter, if it names a language.
pub fn query_lang(req: &HttpRequest) -> Option<Lang> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v))
}

/// Every text of the desk's pages.
pub struct Messages {
    pub app_name: &'static str,
    pub skip_link: &'static str,
    pub switch_language: &'static str,
    pub logged_in_as: &'static str,
    pub logout: &'static str,
    pub login_title: &'static str,
    pub login_intro: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub totp: &'static str,
    pub totp_hint: &'static str,
    pub login_button: &'static str,
    pub login_failed: &'static str,
    pub login_rate_limited: &'static str,
    pub login_expired: &'static str,
    pub not_an_intaker: &'static str,
    pub inbox_title: &'static str,
    pub inbox_intro: &'static str,
    pub inbox_empty: &'static str,
    pub col_student: &'static str,
    pub col_programme: &'static str,
    pub col_from: &'static str,
    pub col_submitted: &'static str,
    pub col_delete_after: &'static str,
    pub col_state: &'static str,
    pub new_marker: &'static str,
    pub acknowledged: &'static str,
    pub not_acknowledged: &'static str,
    pub unreadable: &'static str,
    pub open: &'static str,
    pub back_to_inbox: &'static str,
    pub dossier_title: &'static str,
    pub sent_by: &'static str,
    pub verified: &'static str,
    pub delete_after: &'static str,
    pub handover_title: &'static str,
    pub handover_text: &'static str,
    pub handover_none: &'static str,
    pub withheld_title: &'static str,
    pub nothing_withheld: &'static str,
    pub remark_by: &'static str,
    pub remark_at: &'static str,
    pub download: &'static str,
    pub no_attachments: &'static str,
    pub acknowledge_button: &'static str,
    pub status_title: &'static str,
    pub status_current: &'static str,
    pub status_label: &'static str,
    pub status_button: &'static str,
    pub intake_on_label: &'static str,
    pub intake_on_short: &'static str,
    pub status_history: &'static str,
    pub status_unknown: &'static str,
    pub error_title: &'static str,
    pub error_not_found: &'static str,
    pub error_bad_request: &'static str,
    pub error_csrf: &'static str,
    pub error_broker: &'static str,
    pub error_conflict: &'static str,
}

static NL: Messages = Messages {
    app_name: "Doorstroom — intakebalie",
    skip_link: "Naar de inhoud",
    switch_language: "English",
    logged_in_as: "Ingelogd als",
    logout: "Uitloggen",
    login_title: "Inloggen",
    login_intro: "Log in met je account bij de doorstroommakelaar: wachtwoord en de code uit je authenticator-app.",
    username: "Gebruikersnaam",
    password: "Wachtwoord",
    totp: "Code (6 cijfers)",
    totp_hint: "De code die je authenticator-app nu toont.",
    login_button: "Inloggen",
    login_failed: "Gebruikersnaam, wachtwoord of code klopt niet.",
    login_rate_limited: "Te veel mislukte pogingen. Probeer het later opnieuw.",
    login_expired: "Je sessie is verlopen. Log opnieuw in.",
    not_an_intaker: "Deze intakebalie is alleen voor intakers van deze mbo-instelling.",
    inbox_title: "Binnengekomen dossiers",
    inbox_intro: "Deze pagina ververst zich elke 30 seconden. Namen en opleidingen zijn hier, op de balie, ontsleuteld.",
    inbox_empty: "Er staan geen dossiers klaar.",
    col_student: "Leerling",
    col_programme: "Opleiding",
    col_from: "Van",
    col_submitted: "Verstuurd",
    col_delete_after: "Wordt verwijderd na",
    col_state: "Stand",
    new_marker: "nieuw",
    acknowledged: "ontvangst bevestigd",
    not_acknowledged: "nog niet bevestigd",
    unreadable: "kan niet geopend worden",
    open: "Openen",
    back_to_inbox: "Terug naar binnengekomen dossiers",
    dossier_title: "Dossier",
    sent_by: "Verstuurd door",
    verified: "Handtekeningen van de school gecontroleerd en ontsleuteld op deze balie.",
    delete_after: "Wordt verwijderd na",
    handover_title: "Warme overdracht",
    handover_text: "Neem voor het intakegesprek contact op met de school. Dit is de contactpersoon die de school voor de warme overdracht opgaf:",
    handover_none: "De school heeft geen contactpersoon voor de warme overdracht opgegeven; gebruik de gegevens die de school je gaf.",
    withheld_title: "Niet meegestuurd",
    nothing_withheld: "Alle onderdelen zijn meegestuurd.",
    remark_by: "Door",
    remark_at: "Op",
    download: "Downloaden",
    no_attachments: "Geen bijlagen.",
    acknowledge_button: "Ontvangst bevestigen",
    status_title: "Terugkoppeling aan de school",
    status_current: "Huidige stand",
    status_label: "Nieuwe stand",
    status_button: "Doorgeven",
    intake_on_label: "Datum intake (bij intake gepland)",
    intake_on_short: "intake op",
    status_history: "Eerder doorgegeven",
    status_unknown: "De stand is nu niet op te vragen.",
    error_title: "Fout",
    error_not_found: "Niet gevonden.",
    error_bad_request: "Het verzoek klopt niet.",
    error_csrf: "Dit formulier is verlopen of komt niet van deze balie. Ga terug en probeer het opnieuw.",
    error_broker: "De doorstroommakelaar is nu niet bereikbaar. Probeer het zo opnieuw.",
    error_conflict: "Deze stand kan nu niet worden doorgegeven",
};

static EN: Messages = Messages {
    app_name: "Doorstroom — intake desk",
    skip_link: "Skip to content",
    switch_language: "Nederlands",
    logged_in_as: "Logged in as",
    logout: "Log out",
    login_title: "Log in",
    login_intro: "Log in with your broker account: password and the code from your authenticator app.",
    username: "Username",
    password: "Password",
    totp: "Code (6 digits)",
    totp_hint: "The code your authenticator app shows now.",
    login_button: "Log in",
    login_failed: "Username, password or code is wrong.",
    login_rate_limited: "Too many failed attempts. Try again later.",
    login_expired: "Your session has expired. Please log in again.",
    not_an_intaker: "This intake desk is only for intakers of this mbo institution.",
    inbox_title: "Incoming dossiers",
    inbox_intro: "This page refreshes every 30 seconds. Names and programmes are decrypted here, on the desk.",
    inbox_empty: "No dossiers are waiting.",
    col_student: "Student",
    col_programme: "Programme",
    col_from: "From",
    col_submitted: "Sent",
    col_delete_after: "Deleted after",
    col_state: "State",
    new_marker: "new",
    acknowledged: "receipt acknowledged",
    not_acknowledged: "not yet acknowledged",
    unreadable: "cannot be opened",
    open: "Open",
    back_to_inbox: "Back to incoming dossiers",
    dossier_title: "Dossier",
    sent_by: "Sent by",
    verified: "The school's signatures were checked and the dossier decrypted on this desk.",
    delete_after: "Deleted after",
    handover_title: "Warm handover",
    handover_text: "Before the intake, contact the school. This is the person the school named for the warm handover:",
    handover_none: "The school has named no contact for the warm handover; use the details the school gave you.",
    withheld_title: "Not sent",
    nothing_withheld: "Every section was sent.",
    remark_by: "By",
    remark_at: "On",
    download: "Download",
    no_attachments: "No attachments.",
    acknowledge_button: "Acknowledge receipt",
    status_title: "Report back to the school",
    status_current: "Current state",
    status_label: "New state",
    status_button: "Report",
    intake_on_label: "Day of intake (with intake scheduled)",
    intake_on_short: "intake on",
    status_history: "Reported before",
    status_unknown: "The state cannot be read right now.",
    error_title: "Error",
    error_not_found: "Not found.",
    error_bad_request: "The request is not valid.",
    error_csrf: "This form has expired or does not come from this desk. Go back and try again.",
    error_broker: "The broker cannot be reached right now. Try again shortly.",
    error_conflict: "This state cannot be reported now",
};
