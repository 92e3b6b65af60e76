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
            "{ forums { totalCount edges { node { name memberStates { totalCount } groups { edges { node { id name state leadMemberState { code } } } } } } } }",
            json!({}),
            &app.admin,
        )
        .await;
    assert_eq!(data["forums"]["totalCount"], 1);
    let forum = &data["forums"]["edges"][0]["node"];
    assert_eq!(forum["name"], "Digital Nations");
    assert_eq!(forum["memberStates"]["totalCount"], 6);
    // Groups come by name: Data Governance waits on the next summit's agenda, Digital Governance
    // was approved by the 9th.
    let waiting = &forum["groups"]["edges"][0]["node"];
    assert_eq!(waiting["name"], "Data Governance");
    assert_eq!(waiting["state"], "on_agenda");
    let group = &forum["groups"]["edges"][1]["node"];
    assert_eq!(group["name"], "Digital Governance");
    assert_eq!(group["state"], "active");
    assert_eq!(group["leadMemberState"]["code"], "KOR");
    let data = app
        .ok(
            "query($id: ID!) { group(id: $id) { mandateProvenance { outcome meeting { number } } } meetings(first: 5) { edges { node { number state agenda { status subject { id state } } } } } }",
            json!({ "id": group["id"] }),
            &app.admin,
        )
        .await;
    let provenance = &data["group"]["mandateProvenance"];
    assert_eq!(provenance[0]["outcome"], "passed");
    assert_eq!(provenance[0]["meeting"]["number"], 9);
    let meetings = &data["meetings"]["edges"];
    assert_eq!(meetings[0]["node"]["number"], 9);
    assert_eq!(meetings[0]["node"]["state"], "held");
    assert_eq!(meetings[1]["node"]["number"], 10);
    assert_eq!(meetings[1]["node"]["state"], "planned");
    assert_eq!(meetings[1]["node"]["agenda"][0]["status"], "pending");
    assert_eq!(
        meetings[1]["node"]["agenda"][0]["subject"]["state"],
        "on_agenda"
    );
    // Its work plan has an open, a claimed and an accepted task, and its annual report falls due
    // 30 days before the next summit.
    let data = app
        .ok(
            "query($id: ID!) { workPlan(groupId: $id) { title tasks(first: 5) { nodes { state claimant { name } } } } deadlines(groupId: $id) { nodes { title ruleKind occurrences(first: 2) { nodes { state } } } } }",
            json!({ "id": group["id"] }),
            &app.admin,
        )
        .await;
    let states: Vec<&str> = data["workPlan"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|topic| topic["tasks"]["nodes"].as_array().unwrap())
        .map(|task| task["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["open", "claimed", "accepted"]);
    // The group's deadlines include the lease of the claimed task.
    let deadline = data["deadlines"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|deadline| deadline["ruleKind"] == "before_event")
        .unwrap();
    assert_eq!(deadline["title"], "Annual report");
    assert_eq!(deadline["occurrences"]["nodes"][0]["state"], "scheduled");
    // Its first annual report is published: the accepted task is among its outcomes, under its
    // topic, and the implications are the chair's own words; its document holds it, adopted.
    let data = app
        .ok(
            "query($id: ID!) { annualReports(groupId: $id, first: 5) { nodes { state draft submittedVersion document { currentVersion { number status text } } } } }",
            json!({ "id": group["id"] }),
            &app.admin,
        )
        .await;
    let report = &data["annualReports"]["nodes"][0];
    assert_eq!(report["state"], "published");
    let draft = report["draft"].as_str().unwrap();
    assert!(
        draft.contains("### Public services online\n\n- **Case study: Hometax"),
        "{draft}"
    );
    assert!(draft.contains("Member states can reuse the Hometax case study"));
    let current = &report["document"]["currentVersion"];
    assert_eq!(current["number"], report["submittedVersion"]);
    assert_eq!(current["status"], "adopted");
    assert_eq!(current["text"].as_str(), Some(draft));
    // The trends of its first year count what the demo did: three tasks opened, one accepted
    // (claimed and accepted at once), the report published on time.
    let data = app
        .ok(
            "query($id: ID!) { groupTrends(groupId: $id, fromYear: 2026, toYear: 2026) { year tasksOpened tasksAccepted tasksCancelled medianDaysClaimToAcceptance reportsPublished reportsPublishedOnTime } }",
            json!({ "id": group["id"] }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["groupTrends"],
        json!([{
            "year": 2026, "tasksOpened": 3, "tasksAccepted": 1, "tasksCancelled": 0,
            "medianDaysClaimToAcceptance": 0.0, "reportsPublished": 1, "reportsPublishedOnTime": 1
        }])
    );
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

/// The GraphQL specification orders a response's fields as the query asked for them; a client
/// reading the raw text (or a person reading GraphiQL) sees them in that order.
#[tokio::test]
async fn response_fields_come_back_in_the_order_of_the_query() {
    let app = TestApp::spawn().await;
    for (query, order) in [
        (
            "{ me { name email isAdmin id } }",
            ["\"name\"", "\"email\"", "\"isAdmin\"", "\"id\""],
        ),
        (
            "{ me { id isAdmin email name } }",
            ["\"id\"", "\"isAdmin\"", "\"email\"", "\"name\""],
        ),
    ] {
        assert_key_order(&app, query, &order).await;
    }
}

/// Fields that each wait for the database finish in any order (async-graphql 7 resolves them
/// concurrently and keeps them as they finish); the server puts them back in the query's order,
/// through fragments and inside lists too.
#[tokio::test]
async fn concurrently_resolved_fields_come_back_in_the_order_of_the_query() {
    let app = TestApp::spawn().await;
    for _ in 0..20 {
        assert_key_order(
            &app,
            "{ zulu: me { id } alpha: me { id } ...F mike: me { id } } fragment F on Query { yankee: me { name id } }",
            &["\"zulu\"", "\"alpha\"", "\"yankee\"", "\"name\"", "\"mike\""],
        )
        .await;
    }
}

/// Runs `query` as the administrator and checks that `keys` appear in the raw body in this order.
async fn assert_key_order(app: &TestApp, query: &str, keys: &[&str]) {
    let body = json!({ "query": query }).to_string();
    let text = app
        .post(body, Some(&app.admin.token))
        .await
        .text()
        .await
        .unwrap();
    let positions: Vec<usize> = keys
        .iter()
        .map(|key| {
            text.find(key)
                .unwrap_or_else(|| panic!("{key} missing from {text}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{query}: expected the order {keys:?} in {text}"
    );
}
