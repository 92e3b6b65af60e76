//! A draft amendment exists only for the people who may read it (the group's chair, experts and
//! coordinators, and admins): to anyone else, every mutation that acts on it answers NOT_FOUND,
//! word for word as for an id that names nothing, and writes nothing.

use crate::documents::{Story, WORK_PLAN_V2};
use govflow_tests::{TestUser, error_code, error_message};
use serde_json::{Value, json};

/// A mutation acting on an amendment, with the variables it needs besides `$id`.
struct Case {
    name: &'static str,
    query: &'static str,
    variables: Value,
}

fn cases(story: &Story) -> Vec<Case> {
    let closes_at = story.in_days(14);
    vec![
        Case {
            name: "openConsultation",
            query: "mutation($id: ID!, $at: DateTime!) { openConsultation(id: $id, closesAt: $at) { state } }",
            variables: json!({ "at": closes_at }),
        },
        Case {
            name: "rebaseAmendment",
            query: "mutation($id: ID!) { rebaseAmendment(id: $id, text: \"Another text\\n\") { state } }",
            variables: json!({}),
        },
        Case {
            name: "withdrawAmendment",
            query: "mutation($id: ID!) { withdrawAmendment(id: $id, reason: \"not needed\") { state } }",
            variables: json!({}),
        },
        Case {
            name: "adoptAmendment",
            query: "mutation($id: ID!) { adoptAmendment(id: $id) { state } }",
            variables: json!({}),
        },
        Case {
            name: "transition withdraw",
            query: "mutation($id: ID!) { transition(subjectId: $id, name: \"withdraw\") { state } }",
            variables: json!({}),
        },
        Case {
            name: "transition open_consultation",
            query: "mutation($id: ID!, $input: JSON) { transition(subjectId: $id, name: \"open_consultation\", input: $input) { state } }",
            variables: json!({ "input": { "closesAt": closes_at } }),
        },
        Case {
            name: "transition of an unknown name",
            query: "mutation($id: ID!) { transition(subjectId: $id, name: \"no_such_transition\") { state } }",
            variables: json!({}),
        },
        Case {
            name: "transition with a stale version",
            query: "mutation($id: ID!) { transition(subjectId: $id, name: \"withdraw\", expectedVersion: 99) { state } }",
            variables: json!({}),
        },
        Case {
            name: "updateAmendment",
            query: "mutation($id: ID!) { updateAmendment(id: $id, input: { title: \"Renamed\" }) { title } }",
            variables: json!({}),
        },
        Case {
            name: "commentOnAmendment",
            query: "mutation($id: ID!) { commentOnAmendment(id: $id, text: \"A comment\") { id } }",
            variables: json!({}),
        },
        Case {
            name: "endorseAmendment",
            query: "mutation($id: ID!) { endorseAmendment(id: $id, text: \"Agreed\") { id } }",
            variables: json!({}),
        },
        Case {
            name: "objectToAmendment",
            query: "mutation($id: ID!) { objectToAmendment(id: $id, text: \"Disagreed\") { id } }",
            variables: json!({}),
        },
    ]
}

fn with_id(variables: &Value, id: &str) -> Value {
    let mut variables = variables.clone();
    variables["id"] = json!(id);
    variables
}

/// Everything a refused mutation could have changed, as the chair sees it.
async fn record(story: &Story, amendment: &str) -> Value {
    story
        .app
        .ok(
            "query($id: ID!) { amendment(id: $id) { state version title text textRevision closesAt
               responses { totalCount } history(first: 100) { totalCount } } }",
            json!({ "id": amendment }),
            &story.chair,
        )
        .await
}

#[tokio::test]
async fn a_draft_is_not_found_for_those_who_may_not_read_it() {
    let story = Story::new().await;
    let app = &story.app;
    let amendment = story.draft(WORK_PLAN_V2).await;
    let unknown = uuid::Uuid::now_v7().to_string();

    let outsider = app.create_user("outsider@example.org", "Outsider").await;
    let other_group = app.group(&story.forum, "Data Governance").await;
    let other_expert = app
        .create_user("expert@other.example", "Other Expert")
        .await;
    app.grant(&other_expert, "expert", "groupId", &other_group)
        .await;
    let observer = app.create_user("observer@example.org", "Observer").await;
    app.grant(&observer, "observer", "groupId", &story.group)
        .await;
    let forum_observer = app
        .create_user("forum-observer@example.org", "Forum Observer")
        .await;
    app.grant(&forum_observer, "observer", "forumId", &story.forum)
        .await;

    let before = record(&story, &amendment).await;
    let callers: [(&str, &TestUser); 4] = [
        ("an outsider", &outsider),
        ("an expert of another group", &other_expert),
        ("an observer of the group", &observer),
        ("an observer of the forum", &forum_observer),
    ];
    for case in cases(&story) {
        for (who, user) in callers {
            let hidden = app
                .gql(case.query, with_id(&case.variables, &amendment), Some(user))
                .await;
            assert_eq!(
                error_code(&hidden),
                "NOT_FOUND",
                "{} by {who}: {hidden}",
                case.name
            );
            // The answer must not tell a hidden draft from an id that names nothing.
            let missing = app
                .gql(case.query, with_id(&case.variables, &unknown), Some(user))
                .await;
            assert_eq!(
                error_message(&hidden).replace(&amendment, "<id>"),
                error_message(&missing).replace(&unknown, "<id>"),
                "{} by {who}",
                case.name
            );
        }
    }
    assert_eq!(
        record(&story, &amendment).await,
        before,
        "nothing was written"
    );

    // Those who may read the draft but not act on it are still told why.
    let cases = cases(&story);
    let open = &cases[0];
    let response = app
        .gql(
            open.query,
            with_id(&open.variables, &amendment),
            Some(&story.endorser),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
}

#[tokio::test]
async fn past_draft_the_amendment_is_readable_and_refusals_name_the_role() {
    let story = Story::new().await;
    let app = &story.app;
    let amendment = story.draft(WORK_PLAN_V2).await;
    let response = story.open(&amendment, 14).await;
    assert!(response.get("errors").is_none(), "{response}");
    let outsider = app.create_user("outsider@example.org", "Outsider").await;

    let response = app
        .gql(
            "mutation($id: ID!) { withdrawAmendment(id: $id, reason: \"not needed\") { state } }",
            json!({ "id": amendment }),
            Some(&outsider),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    assert!(error_message(&response).contains("chair"), "{response}");
}
