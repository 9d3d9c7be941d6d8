//! The institutions' event feed (`GET /v1/events`): what happened that
//! concerns an institution, as ids and times only. An entry never names a
//! student, a pseudonym or a student number: the school system reads the
//! record it points to, through the policy and the audit log like any
//! other read.

/// What happened. The wire name (`as_str`) is dotted, `subject.verb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedEventKind {
    /// A package arrived for the mbo (to the recipient).
    PackageAvailable,
    /// Every section of a package was withdrawn after consent was withdrawn
    /// (to its sender and its recipient).
    PackageWithdrawn,
    /// A section of a package was withdrawn after consent was withdrawn
    /// (to its sender and its recipient).
    SectionWithdrawn,
    /// The mbo acknowledged a package (to its sender).
    PackageAcknowledged,
    /// An application's status moved, still open (to the mbo and the
    /// sending school it names).
    ApplicationStatusChanged,
    /// An application reached an end state: enrolled, not enrolling,
    /// withdrawn, no-show (to the mbo and the sending school it names).
    ApplicationEnded,
    /// The retention rules delete a package within [`EXPIRY_NOTICE`] (to
    /// the recipient, once per package): pull it now if it is needed.
    PackageExpiring,
    /// A student of the school's safety-net cohort became at risk, or the
    /// reason changed (to that school only): the school year, the school's
    /// own reference, the reason and the day.
    StudentAtRisk,
}

/// How long before a package's deletion the feed announces it: a week, so
/// that an mbo that has not pulled it yet (a holiday, an absent intaker)
/// can still do so.
pub const EXPIRY_NOTICE: chrono::Duration = chrono::Duration::days(7);

impl FeedEventKind {
    pub const ALL: &'static [FeedEventKind] = &[
        FeedEventKind::PackageAvailable,
        FeedEventKind::PackageWithdrawn,
        FeedEventKind::SectionWithdrawn,
        FeedEventKind::PackageAcknowledged,
        FeedEventKind::ApplicationStatusChanged,
        FeedEventKind::ApplicationEnded,
        FeedEventKind::PackageExpiring,
        FeedEventKind::StudentAtRisk,
    ];

    /// The stable wire and storage name.
    pub const fn as_str(self) -> &'static str {
        match self {
            FeedEventKind::PackageAvailable => "package.available",
            FeedEventKind::PackageWithdrawn => "package.withdrawn",
            FeedEventKind::SectionWithdrawn => "section.withdrawn",
            FeedEventKind::PackageAcknowledged => "package.acknowledged",
            FeedEventKind::ApplicationStatusChanged => "application.status_changed",
            FeedEventKind::ApplicationEnded => "application.ended",
            FeedEventKind::PackageExpiring => "package.expiring",
            FeedEventKind::StudentAtRisk => "student.at_risk",
        }
    }

    pub fn parse(raw: &str) -> Option<FeedEventKind> {
        Self::ALL.iter().copied().find(|k| k.as_str() == raw)
    }
}

impl std::fmt::Display for FeedEventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for kind in FeedEventKind::ALL {
            assert_eq!(FeedEventKind::parse(kind.as_str()), Some(*kind));
            assert!(seen.insert(kind.as_str()));
        }
        assert_eq!(FeedEventKind::parse("package_available"), None);
    }
}
