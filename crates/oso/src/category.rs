//! The OSO data categories (`categorie_uitlevering`), where their elements
//! are, and the section of ours each travels in.

use doorstroom_domain::Section;
use serde::{Deserialize, Serialize};

/// A data category ("hoofdblok") of the agreement, as its metadata names
/// it (`cat_leerling`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Category {
    #[serde(rename = "cat_metadata")]
    Metadata,
    #[serde(rename = "cat_ouderinzage")]
    Ouderinzage,
    #[serde(rename = "cat_school")]
    School,
    #[serde(rename = "cat_leerling")]
    Leerling,
    #[serde(rename = "cat_oudersverzorgers")]
    Oudersverzorgers,
    #[serde(rename = "cat_vve")]
    Vve,
    #[serde(rename = "cat_schoolloopbaan")]
    Schoolloopbaan,
    #[serde(rename = "cat_overstapadvies")]
    Overstapadvies,
    #[serde(rename = "cat_onderwijsondersteuning")]
    Onderwijsondersteuning,
    #[serde(rename = "cat_verzuim")]
    Verzuim,
    #[serde(rename = "cat_eindtoetsbo")]
    Eindtoetsbo,
    #[serde(rename = "cat_toetsresultaten")]
    Toetsresultaten,
    #[serde(rename = "cat_handelingsplannen")]
    Handelingsplannen,
    #[serde(rename = "cat_cijferlijsten")]
    Cijferlijsten,
    #[serde(rename = "cat_vombo")]
    Vombo,
    #[serde(rename = "cat_bijlagedocs")]
    Bijlagedocs,
}

impl Category {
    /// Every category, in the order of `categorie_uitlevering`.
    pub const ALL: [Category; 16] = [
        Category::Metadata,
        Category::Ouderinzage,
        Category::School,
        Category::Leerling,
        Category::Oudersverzorgers,
        Category::Vve,
        Category::Schoolloopbaan,
        Category::Overstapadvies,
        Category::Onderwijsondersteuning,
        Category::Verzuim,
        Category::Eindtoetsbo,
        Category::Toetsresultaten,
        Category::Handelingsplannen,
        Category::Cijferlijsten,
        Category::Vombo,
        Category::Bijlagedocs,
    ];

    /// The metadata element naming this category.
    pub fn tag(self) -> &'static str {
        match self {
            Category::Metadata => "cat_metadata",
            Category::Ouderinzage => "cat_ouderinzage",
            Category::School => "cat_school",
            Category::Leerling => "cat_leerling",
            Category::Oudersverzorgers => "cat_oudersverzorgers",
            Category::Vve => "cat_vve",
            Category::Schoolloopbaan => "cat_schoolloopbaan",
            Category::Overstapadvies => "cat_overstapadvies",
            Category::Onderwijsondersteuning => "cat_onderwijsondersteuning",
            Category::Verzuim => "cat_verzuim",
            Category::Eindtoetsbo => "cat_eindtoetsbo",
            Category::Toetsresultaten => "cat_toetsresultaten",
            Category::Handelingsplannen => "cat_handelingsplannen",
            Category::Cijferlijsten => "cat_cijferlijsten",
            Category::Vombo => "cat_vombo",
            Category::Bijlagedocs => "cat_bijlagedocs",
        }
    }

    /// The category a `cat_…` element names.
    pub fn from_tag(tag: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.tag() == tag)
    }

    /// A readable (Dutch) title, as the agreement names the block.
    pub fn title(self) -> &'static str {
        match self {
            Category::Metadata => "Metadata",
            Category::Ouderinzage => "Ouderinzage",
            Category::School => "School",
            Category::Leerling => "Leerling",
            Category::Oudersverzorgers => "Ouders/verzorgers",
            Category::Vve => "VVE",
            Category::Schoolloopbaan => "Schoolloopbaan",
            Category::Overstapadvies => "Overstapadvies",
            Category::Onderwijsondersteuning => "Onderwijsondersteuning",
            Category::Verzuim => "Verzuim",
            Category::Eindtoetsbo => "Eindtoets bo",
            Category::Toetsresultaten => "Toetsresultaten",
            Category::Handelingsplannen => "Handelingsplannen",
            Category::Cijferlijsten => "Cijferlijsten",
            Category::Vombo => "VO-MBO",
            Category::Bijlagedocs => "Bijlagedocumenten",
        }
    }

    /// The section of ours the category travels in. Identity, school,
    /// school career and advice travel on the legal basis with the
    /// personal data (VVE, pre-school education, is school career too);
    /// support, its plans and absence need explicit consent; results of
    /// tests and the vo-mbo block are the career portfolio.
    pub fn section(self) -> Section {
        match self {
            Category::Metadata
            | Category::Ouderinzage
            | Category::School
            | Category::Leerling
            | Category::Oudersverzorgers
            | Category::Vve
            | Category::Schoolloopbaan
            | Category::Overstapadvies => Section::PersonalData,
            Category::Onderwijsondersteuning | Category::Handelingsplannen | Category::Verzuim => Section::SupportNeeds,
            Category::Eindtoetsbo | Category::Toetsresultaten | Category::Cijferlijsten | Category::Vombo => {
                Section::CareerPortfolio
            }
            Category::Bijlagedocs => Section::Attachments,
        }
    }

    /// The category of a child of `leerling` (the business rules OS.cat05
    /// to OS.cat16 of the agreement's validation name these elements);
    /// `None` for `onderwijsondersteuning`, whose children are split over
    /// two categories.
    pub(crate) fn of_leerling_child(local: &str) -> Option<Category> {
        Some(match local {
            "verzorgersaansprakelijk" | "verzorger" | "aansprakelijkeinstelling" => Category::Oudersverzorgers,
            "vanpeuterspeelzaal" | "naampeuterspeelzaal" | "voorschools" | "vroegschools" => Category::Vve,
            "schoolloopbaanlijst" => Category::Schoolloopbaan,
            "overstapadvies" => Category::Overstapadvies,
            "onderwijsondersteuning" => return None,
            "verzuim" => Category::Verzuim,
            "eindtoets_basisonderwijs" => Category::Eindtoetsbo,
            "toetslijst" => Category::Toetsresultaten,
            "cijferlijstlijst" => Category::Cijferlijsten,
            "bevorderd" | "certificaat" | "competenties" | "examenresultaat" | "overigvombo" | "resultaatvakkenvo"
            | "stage" => Category::Vombo,
            "overigdocumentlijst" => Category::Bijlagedocs,
            _ => Category::Leerling,
        })
    }

    /// The category an element `local` belongs to when it sits in the
    /// containers `within` (local names below the root), as the reader
    /// cuts a dossier; `None` where no fragment can sit. A container kept
    /// whole because it was empty belongs to its own category.
    pub fn at(within: &[&str], local: &str) -> Option<Category> {
        Some(match within {
            [] => match local {
                "metadata" | "overdrachtsoort" => Category::Metadata,
                "inzage" => Category::Ouderinzage,
                "huidigeschool" => Category::School,
                _ => return None,
            },
            ["huidigeschool"] if local == "leerling" => Category::Leerling,
            ["huidigeschool"] => Category::School,
            ["huidigeschool", "leerling"] => {
                Category::of_leerling_child(local).unwrap_or(Category::Onderwijsondersteuning)
            }
            ["huidigeschool", "leerling", "onderwijsondersteuning"] => Category::of_support_child(local),
            _ => return None,
        })
    }

    /// The category of a child of `onderwijsondersteuning`.
    pub(crate) fn of_support_child(local: &str) -> Category {
        if local == "handelingsplan" {
            Category::Handelingsplannen
        } else {
            Category::Onderwijsondersteuning
        }
    }
}

/// How a category is delivered (code list 48).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delivery {
    #[serde(rename = "VERPLICHT")]
    Verplicht,
    #[serde(rename = "OPTIONEEL")]
    Optioneel,
    #[serde(rename = "OPT-UIT")]
    OptUit,
    #[serde(rename = "VERBODEN")]
    Verboden,
}

impl Delivery {
    pub fn parse(raw: &str) -> Option<Delivery> {
        match raw {
            "VERPLICHT" => Some(Delivery::Verplicht),
            "OPTIONEEL" => Some(Delivery::Optioneel),
            "OPT-UIT" => Some(Delivery::OptUit),
            "VERBODEN" => Some(Delivery::Verboden),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Verplicht => "VERPLICHT",
            Delivery::Optioneel => "OPTIONEEL",
            Delivery::OptUit => "OPT-UIT",
            Delivery::Verboden => "VERBODEN",
        }
    }
}
