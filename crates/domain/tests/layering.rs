//! The domain crate is the vocabulary and the policy, nothing else: it must
//! not pull in HTTP, databases, TLS, OpenSSL or an async runtime, not even
//! transitively. This test asks cargo for the crate's normal dependency tree
//! and fails if any forbidden crate shows up (in the spirit of lemmy's
//! `cargo tree -i` check).

use std::collections::BTreeSet;
use std::process::Command;

const FORBIDDEN: &[&str] = &[
    "actix-web",
    "actix-http",
    "actix-tls",
    "diesel",
    "libsqlite3-sys",
    "pq-sys",
    "openssl",
    "openssl-sys",
    "josekit",
    "reqwest",
    "rustls",
    "tokio",
    "hyper",
];

/// A test failure whose `Debug` (what the test harness prints for an `Err`)
/// is the plain text, so that cargo's output is shown unescaped.
struct Failure(String);

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[test]
fn domain_depends_on_no_infrastructure_crate() -> Result<(), Failure> {
    let cargo = env!("CARGO");
    let output = Command::new(cargo)
        .args(["tree", "-p", "doorstroom-domain", "-e", "normal", "--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map_err(|e| Failure(format!("could not run `{cargo} tree`: {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(Failure(format!(
            "`cargo tree` failed ({}); the layering check cannot pass without it\n\
             --- stderr ---\n{stderr}\n--- stdout ---\n{stdout}",
            output.status
        )));
    }
    if !stdout.lines().any(|l| l.starts_with("doorstroom-domain ")) {
        return Err(Failure(format!(
            "`cargo tree` does not list doorstroom-domain itself, so its output proves nothing\n\
             --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        )));
    }

    // With `--prefix none` every line is `name vX.Y.Z [(path)] [(*)]`.
    let crates: BTreeSet<&str> = stdout.lines().filter_map(|l| l.split_whitespace().next()).collect();
    let found: Vec<&str> = FORBIDDEN.iter().copied().filter(|name| crates.contains(name)).collect();
    if !found.is_empty() {
        return Err(Failure(format!(
            "doorstroom-domain must not depend on {found:?}; find the path with \
             `cargo tree -p doorstroom-domain -e normal -i <crate>`\n--- cargo tree ---\n{stdout}"
        )));
    }
    Ok(())
}
