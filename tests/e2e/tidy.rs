//! Architecture invariants, checked by reading the crates' `Cargo.toml` files.

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
            "icecone-gateway" => {}
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

#[test]
fn sea_orm_entities_never_appear_in_the_graphql_schema() {
    // Store types are named after tables; a GraphQL type deriving from an entity would be
    // called `Model` or carry the entity's name with `Model`/`ActiveModel`.
    let sdl = icecone_gateway::graphql::sdl();
    for forbidden in ["type Model", "ActiveModel", "type DataSubjects"] {
        assert!(
            !sdl.contains(forbidden),
            "the schema exposes a database entity: {forbidden}"
        );
    }
}
