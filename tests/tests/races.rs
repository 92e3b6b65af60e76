//! Races the database settles, not the engine's own checks: two terms of reference for one group
//! (a unique index), and a comment arriving while an adoption commits (the amendment's row lock).
//! Both hold on SQLite and PostgreSQL; PostgreSQL is where the engine's checks alone let them by.

use crate::documents::{Story, WORK_PLAN_V2};
use chrono::Duration;
use futures::future::join_all;
use govflow_engine::entities::document;
use govflow_engine::workflow::{TransitionRequest, take_transition};
use govflow_engine::{Acting, Actor, Clock};
use govflow_tests::{TestApp, error_code, error_message};
use sea_orm::{DatabaseTransaction, EntityTrait, IntoActiveModel};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

const CREATE_DOCUMENT: &str =
    "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { id } }";

/// Asserts that `request` is still waiting for the open transaction `txn` 300 ms after it was
/// sent (else fails saying `waiting`), then commits `txn` and returns the request's response.
async fn answer_after_commit(
    request: JoinHandle<Value>,
    txn: DatabaseTransaction,
    waiting: &str,
) -> Value {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!request.is_finished(), "{waiting}");
    txn.commit().await.unwrap();
    request.await.unwrap()
}

/// Asserts that `response` refuses a terms of reference because the group "Digital Governance"
/// already has one.
fn assert_refused_as_second_terms_of_reference(response: &Value) {
    assert_eq!(error_code(response), "CONFLICT", "{response}");
    assert!(
        error_message(response).contains("\"Digital Governance\" already has terms of reference"),
        "{response}"
    );
}

/// Asserts that `group` has exactly one terms of reference.
async fn assert_one_terms_of_reference(app: &TestApp, group: &str) {
    let data = app
        .ok(
            "query($g: ID!) { documents(groupId: $g, kind: \"terms_of_reference\") { totalCount } }",
            json!({ "g": group }),
            &app.admin,
        )
        .await;
    assert_eq!(data["documents"]["totalCount"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_terms_of_reference_leave_one() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let chair = app.create_user("chair@kr.example", "Chair Kim").await;
    app.grant(&chair, "chair", "groupId", &group).await;

    let attempts = (0..20).map(|index| {
        app.gql(
            CREATE_DOCUMENT,
            json!({ "input": { "groupId": group, "kind": "terms_of_reference",
                               "title": format!("Terms of reference {index}"),
                               "text": "The group studies digital governance.\n" } }),
            Some(&chair),
        )
    });
    let responses: Vec<Value> = join_all(attempts).await;
    let winners = responses
        .iter()
        .filter(|response| response.get("errors").is_none())
        .count();
    assert_eq!(winners, 1, "{responses:?}");
    for response in responses
        .iter()
        .filter(|response| response.get("errors").is_some())
    {
        assert_refused_as_second_terms_of_reference(response);
    }
    assert_one_terms_of_reference(&app, &group).await;
}

/// The same race, made certain: terms of reference are being written in a transaction still
/// open when the second creation arrives, which must wait for it and then be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn terms_of_reference_created_while_others_commit_are_refused() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;

    let txn = app.engine.begin_write().await.unwrap();
    let now = app.clock.now();
    document::Entity::insert(
        document::Model {
            id: uuid::Uuid::now_v7(),
            forum_id: forum.parse().unwrap(),
            group_id: Some(group.parse().unwrap()),
            kind: "terms_of_reference".into(),
            title: "Terms of reference".into(),
            symbol: None,
            original_language: "en".into(),
            created_by: None,
            created_at: now,
            updated_at: now,
        }
        .into_active_model(),
    )
    .exec_without_returning(&txn)
    .await
    .unwrap();

    let second = app.spawn_gql(
        CREATE_DOCUMENT,
        json!({ "input": { "groupId": group, "kind": "terms_of_reference",
                           "title": "Other terms of reference", "text": "Other text.\n" } }),
        &app.admin,
    );
    let response = answer_after_commit(
        second,
        txn,
        "the second creation must wait for the first to commit",
    )
    .await;
    assert_refused_as_second_terms_of_reference(&response);
    assert_one_terms_of_reference(&app, &group).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_comment_waits_for_an_adoption_under_way_and_is_then_refused() {
    let story = Story::new().await;
    let app = &story.app;
    let amendment = story.draft(WORK_PLAN_V2).await;
    let opened = story.open(&amendment, 14).await;
    assert!(opened.get("errors").is_none(), "{opened}");
    let consulting = app.clock.now();

    // The adoption runs after the window, in a transaction left open.
    app.clock.advance(Duration::days(15));
    let chair = Actor::load(&app.engine, story.chair.id)
        .await
        .unwrap()
        .unwrap();
    let txn = app.engine.begin_write().await.unwrap();
    let adopted = take_transition(
        &app.engine,
        &txn,
        Acting::User(&chair),
        &TransitionRequest {
            subject_id: amendment.parse().unwrap(),
            name: "adopt".into(),
            reason: None,
            expected_version: None,
            input: Value::Null,
        },
    )
    .await
    .unwrap();
    assert_eq!(adopted.instance.state, "adopted");

    // For the comment the window is still open: only the adoption can refuse it.
    app.clock.set(consulting + Duration::days(1));
    let comment = app.spawn_gql(
        "mutation($id: ID!) { commentOnAmendment(id: $id, text: \"Late but relevant.\") { id } }",
        json!({ "id": amendment }),
        &story.endorser,
    );
    let response = answer_after_commit(
        comment,
        txn,
        "the comment must wait for the adoption under way",
    )
    .await;
    assert_eq!(error_code(&response), "GUARD_FAILED", "{response}");
    let message = error_message(&response);
    assert!(message.contains("consultation_open"), "{response}");
    assert!(message.contains("adopted"), "{response}");

    let data = app
        .ok(
            "query($id: ID!) { amendment(id: $id) { state responses { totalCount } } }",
            json!({ "id": amendment }),
            &story.chair,
        )
        .await;
    assert_eq!(data["amendment"]["state"], "adopted");
    assert_eq!(data["amendment"]["responses"]["totalCount"], 0);
}
