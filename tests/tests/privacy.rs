//! What people may learn about each other, and when things happened: e-mail addresses only for
//! the user, administrators and the coordinators of the user's forums and groups; every instant
//! in the zone of what it belongs to; consultation windows counted in the group's calendar across
//! daylight-saving changes.

use crate::documents::Story;
use chrono::{DateTime, Utc};
use govflow_tests::{TestUser, error_code};
use serde_json::{Value, json};

const MEMBERS: &str = "query($g: ID!) { group(id: $g) {
  memberships(first: 20) { nodes { role user { id name email } } }
  history(first: 20) { nodes { actor { name email } } } } }";

/// The e-mail addresses `viewer` sees among the group's members, by name.
async fn addresses_seen(story: &Story, viewer: &TestUser) -> Vec<(String, Value)> {
    let data = story
        .app
        .ok(MEMBERS, json!({ "g": story.group }), viewer)
        .await;
    let mut seen: Vec<(String, Value)> = data["group"]["memberships"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|membership| {
            (
                membership["user"]["name"].as_str().unwrap().to_owned(),
                membership["user"]["email"].clone(),
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    seen
}

#[tokio::test]
async fn email_addresses_are_shown_only_to_those_who_answer_for_the_user() {
    let story = Story::new().await;
    let app = &story.app;
    let outsider = app.create_user("outsider@example.org", "Outsider").await;
    let (other_forum, _) = app.forum("Another Forum").await;
    let other_group = app.group(&other_forum, "Elsewhere").await;
    let other_coordinator = app
        .create_user("coordinator@elsewhere.example", "Other Coordinator")
        .await;
    app.grant(&other_coordinator, "coordinator", "groupId", &other_group)
        .await;
    let forum_coordinator = app
        .create_user("forum@dn.example", "Forum Coordinator")
        .await;
    app.grant(&forum_coordinator, "coordinator", "forumId", &story.forum)
        .await;

    let all = vec![
        ("Chair Kim".to_owned(), json!("chair@kr.example")),
        ("Expert Silva".to_owned(), json!("expert@uy.example")),
        ("Expert Tamm".to_owned(), json!("expert@ee.example")),
        ("Secretariat".to_owned(), json!("secretariat@dn.example")),
    ];
    // The group's coordinator, the forum's coordinator and the administrator see every address.
    for viewer in [&story.coordinator, &forum_coordinator, &app.admin] {
        assert_eq!(
            addresses_seen(&story, viewer).await,
            all,
            "{}",
            viewer.email
        );
    }
    // An expert sees their own address only; names stay visible to all.
    let expected: Vec<(String, Value)> = all
        .iter()
        .map(|(name, email)| {
            let mine = name == "Expert Tamm";
            (name.clone(), if mine { email.clone() } else { Value::Null })
        })
        .collect();
    assert_eq!(addresses_seen(&story, &story.endorser).await, expected);
    // Nor does a coordinator of another forum's group, or someone with no role at all.
    let hidden: Vec<(String, Value)> = all
        .iter()
        .map(|(name, _)| (name.clone(), Value::Null))
        .collect();
    for viewer in [&other_coordinator, &outsider] {
        assert_eq!(
            addresses_seen(&story, viewer).await,
            hidden,
            "{}",
            viewer.email
        );
    }

    // The same rule through `user(id)` and through the actors of the history.
    let user = "query($id: ID!) { user(id: $id) { name email } }";
    let data = app
        .ok(user, json!({ "id": story.chair.id.to_string() }), &outsider)
        .await;
    assert_eq!(data["user"], json!({ "name": "Chair Kim", "email": null }));
    let data = app
        .ok(
            user,
            json!({ "id": story.chair.id.to_string() }),
            &story.chair,
        )
        .await;
    assert_eq!(data["user"]["email"], "chair@kr.example");
    let data = app
        .ok(MEMBERS, json!({ "g": story.group }), &outsider)
        .await;
    for entry in data["group"]["history"]["nodes"].as_array().unwrap() {
        assert_eq!(entry["actor"]["email"], Value::Null, "{entry}");
        assert!(entry["actor"]["name"].is_string(), "{entry}");
    }
}

#[tokio::test]
async fn instants_carry_the_offset_of_their_zone() {
    let story = Story::new().await;
    let app = &story.app;
    let amendment = story.draft(crate::documents::WORK_PLAN_V2).await;
    story.open(&amendment, 14).await;
    story
        .respond(&amendment, "commentOnAmendment", &story.endorser, "In time")
        .await;
    let data = app
        .ok(
            "query($f: ID!, $a: ID!) {
               forum(id: $f) { createdAt }
               amendment(id: $a) { responses { nodes { createdAt } } }
               outbox(first: 5) { nodes { createdAt } } }",
            json!({ "f": story.forum, "a": amendment }),
            &app.admin,
        )
        .await;
    let mut instants = vec![data["forum"]["createdAt"].clone()];
    instants.extend(
        data["amendment"]["responses"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node["createdAt"].clone()),
    );
    let outbox = data["outbox"]["nodes"].as_array().unwrap();
    assert!(!outbox.is_empty(), "{data}");
    instants.extend(outbox.iter().map(|node| node["createdAt"].clone()));
    for instant in instants {
        let text = instant.as_str().unwrap();
        assert!(text.ends_with("+09:00"), "{text} is not in Seoul time");
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// In Berlin on 15 March 2026 at 02:30, fourteen days later is 29 March 02:30, which the change
/// to summer time skips: the window may close at 03:30 summer time (01:30 UTC) at the earliest,
/// never an hour after it opened.
#[tokio::test]
async fn the_minimum_consultation_window_holds_across_a_change_of_clocks() {
    let story = Story::new().await;
    let app = &story.app;
    app.ok(
        "mutation($id: ID!) { updateGroup(id: $id, input: { timeZone: \"Europe/Berlin\" }) { timeZone } }",
        json!({ "id": story.group }),
        &app.admin,
    )
    .await;
    app.clock.set(at("2026-03-15T01:30:00Z"));
    let open = "mutation($id: ID!, $at: DateTime!) { openConsultation(id: $id, closesAt: $at) { state closesAt } }";
    for (closes, accepted) in [
        ("2026-03-15T02:30:00Z", false),
        ("2026-03-29T01:29:00Z", false),
        ("2026-03-29T03:29:00+02:00", false),
        ("2026-03-29T01:30:00Z", true),
    ] {
        let amendment = story.draft(crate::documents::WORK_PLAN_V2).await;
        let response = app
            .gql(
                open,
                json!({ "id": amendment, "at": closes }),
                Some(&story.chair),
            )
            .await;
        if accepted {
            assert!(response.get("errors").is_none(), "{closes}: {response}");
            assert_eq!(
                response["data"]["openConsultation"]["closesAt"],
                "2026-03-29T03:30:00+02:00"
            );
        } else {
            assert_eq!(
                error_code(&response),
                "INVALID_INPUT",
                "{closes}: {response}"
            );
            let message = response["errors"][0]["message"].as_str().unwrap();
            assert!(
                message.contains("2026-03-29 03:30:00 +02:00") || message.contains("03:30"),
                "{message}"
            );
        }
    }
}
