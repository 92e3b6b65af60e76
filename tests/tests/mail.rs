//! Mail delivery through a real SMTP exchange with the harness's server: the messages arrive with
//! the right recipients, subject, zone and `Message-ID`; failures are retried with backoff (the
//! tests move the clock, they never sleep through it) or dead-lettered, each recipient apart;
//! nothing is lost or sent twice, across crashes and between two mailers.

use crate::documents::{Story, WORK_PLAN_V2};
use chrono::Duration;
use govflow_engine::entities::outbox_message;
use govflow_engine::history;
use govflow_engine::notify::outbox::{self, NewMessage};
use govflow_engine::notify::recipients::Recipient;
use govflow_engine::notify::templates::RenderedMail;
use govflow_engine::pagination::PageRequest;
use govflow_tests::smtp::{Behaviour, Received};
use govflow_tests::{TestApp, TestUser, error_code};
use sea_orm::{ActiveValue::Set, EntityTrait, IntoActiveModel};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration as Wait;
use uuid::Uuid;

const CONCLUDE: &str = "mutation($id: ID!) { transition(subjectId: $id, name: \"conclude\", reason: \"Mandate fulfilled\") { state } }";

const OUTBOX: &str = "query($g: ID!) { outbox(groupId: $g) { nodes { id recipientEmail state
  attempts lastError nextAttemptAt messageId template } } }";

/// A group with experts; concluding it mails each of them.
async fn group_with_experts(app: &TestApp, experts: &[&str]) -> (String, String, Vec<TestUser>) {
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let mut users = Vec::new();
    for (index, email) in experts.iter().enumerate() {
        let user = app
            .create_user(email, &format!("Expert {}", index + 1))
            .await;
        app.grant(&user, "expert", "groupId", &group).await;
        users.push(user);
    }
    (forum, group, users)
}

async fn outbox_of(app: &TestApp, group: &str) -> Vec<Value> {
    let data = app.ok(OUTBOX, json!({ "g": group }), &app.admin).await;
    data["outbox"]["nodes"].as_array().unwrap().clone()
}

fn states(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|message| message["state"].as_str().unwrap().to_owned())
        .collect()
}

/// Moves the clock and delivers what is due.
async fn later(app: &TestApp, by: Duration) {
    app.clock.advance(by);
    app.drain_mail().await;
}

/// The messages the SMTP server accepted, once the mailer has had its chance.
async fn arrived(app: &TestApp, count: usize) -> Vec<Received> {
    app.drain_mail().await;
    let received = app.smtp.wait_for(count, Wait::from_secs(10)).await;
    received
        .into_iter()
        .filter(|message| message.answered)
        .collect()
}

#[tokio::test]
async fn the_consultations_mail_arrives_with_recipients_subject_seoul_time_and_message_id() {
    let story = Story::new().await;
    let app = &story.app;
    let amendment = story.draft(WORK_PLAN_V2).await;
    let opened = story.open(&amendment, 14).await;
    assert_eq!(
        opened["data"]["openConsultation"]["state"],
        "in_consultation"
    );

    let received = arrived(app, 2).await;
    assert_eq!(received.len(), 2, "{received:?}");
    let recipients: BTreeSet<String> = received
        .iter()
        .flat_map(|message| message.to.clone())
        .collect();
    assert_eq!(
        recipients,
        BTreeSet::from([
            "expert@ee.example".to_owned(),
            "expert@uy.example".to_owned()
        ])
    );
    let outbox = outbox_of(app, &story.group).await;
    for message in &received {
        let subject = message.header("Subject").unwrap_or_default();
        assert!(subject.contains("Consultation"), "{subject}");
        let text = message.text_body();
        assert!(text.contains("+09:00 (Asia/Seoul)"), "{text}");
        let html = message.html_body().unwrap_or_default();
        // minijinja escapes the zone's slash in HTML (`Asia&#x2f;Seoul`), which mail clients show as `/`.
        assert!(
            html.contains("+09:00 (Asia") && html.contains("Seoul)") && html.contains("<p"),
            "{html}"
        );
        // The Message-ID is the outbox row's, the one a retry would carry too.
        let id = message.header("Message-ID").unwrap_or_default();
        let row = outbox
            .iter()
            .find(|row| row["messageId"] == id.as_str())
            .unwrap_or_else(|| panic!("no outbox row has Message-ID {id}"));
        assert_eq!(row["recipientEmail"], message.to[0].as_str());
        assert_eq!(row["state"], "sent");
    }

    let metrics = reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("govflow_mail_sent_total 2"), "{metrics}");
}

#[tokio::test]
async fn a_server_that_is_down_gets_every_message_once_after_backoff() {
    let app = TestApp::spawn().await;
    let (_, group, _) = group_with_experts(&app, &["expert@ee.example"]).await;
    app.smtp.stop().await;
    app.ok(CONCLUDE, json!({ "id": group }), &app.admin).await;

    app.drain_mail().await;
    let messages = outbox_of(&app, &group).await;
    let notice = messages
        .iter()
        .find(|message| message["template"] == "group_concluded")
        .unwrap()
        .clone();
    assert_eq!(notice["state"], "retrying", "{notice}");
    assert!(notice["lastError"].as_str().unwrap_or_default().len() > 3);
    assert!(notice["nextAttemptAt"].is_string(), "{notice}");

    // Not due before its backoff: nothing more is tried.
    app.drain_mail().await;
    let again = outbox_of(&app, &group).await;
    assert_eq!(again[0]["attempts"], notice["attempts"]);

    // Still down a while later: another attempt, another retry.
    later(&app, Duration::minutes(2)).await;
    let second = outbox_of(&app, &group).await;
    assert!(second[0]["attempts"].as_i64() > notice["attempts"].as_i64());
    assert_eq!(second[0]["state"], "retrying");

    app.smtp.restart().await;
    later(&app, Duration::minutes(10)).await;
    let received = arrived(&app, 1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["expert@ee.example"]);
    assert_eq!(states(&outbox_of(&app, &group).await), ["sent"]);

    // Delivered once: nothing is due any more, however long one waits.
    later(&app, Duration::hours(3)).await;
    assert_eq!(app.smtp.received().len(), 1);
}

#[tokio::test]
async fn a_4xx_reply_is_retried_and_the_message_delivered_once() {
    let app = TestApp::spawn().await;
    let (_, group, _) = group_with_experts(&app, &["expert@ee.example"]).await;
    app.smtp.set_behaviour(Behaviour::RejectData {
        code: 451,
        text: "try again later".into(),
    });
    app.ok(CONCLUDE, json!({ "id": group }), &app.admin).await;
    app.drain_mail().await;
    let messages = outbox_of(&app, &group).await;
    assert_eq!(messages[0]["state"], "retrying", "{messages:?}");
    assert!(
        messages[0]["lastError"].as_str().unwrap().contains("451"),
        "{messages:?}"
    );

    app.smtp.set_behaviour(Behaviour::Accept);
    later(&app, Duration::minutes(2)).await;
    assert_eq!(arrived(&app, 1).await.len(), 1);
    later(&app, Duration::hours(2)).await;
    assert_eq!(app.smtp.received().len(), 1);
}

#[tokio::test]
async fn a_5xx_for_one_recipient_dead_letters_that_one_and_a_retry_reaches_the_fixed_address() {
    let app = TestApp::spawn().await;
    let (forum, group, experts) =
        group_with_experts(&app, &["expert@ee.example", "typo@nowhere.example"]).await;
    app.smtp.set_behaviour(Behaviour::RejectRecipients(vec![
        "typo@nowhere.example".into(),
    ]));
    app.ok(CONCLUDE, json!({ "id": group }), &app.admin).await;

    let received = arrived(&app, 1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["expert@ee.example"]);
    let dead = app
        .ok(
            "query($f: ID!) { deadLetters(forumId: $f) { totalCount nodes { id recipientEmail lastError state } } }",
            json!({ "f": forum }),
            &app.admin,
        )
        .await;
    assert_eq!(dead["deadLetters"]["totalCount"], 1, "{dead}");
    let letter = &dead["deadLetters"]["nodes"][0];
    assert_eq!(letter["recipientEmail"], "typo@nowhere.example");
    assert!(
        letter["lastError"].as_str().unwrap().contains("550"),
        "{letter}"
    );
    let letter_id = letter["id"].as_str().unwrap().to_owned();

    // Only the forum's coordinators may send it again; outsiders do not even see it.
    let coordinator = app
        .create_user("secretariat@dn.example", "Secretariat")
        .await;
    app.grant(&coordinator, "coordinator", "groupId", &group)
        .await;
    let outsider = app.create_user("outsider@example.org", "Outsider").await;
    let retry = "mutation($id: ID!) { retryDeadLetter(id: $id) { state recipientEmail } }";
    let refused = app
        .gql(retry, json!({ "id": letter_id }), Some(&coordinator))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let hidden = app
        .gql(retry, json!({ "id": letter_id }), Some(&outsider))
        .await;
    assert_eq!(error_code(&hidden), "NOT_FOUND", "{hidden}");
    let garbled = app
        .gql(retry, json!({ "id": "not-an-id" }), Some(&app.admin))
        .await;
    assert_eq!(error_code(&garbled), "INVALID_INPUT", "{garbled}");

    // The address is corrected, and the retry goes to it.
    app.ok(
        "mutation($id: ID!) { updateUser(id: $id, input: { email: \"expert@uy.example\" }) { id } }",
        json!({ "id": experts[1].id.to_string() }),
        &app.admin,
    )
    .await;
    let retried = app.ok(retry, json!({ "id": letter_id }), &app.admin).await;
    assert_eq!(retried["retryDeadLetter"]["state"], "queued");
    assert_eq!(
        retried["retryDeadLetter"]["recipientEmail"],
        "expert@uy.example"
    );
    let received = arrived(&app, 2).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].to, ["expert@uy.example"]);
    let again = app
        .gql(retry, json!({ "id": letter_id }), Some(&app.admin))
        .await;
    assert_eq!(error_code(&again), "INVALID_TRANSITION", "{again}");

    let id = Uuid::parse_str(&letter_id).unwrap();
    let pages = history::pages_of_subjects(&app.engine, &[id], PageRequest::all())
        .await
        .unwrap();
    let entries = &pages[&id].items;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].transition, "retry_dead_letter");
    assert_eq!(entries[0].actor_user_id, Some(app.admin.id));

    let metrics = reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("govflow_mail_dead_total 1"), "{metrics}");
    assert!(metrics.contains("govflow_mail_sent_total 2"), "{metrics}");
}

#[tokio::test]
async fn dead_letters_of_a_forum_are_retried_together() {
    let app = TestApp::spawn().await;
    let (forum, group, _) = group_with_experts(&app, &["one@example.org", "two@example.org"]).await;
    app.smtp.set_behaviour(Behaviour::RejectRecipients(vec![
        "one@example.org".into(),
        "two@example.org".into(),
    ]));
    app.ok(CONCLUDE, json!({ "id": group }), &app.admin).await;
    app.drain_mail().await;
    assert_eq!(states(&outbox_of(&app, &group).await), ["dead", "dead"]);

    let expert = app.create_user("expert@example.org", "Expert").await;
    app.grant(&expert, "expert", "groupId", &group).await;
    let retry = "mutation($f: ID!) { retryDeadLetters(forumId: $f) }";
    let refused = app.gql(retry, json!({ "f": forum }), Some(&expert)).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");

    app.smtp.set_behaviour(Behaviour::Accept);
    let data = app.ok(retry, json!({ "f": forum }), &app.admin).await;
    assert_eq!(data["retryDeadLetters"], 2);
    assert_eq!(arrived(&app, 2).await.len(), 2);
    assert_eq!(states(&outbox_of(&app, &group).await), ["sent", "sent"]);
}

#[tokio::test]
async fn a_connection_dropped_after_data_is_sent_again_with_the_same_message_id() {
    let app = TestApp::spawn().await;
    let (_, group, _) = group_with_experts(&app, &["expert@ee.example"]).await;
    app.smtp.set_behaviour(Behaviour::DropAfterData);
    app.ok(CONCLUDE, json!({ "id": group }), &app.admin).await;
    app.drain_mail().await;
    assert_eq!(states(&outbox_of(&app, &group).await), ["retrying"]);

    app.smtp.set_behaviour(Behaviour::Accept);
    later(&app, Duration::minutes(2)).await;
    let all = app.smtp.wait_for(2, Wait::from_secs(10)).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(!all[0].answered && all[1].answered);
    assert_eq!(all[0].header("Message-ID"), all[1].header("Message-ID"));
    assert_eq!(states(&outbox_of(&app, &group).await), ["sent"]);
}

#[tokio::test]
async fn messages_claimed_by_a_crashed_instance_are_taken_over_once_its_lease_runs_out() {
    let app = TestApp::spawn().await;
    let (_, group, _) = group_with_experts(&app, &["expert@ee.example"]).await;
    app.smtp.stop().await;
    app.ok(CONCLUDE, json!({ "id": group }), &app.admin).await;
    // An instance claimed the message and died before it could say how sending went.
    let messages = outbox_of(&app, &group).await;
    let id = Uuid::parse_str(messages[0]["id"].as_str().unwrap()).unwrap();
    let row = outbox_message::Entity::find_by_id(id)
        .one(app.engine.db())
        .await
        .unwrap()
        .unwrap();
    let mut claimed = row.into_active_model();
    claimed.status = Set("sending".into());
    claimed.attempts = Set(1);
    claimed.lease_until = Set(Some(app.engine.now() + Duration::minutes(10)));
    outbox_message::Entity::update(claimed)
        .exec(app.engine.db())
        .await
        .unwrap();
    app.smtp.restart().await;

    // Another instance starts on the database (the crashed one's restart). While the lease holds,
    // nobody sends the message; once it has run out, it is delivered, once.
    let restarted = app.spawn_peer(None).await;
    let mailer = app.settings.mailer().unwrap();
    mailer.drain(&restarted.engine).await.unwrap();
    assert!(app.smtp.received().is_empty());
    assert_eq!(states(&outbox_of(&app, &group).await), ["sending"]);
    app.clock.advance(Duration::minutes(11));
    let report = mailer.drain(&restarted.engine).await.unwrap();
    let received = app.smtp.wait_for(1, Wait::from_secs(10)).await;
    assert_eq!(received.len(), 1, "{report:?}");
    later(&app, Duration::hours(1)).await;
    mailer.drain(&restarted.engine).await.unwrap();
    assert_eq!(app.smtp.received().len(), 1);
    assert_eq!(states(&outbox_of(&app, &group).await), ["sent"]);
}

#[tokio::test]
async fn two_mailers_on_one_database_send_each_of_a_thousand_messages_once() {
    let app = TestApp::spawn().await;
    let (_, _, experts) = group_with_experts(&app, &["expert@ee.example"]).await;
    let recipient = Recipient {
        user_id: experts[0].id,
        email: experts[0].email.clone(),
        name: "Expert 1".into(),
    };
    let txn = app.engine.begin_write().await.unwrap();
    for index in 0..1000 {
        outbox::enqueue(
            &txn,
            NewMessage {
                dedup_key: format!("bulk:{index}"),
                recipient: &recipient,
                mail: Ok(RenderedMail {
                    subject: format!("Notice {index}"),
                    body: "Text\n".into(),
                    html: None,
                }),
                template: "bulk",
                subject_id: None,
                forum_id: None,
                group_id: None,
                now: app.engine.now(),
            },
        )
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();

    // A second instance on the same database, with its own mailer, drains at the same time as
    // this one (and both servers' own loops run too).
    let peer = app.spawn_peer(None).await;
    let second = app.settings.mailer().unwrap();
    let (one, two) = tokio::join!(app.drain_mail(), second.drain(&peer.engine));
    let two = two.unwrap();
    let received = app.smtp.wait_for(1000, Wait::from_secs(60)).await;
    assert_eq!(received.len(), 1000, "{one:?} {two:?}");
    let ids: BTreeSet<String> = received
        .iter()
        .filter_map(|message| message.header("Message-ID"))
        .collect();
    assert_eq!(ids.len(), 1000, "a message was sent twice");
    assert!(one.lost == 0 && two.lost == 0, "{one:?} {two:?}");
}

#[tokio::test]
async fn the_file_transport_writes_parseable_eml_files() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("outbox");
    let file_dir = dir.display().to_string();
    let app = TestApp::spawn_with(move |raw| {
        raw.mail.transport = "file".into();
        raw.mail.file_dir = file_dir;
    })
    .await;
    let (_, group, _) = group_with_experts(&app, &["expert@ee.example"]).await;
    app.ok(CONCLUDE, json!({ "id": group }), &app.admin).await;
    app.drain_mail().await;

    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let message = Received {
        from: String::new(),
        to: Vec::new(),
        data: std::fs::read_to_string(&files[0]).unwrap(),
        answered: true,
    };
    let outbox = outbox_of(&app, &group).await;
    assert_eq!(
        message.header("Message-ID").as_deref(),
        outbox[0]["messageId"].as_str()
    );
    assert!(message.header("To").unwrap().contains("expert@ee.example"));
    assert!(
        message
            .header("Subject")
            .unwrap()
            .contains("Digital Governance")
    );
    assert!(message.text_body().contains("Dear Expert 1"));
    assert_eq!(states(&outbox), ["sent"]);
}

#[tokio::test]
async fn the_outbox_is_filtered_by_state_and_refuses_an_unknown_one() {
    let app = TestApp::spawn().await;
    let (_, group, _) = group_with_experts(&app, &["expert@ee.example"]).await;
    app.smtp.stop().await;
    app.ok(CONCLUDE, json!({ "id": group }), &app.admin).await;
    let query = "query($g: ID!, $s: String) { outbox(groupId: $g, state: $s) { totalCount } }";
    let count = |state: &'static str| {
        let app = &app;
        let group = group.clone();
        async move {
            app.ok(query, json!({ "g": group, "s": state }), &app.admin)
                .await["outbox"]["totalCount"]
                .as_i64()
                .unwrap()
        }
    };
    // Not tried yet (the loop may have tried it already, while the server is down).
    assert_eq!(count("queued").await + count("retrying").await, 1);
    app.drain_mail().await;
    assert_eq!(count("retrying").await, 1);
    assert_eq!(count("queued").await, 0);
    assert_eq!(count("sent").await, 0);
    let bad = app
        .gql(query, json!({ "g": group, "s": "lost" }), Some(&app.admin))
        .await;
    assert_eq!(error_code(&bad), "INVALID_INPUT", "{bad}");
    assert!(bad.to_string().contains("state"), "{bad}");
}
