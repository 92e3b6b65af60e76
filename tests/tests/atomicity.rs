//! A transition is one transaction: when an effect fails, nothing of it is written.

use govflow_engine::entities::outbox_message;
use govflow_engine::outbox::{self, OutboxFilter};
use govflow_engine::pagination::PageRequest;
use govflow_tests::TestApp;
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
async fn an_unrenderable_notice_is_a_dead_letter_and_the_transition_stands() {
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

    let data = app.ok(CONCLUDE, json!({ "id": group }), &app.admin).await;
    assert_eq!(data["transition"]["state"], "concluded");

    // The notice is on the record as a dead letter, with the template's error, and never sent.
    let mail = mail_about(&app, &group).await;
    let concluded: Vec<_> = mail
        .iter()
        .filter(|message| message.template == "group_concluded")
        .collect();
    assert_eq!(concluded.len(), 1, "{mail:?}");
    assert_eq!(concluded[0].status, "dead");
    let error = concluded[0].last_error.as_deref().unwrap_or_default();
    assert!(error.contains("failed to render"), "{error}");
    app.drain_mail().await;
    assert!(app.smtp.received().is_empty());

    let data = app
        .ok(
            "query($f: ID!) { deadLetters(forumId: $f) { totalCount nodes { template state lastError } } }",
            json!({ "f": forum }),
            &app.admin,
        )
        .await;
    assert_eq!(data["deadLetters"]["totalCount"], 1, "{data}");
    assert_eq!(data["deadLetters"]["nodes"][0]["state"], "dead");
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
    // The mailer may already be on it; what matters is that it is on its way, not dead.
    assert!(
        ["pending", "sending", "sent"].contains(&message.status.as_str()),
        "{}",
        message.status
    );
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
