//! The demo institutions of the development set-up.

use doorstroom_domain::Sector;

/// A demo institution of the development set-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoInstitution {
    pub brin: &'static str,
    pub name: &'static str,
    pub sector: Sector,
    pub oin: &'static str,
}

/// One sending school (vo) and two receiving institutions (mbo).
pub const DEMO_INSTITUTIONS: &[DemoInstitution] = &[
    DemoInstitution {
        brin: "07AB",
        name: "Vo-school De Brug",
        sector: Sector::Vo,
        oin: "00000001000000070000",
    },
    DemoInstitution {
        brin: "25LX",
        name: "ROC Noorderpoort Demo",
        sector: Sector::Mbo,
        oin: "00000001000000250000",
    },
    DemoInstitution {
        brin: "27GH",
        name: "MBO College Zuid Demo",
        sector: Sector::Mbo,
        oin: "00000001000000270000",
    },
];
