//! Architecture invariants, checked by reading the crates' `Cargo.toml` files and sources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every crate of the workspace with the names of its normal (non-dev) dependencies.
fn crates() -> Vec<(String, Vec<String>)> {
    let mut crates = Vec::new();
    for entry in std::fs::read_dir(workspace_root().join("crates")).expect("crates/") {
        let manifest_path = entry.expect("entry").path().join("Cargo.toml");
        let manifest: toml::Table = std::fs::read_to_string(&manifest_path)
            .expect("Cargo.toml")
            .parse()
            .expect("valid TOML");
        let name = manifest["package"]["name"]
            .as_str()
            .expect("name")
            .to_owned();
        let dependencies = manifest
            .get("dependencies")
            .and_then(|d| d.as_table())
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default();
        crates.push((name, dependencies));
    }
    crates.sort();
    crates
}

const WEB: &[&str] = &[
    "actix-web",
    "actix",
    "actix-ws",
    "async-graphql",
    "async-graphql-actix-web",
    "hyper",
    "axum",
];
const DATABASE: &[&str] = &[
    "sea-orm",
    "sea-orm-migration",
    "sqlx",
    "rusqlite",
    "tokio-postgres",
];
const HTTP_CLIENT: &[&str] = &["reqwest", "hyper", "ureq"];

fn check(crate_name: &str, dependencies: &[String], forbidden: &[&str], why: &str) {
    for dependency in dependencies {
        assert!(
            !forbidden.contains(&dependency.as_str()),
            "{crate_name} depends on {dependency}: {why}"
        );
    }
}

#[test]
fn the_crates_keep_their_dependency_rules() {
    let crates = crates();
    assert!(crates.iter().any(|(name, _)| name == "icecone-core"));
    for (name, dependencies) in &crates {
        match name.as_str() {
            "icecone-core" => {
                check(name, dependencies, WEB, "core does no IO");
                check(name, dependencies, DATABASE, "core does no IO");
                check(name, dependencies, HTTP_CLIENT, "core does no IO");
                check(name, dependencies, &["tokio"], "core does no IO");
            }
            "icecone-store" => {
                check(
                    name,
                    dependencies,
                    WEB,
                    "only the gateway knows GraphQL and HTTP",
                );
                check(
                    name,
                    dependencies,
                    HTTP_CLIENT,
                    "the store talks to the database only",
                );
            }
            "icecone-app" => {
                check(
                    name,
                    dependencies,
                    WEB,
                    "the application is reached through the gateway, never serves HTTP itself",
                );
                check(
                    name,
                    dependencies,
                    &["icecone-gateway"],
                    "the gateway depends on the application, not the other way",
                );
            }
            "icecone-gateway" => {}
            "icecone-soak" => {
                for dependency in dependencies {
                    assert!(
                        !dependency.starts_with("icecone-") || dependency == "icecone-core",
                        "{name} depends on {dependency}: the harness reaches the gateways over \
                         HTTP and the database by SQL, as clients and operators do; of our \
                         crates only core (TOTP codes, the policy version)"
                    );
                }
            }
            "icecone-spec-check" => {
                for dependency in dependencies {
                    assert!(
                        !dependency.starts_with("icecone-"),
                        "{name} depends on {dependency}: the spec checks know the providers' \
                         documents, none of our crates"
                    );
                }
            }
            "icecone-billing-stripe" => {
                check(
                    name,
                    dependencies,
                    WEB,
                    "the billing adapter knows Stripe's wire format, not ours",
                );
                check(
                    name,
                    dependencies,
                    DATABASE,
                    "the billing adapter stores nothing",
                );
                for dependency in dependencies {
                    assert!(
                        !dependency.starts_with("icecone-") || dependency == "icecone-core",
                        "{name} depends on {dependency}: the billing adapter depends on core only"
                    );
                }
            }
            provider if provider.starts_with("icecone-provider-") => {
                check(
                    name,
                    dependencies,
                    WEB,
                    "adapters know their provider's wire format, not ours",
                );
                check(
                    name,
                    dependencies,
                    DATABASE,
                    "adapters do not store anything",
                );
                for dependency in dependencies {
                    let shared = dependency == "icecone-core"
                        || (dependency == "icecone-provider-http"
                            && name != "icecone-provider-http");
                    assert!(
                        !dependency.starts_with("icecone-") || shared,
                        "{name} depends on {dependency}: adapters depend on core and the \
                         shared HTTP helpers only"
                    );
                }
            }
            other => panic!("{other}: a crate the tidy rules do not know; add its rules here"),
        }
        if name != "icecone-gateway" {
            check(
                name,
                dependencies,
                &["async-graphql"],
                "only the gateway knows GraphQL",
            );
        }
        check(
            name,
            dependencies,
            &["icecone-spec-check"],
            "the providers' API documents are test support: a dev-dependency only",
        );
    }
}

#[test]
fn crate_folders_are_named_after_their_packages() {
    for entry in std::fs::read_dir(workspace_root().join("crates")).expect("crates/") {
        let path = entry.expect("entry").path();
        let manifest: toml::Table = std::fs::read_to_string(path.join("Cargo.toml"))
            .expect("Cargo.toml")
            .parse()
            .expect("TOML");
        let folder = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert_eq!(manifest["package"]["name"].as_str(), Some(folder.as_str()));
    }
}

/// The top-level modules of the crate whose sources are in `src`, each with the other
/// top-level modules its code names (`crate::x` or `crate::{x, ...}`); comments are left
/// out, so a doc link is not a dependency.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(src).expect("src/") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        if name == "lib"
            || name == "main"
            || (path.is_file() && path.extension().is_none_or(|e| e != "rs"))
        {
            continue;
        }
        modules.insert(name, path);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .into_iter()
        .map(|(name, path)| {
            let mut named = BTreeSet::new();
            for file in rust_files(&path) {
                let text = std::fs::read_to_string(&file).expect("a source file");
                for line in text.lines() {
                    let code = line.split("//").next().unwrap_or("");
                    for target in crate_paths(code) {
                        if target != name && names.contains(&target) {
                            named.insert(target);
                        }
                    }
                }
            }
            (name, named)
        })
        .collect()
}

/// `path` itself when it is a file, else every `.rs` file below it.
fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).expect("a module folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The first segments of the `crate::` paths in a line of code.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The items of the group at its own level: `{a::{B, C}, d}` names a and d.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        found.push(segment(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(segment(rest));
        }
    }
    found
}

fn segment(path: &str) -> String {
    path.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// A cycle in `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_cycle_finder_finds_cycles_and_only_cycles() {
    let graph = |edges: &[(&str, &str)]| {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            graph
                .entry((*from).to_owned())
                .or_default()
                .insert((*to).to_owned());
            graph.entry((*to).to_owned()).or_default();
        }
        graph
    };
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])),
        None
    );
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec![
            "a".to_owned(),
            "b".to_owned(),
            "c".to_owned(),
            "a".to_owned()
        ])
    );
    assert_eq!(
        crate_paths("use crate::{http::{A, B}, keys::Vault}; let x = crate::audit::record;"),
        vec!["http", "keys", "audit"]
    );
    assert!(crate_paths("// crate::x").iter().all(|s| s == "x"));
}

#[test]
fn no_crate_has_an_import_cycle_between_its_top_level_modules() {
    for entry in std::fs::read_dir(workspace_root().join("crates")).expect("crates/") {
        let src = entry.expect("entry").path().join("src");
        let graph = module_graph(&src);
        if let Some(cycle) = find_cycle(&graph) {
            panic!(
                "{}: the top-level modules import each other in a circle: {}",
                src.display(),
                cycle.join(" -> ")
            );
        }
    }
}
