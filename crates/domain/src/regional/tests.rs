use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn brin(s: &str) -> Brin {
    Brin::parse(s).unwrap()
}

fn year() -> SchoolYear {
    SchoolYear::starting(2027).unwrap()
}

fn region() -> RegionName {
    RegionName::parse("twente").unwrap()
}

fn fact(measure: Measure, sending: &str) -> Fact {
    Fact {
        measure,
        sending: brin(sending),
        receiving: None,
        crebo: None,
        month: None,
    }
}

fn frame(sending: &[&str], receiving: &[&str]) -> Frame {
    Frame {
        sending: sending.iter().map(|s| brin(s)).collect(),
        receiving: receiving.iter().map(|s| brin(s)).collect(),
    }
}

fn cohort(counts: &[(&str, usize)]) -> Vec<Fact> {
    counts
        .iter()
        .flat_map(|(school, n)| std::iter::repeat_n(fact(Measure::CohortSize, school), *n))
        .collect()
}

fn by_school(f: &Figures) -> Option<Vec<(String, Cell)>> {
    f.measure(Measure::CohortSize).unwrap().breakdowns[0].rows.clone()
}

#[test]
fn a_small_cell_is_shown_below_the_threshold_and_the_next_smallest_is_hidden_with_it() {
    let schools = frame(&["01AA", "02BB", "03CC"], &[]);
    let facts = cohort(&[("01AA", 12), ("02BB", 3), ("03CC", 6)]);
    let f = figures(&region(), year(), &schools, &facts, 5);
    let m = f.measure(Measure::CohortSize).unwrap();
    assert_eq!(m.total, Cell::Count(21));
    assert_eq!(
        by_school(&f).unwrap(),
        vec![
            ("01AA".to_owned(), Cell::Count(12)),
            ("02BB".to_owned(), Cell::Small),
            ("03CC".to_owned(), Cell::Hidden),
        ],
        "21 - 12 = 9 for the two: 02BB lies in 0..=4, 03CC in 5..=9"
    );
    assert_eq!(Cell::Small.shown(5), "< 5");
}

#[test]
fn zeros_are_small_too_and_a_breakdown_that_cannot_be_protected_is_withheld() {
    let schools = frame(&["01AA", "02BB"], &[]);
    let f = figures(&region(), year(), &schools, &cohort(&[("01AA", 5)]), 5);
    assert_eq!(f.measure(Measure::CohortSize).unwrap().total, Cell::Count(5));
    assert_eq!(
        by_school(&f),
        None,
        "01AA = 5 and 02BB = 0 could be read off any other way"
    );
    let f = figures(&region(), year(), &schools, &cohort(&[("01AA", 9), ("02BB", 0)]), 5);
    assert_eq!(
        by_school(&f).unwrap(),
        vec![("01AA".to_owned(), Cell::Hidden), ("02BB".to_owned(), Cell::Small)],
        "02BB = 9 - 01AA with 01AA in 5..=9: anything in 0..=4"
    );
}

#[test]
fn a_total_below_the_threshold_publishes_no_breakdown() {
    let schools = frame(&["01AA", "02BB"], &[]);
    let f = figures(&region(), year(), &schools, &cohort(&[("01AA", 2), ("02BB", 2)]), 5);
    let m = f.measure(Measure::CohortSize).unwrap();
    assert_eq!(m.total, Cell::Small);
    assert!(m.breakdowns.iter().all(|b| b.rows.is_none()));
    let nothing = f.measure(Measure::Applications).unwrap();
    assert_eq!(nothing.total, Cell::Small, "zero is below the threshold");
}

#[test]
fn facts_of_other_regions_are_not_counted_and_mbos_outside_the_region_are_one_category() {
    let schools = frame(&["01AA"], &["09MB"]);
    let mut facts = cohort(&[("01AA", 6), ("05XX", 40)]);
    for receiving in [
        "09MB", "09MB", "09MB", "09MB", "09MB", "08ZZ", "07YY", "07YY", "07YY", "07YY",
    ] {
        facts.push(Fact {
            receiving: Some(brin(receiving)),
            ..fact(Measure::Applications, "01AA")
        });
    }
    let f = figures(&region(), year(), &schools, &facts, 5);
    assert_eq!(f.measure(Measure::CohortSize).unwrap().total, Cell::Count(6));
    let apps = f.measure(Measure::Applications).unwrap();
    let mbo = apps
        .breakdowns
        .iter()
        .find(|b| b.dimension == Dimension::ReceivingMbo)
        .unwrap();
    assert_eq!(
        mbo.rows.clone().unwrap(),
        vec![
            ("09MB".to_owned(), Cell::Count(5)),
            (OUTSIDE_REGION.to_owned(), Cell::Count(5))
        ]
    );
    assert_eq!(f.funnel()[0], (Measure::Applications, Cell::Count(10)));
}

#[test]
fn regions_refuse_bad_names_duplicates_and_unknown_institutions() {
    let ok = Regions::new(&[
        ("twente".into(), vec!["01AA".into(), "02BB".into()]),
        ("achterhoek".into(), vec!["03CC".into()]),
    ])
    .unwrap();
    assert_eq!(ok.iter().count(), 2);
    assert!(ok.get(&region()).unwrap().institutions.contains(&brin("02BB")));
    let twice = Regions::new(&[
        ("twente".into(), vec!["01AA".into()]),
        ("achterhoek".into(), vec!["01AA".into()]),
    ]);
    assert_eq!(
        twice.unwrap_err().to_string(),
        "institution 01AA is listed twice (in region twente and in region achterhoek)"
    );
    assert!(matches!(
        Regions::new(&[
            ("twente".into(), vec!["01AA".into()]),
            ("twente".into(), vec!["02BB".into()])
        ]),
        Err(RegionError::DuplicateRegion(_))
    ));
    assert!(matches!(
        Regions::new(&[("Twente".into(), vec!["01AA".into()])]),
        Err(RegionError::Invalid(..))
    ));
    assert!(matches!(
        Regions::new(&[("twente".into(), vec!["1AA".into()])]),
        Err(RegionError::Invalid(..))
    ));
    assert!(matches!(
        Regions::new(&[("twente".into(), vec![])]),
        Err(RegionError::Empty(_))
    ));
    let unknown = ok.check_registered(|b| b.as_str() != "03CC").unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "region achterhoek: institution 03CC is not registered"
    );
    assert!(ok.check_registered(|_| true).is_ok());
}

// ---- The attacker ----------------------------------------------------

const MEASURES: [Measure; 5] = [
    Measure::CohortSize,
    Measure::Applications,
    Measure::Enrolled,
    Measure::Inspections,
    Measure::ConsentGiven(Section::SupportNeeds),
];
const SCHOOLS: [&str; 4] = ["01AA", "02BB", "03CC", "04DD"];
const MBOS: [&str; 3] = ["11MA", "12MB", "13MC"];
const OUTSIDE: &str = "19ZZ";

/// (measure, school, mbo (3 = outside), crebo (4 = none), month).
type Raw = (usize, usize, usize, usize, usize);

fn raw_fact((m, s, r, c, mo): Raw) -> Fact {
    Fact {
        measure: MEASURES[m],
        sending: brin(SCHOOLS[s]),
        receiving: Some(brin(MBOS.get(r).copied().unwrap_or(OUTSIDE))),
        crebo: (c < 4).then(|| format!("2510{c}")),
        month: Some(format!("2027-0{}", mo + 1)),
    }
}

/// The true count per category, counted the plain way.
fn truth(facts: &[Fact], measure: Measure, dimension: Dimension, frame: &Frame) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for f in facts.iter().filter(|f| f.measure == measure) {
        let key = match dimension {
            Dimension::SendingSchool => f.sending.to_string(),
            Dimension::ReceivingMbo => f
                .receiving
                .as_ref()
                .filter(|b| frame.receiving.contains(b))
                .map_or(OUTSIDE_REGION.to_owned(), Brin::to_string),
            Dimension::Programme => f.crebo.clone().unwrap_or(NO_CREBO.to_owned()),
            Dimension::Month => f.month.clone().unwrap_or_default(),
        };
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

/// Every value a suppressed cell can take, given everything published in
/// its breakdown: exact integer reasoning over the sums the other
/// suppressed cells can reach (not the interval formula the code uses).
fn possible_values(bounds: &[(u64, u64)], sum: u64, i: usize) -> BTreeSet<u64> {
    let mut reach = vec![false; usize::try_from(sum).unwrap() + 1];
    reach[0] = true;
    for (j, (lo, hi)) in bounds.iter().enumerate() {
        if j == i {
            continue;
        }
        let mut next = vec![false; reach.len()];
        for (s, ok) in reach.iter().enumerate() {
            if !*ok {
                continue;
            }
            for v in *lo..=*hi {
                if let Some(slot) = next.get_mut(s + usize::try_from(v).unwrap()) {
                    *slot = true;
                }
            }
        }
        reach = next;
    }
    let (lo, hi) = bounds[i];
    (lo..=hi.min(sum))
        .filter(|v| reach[usize::try_from(sum - v).unwrap()])
        .collect()
}

fn attack(figures: &Figures, facts: &[Fact], frame: &Frame, t: u64) -> Result<(), TestCaseError> {
    for m in &figures.measures {
        let total = facts.iter().filter(|f| f.measure == m.measure).count() as u64;
        match m.total {
            Cell::Count(n) => prop_assert!(n == total && n >= t, "{:?} total", m.measure),
            Cell::Small => {
                prop_assert!(total < t);
                prop_assert!(
                    m.breakdowns.iter().all(|b| b.rows.is_none()),
                    "breakdown of a small total"
                );
                continue;
            }
            Cell::Hidden => prop_assert!(false, "a total is never hidden"),
        }
        for b in &m.breakdowns {
            let Some(rows) = &b.rows else { continue };
            let real = truth(facts, m.measure, b.dimension, frame);
            let mut bounds = Vec::new();
            let mut published = 0;
            for (label, cell) in rows {
                let n = real.get(label).copied().unwrap_or(0);
                let lo = u64::from(!b.dimension.fixed());
                prop_assert!(b.dimension.fixed() || n > 0, "a listed occurring category is not empty");
                match cell {
                    Cell::Count(c) => {
                        prop_assert!(*c == n && *c >= t, "{:?} {label}: published {c}, real {n}", m.measure);
                        published += c;
                    }
                    Cell::Small => {
                        prop_assert!(n < t);
                        bounds.push((lo, t - 1));
                    }
                    Cell::Hidden => {
                        prop_assert!(n >= t);
                        bounds.push((t, total));
                    }
                }
            }
            prop_assert_eq!(rows.len(), real.len().max(rows.len()), "every real category is listed");
            let sum = total - published;
            prop_assert!(bounds.is_empty() || sum >= t, "the group is itself small");
            for i in 0..bounds.len() {
                let values = possible_values(&bounds, sum, i);
                prop_assert!(
                    values.len() >= 2,
                    "{:?} by {:?}: cell {i} pinned to {values:?} ({rows:?})",
                    m.measure,
                    b.dimension
                );
            }
        }
    }
    for (measure, cell) in figures.funnel() {
        prop_assert_eq!(
            Some(cell),
            figures.measure(measure).map(|m| m.total),
            "the funnel repeats the totals"
        );
    }
    Ok(())
}

fn raws() -> impl Strategy<Value = Vec<Raw>> {
    // Skewed towards small counts so that suppression has work to do.
    prop::collection::vec((0..5usize, 0..4usize, 0..4usize, 0..5usize, 0..4usize), 0..70)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_suppressed_cell_can_be_reconstructed(raw in raws(), schools in 1..=4usize, mbos in 0..=3usize, t in 2..=6u64) {
        let frame = Frame {
            sending: SCHOOLS[..schools].iter().map(|s| brin(s)).collect(),
            receiving: MBOS[..mbos].iter().map(|s| brin(s)).collect(),
        };
        let facts: Vec<Fact> = raw
            .into_iter()
            .filter(|r| r.1 < schools)
            .map(raw_fact)
            .collect();
        let f = figures(&region(), year(), &frame, &facts, t);
        attack(&f, &facts, &frame, t)?;
    }
}
