//! The transfer dossier's vocabulary: its sections and the course of an
//! application at the mbo.

use crate::ids::wire_enum;

wire_enum!(
    /// A section of the transfer dossier. Each travels as its own signed and
    /// encrypted part of a package, so that it can be released or withheld
    /// on its own.
    Section, "section" {
        /// Identity and contact data (persoonsgegevens); legal obligation.
        PersonalData => "personal_data",
        /// Extra support needs (extra ondersteuningsbehoefte); often health
        /// data (GDPR art. 9): explicit consent.
        SupportNeeds => "support_needs",
        /// Career orientation record, portfolio (loopbaandossier); consent.
        CareerPortfolio => "career_portfolio",
        /// The student's or parents' remarks after inspection (inzage).
        Remarks => "remarks",
        /// Files such as reports (PDF); consent.
        Attachments => "attachments",
    }
);

wire_enum!(
    /// The course of an application (aanmelding) as the mbo reports it back
    /// (terugkoppeling) for the vo school's aftercare.
    ApplicationStatus, "status" {
        /// Registered by the mbo; nothing reported yet.
        Registered => "registered",
        /// The mbo received the dossier.
        Received => "received",
        IntakeScheduled => "intake_scheduled",
        IntakeHeld => "intake_held",
        PlaceOffered => "place_offered",
        Enrolled => "enrolled",
        NotEnrolling => "not_enrolling",
        Withdrawn => "withdrawn",
        NoShow => "no_show",
    }
);
