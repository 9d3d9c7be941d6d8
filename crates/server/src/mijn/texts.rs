//! The page's texts: Dutch at B1 level by default, English on request
//! (the console's `?lang=` switch and cookie). One struct literal per
//! language, so a text missing in one does not compile.

use doorstroom_domain::{LawfulBasis, Section};

use crate::console::i18n::Lang;

pub struct Texts {
    pub title: &'static str,
    pub skip_link: &'static str,
    pub switch_language: &'static str,
    pub code_title: &'static str,
    pub code_intro: &'static str,
    pub code_label: &'static str,
    pub code_hint: &'static str,
    pub code_button: &'static str,
    pub code_wrong: &'static str,
    pub locked: &'static str,
    pub try_later: &'static str,
    pub gone: &'static str,
    pub forbidden: &'static str,
    pub unavailable: &'static str,
    pub intro: &'static str,
    pub cannot_read: &'static str,
    pub logout: &'static str,
    pub applications_title: &'static str,
    pub no_applications: &'static str,
    pub programme: &'static str,
    pub school_year: &'static str,
    pub late: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub course: &'static str,
    pub packages_title: &'static str,
    pub no_packages: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub sent_at: &'static str,
    pub sections: &'static str,
    pub delivered_at: &'static str,
    pub acknowledged_at: &'static str,
    pub deleted_after: &'static str,
    pub not_yet: &'static str,
    pub withdrawn: &'static str,
    pub consent_title: &'static str,
    pub consent_intro: &'static str,
    pub no_consents: &'static str,
    pub consent_for: &'static str,
    pub consent_event: &'static str,
    pub date: &'static str,
    pub by: &'static str,
    pub receipt: &'static str,
    pub download_receipt: &'static str,
    pub withdraw_title: &'static str,
    pub withdraw_intro: &'static str,
    pub withdraw_who: &'static str,
    pub withdraw_button: &'static str,
    pub withdraw_done: &'static str,
    pub withdraw_not_allowed: &'static str,
    pub sections_title: &'static str,
    pub basis: &'static str,
    pub inspections_title: &'static str,
    pub no_inspections: &'static str,
    pub remarks_added: &'static str,
    pub cohorts_title: &'static str,
    pub cohorts_intro: &'static str,
    pub cohort_place: &'static str,
    pub cohort_reference: &'static str,
    pub accesses_title: &'static str,
    pub accesses_intro: &'static str,
    pub when: &'static str,
    pub institution: &'static str,
    pub who: &'static str,
    pub what: &'static str,
    pub purpose: &'static str,
    pub outcome: &'static str,
    pub in_log: &'static str,
    pub in_signed_log: &'static str,
    pub not_yet_signed: &'static str,
    pub rights_title: &'static str,
    pub rights_intro: &'static str,
    pub no_contact: &'static str,
    pub report_title: &'static str,
    pub report_intro: &'static str,
    pub report_button: &'static str,
    pub student: &'static str,
    pub parent: &'static str,
    pub guardian: &'static str,
}

impl Texts {
    pub fn of(lang: Lang) -> &'static Texts {
        match lang {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }
}

/// What a section is, in plain words.
pub fn section_explained(lang: Lang, section: Section) -> &'static str {
    match (lang, section) {
        (Lang::Nl, Section::PersonalData) => {
            "Je naam, geboortedatum, adres en school. Dit heeft het mbo nodig om je in te schrijven."
        }
        (Lang::Nl, Section::SupportNeeds) => {
            "Wat je nodig hebt om goed te kunnen leren, zoals extra hulp of aanpassingen. Hierin kan iets over je gezondheid staan."
        }
        (Lang::Nl, Section::CareerPortfolio) => {
            "Wat je hebt gedaan om een opleiding te kiezen, zoals je loopbaandossier en je plusdocument."
        }
        (Lang::Nl, Section::Remarks) => {
            "Wat jij of je ouders hebben opgeschreven nadat jullie het dossier hebben bekeken."
        }
        (Lang::Nl, Section::Attachments) => "Bijlagen, zoals rapporten.",
        (Lang::En, Section::PersonalData) => {
            "Your name, date of birth, address and school. The mbo needs this to enrol you."
        }
        (Lang::En, Section::SupportNeeds) => {
            "What you need to learn well, such as extra help or adjustments. It may say something about your health."
        }
        (Lang::En, Section::CareerPortfolio) => {
            "What you did to choose a programme, such as your career record and plus document."
        }
        (Lang::En, Section::Remarks) => "What you or your parents wrote after looking at the dossier.",
        (Lang::En, Section::Attachments) => "Attached files, such as school reports.",
    }
}

/// On which basis a section travels, in plain words.
pub fn basis_explained(lang: Lang, basis: LawfulBasis) -> &'static str {
    let consent = basis.needs_consent();
    match (lang, consent) {
        (Lang::Nl, false) => {
            "Dit mag de school doorsturen zonder jouw toestemming, omdat de wet dat zegt of omdat het nodig is voor je overstap."
        }
        (Lang::Nl, true) => {
            "Dit gaat alleen naar het mbo als jij (of, als je jonger bent dan 16, je ouder) toestemming geeft. Je kunt die toestemming altijd weer intrekken."
        }
        (Lang::En, false) => {
            "Your school may send this without your consent, because the law says so or because your move to the mbo needs it."
        }
        (Lang::En, true) => {
            "This only goes to the mbo if you (or, if you are under 16, your parent) give consent. You can always withdraw that consent."
        }
    }
}

const NL: Texts = Texts {
    title: "Mijn doorstroomdossier",
    skip_link: "Naar de inhoud",
    switch_language: "English",
    code_title: "Vul je code in",
    code_intro: "Je school heeft je een code van 6 cijfers gegeven, op papier of in het portaal van je school. Vul die code hier in. Daarna zie je wat er met je dossier is gebeurd.",
    code_label: "Code (6 cijfers)",
    code_hint: "Bijvoorbeeld 123456. Na een paar foute pogingen werkt de link niet meer.",
    code_button: "Bekijk mijn dossier",
    code_wrong: "Deze code klopt niet. Kijk goed en probeer het nog een keer.",
    locked: "Er is te vaak een foute code ingevuld. Deze link werkt niet meer. Vraag je school om een nieuwe link.",
    try_later: "Er zijn vanaf dit apparaat te veel foute codes ingevuld. Wacht even en probeer het later opnieuw.",
    gone: "Deze link werkt niet (meer). Misschien is hij verlopen of ingetrokken. Vraag je school om een nieuwe link.",
    forbidden: "Dit verzoek is geweigerd. Ga terug naar je pagina en probeer het opnieuw.",
    unavailable: "Het lukt nu even niet. Probeer het later nog een keer.",
    intro: "Hier zie je wat de doorstroombroker over jou bewaart: je aanmeldingen bij het mbo, welke dossiers je school heeft verstuurd, je toestemmingen en wie je dossier heeft bekeken.",
    cannot_read: "De broker kan de inhoud van je dossier niet lezen. Alleen het mbo waar je je hebt aangemeld kan dat. Daarom staat de inhoud niet op deze pagina.",
    logout: "Uitloggen",
    applications_title: "Je aanmeldingen",
    no_applications: "Er zijn geen aanmeldingen.",
    programme: "Opleiding",
    school_year: "Schooljaar",
    late: "Te laat aangemeld (na 1 april)",
    yes: "ja",
    no: "nee",
    course: "Wat er is gebeurd",
    packages_title: "Verstuurde dossiers",
    no_packages: "Je school heeft nog geen dossier verstuurd.",
    from: "Van",
    to: "Naar",
    sent_at: "Verstuurd op",
    sections: "Onderdelen",
    delivered_at: "Opgehaald door het mbo op",
    acknowledged_at: "Ontvangst bevestigd op",
    deleted_after: "Wordt verwijderd uiterlijk op",
    not_yet: "nog niet",
    withdrawn: "ingetrokken",
    consent_title: "Je toestemming",
    consent_intro: "Voor sommige onderdelen is toestemming nodig. Hier zie je wat er is vastgelegd. Bij elke keuze hoort een ontvangstbewijs dat de broker heeft ondertekend.",
    no_consents: "Er is geen toestemming vastgelegd.",
    consent_for: "Voor",
    consent_event: "Keuze",
    date: "Datum",
    by: "Door",
    receipt: "Ontvangstbewijs",
    download_receipt: "Download",
    withdraw_title: "Toestemming intrekken",
    withdraw_intro: "Wil je niet meer dat dit onderdeel naar dit mbo gaat? Trek je toestemming dan hier in. Dat werkt meteen: wat het mbo nog niet heeft opgehaald, wordt verwijderd. Je school en het mbo krijgen een bericht.",
    withdraw_who: "Wie ben je?",
    withdraw_button: "Trek toestemming in",
    withdraw_done: "Je toestemming is ingetrokken. Je kunt het ontvangstbewijs hieronder downloaden.",
    withdraw_not_allowed: "Dit mag alleen de leerling zelf (16 jaar of ouder) of, als de leerling jonger is dan 16, een ouder of voogd.",
    sections_title: "Wat staat er in een dossier?",
    basis: "Waarom mag dit?",
    inspections_title: "Inzage",
    no_inspections: "Er is geen inzage vastgelegd.",
    remarks_added: "Opmerkingen toegevoegd",
    cohorts_title: "Vangnet",
    cohorts_intro: "Je school houdt bij of alle leerlingen die van school gaan een plek op het mbo vinden. Daarvoor staat je nummer met het kenmerk van de school op deze lijst. Alleen je eigen school ziet de lijst. De lijst wordt na de start van het schooljaar gewist.",
    cohort_place: "Op de lijst van",
    cohort_reference: "kenmerk",
    accesses_title: "Wie heeft je dossier bekeken?",
    accesses_intro: "Elke keer dat iemand iets met je gegevens doet, schrijft de broker dat op in een logboek dat niet te veranderen is. Hier zie je alles wat over jou is opgeschreven, ook je eigen bezoeken aan deze pagina.",
    when: "Wanneer",
    institution: "School",
    who: "Wie",
    what: "Wat",
    purpose: "Waarvoor",
    outcome: "Gelukt?",
    in_log: "In het logboek",
    in_signed_log: "✓ in het ondertekende logboek",
    not_yet_signed: "nog niet ondertekend",
    rights_title: "Je rechten",
    rights_intro: "Klopt er iets niet? Wil je dat gegevens worden verbeterd of verwijderd, of ben je het ergens niet mee eens? Neem dan contact op met de privacyfunctionaris van de school.",
    no_contact: "Neem contact op met de school zelf.",
    report_title: "Alles downloaden",
    report_intro: "Download alles wat op deze pagina staat in één bestand (JSON). Dit is hetzelfde overzicht dat de privacyfunctionaris kan maken.",
    report_button: "Download mijn overzicht",
    student: "Ik ben de leerling (16 jaar of ouder)",
    parent: "Ik ben een ouder (leerling jonger dan 16)",
    guardian: "Ik ben de voogd (leerling jonger dan 16)",
};

const EN: Texts = Texts {
    title: "My transfer dossier",
    skip_link: "Skip to content",
    switch_language: "Nederlands",
    code_title: "Enter your code",
    code_intro: "Your school gave you a 6-digit code, on paper or in the school's portal. Enter it here. Then you will see what happened to your dossier.",
    code_label: "Code (6 digits)",
    code_hint: "For example 123456. After a few wrong tries the link stops working.",
    code_button: "Show my dossier",
    code_wrong: "This code is not right. Please check it and try again.",
    locked: "A wrong code was entered too often. This link no longer works. Ask your school for a new link.",
    try_later: "Too many wrong codes were entered from this device. Wait a while and try again later.",
    gone: "This link does not work (any more). It may have expired or been revoked. Ask your school for a new link.",
    forbidden: "This request was refused. Go back to your page and try again.",
    unavailable: "This does not work right now. Please try again later.",
    intro: "This page shows what the transfer broker keeps about you: your applications at the mbo, which dossiers your school sent, your consent, and who looked at your dossier.",
    cannot_read: "The broker cannot read the content of your dossier. Only the mbo where you applied can. That is why the content is not on this page.",
    logout: "Log out",
    applications_title: "Your applications",
    no_applications: "There are no applications.",
    programme: "Programme",
    school_year: "School year",
    late: "Applied late (after 1 April)",
    yes: "yes",
    no: "no",
    course: "What happened",
    packages_title: "Dossiers sent",
    no_packages: "Your school has not sent a dossier yet.",
    from: "From",
    to: "To",
    sent_at: "Sent on",
    sections: "Parts",
    delivered_at: "Collected by the mbo on",
    acknowledged_at: "Receipt confirmed on",
    deleted_after: "Will be deleted by",
    not_yet: "not yet",
    withdrawn: "withdrawn",
    consent_title: "Your consent",
    consent_intro: "Some parts need consent. This is what was recorded. Each choice has a receipt signed by the broker.",
    no_consents: "No consent was recorded.",
    consent_for: "For",
    consent_event: "Choice",
    date: "Date",
    by: "By",
    receipt: "Receipt",
    download_receipt: "Download",
    withdraw_title: "Withdraw consent",
    withdraw_intro: "Do you no longer want this part to go to this mbo? Withdraw your consent here. It works at once: what the mbo has not collected yet is deleted. Your school and the mbo are told.",
    withdraw_who: "Who are you?",
    withdraw_button: "Withdraw consent",
    withdraw_done: "Your consent was withdrawn. You can download the receipt below.",
    withdraw_not_allowed: "Only the student (16 or older) or, for a student under 16, a parent or guardian may do this.",
    sections_title: "What is in a dossier?",
    basis: "Why is this allowed?",
    inspections_title: "Inspection",
    no_inspections: "No inspection was recorded.",
    remarks_added: "Remarks added",
    cohorts_title: "Safety net",
    cohorts_intro: "Your school checks that every student leaving the school finds a place at an mbo. For this, your number is on its list with the school's reference. Only your own school sees the list. The list is deleted after the school year has started.",
    cohort_place: "On the list of",
    cohort_reference: "reference",
    accesses_title: "Who looked at your dossier?",
    accesses_intro: "Each time someone does something with your data, the broker writes it down in a log that cannot be changed. This is everything written down about you, including your own visits to this page.",
    when: "When",
    institution: "School",
    who: "Who",
    what: "What",
    purpose: "What for",
    outcome: "Done?",
    in_log: "In the log",
    in_signed_log: "✓ in the signed log",
    not_yet_signed: "not signed yet",
    rights_title: "Your rights",
    rights_intro: "Is something wrong? Do you want data corrected or deleted, or do you object to something? Contact the privacy officer of the school.",
    no_contact: "Contact the school itself.",
    report_title: "Download everything",
    report_intro: "Download everything on this page in one file (JSON). It is the same overview the privacy officer can make.",
    report_button: "Download my overview",
    student: "I am the student (16 or older)",
    parent: "I am a parent (student under 16)",
    guardian: "I am the guardian (student under 16)",
};
