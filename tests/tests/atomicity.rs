//! A transition is one transaction: when an effect fails, nothing of it is written.

use govflow_engine::entities::outbox_message;
use govflow_engine::outbox::{self, OutboxFilter};
use govflow_engine::pagination::PageRequest;
use govflow_tests::{TestApp, error_code};
use serde_json::json;
use uuid::Uuid;

const CONCLUDE: &str = "mutation($id: ID!) { transition(subjectId: $id, name: \"conclude\", reason: \"Mandate fulfilled\") { state version } }";

/// Every message of the outbox about the subject `subject_id`, oldest first.
async fn mail_about(app: &TestApp, subject_id: &str) -> Vec<outbox_message::Model> {
    let subject_id = Uuid::parse_str(subject_id).unwrap();
    outbox::list(
        app.engine.db(),
        &OutboxFilter {
            subject_id: Some(subject_id),
            ..OutboxFilter::default()
        },
        PageRequest::all(),
    )
    .await
    .unwrap()
    .items
}

#[tokio::test]
async fn a_failing_effect_leaves_no_state_change_no_history_and_no_mail() {
    // The shipped configuration, with the `group_concluded` template made unrenderable.
    let dir = govflow_tests::config_copy();
    std::fs::write(
        dir.path().join("templates/group_concluded.txt"),
        "Subject: {{ subject.name }} concluded\n\nSigned {{ undefined_variable.name }}\n",
    )
    .unwrap();
    let config_dir = dir.path().display().to_string();
    let app = TestApp::spawn_with(|raw| raw.config_dir = config_dir).await;

    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let expert = app.create_user("expert@example.org", "Expert").await;
    app.grant(&expert, "expert", "groupId", &group).await;

    let response = app
        .gql(CONCLUDE, json!({ "id": group }), Some(&app.admin))
        .await;
    assert_eq!(error_code(&response), "INTERNAL", "{response}");
    assert!(
        !response.to_string().contains("undefined_variable"),
        "internal detail must stay in the log: {response}"
    );

    let data = app
        .ok(
            "query($id: ID!) { group(id: $id) { state version history { totalCount edges { node { transition } } } } }",
            json!({ "id": group }),
            &app.admin,
        )
        .await;
    assert_eq!(data["group"]["state"], "active");
    assert_eq!(data["group"]["version"], 1);
    let transitions: Vec<&str> = data["group"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["transition"].as_str().unwrap())
        .collect();
    assert!(!transitions.contains(&"conclude"), "{transitions:?}");

    let mail = mail_about(&app, &group).await;
    assert!(
        mail.iter()
            .all(|message| message.template != "group_concluded"),
        "no conclusion notice may be queued"
    );
}

#[tokio::test]
async fn a_successful_transition_writes_state_history_and_mail_together() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let expert = app
        .create_user("Expert.One@Example.org", "Expert One")
        .await;
    app.grant(&expert, "expert", "groupId", &group).await;

    let data = app.ok(CONCLUDE, json!({ "id": group }), &app.admin).await;
    assert_eq!(data["transition"]["state"], "concluded");
    assert_eq!(data["transition"]["version"], 2);

    let mail = mail_about(&app, &group).await;
    let concluded: Vec<_> = mail
        .iter()
        .filter(|message| message.template == "group_concluded")
        .collect();
    assert_eq!(concluded.len(), 1, "one notice to the one expert");
    let message = concluded[0];
    assert_eq!(message.recipient_email, "Expert.One@Example.org");
    assert_eq!(message.status, "pending");
    assert!(
        message.subject_line.contains("Digital Governance"),
        "{}",
        message.subject_line
    );
    assert!(message.body.contains("Dear Expert One"), "{}", message.body);
    assert!(
        message.body.contains("Reason: Mandate fulfilled"),
        "{}",
        message.body
    );
    assert!(
        message.body.contains("(Asia/Seoul)"),
        "times in the group's zone: {}",
        message.body
    );
}
