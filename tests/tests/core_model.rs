//! The core model through GraphQL: forums, member states, users, groups, memberships, roles,
//! and the generic transition with its refusals.

use govflow_tests::{TestApp, error_code, error_message};
use serde_json::{Value, json};

const TRANSITION: &str = "mutation($id: ID!, $name: String!, $reason: String, $v: Int) {
  transition(subjectId: $id, name: $name, reason: $reason, expectedVersion: $v) {
    id state version ... on WorkingGroup { name } } }";

#[tokio::test]
async fn users_have_unique_emails_compared_case_insensitively() {
    let app = TestApp::spawn().await;
    app.create_user("Ana.Expert@Example.org", "Ana").await;
    let response = app
        .gql(
            "mutation { createUser(input: { email: \"ana.expert@example.ORG\", name: \"Ana again\" }) { id } }",
            json!({}),
            Some(&app.admin),
        )
        .await;
    assert_eq!(error_code(&response), "CONFLICT", "{response}");

    let response = app
        .gql(
            "mutation { createUser(input: { email: \"not-an-address\", name: \"X\" }) { id } }",
            json!({}),
            Some(&app.admin),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT");
    assert_eq!(response["errors"][0]["extensions"]["field"], "email");
}

#[tokio::test]
async fn only_admins_create_forums_and_users() {
    let app = TestApp::spawn().await;
    let someone = app.create_user("someone@example.org", "Someone").await;
    let response = app
        .gql(
            "mutation { createForum(input: { name: \"Rogue\" }) { id } }",
            json!({}),
            Some(&someone),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN");
    assert!(error_message(&response).contains("admin"));
    let response = app
        .gql(
            "mutation { createUser(input: { email: \"x@example.org\", name: \"X\" }) { id } }",
            json!({}),
            Some(&someone),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN");
}

#[tokio::test]
async fn forum_settings_are_parsed_and_versioned() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let response = app
        .gql(
            "mutation($id: ID!) { updateForum(id: $id, input: { settings: { timeZone: \"Mars/Olympus\" } }) { id } }",
            json!({ "id": forum }),
            Some(&app.admin),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT");
    assert_eq!(
        response["errors"][0]["extensions"]["field"],
        "settings.timeZone"
    );

    let data = app
        .ok(
            "mutation($id: ID!) { updateForum(id: $id, expectedVersion: 1, input: { settings: { decisionRule: \"majority\", quorum: 0.6, officialLanguages: [\"en\", \"fr\", \"zh-Hans\"] } }) { version settings { decisionRule quorum officialLanguages claimLimit timeZone } } }",
            json!({ "id": forum }),
            &app.admin,
        )
        .await;
    let settings = &data["updateForum"]["settings"];
    assert_eq!(data["updateForum"]["version"], 2);
    assert_eq!(settings["decisionRule"], "majority");
    assert_eq!(settings["quorum"], 0.6);
    assert_eq!(settings["claimLimit"], 3, "defaults are kept");
    assert_eq!(settings["timeZone"], "Asia/Seoul");

    let response = app
        .gql(
            "mutation($id: ID!) { updateForum(id: $id, expectedVersion: 1, input: { name: \"Renamed\" }) { id } }",
            json!({ "id": forum }),
            Some(&app.admin),
        )
        .await;
    assert_eq!(error_code(&response), "STALE_STATE");
}

#[tokio::test]
async fn groups_are_established_by_forum_coordinators_with_parsed_fields() {
    let app = TestApp::spawn().await;
    let (forum, states) = app.forum("Digital Nations").await;
    let (other_forum, other_states) = app.forum("OECD").await;
    let coordinator = app
        .create_user("coordinator@example.org", "Coordinator")
        .await;
    app.grant(&coordinator, "coordinator", "forumId", &forum)
        .await;
    let outsider = app.create_user("outsider@example.org", "Outsider").await;
    app.grant(&outsider, "coordinator", "forumId", &other_forum)
        .await;

    let create = "mutation($input: CreateGroupInput!) { createGroup(input: $input) { id name state version timeZone leadMemberState { code } forum { name } } }";
    let input = |zone: &str, lead: &str| json!({ "input": { "forumId": forum, "name": "Digital Governance", "theme": "Digital government", "timeZone": zone, "leadMemberStateId": lead } });

    let response = app
        .gql(create, input("Asia/Seoul", &states[0]), Some(&outsider))
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    assert!(error_message(&response).contains("forum_coordinator"));

    let response = app
        .gql(
            create,
            input("Asia/Atlantis", &states[0]),
            Some(&coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT");
    assert_eq!(response["errors"][0]["extensions"]["field"], "timeZone");

    let response = app
        .gql(
            create,
            input("Asia/Seoul", &other_states[0]),
            Some(&coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT");
    assert_eq!(
        response["errors"][0]["extensions"]["field"],
        "leadMemberStateId"
    );

    let data = app
        .ok(create, input("Asia/Seoul", &states[0]), &coordinator)
        .await;
    let group = &data["createGroup"];
    assert_eq!(group["state"], "active");
    assert_eq!(group["version"], 1);
    assert_eq!(group["timeZone"], "Asia/Seoul");
    assert_eq!(group["leadMemberState"]["code"], "KOR");
    assert_eq!(group["forum"]["name"], "Digital Nations");

    let response = app
        .gql(create, input("Asia/Seoul", &states[0]), Some(&coordinator))
        .await;
    assert_eq!(
        error_code(&response),
        "CONFLICT",
        "the same name twice in a forum"
    );

    let listed = app
        .ok(
            "query($f: ID!) { active: groups(forumId: $f, state: \"active\") { totalCount } none: groups(forumId: $f, state: \"draft\") { totalCount } }",
            json!({ "f": forum }),
            &coordinator,
        )
        .await;
    assert_eq!(listed["active"]["totalCount"], 1);
    assert_eq!(listed["none"]["totalCount"], 0);
}

#[tokio::test]
async fn transitions_check_input_existence_role_version_state_in_that_order() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let chair = app.create_user("chair@example.org", "Chair").await;
    app.grant(&chair, "chair", "groupId", &group).await;
    let expert = app.create_user("expert@example.org", "Expert").await;
    app.grant(&expert, "expert", "groupId", &group).await;

    let take = |name: &str, reason: Option<&str>, version: Option<i32>| json!({ "id": group, "name": name, "reason": reason, "v": version });
    // Parsing: a required reason.
    let response = app
        .gql(TRANSITION, take("conclude", None, None), Some(&chair))
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    // Existence.
    let response = app
        .gql(
            TRANSITION,
            json!({ "id": uuid::Uuid::now_v7().to_string(), "name": "conclude", "reason": "x" }),
            Some(&chair),
        )
        .await;
    assert_eq!(error_code(&response), "NOT_FOUND");
    // Role.
    let response = app
        .gql(
            TRANSITION,
            take("conclude", Some("done"), None),
            Some(&expert),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN");
    assert!(
        error_message(&response).contains("chair or coordinator"),
        "{response}"
    );
    // Expected version.
    let response = app
        .gql(
            TRANSITION,
            take("conclude", Some("done"), Some(7)),
            Some(&chair),
        )
        .await;
    assert_eq!(error_code(&response), "STALE_STATE");
    // State.
    let response = app
        .gql(TRANSITION, take("submit", None, None), Some(&app.admin))
        .await;
    assert_eq!(
        error_code(&response),
        "FORBIDDEN",
        "admin is never proposer: {response}"
    );
    let response = app
        .gql(TRANSITION, take("defer", None, None), Some(&app.admin))
        .await;
    assert_eq!(error_code(&response), "INVALID_TRANSITION", "{response}");
    let on_agenda = "mutation($id: ID!, $input: JSON) { transition(subjectId: $id, name: \"place_on_agenda\", input: $input) { state } }";
    let response = app
        .gql(on_agenda, json!({ "id": group }), Some(&app.admin))
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    assert_eq!(
        response["errors"][0]["extensions"]["field"],
        "input.meetingId"
    );
    let unknown =
        json!({ "id": group, "input": { "meetingId": uuid::Uuid::now_v7().to_string() } });
    // No such meeting: the input points at nothing planned in the forum.
    let response = app.gql(on_agenda, unknown, Some(&app.admin)).await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    let response = app
        .gql(TRANSITION, take("fly", None, None), Some(&app.admin))
        .await;
    assert_eq!(error_code(&response), "INVALID_TRANSITION");

    // The chair sees what they may take, the expert nothing.
    let query =
        "query($id: ID!) { group(id: $id) { availableTransitions { name to reasonRequired } } }";
    let data = app.ok(query, json!({ "id": group }), &chair).await;
    assert_eq!(
        data["group"]["availableTransitions"],
        json!([{ "name": "conclude", "to": "concluded", "reasonRequired": true }])
    );
    let data = app.ok(query, json!({ "id": group }), &expert).await;
    assert_eq!(data["group"]["availableTransitions"], json!([]));

    let data = app
        .ok(
            TRANSITION,
            take("conclude", Some("Mandate fulfilled"), Some(1)),
            &chair,
        )
        .await;
    assert_eq!(data["transition"]["state"], "concluded");
    assert_eq!(data["transition"]["version"], 2);

    let data = app
        .ok(
            "query($id: ID!) { subject(id: $id) { state history(first: 10) { totalCount edges { node { transition fromState toState actorKind actor { name email } reason at } } } } }",
            json!({ "id": group }),
            &expert,
        )
        .await;
    let edges = data["subject"]["history"]["edges"].as_array().unwrap();
    let last = &edges.last().unwrap()["node"];
    assert_eq!(last["transition"], "conclude");
    assert_eq!(last["fromState"], "active");
    assert_eq!(last["toState"], "concluded");
    assert_eq!(last["actor"]["name"], "Chair");
    // An expert sees who acted, but not their e-mail address.
    assert_eq!(last["actor"]["email"], Value::Null);
    assert_eq!(last["reason"], "Mandate fulfilled");
    assert_eq!(
        last["at"], "2026-03-02T09:00:00+09:00",
        "in the group's zone"
    );
    // Membership changes are on the record too, with the state unchanged.
    let joined: Vec<_> = edges
        .iter()
        .filter(|edge| edge["node"]["transition"] == "add_membership")
        .collect();
    assert_eq!(joined.len(), 2);
    assert_eq!(joined[0]["node"]["fromState"], "active");
}

#[tokio::test]
async fn group_edits_honour_expected_version_and_are_recorded() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let update = "mutation($id: ID!, $v: Int, $theme: String) { updateGroup(id: $id, expectedVersion: $v, input: { theme: $theme }) { theme version } }";
    let data = app
        .ok(
            update,
            json!({ "id": group, "v": 1, "theme": "E-government" }),
            &app.admin,
        )
        .await;
    assert_eq!(data["updateGroup"]["version"], 2);
    let response = app
        .gql(
            update,
            json!({ "id": group, "v": 1, "theme": "Other" }),
            Some(&app.admin),
        )
        .await;
    assert_eq!(error_code(&response), "STALE_STATE");
    let expert = app.create_user("expert@example.org", "Expert").await;
    app.grant(&expert, "expert", "groupId", &group).await;
    let response = app
        .gql(
            update,
            json!({ "id": group, "theme": "Mine" }),
            Some(&expert),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN");
}

#[tokio::test]
async fn memberships_are_granted_within_their_scope_only() {
    let app = TestApp::spawn().await;
    let (forum, states) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let coordinator = app
        .create_user("group.coordinator@example.org", "Group Coordinator")
        .await;
    app.grant(&coordinator, "coordinator", "groupId", &group)
        .await;
    let person = app.create_user("person@example.org", "Person").await;
    let add = "mutation($input: AddMembershipInput!) { addMembership(input: $input) { role scopeKind group { name } } }";

    let data = app
        .ok(add, json!({ "input": { "userId": person.id.to_string(), "role": "expert", "groupId": group } }), &coordinator)
        .await;
    assert_eq!(data["addMembership"]["group"]["name"], "Digital Governance");

    let response = app
        .gql(add, json!({ "input": { "userId": person.id.to_string(), "role": "representative", "memberStateId": states[0] } }), Some(&coordinator))
        .await;
    assert_eq!(
        error_code(&response),
        "FORBIDDEN",
        "a group coordinator cannot name representatives"
    );

    let response = app
        .gql(add, json!({ "input": { "userId": person.id.to_string(), "role": "chair", "forumId": forum } }), Some(&app.admin))
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT");
    assert_eq!(response["errors"][0]["extensions"]["field"], "role");

    let response = app
        .gql(add, json!({ "input": { "userId": person.id.to_string(), "role": "expert", "groupId": group } }), Some(&coordinator))
        .await;
    assert_eq!(error_code(&response), "CONFLICT");

    let data = app
        .ok(
            "{ me { memberships { nodes { role scopeKind } } } }",
            json!({}),
            &person,
        )
        .await;
    assert_eq!(
        data["me"]["memberships"]["nodes"],
        json!([{ "role": "expert", "scopeKind": "group" }])
    );
}

#[tokio::test]
async fn the_outbox_is_read_by_coordinators_only() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let coordinator = app
        .create_user("coordinator@example.org", "Coordinator")
        .await;
    app.grant(&coordinator, "coordinator", "groupId", &group)
        .await;
    let expert = app.create_user("expert@example.org", "Expert").await;
    app.grant(&expert, "expert", "groupId", &group).await;
    app.ok(
        TRANSITION,
        json!({ "id": group, "name": "conclude", "reason": "Mandate fulfilled" }),
        &coordinator,
    )
    .await;

    let query = "query($g: ID!) { outbox(groupId: $g) { totalCount edges { node { recipientEmail template status subjectLine messageId } } } }";
    let data = app.ok(query, json!({ "g": group }), &coordinator).await;
    let mut recipients: Vec<&str> = data["outbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|edge| edge["node"]["template"] == "group_concluded")
        .map(|edge| edge["node"]["recipientEmail"].as_str().unwrap())
        .collect();
    recipients.sort();
    assert_eq!(
        recipients,
        vec!["coordinator@example.org", "expert@example.org"]
    );

    let response = app.gql(query, json!({ "g": group }), Some(&expert)).await;
    assert_eq!(error_code(&response), "FORBIDDEN");
    let response = app
        .gql("{ outbox { totalCount } }", json!({}), Some(&coordinator))
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN");
}
