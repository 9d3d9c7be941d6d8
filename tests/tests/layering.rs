//! The crate table of the README ("How it is built") is the layering of the
//! workspace: for each crate, the workspace crates it may depend on. This
//! test reads that table and the real dependency graph (`cargo metadata`)
//! and fails when they differ in either direction, so the table cannot go
//! stale and no crate can quietly reach into a layer it should not.
//! (The domain crate's own test, `crates/domain/tests/layering.rs`, checks
//! that it pulls in no infrastructure crate even transitively.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Crates that only the web and database layers may link: a client library
/// that school systems embed must not carry the broker's server or storage.
const NOT_IN_THE_CLIENT: &[&str] = &[
    "actix-web",
    "actix-http",
    "diesel",
    "doorstroom-server",
    "doorstroom-store",
];

/// A test failure whose `Debug` (what the test harness prints for an `Err`)
/// is the plain text.
struct Failure(String);

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."))
}

/// `cargo metadata` of the workspace (its own crates, with their declared
/// dependencies).
fn metadata() -> Result<Value, Failure> {
    let cargo = env!("CARGO");
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| Failure(format!("could not run `{cargo} metadata`: {e}")))?;
    if !output.status.success() {
        return Err(Failure(format!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| Failure(format!("`cargo metadata` output: {e}")))
}

/// For every workspace package under `crates/`: its folder (`crates/x`) and
/// the names of its normal (not dev, not build) dependencies.
fn real_graph(metadata: &Value) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let root = workspace_root();
    let mut graph = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default().to_owned();
        let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        let folder = manifest
            .parent()
            .and_then(|dir| dir.strip_prefix(root).ok())
            .map(|dir| dir.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dependencies = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        graph.insert(name, (folder, dependencies));
    }
    graph
}

/// The README's crate table: for each `crates/x` row, the workspace crates
/// (short names) its third column allows. Text after a `;` is commentary.
fn documented_layers(readme: &str) -> BTreeMap<String, BTreeSet<String>> {
    readme
        .lines()
        .filter(|line| line.starts_with("| `crates/"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let folder = cells.get(1)?.trim_matches('`').to_owned();
            let allowed = cells.get(3)?.split(';').next()?;
            let names = allowed
                .split(',')
                .filter_map(|item| item.split_whitespace().next())
                .filter(|word| *word != "none")
                .map(str::to_owned)
                .collect();
            Some((folder, names))
        })
        .collect()
}

#[test]
fn every_crate_depends_on_exactly_the_layers_the_readme_allows() -> Result<(), Failure> {
    let readme =
        std::fs::read_to_string(workspace_root().join("README.md")).map_err(|e| Failure(format!("README.md: {e}")))?;
    let documented = documented_layers(&readme);
    let graph = real_graph(&metadata()?);
    let workspace: BTreeSet<&String> = graph.keys().collect();

    let mut problems = Vec::new();
    for (name, (folder, dependencies)) in &graph {
        if !folder.starts_with("crates/") {
            continue;
        }
        let Some(allowed) = documented.get(folder) else {
            problems.push(format!("{folder} ({name}) has no row in the README's crate table"));
            continue;
        };
        let real: BTreeSet<String> = dependencies
            .iter()
            .filter(|d| workspace.contains(d))
            .map(|d| d.trim_start_matches("doorstroom-").to_owned())
            .collect();
        for extra in real.difference(allowed) {
            problems.push(format!(
                "{folder} depends on {extra}, which the README does not allow it"
            ));
        }
        for missing in allowed.difference(&real) {
            problems.push(format!(
                "the README says {folder} may depend on {missing}, but it does not: correct the table"
            ));
        }
        if name != "doorstroom-cli" && dependencies.contains("doorstroom-cli") {
            problems.push(format!(
                "{folder} depends on the command line crate; share code through a library crate"
            ));
        }
        if name == "doorstroom-client" {
            for forbidden in NOT_IN_THE_CLIENT.iter().filter(|f| dependencies.contains(**f)) {
                problems.push(format!("the client library depends on {forbidden}"));
            }
        }
    }
    for folder in documented.keys() {
        if !graph.values().any(|(f, _)| f == folder) {
            problems.push(format!(
                "the README's crate table lists {folder}, which is not a workspace crate"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure(format!(
            "the layering of the workspace differs from the README's crate table:\n- {}",
            problems.join("\n- ")
        )))
    }
}

#[test]
fn the_readme_table_is_read_as_written() {
    let table = "| crate | its job | may depend on (workspace crates) |\n\
                 |---|---|---|\n\
                 | `crates/domain` | the vocabulary | none |\n\
                 | `crates/bench` | load | domain, store (`testing`), devkit |\n\
                 | `crates/cli` | binary | domain, client; nothing depends on it but `tests/` |\n";
    let layers = documented_layers(table);
    let names = |folder: &str| layers[folder].iter().cloned().collect::<Vec<_>>();
    assert_eq!(names("crates/domain"), Vec::<String>::new());
    assert_eq!(names("crates/bench"), ["devkit", "domain", "store"]);
    assert_eq!(names("crates/cli"), ["client", "domain"]);
    assert_eq!(layers.len(), 3);
}
