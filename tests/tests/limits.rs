//! GraphQL limits: depth, complexity, aliases, batches, body size, and malformed requests all
//! come back as GraphQL errors with a code.

use govflow_tests::{TestApp, error_code, error_message};
use serde_json::{Value, json};

async fn post(app: &TestApp, body: String) -> (u16, Value) {
    let response = app.post(body, Some(&app.admin.token)).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn query(text: &str) -> String {
    json!({ "query": text }).to_string()
}

#[tokio::test]
async fn over_deep_queries_are_refused() {
    let app = TestApp::spawn_with(|raw| raw.limits.max_depth = 4).await;
    let (status, body) = post(
        &app,
        query("{ forums { edges { node { groups { edges { node { name } } } } } } }"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
}

#[tokio::test]
async fn over_complex_queries_are_refused() {
    let app = TestApp::spawn_with(|raw| raw.limits.max_complexity = 5).await;
    let (status, body) = post(
        &app,
        query("{ me { id email name isAdmin createdAt memberships { nodes { id role } } } }"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
}

#[tokio::test]
async fn alias_floods_are_refused() {
    let app = TestApp::spawn().await;
    let flood: Vec<String> = (0..31)
        .map(|index| format!("a{index}: me {{ id }}"))
        .collect();
    let (status, body) = post(&app, query(&format!("{{ {} }}", flood.join(" ")))).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");

    let within: Vec<String> = (0..30)
        .map(|index| format!("a{index}: me {{ id }}"))
        .collect();
    let (status, body) = post(&app, query(&format!("{{ {} }}", within.join(" ")))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn batches_are_refused() {
    let app = TestApp::spawn().await;
    let batch = json!([{ "query": "{ me { id } }" }, { "query": "{ me { id } }" }]).to_string();
    let (status, body) = post(&app, batch).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "BAD_REQUEST", "{body}");
    assert!(error_message(&body).contains("batched"), "{body}");
    let (status, body) = post(&app, " \n [] ".into()).await;
    assert_eq!(status, 400);
    assert!(error_message(&body).contains("batched"), "{body}");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn_with(|raw| raw.limits.max_body_bytes = 2048).await;
    let padding = "x".repeat(4096);
    let (status, body) = post(&app, query(&format!("{{ me {{ id }} }} # {padding}"))).await;
    assert_eq!(status, 413);
    assert_eq!(error_code(&body), "BAD_REQUEST", "{body}");
}

#[tokio::test]
async fn malformed_requests_are_bad_requests() {
    let app = TestApp::spawn().await;
    let (status, body) = post(&app, "{ not json".into()).await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"), "{body}");
    assert!(error_message(&body).contains("not JSON"), "{body}");
    let (status, body) = post(&app, r#"{ "query": 5 }"#.into()).await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"), "{body}");
    assert!(
        error_message(&body).contains("not a GraphQL request"),
        "{body}"
    );
    let (status, body) = post(&app, query("{ me { id ")).await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"), "{body}");
    let (status, body) = post(&app, query("{ me { noSuchField } }")).await;
    assert_eq!((status, error_code(&body)), (400, "BAD_REQUEST"), "{body}");
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let app = TestApp::spawn_with(|raw| raw.introspection = false).await;
    let (_, body) = post(&app, query("{ __schema { queryType { name } } }")).await;
    assert!(body["data"]["__schema"].is_null(), "{body}");
    let app = TestApp::spawn().await;
    let (_, body) = post(&app, query("{ __schema { queryType { name } } }")).await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_time_limit_time_out_and_write_nothing() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn_with(|raw| raw.limits.request_timeout_seconds = 1).await;
    let (forum, _) = app.forum("Digital Nations").await;

    // Another writer holds the lock the mutation needs for longer than the limit.
    let other = govflow_engine::db::connect(&app.database.url)
        .await
        .unwrap();
    let holder = govflow_engine::db::begin_write(&other).await.unwrap();
    if app.database.is_postgres() {
        holder
            .execute_unprepared("LOCK TABLE member_state IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
    }
    let response = app
        .gql(
            "mutation($f: ID!) { createMemberState(input: { forumId: $f, name: \"Slow\", code: \"SLW\" }) { id } }",
            json!({ "f": forum }),
            Some(&app.admin),
        )
        .await;
    assert_eq!(error_code(&response), "TIMEOUT", "{response}");
    holder.rollback().await.unwrap();

    let data = app
        .ok(
            "query($f: ID!) { forum(id: $f) { memberStates(first: 100) { nodes { code } } } }",
            json!({ "f": forum }),
            &app.admin,
        )
        .await;
    let codes: Vec<&str> = data["forum"]["memberStates"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|state| state["code"].as_str().unwrap())
        .collect();
    assert!(!codes.contains(&"SLW"), "{codes:?}");
}
