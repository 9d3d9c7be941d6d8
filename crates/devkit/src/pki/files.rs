//! Writing the PKI's files: folders 0700, private keys 0600, the rest 0644,
//! each written whole or not at all.

use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use super::error::{PkiError, invalid};

pub(super) const PRIVATE_MODE: u32 = 0o600;
pub(super) const PUBLIC_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o700;

pub(super) fn json_bytes(value: &serde_json::Value) -> Result<Vec<u8>, PkiError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|_| PkiError::Serialise)?;
    bytes.push(b'\n');
    Ok(bytes)
}

pub(super) fn read_string(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Creates `dir` (and missing parents) with mode 0700 if it does not exist.
pub(super) fn ensure_dir(dir: &Path) -> Result<(), PkiError> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|source| PkiError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

/// Writes `contents` to `path` with exactly `mode`: first to a temporary
/// file in the same folder, created with that mode (so a key is never
/// readable by others, not even for a moment), then renamed into place.
pub(super) fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), PkiError> {
    let io_err = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| invalid(path, "not a file path"))?
        .to_string_lossy();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    // A stale temporary file may have another mode; start afresh.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_err)?;
    // The umask may have cleared bits of a public file's mode.
    file.set_permissions(Permissions::from_mode(mode)).map_err(io_err)?;
    file.write_all(contents).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err)
}
