use crate::support::app::TestApp;

#[tokio::test]
async fn healthz_answers_while_the_process_is_up() {
    let app = TestApp::spawn().await;
    let answer = app.get("/healthz").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["status"], "ok");
}

#[tokio::test]
async fn readyz_checks_that_the_database_is_reachable_and_migrated() {
    let app = TestApp::spawn().await;
    let answer = app.get("/readyz").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["status"], "ready");

    // A database whose schema falls behind the code is not ready.
    app.db.store().migrate_down_all().await.expect("roll back");
    let answer = app.get("/readyz").await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.json()["status"], "unavailable");
    assert!(
        !answer.text.contains("seaql"),
        "no internals in the answer: {}",
        answer.text
    );
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/nope").await.status, 404);
}
