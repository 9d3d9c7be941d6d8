//! The layering of the workspace, checked against the real dependency
//! graph so that CI fails when a crate reaches into a layer it should not:
//!
//! - the README's crate table ("How it is built") is, for each crate, the
//!   workspace crates it may depend on; the table and `cargo metadata` must
//!   agree in both directions, so the table cannot go stale;
//! - the domain crate pulls in no web, database, TLS, JOSE or async crate,
//!   not even transitively (`cargo tree`, in the spirit of lemmy's
//!   `cargo tree -i` check);
//! - the wire-types crate (`doorstroom-api`) pulls in no web framework, HTTP
//!   client, async runtime or database;
//! - the client library links neither the broker (server, app) nor its
//!   storage;
//! - the intake desk (`doorstroom-desk`), which an mbo runs in its own
//!   network, links neither the broker (server, app), its storage, nor a
//!   database driver: it holds dossier plaintext and reaches the broker
//!   only over HTTPS, through the client;
//! - the OSO crate (`doorstroom-oso`), which the client, the CLI and the
//!   desk share, links no broker crate, no web, database or TLS crate:
//!   bytes in, values out;
//! - no code outside the server crate names the server's HTTP handlers
//!   (`doorstroom_server::handlers`): doors call use cases, not each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod checks;
use checks::{Failure, rust_files, workspace_root};

/// Crates the domain (vocabulary and policy, time passed in) must not pull
/// in, even transitively: HTTP, databases, TLS, OpenSSL, JOSE, an async
/// runtime, OpenAPI (its wire schemas are the api crate's).
const NOT_IN_THE_DOMAIN: &[&str] = &[
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
    "utoipa",
];

/// Crates the wire types must not pull in: no web framework, HTTP client,
/// async runtime, database or OpenSSL (every `actix-*` crate too, see
/// [`FORBIDDEN_PREFIX_IN_THE_API`]).
const NOT_IN_THE_API: &[&str] = &[
    "diesel",
    "libsqlite3-sys",
    "pq-sys",
    "reqwest",
    "hyper",
    "tokio",
    "openssl",
    "openssl-sys",
    "josekit",
];

/// No crate of the actix family in the wire types.
const FORBIDDEN_PREFIX_IN_THE_API: &str = "actix-";

/// Crates the client library that school systems embed must not carry,
/// even transitively: the broker (its server and use cases), its storage,
/// and the web and database crates they bring.
const NOT_IN_THE_CLIENT: &[&str] = &[
    "actix-web",
    "actix-http",
    "diesel",
    "doorstroom-server",
    "doorstroom-store",
    "doorstroom-app",
];

/// Files outside crates/server allowed to name `doorstroom_server::handlers`.
/// None: the module is private to the server, and this scan keeps guarding
/// the source (a re-export could otherwise open it again). The test fails
/// when a listed file no longer names the handlers.
const KNOWN_HANDLER_IMPORTS: &[&str] = &[];

/// What `cargo <args>` prints, run in the workspace root.
fn cargo(args: &[&str]) -> Result<String, Failure> {
    let cargo = env!("CARGO");
    let output = Command::new(cargo)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .map_err(|e| Failure(format!("could not run `{cargo} {}`: {e}", args.join(" "))))?;
    if !output.status.success() {
        return Err(Failure(format!(
            "`cargo {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    String::from_utf8(output.stdout).map_err(|e| Failure(format!("`cargo {}` output: {e}", args.join(" "))))
}

/// `cargo metadata` of the workspace (its own crates, with their declared
/// dependencies).
fn metadata() -> Result<Value, Failure> {
    let output = cargo(&["metadata", "--format-version", "1", "--no-deps", "--offline"])?;
    serde_json::from_str(&output).map_err(|e| Failure(format!("`cargo metadata` output: {e}")))
}

/// Every crate that `package` links through normal dependencies (not dev,
/// not build), itself included, as `cargo tree` resolves them.
fn linked_crates(package: &str) -> Result<BTreeSet<String>, Failure> {
    let tree = cargo(&["tree", "-p", package, "-e", "normal", "--prefix", "none", "--offline"])?;
    // With `--prefix none` every line is `name vX.Y.Z [(path)] [(*)]`.
    let crates: BTreeSet<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    if crates.contains(package) {
        Ok(crates)
    } else {
        Err(Failure(format!(
            "`cargo tree -p {package}` does not list {package} itself, so its output proves nothing:\n{tree}"
        )))
    }
}

/// Fails when `package` links a crate that `forbidden` names.
fn links_none_of(package: &str, forbidden: impl Fn(&str) -> bool, why: &str) -> Result<(), Failure> {
    let found: Vec<String> = linked_crates(package)?
        .into_iter()
        .filter(|name| forbidden(name))
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    Err(Failure(format!(
        "{package} must not link {found:?} ({why}); find the path with \
         `cargo tree -p {package} -e normal -i <crate>`"
    )))
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
fn the_domain_links_no_infrastructure_crate() -> Result<(), Failure> {
    let forbidden = |name: &str| NOT_IN_THE_DOMAIN.contains(&name);
    links_none_of(
        "doorstroom-domain",
        forbidden,
        "the domain is vocabulary and policy; HTTP, storage, TLS, JOSE and the runtime live in outer crates",
    )
}

#[test]
fn the_wire_types_link_no_web_framework_or_database() -> Result<(), Failure> {
    let forbidden = |name: &str| NOT_IN_THE_API.contains(&name) || name.starts_with(FORBIDDEN_PREFIX_IN_THE_API);
    links_none_of(
        "doorstroom-api",
        forbidden,
        "the wire types are shared with the client and must stay plain data with schemas",
    )
}

#[test]
fn the_client_links_neither_the_broker_nor_its_storage() -> Result<(), Failure> {
    links_none_of(
        "doorstroom-client",
        |name| NOT_IN_THE_CLIENT.contains(&name),
        "school systems embed the client; it talks to the broker over HTTPS only",
    )
}

/// What the intake desk must not link: the broker and any database. It
/// runs at the mbo with the mbo's private key; the broker's code has no
/// business there, and plaintext must not find a way into a store.
const NOT_IN_THE_DESK: &[&str] = &[
    "diesel",
    "libsqlite3-sys",
    "pq-sys",
    "doorstroom-server",
    "doorstroom-store",
    "doorstroom-app",
    "doorstroom-devkit",
];

#[test]
fn the_desk_links_neither_the_broker_nor_a_database() -> Result<(), Failure> {
    links_none_of(
        "doorstroom-desk",
        |name| NOT_IN_THE_DESK.contains(&name),
        "the desk runs at the mbo and talks to the broker over HTTPS only, through the client",
    )
}

/// What the OSO crate must not link: it reads and writes dossier files,
/// and is linked by the client and the desk, which must stay free of the
/// broker; it needs nothing of the network or storage either.
const NOT_IN_THE_OSO: &[&str] = &[
    "doorstroom-server",
    "doorstroom-store",
    "doorstroom-app",
    "doorstroom-api",
    "doorstroom-jose",
    "doorstroom-client",
    "doorstroom-devkit",
    "actix-web",
    "actix-http",
    "diesel",
    "libsqlite3-sys",
    "pq-sys",
    "reqwest",
    "rustls",
    "tokio",
    "openssl",
    "josekit",
];

#[test]
fn the_oso_crate_links_only_the_domain() -> Result<(), Failure> {
    links_none_of(
        "doorstroom-oso",
        |name| NOT_IN_THE_OSO.contains(&name),
        "the OSO crate maps dossier files to sections; it may use the domain's vocabulary and nothing of the broker",
    )
}

/// Whether Rust source names the server's handlers module: a path
/// `doorstroom_server::handlers` or a `use doorstroom_server::{.., handlers..}`
/// group. Comments do not count.
fn names_the_handlers(source: &str) -> bool {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace())
        .collect();
    if code.contains("doorstroom_server::handlers") {
        return true;
    }
    code.match_indices("doorstroom_server::{").any(|(at, _)| {
        let group = &code[at..];
        let group = &group[..group.find(';').unwrap_or(group.len())];
        group.contains("{handlers") || group.contains(",handlers")
    })
}

#[test]
fn nothing_outside_the_server_names_its_handlers() -> Result<(), Failure> {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["crates", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    // This file spells the import on purpose, in its self-check below.
    let this_file = root.join("tests/tests/layering.rs");
    let outside_the_server = |path: &&PathBuf| !path.starts_with(root.join("crates/server")) && **path != this_file;
    let naming: BTreeSet<String> = files
        .iter()
        .filter(outside_the_server)
        .filter(|path| names_the_handlers(&std::fs::read_to_string(path).unwrap_or_default()))
        .filter_map(|path| path.strip_prefix(root).ok())
        .map(|path| path.to_string_lossy().into_owned())
        .collect();
    let known: BTreeSet<String> = KNOWN_HANDLER_IMPORTS.iter().map(|f| (*f).to_owned()).collect();
    let mut problems: Vec<String> = naming
        .difference(&known)
        .map(|file| {
            format!(
                "{file} names doorstroom_server::handlers; call the use case (crates/app) or the wire type (crates/api)"
            )
        })
        .collect();
    problems.extend(
        known
            .difference(&naming)
            .map(|file| format!("{file} no longer names the handlers: remove it from KNOWN_HANDLER_IMPORTS")),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure(problems.join("\n")))
    }
}

#[test]
fn a_handlers_import_is_recognised_in_every_spelling() {
    assert!(names_the_handlers(
        "use doorstroom_server::handlers::staff::manage_access;"
    ));
    assert!(names_the_handlers(
        "let r = doorstroom_server :: handlers::register::render(x);"
    ));
    assert!(names_the_handlers(
        "use doorstroom_server::{\n    config::Settings,\n    handlers::staff,\n};"
    ));
    assert!(names_the_handlers("use doorstroom_server::{handlers, state};"));
    assert!(!names_the_handlers(
        "use doorstroom_server::{config::Settings, state};\nfn handlers() {}"
    ));
    assert!(!names_the_handlers("// see doorstroom_server::handlers::staff"));
    assert!(!names_the_handlers(
        "use doorstroom_server::{state}; use other::{x, handlers};"
    ));
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
