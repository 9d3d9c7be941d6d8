//! Why the development PKI could not be created or loaded.

use std::path::{Path, PathBuf};

use doorstroom_domain::ParseError;
use doorstroom_jose::JoseError;

/// Why the development PKI could not be created or loaded.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file exists but is not what the dev PKI wrote there.
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: &'static str },
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error(transparent)]
    Jose(#[from] JoseError),
    #[error("demo institution data: {0}")]
    Domain(#[from] ParseError),
    #[error("time is outside the range a certificate can express")]
    TimeOutOfRange,
    #[error("could not serialise a JWK")]
    Serialise,
}

/// A file that exists but is not what the dev PKI wrote there.
pub(super) fn invalid(path: &Path, reason: &'static str) -> PkiError {
    PkiError::Invalid {
        path: path.to_path_buf(),
        reason,
    }
}
