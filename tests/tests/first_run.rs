//! The first minutes of a new user: health, GraphiQL, the demo, and the committed schema.

use govflow_tests::{TestApp, error_code};
use serde_json::json;

#[tokio::test]
async fn health_checks_the_database() {
    let app = TestApp::spawn().await;
    let response = reqwest::get(format!("{}/health", app.address))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn graphiql_is_served_on_get() {
    let app = TestApp::spawn().await;
    let response = reqwest::get(format!("{}/graphql", app.address))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("graphiql"), "GraphiQL page expected");
}

#[tokio::test]
async fn anonymous_callers_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let response = app.gql("{ me { email } }", json!({}), None).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
}

#[tokio::test]
async fn demo_data_loads_once_and_is_served() {
    let app = TestApp::spawn().await;
    govflow_engine::demo::load(&app.engine).await.unwrap();
    govflow_engine::demo::load(&app.engine).await.unwrap();
    let data = app
        .ok(
            "{ forums { totalCount edges { node { name memberStates { code } groups { edges { node { name state leadMemberState { code } } } } } } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(data["forums"]["totalCount"], 1);
    let forum = &data["forums"]["edges"][0]["node"];
    assert_eq!(forum["name"], "Digital Nations");
    assert_eq!(forum["memberStates"].as_array().unwrap().len(), 6);
    let group = &forum["groups"]["edges"][0]["node"];
    assert_eq!(group["name"], "Digital Governance");
    assert_eq!(group["state"], "active");
    assert_eq!(group["leadMemberState"]["code"], "KOR");
}

#[test]
fn committed_schema_matches_the_code() {
    let committed = include_str!("../../api/schema.graphql");
    let current = govflow_api::graphql::sdl();
    assert!(
        committed == current,
        "api/schema.graphql is out of date: run `cargo run -p govflow-api -- schema > api/schema.graphql`"
    );
}
