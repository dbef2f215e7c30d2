use std::path::PathBuf;

use crate::support::app::TestApp;

fn committed_schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema.graphql")
}

#[test]
fn the_committed_schema_matches_the_code() {
    let committed = std::fs::read_to_string(committed_schema_path()).unwrap_or_default();
    let generated = icecone_gateway::graphql::sdl();
    assert!(
        committed == generated,
        "schema.graphql at the repository root is out of date with the code.\n\
         Regenerate it with: cargo run -q -p icecone-gateway -- schema > schema.graphql\n\
         and review the diff: partners integrate against this file."
    );
}

#[test]
fn the_sdl_is_stable_across_builds() {
    assert_eq!(
        icecone_gateway::graphql::sdl(),
        icecone_gateway::graphql::sdl()
    );
}

#[tokio::test]
async fn the_schema_is_served_to_partners_as_committed() {
    let app = TestApp::spawn().await;
    let answer = app.get("/schema.graphql").await;
    assert_eq!(answer.status, 200);
    assert!(answer.content_type.starts_with("text/plain"));
    assert_eq!(answer.text, icecone_gateway::graphql::sdl());
}
