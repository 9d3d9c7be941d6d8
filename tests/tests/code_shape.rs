//! The measures of the README's "How it is built", checked on the source of
//! every crate (`crates/*/src/**/*.rs`, parsed with `syn`):
//!
//! - no function or method outside tests is longer than
//!   [`FUNCTION_LIMIT`] lines, from `fn` to its closing brace (doc comments
//!   and attributes not counted); `#[test]` functions and `#[cfg(test)]`
//!   modules are left out;
//! - no actix handler (a function with a `#[get]`, `#[post]`, `#[put]`,
//!   `#[delete]`, `#[patch]` or `#[route]` attribute) is longer than
//!   [`HANDLER_LIMIT`] lines: a door parses, calls the use case, renders;
//! - no file import circle: within a crate, the files that refer to each
//!   other through `crate::`, `super::` or `self::` paths (in `use` items
//!   and in code, a `pub use` re-export followed to the file that defines
//!   the name) form no cycle. A file referring to a module that contains it
//!   or that it contains is the module tree, not a circle.
//!
//! Every violation is printed with its file, line and length.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::{self, Visit};

mod checks;
use checks::{Failure, rust_files, workspace_root};

/// The longest a function outside tests may be, in lines.
const FUNCTION_LIMIT: usize = 80;

/// The longest an HTTP handler may be, in lines.
const HANDLER_LIMIT: usize = 40;

/// The actix-web route attributes that make a function a handler.
const HANDLER_ATTRIBUTES: &[&str] = &["get", "post", "put", "delete", "patch", "route"];

/// Functions allowed over their limit (file, function; a method is
/// `Type::method`). None: the use-case split of issue 13 removed the last.
/// An entry needs a reviewed reason beside it; the test fails when an entry
/// is no longer over its limit, so the list cannot go stale.
const KNOWN_OVER_LIMIT: &[(&str, &str)] = &[];

/// File import circles allowed (the files of each, in order). None; like
/// [`KNOWN_OVER_LIMIT`], an entry needs a reviewed reason and the test
/// fails when a listed circle is gone.
const KNOWN_CIRCLES: &[&[&str]] = &[];

/// One source file of a crate.
struct SourceFile {
    /// Relative to the workspace root, with `/`.
    path: String,
    /// The crate folder (`crates/x`).
    krate: String,
    /// Its module path in the crate (`[]` for lib.rs and main.rs).
    module: Vec<String>,
    syntax: syn::File,
}

/// The module path of `relative` (below a crate's `src/`): `a/b.rs` and
/// `a/b/mod.rs` are `a::b`; `lib.rs` and `main.rs` the crate root.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// Every `crates/*/src/**/*.rs`, parsed.
fn source_files() -> Result<Vec<SourceFile>, Failure> {
    let root = workspace_root();
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .map_err(|e| Failure(format!("crates/: {e}")))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("src").is_dir())
        .collect();
    crates.sort();
    let mut files = Vec::new();
    let mut unreadable = Vec::new();
    for krate in crates {
        let src = krate.join("src");
        let mut paths = Vec::new();
        rust_files(&src, &mut paths);
        for path in paths {
            let shown = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let parsed = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| syn::parse_file(&text).map_err(|e| e.to_string()));
            match parsed {
                Ok(syntax) => files.push(SourceFile {
                    path: shown,
                    krate: krate
                        .strip_prefix(root)
                        .unwrap_or(&krate)
                        .to_string_lossy()
                        .replace('\\', "/"),
                    module: module_path(path.strip_prefix(&src).unwrap_or(&path)),
                    syntax,
                }),
                Err(e) => unreadable.push(format!("{shown}: {e}")),
            }
        }
    }
    let files = without_test_files(files);
    if files.is_empty() || !unreadable.is_empty() {
        return Err(Failure(format!(
            "cannot check the code shape; {} files parsed, these not:\n{}",
            files.len(),
            unreadable.join("\n")
        )));
    }
    Ok(files)
}

/// The files that are test code as a whole (`#[cfg(test)] mod tests;`
/// declares them) left out.
fn without_test_files(files: Vec<SourceFile>) -> Vec<SourceFile> {
    let test_modules: Vec<(String, Vec<String>)> = files
        .iter()
        .flat_map(|file| {
            file.syntax.items.iter().filter_map(move |item| match item {
                syn::Item::Mod(module) if module.content.is_none() && is_test(&module.attrs) => {
                    let path = file.module.iter().cloned().chain([module.ident.to_string()]).collect();
                    Some((file.krate.clone(), path))
                }
                _ => None,
            })
        })
        .collect();
    files
        .into_iter()
        .filter(|file| {
            !test_modules
                .iter()
                .any(|(krate, module)| *krate == file.krate && file.module.starts_with(module))
        })
        .collect()
}

// --- lengths -------------------------------------------------------------------

/// A function with its length.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Function {
    file: String,
    /// `name`, or `Type::name` for a method.
    name: String,
    line: usize,
    lines: usize,
    handler: bool,
}

impl Function {
    fn limit(&self) -> usize {
        if self.handler { HANDLER_LIMIT } else { FUNCTION_LIMIT }
    }
    fn over_limit(&self) -> bool {
        self.lines > self.limit()
    }
}

fn last_segment_is(attr: &syn::Attribute, names: &[&str]) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| names.iter().any(|n| s.ident == n))
}

/// `#[test]` (also `#[tokio::test]`, `#[actix_web::test]`) or `#[cfg(test)]`.
fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        last_segment_is(attr, &["test"])
            || (attr.path().is_ident("cfg")
                && matches!(&attr.meta, syn::Meta::List(list) if list.tokens.to_string() == "test"))
    })
}

/// The name of the type an `impl` block is for (`Foo` of `impl<T> Tr for Foo<T>`).
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        syn::Type::Reference(reference) => type_name(&reference.elem),
        _ => "_".to_owned(),
    }
}

/// Collects the functions of one file.
struct Lengths<'a> {
    file: &'a str,
    impl_of: Vec<String>,
    found: Vec<Function>,
}

impl Lengths<'_> {
    fn record(&mut self, attrs: &[syn::Attribute], sig: &syn::Signature, block: &syn::Block) {
        let first = sig.fn_token.span.start().line;
        let last = block.brace_token.span.close().end().line;
        let name = match self.impl_of.last() {
            Some(ty) => format!("{ty}::{}", sig.ident),
            None => sig.ident.to_string(),
        };
        self.found.push(Function {
            file: self.file.to_owned(),
            name,
            line: first,
            lines: last + 1 - first,
            handler: attrs.iter().any(|a| last_segment_is(a, HANDLER_ATTRIBUTES)),
        });
    }
}

impl Lengths<'_> {
    /// A function outside tests: its length, then what it contains (a
    /// function defined inside another is one of its own, not a method).
    fn function(
        &mut self,
        attrs: &[syn::Attribute],
        sig: &syn::Signature,
        block: Option<&syn::Block>,
        inside: impl FnOnce(&mut Self),
    ) {
        if is_test(attrs) {
            return;
        }
        if let Some(block) = block {
            self.record(attrs, sig, block);
        }
        let impl_of = std::mem::take(&mut self.impl_of);
        inside(self);
        self.impl_of = impl_of;
    }
}

impl<'ast> Visit<'ast> for Lengths<'_> {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if !is_test(&item.attrs) {
            visit::visit_item_mod(self, item);
        }
    }
    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if is_test(&item.attrs) {
            return;
        }
        self.impl_of.push(type_name(&item.self_ty));
        visit::visit_item_impl(self, item);
        self.impl_of.pop();
    }
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.function(&item.attrs, &item.sig, Some(&item.block), |v| {
            visit::visit_item_fn(v, item)
        });
    }
    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.function(&item.attrs, &item.sig, Some(&item.block), |v| {
            visit::visit_impl_item_fn(v, item)
        });
    }
    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        if is_test(&item.attrs) {
            return;
        }
        self.impl_of.push(item.ident.to_string());
        visit::visit_item_trait(self, item);
        self.impl_of.pop();
    }
    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        self.function(&item.attrs, &item.sig, item.default.as_ref(), |v| {
            visit::visit_trait_item_fn(v, item)
        });
    }
}

fn functions(file: &SourceFile) -> Vec<Function> {
    let mut lengths = Lengths {
        file: &file.path,
        impl_of: Vec::new(),
        found: Vec::new(),
    };
    lengths.visit_file(&file.syntax);
    lengths.found
}

/// The over-limit functions against the allowlist: what is new, and what the
/// allowlist names that is no longer over its limit.
fn length_problems(found: &[Function], known: &[(&str, &str)]) -> Vec<String> {
    let over: Vec<&Function> = found.iter().filter(|f| f.over_limit()).collect();
    let listed = |f: &Function| known.iter().any(|(file, name)| f.file == *file && f.name == *name);
    let mut problems: Vec<String> = over
        .iter()
        .filter(|f| !listed(f))
        .map(|f| {
            let what = if f.handler { "handler" } else { "function" };
            format!(
                "{}:{}: {what} `{}` is {} lines long (at most {})",
                f.file,
                f.line,
                f.name,
                f.lines,
                f.limit()
            )
        })
        .collect();
    for (file, name) in known {
        if !over.iter().any(|f| f.file == *file && f.name == *name) {
            problems.push(format!(
                "{file}: `{name}` is no longer over its limit: remove it from KNOWN_OVER_LIMIT"
            ));
        }
    }
    problems
}

#[test]
fn no_function_or_handler_is_over_its_limit() -> Result<(), Failure> {
    let found: Vec<Function> = source_files()?.iter().flat_map(functions).collect();
    if !found.iter().any(|f| f.handler) {
        return Err(Failure("no handler found: the attribute check reads nothing".into()));
    }
    let problems = length_problems(&found, KNOWN_OVER_LIMIT);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure(format!(
            "functions over {FUNCTION_LIMIT} lines, handlers over {HANDLER_LIMIT}:\n{}",
            problems.join("\n")
        )))
    }
}

// --- import circles --------------------------------------------------------------

/// A path of more than one segment, written in one module of a file, on a
/// line (whether it leads into the crate is decided against the crate's
/// modules, [`Crate::resolve`]).
struct Reference {
    /// The inline module (`mod x { .. }`) it is written in, below the file's.
    inline: Vec<String>,
    segments: Vec<String>,
    line: usize,
}

/// The paths of one file and the names it re-exports (`pub use` at its top
/// level: name → path).
#[derive(Default)]
struct References {
    inline: Vec<String>,
    found: Vec<Reference>,
    exports: BTreeMap<String, Vec<String>>,
}

fn is_relative(first: &str) -> bool {
    matches!(first, "crate" | "super" | "self")
}

/// Every path a `use` tree names, with the name it binds (`None` for a glob).
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Option<String>)>) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            use_paths(&path.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(name) if name.ident == "self" => out.push((prefix.clone(), prefix.last().cloned())),
        syn::UseTree::Name(name) => {
            let mut path = prefix.clone();
            path.push(name.ident.to_string());
            out.push((path, Some(name.ident.to_string())));
        }
        syn::UseTree::Rename(rename) => {
            let mut path = prefix.clone();
            path.push(rename.ident.to_string());
            out.push((path, Some(rename.rename.to_string())));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), None)),
        syn::UseTree::Group(group) => {
            for item in &group.items {
                use_paths(item, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for References {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if is_test(&item.attrs) {
            return;
        }
        self.inline.push(item.ident.to_string());
        visit::visit_item_mod(self, item);
        self.inline.pop();
    }
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if !is_test(&item.attrs) {
            visit::visit_item_fn(self, item);
        }
    }
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        if is_test(&item.attrs) {
            return;
        }
        let mut paths = Vec::new();
        use_paths(&item.tree, &mut Vec::new(), &mut paths);
        let exported = !matches!(item.vis, syn::Visibility::Inherited) && self.inline.is_empty();
        for (segments, bound) in paths {
            if let (true, Some(name)) = (exported, &bound) {
                self.exports.insert(name.clone(), segments.clone());
            }
            self.found.push(Reference {
                inline: self.inline.clone(),
                segments,
                line: item.use_token.span.start().line,
            });
        }
    }
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if path.leading_colon.is_none() && segments.len() > 1 {
            self.found.push(Reference {
                inline: self.inline.clone(),
                segments,
                line: path.segments[0].ident.span().start().line,
            });
        }
        visit::visit_path(self, path);
    }
}

/// `segments` (starting at `crate`, `super` or `self`), written in module
/// `base`, as a path from the crate root.
fn absolute(base: &[String], segments: &[String]) -> Vec<String> {
    let mut path: Vec<String> = base.to_vec();
    let mut rest = segments;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            path.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        _ => {}
    }
    while rest.first().is_some_and(|s| s == "super") {
        path.pop();
        rest = &rest[1..];
    }
    path.extend(rest.iter().cloned());
    path
}

/// The files of one crate by module path, with their re-exports.
struct Crate<'a> {
    files: BTreeMap<Vec<String>, (&'a SourceFile, References)>,
}

impl Crate<'_> {
    /// `segments`, written in module `base`, as a path from the crate root
    /// when it leads into the crate: it starts at `crate`, `super` or
    /// `self`, or at a module of the crate declared in `base` (`mod x;`
    /// then `x::y`).
    fn resolve(&self, base: &[String], segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        if is_relative(first) {
            return Some(absolute(base, segments));
        }
        let child: Vec<String> = base.iter().chain([first]).cloned().collect();
        self.files
            .contains_key(&child)
            .then(|| base.iter().chain(segments).cloned().collect())
    }

    /// The file that defines what `path` (from the crate root) names: the
    /// deepest file module on the path, through its `pub use` re-exports.
    fn defining_file(&self, path: &[String]) -> Option<&Vec<String>> {
        let mut path = path.to_vec();
        for _ in 0..8 {
            let (module, _) = (0..=path.len())
                .rev()
                .find_map(|n| self.files.get_key_value(&path[..n]).map(|(m, _)| (m, n)))?;
            let rest = &path[module.len()..];
            let export = rest.first().and_then(|name| self.files[module].1.exports.get(name));
            match export.and_then(|target| self.resolve(module, target)) {
                Some(next) => {
                    if next == path {
                        return Some(module);
                    }
                    path = next.into_iter().chain(rest[1..].iter().cloned()).collect();
                }
                None => return Some(module),
            }
        }
        None
    }
}

fn contains(outer: &[String], inner: &[String]) -> bool {
    inner.starts_with(outer)
}

/// The edges between files of one crate neither of which contains the other:
/// (from, to) → the first line of `from` that refers to `to`.
fn edges<'a>(krate: &Crate<'a>) -> BTreeMap<(&'a str, &'a str), usize> {
    let mut edges = BTreeMap::new();
    for (module, (file, references)) in &krate.files {
        for reference in &references.found {
            let base: Vec<String> = module.iter().chain(&reference.inline).cloned().collect();
            let Some(target) = krate
                .resolve(&base, &reference.segments)
                .and_then(|path| krate.defining_file(&path))
            else {
                continue;
            };
            if contains(module, target) || contains(target, module) {
                continue;
            }
            let to = krate.files[target].0.path.as_str();
            let line = edges.entry((file.path.as_str(), to)).or_insert(reference.line);
            *line = (*line).min(reference.line);
        }
    }
    edges
}

/// The circles: the sets of files each of which reaches every other through
/// the edges, each sorted.
fn circles<'a>(edges: &BTreeMap<(&'a str, &'a str), usize>) -> Vec<Vec<&'a str>> {
    let nodes: BTreeSet<&str> = edges.keys().flat_map(|(a, b)| [*a, *b]).collect();
    let next = |node: &str| -> Vec<&'a str> { edges.keys().filter(|(a, _)| *a == node).map(|(_, b)| *b).collect() };
    // Reachability from every file is cheap at this size (a few hundred
    // files, few edges between siblings).
    let reach = |from: &'a str| -> BTreeSet<&'a str> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(node) = todo.pop() {
            for n in next(node) {
                if seen.insert(n) {
                    todo.push(n);
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&str, BTreeSet<&str>> = nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut found: BTreeSet<Vec<&str>> = BTreeSet::new();
    for node in &nodes {
        if !reaches[node].contains(node) {
            continue;
        }
        let circle: Vec<&str> = nodes
            .iter()
            .copied()
            .filter(|other| reaches[node].contains(other) && reaches[other].contains(node))
            .collect();
        found.insert(circle);
    }
    found.into_iter().collect()
}

fn crates(files: &[SourceFile]) -> BTreeMap<&str, Crate<'_>> {
    let mut crates: BTreeMap<&str, Crate<'_>> = BTreeMap::new();
    for file in files {
        let mut references = References::default();
        references.visit_file(&file.syntax);
        crates
            .entry(file.krate.as_str())
            .or_insert_with(|| Crate { files: BTreeMap::new() })
            .files
            .insert(file.module.clone(), (file, references));
    }
    crates
}

/// The circles against the allowlist, each new one with the lines that close it.
fn circle_problems(files: &[SourceFile], known: &[&[&str]]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: Vec<Vec<&str>> = Vec::new();
    for krate in crates(files).values() {
        let edges = edges(krate);
        for circle in circles(&edges) {
            if !known.contains(&circle.as_slice()) {
                let lines: Vec<String> = edges
                    .iter()
                    .filter(|((a, b), _)| circle.contains(a) && circle.contains(b))
                    .map(|((a, b), line)| format!("  {a}:{line} refers to {b}"))
                    .collect();
                problems.push(format!(
                    "file import circle {}:\n{}",
                    circle.join(" ↔ "),
                    lines.join("\n")
                ));
            }
            seen.push(circle);
        }
    }
    for circle in known {
        if !seen.iter().any(|s| s.as_slice() == *circle) {
            problems.push(format!(
                "the circle {} is gone: remove it from KNOWN_CIRCLES",
                circle.join(" ↔ ")
            ));
        }
    }
    problems
}

#[test]
fn no_file_import_circle() -> Result<(), Failure> {
    let problems = circle_problems(&source_files()?, KNOWN_CIRCLES);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure(problems.join("\n")))
    }
}

// --- the checks check ----------------------------------------------------------------

// A module of its own, so that its helpers are test code (they may panic).
#[cfg(test)]
mod self_checks {
    use super::*;

    fn parsed(path: &str, krate: &str, text: &str) -> SourceFile {
        let relative = path.strip_prefix(&format!("{krate}/src/")).unwrap_or(path);
        SourceFile {
            path: path.to_owned(),
            krate: krate.to_owned(),
            module: module_path(Path::new(relative)),
            syntax: syn::parse_file(text).unwrap_or_else(|e| panic!("{path}: {e}")),
        }
    }

    fn body(lines: usize) -> String {
        "    let x = 1;\n".repeat(lines)
    }

    #[test]
    fn lengths_are_counted_from_fn_to_the_closing_brace() {
        let text = format!(
            "/// doc\n#[inline]\nfn short() {{\n{}}}\n\
             impl Thing {{\n    fn long(&self) {{\n{}    }}\n}}\n\
             #[get(\"/x\")]\nasync fn door() {{\n{}}}\n\
             #[cfg(test)]\nmod tests {{\n    fn helper() {{\n{}    }}\n}}\n\
             #[test]\nfn a_test() {{\n{}}}\n",
            body(78),
            body(79),
            body(39),
            body(200),
            body(200)
        );
        let found = functions(&parsed("crates/x/src/lib.rs", "crates/x", &text));
        let summary: Vec<(String, usize, usize, bool)> = found
            .iter()
            .map(|f| (f.name.clone(), f.line, f.lines, f.over_limit()))
            .collect();
        assert_eq!(
            summary,
            [
                ("short".to_owned(), 3, 80, false),
                ("Thing::long".to_owned(), 84, 81, true),
                ("door".to_owned(), 167, 41, true),
            ]
        );
        assert!(found[2].handler);
        let problems = length_problems(
            &found,
            &[("crates/x/src/lib.rs", "Thing::long"), ("crates/x/src/lib.rs", "short")],
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("crates/x/src/lib.rs:167: handler `door` is 41 lines long"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("`short` is no longer over its limit"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_circle_is_found_through_re_exports_and_the_module_tree_is_not_one() {
        let files = [
            parsed(
                "crates/x/src/lib.rs",
                "crates/x",
                "mod a; mod b; pub use b::Thing; fn f() { a::g(); }",
            ),
            parsed("crates/x/src/a.rs", "crates/x", "use crate::Thing; pub fn g() {}"),
            parsed(
                "crates/x/src/b.rs",
                "crates/x",
                "pub struct Thing;\nfn h() { super::a::g(); }",
            ),
            parsed(
                "crates/x/src/c/mod.rs",
                "crates/x",
                "mod d; pub use d::D; use super::b::Thing;",
            ),
            parsed(
                "crates/x/src/c/d.rs",
                "crates/x",
                "use super::super::b::Thing; pub struct D; use crate::c::*;",
            ),
        ];
        let problems = circle_problems(&files, &[]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("file import circle crates/x/src/a.rs ↔ crates/x/src/b.rs:"),
            "{problems:?}"
        );
        assert!(
            problems[0].contains("crates/x/src/b.rs:2 refers to crates/x/src/a.rs"),
            "{problems:?}"
        );
        let known: &[&[&str]] = &[
            &["crates/x/src/a.rs", "crates/x/src/b.rs"],
            &["crates/x/src/c/d.rs", "crates/x/src/b.rs"],
        ];
        let problems = circle_problems(&files, known);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("is gone: remove it"), "{problems:?}");
    }
}
