//! Races the database settles, not the engine's own checks: two terms of reference for one group
//! (a unique index), and a comment arriving while an adoption commits (the amendment's row lock).
//! Both hold on SQLite and PostgreSQL; PostgreSQL is where the engine's checks alone let them by.

use crate::documents::{Story, WORK_PLAN_V2};
use chrono::Duration;
use futures::future::join_all;
use govflow_engine::entities::document;
use govflow_engine::workflow::{TransitionRequest, take_transition};
use govflow_engine::{Acting, Actor, Clock, db::begin_write};
use govflow_tests::{TestApp, error_code, error_message};
use sea_orm::{EntityTrait, IntoActiveModel};
use serde_json::{Value, json};

const CREATE_DOCUMENT: &str =
    "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { id } }";

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
        assert_eq!(error_code(response), "CONFLICT", "{response}");
        assert!(
            error_message(response)
                .contains("\"Digital Governance\" already has terms of reference"),
            "{response}"
        );
    }
    let data = app
        .ok(
            "query($g: ID!) { documents(groupId: $g, kind: \"terms_of_reference\") { totalCount } }",
            json!({ "g": group }),
            &app.admin,
        )
        .await;
    assert_eq!(data["documents"]["totalCount"], 1);
}

/// The same race, made certain: terms of reference are being written in a transaction still
/// open when the second creation arrives, which must wait for it and then be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn terms_of_reference_created_while_others_commit_are_refused() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;

    let txn = begin_write(app.engine.db()).await.unwrap();
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
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the second creation must wait for the first to commit"
    );
    txn.commit().await.unwrap();
    let response = second.await.unwrap();
    assert_eq!(error_code(&response), "CONFLICT", "{response}");
    assert!(
        error_message(&response).contains("\"Digital Governance\" already has terms of reference"),
        "{response}"
    );
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
    let txn = begin_write(app.engine.db()).await.unwrap();
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
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !comment.is_finished(),
        "the comment must wait for the adoption under way"
    );

    txn.commit().await.unwrap();
    let response = comment.await.unwrap();
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
