//! Two people acting on one thing at once never both win, on SQLite and PostgreSQL alike; and
//! many concurrent writers on SQLite never see `database is locked`.

use futures::future::join_all;
use govflow_tests::{TestApp, error_code};
use serde_json::{Value, json};

const CONCLUDE: &str = "mutation($id: ID!, $v: Int) { transition(subjectId: $id, name: \"conclude\", reason: \"done\", expectedVersion: $v) { state } }";

async fn race(app: &TestApp, group: &str, expected_version: Option<i32>) -> Vec<Value> {
    let attempts = (0..20).map(|_| {
        app.gql(
            CONCLUDE,
            json!({ "id": group, "v": expected_version }),
            Some(&app.admin),
        )
    });
    join_all(attempts).await
}

fn tally(responses: &[Value]) -> (usize, Vec<String>) {
    let winners = responses
        .iter()
        .filter(|response| response.get("errors").is_none())
        .count();
    let codes = responses
        .iter()
        .filter(|response| response.get("errors").is_some())
        .map(|response| error_code(response).to_owned())
        .collect();
    (winners, codes)
}

async fn history_count(app: &TestApp, group: &str, transition: &str) -> usize {
    let data = app
        .ok(
            "query($id: ID!) { group(id: $id) { history(first: 100) { edges { node { transition } } } } }",
            json!({ "id": group }),
            &app.admin,
        )
        .await;
    data["group"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|edge| edge["node"]["transition"] == transition)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_transitions_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;

    let (winners, codes) = tally(&race(&app, &group, None).await);
    assert_eq!(winners, 1, "exactly one winner; refusals: {codes:?}");
    assert!(
        codes
            .iter()
            .all(|code| code == "INVALID_TRANSITION" || code == "STALE_STATE"),
        "losers are told why: {codes:?}"
    );
    assert_eq!(history_count(&app, &group, "conclude").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_an_expected_version_the_losers_get_stale_state() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;

    let (winners, codes) = tally(&race(&app, &group, Some(1)).await);
    assert_eq!(winners, 1, "exactly one winner; refusals: {codes:?}");
    assert_eq!(codes.len(), 19);
    assert!(codes.iter().all(|code| code == "STALE_STATE"), "{codes:?}");
    assert_eq!(history_count(&app, &group, "conclude").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_writers_all_succeed() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let writes = (0..16).map(|index| {
        let forum = forum.clone();
        let app = &app;
        async move {
            app.gql(
                "mutation($input: CreateMemberStateInput!) { createMemberState(input: $input) { id } }",
                json!({ "input": { "forumId": forum, "name": format!("State {index}"), "code": format!("S{index:02}") } }),
                Some(&app.admin),
            )
            .await
        }
    });
    let responses = join_all(writes).await;
    for response in &responses {
        assert!(response.get("errors").is_none(), "{response}");
    }
    let data = app
        .ok(
            "query($id: ID!) { forum(id: $id) { memberStates(first: 100) { totalCount nodes { code } } } }",
            json!({ "id": forum }),
            &app.admin,
        )
        .await;
    assert_eq!(data["forum"]["memberStates"]["totalCount"], 18);
    assert_eq!(
        data["forum"]["memberStates"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        18
    );
}
