//! Lists of children are loaded in batches (DataLoader): the statements a query costs do not grow
//! with the number of items it lists.

use govflow_tests::{TestApp, TestUser};
use serde_json::json;

const DEEP_LIST: &str =
    "{ forums(first: 2) { edges { node { name memberStates(first: 5) { nodes { code } }
  groups(first: 12) { totalCount edges { node { name state version availableTransitions { name }
    forum { name } leadMemberState { code }
    memberships(first: 5) { nodes { role user { email memberships(first: 5) { nodes { role } } } } }
    history(first: 5) { edges { node { transition actor { email } } } } } } } } } } }";

async fn statements_with(app: &TestApp, query: &str, variables: serde_json::Value) -> u64 {
    // The set-up may have woken the scheduler (a group established gets its report deadline):
    // let that pass end before counting.
    app.wait_until_idle().await;
    let before = app.engine.statements_executed();
    app.ok(query, variables, &app.admin).await;
    app.engine.statements_executed() - before
}

async fn add_groups(app: &TestApp, forum: &str, range: std::ops::Range<usize>) {
    for index in range {
        let group = app.group(forum, &format!("Group {index:02}")).await;
        let expert = app
            .create_user(
                &format!("expert{index}@example.org"),
                &format!("Expert {index}"),
            )
            .await;
        app.grant(&expert, "expert", "groupId", &group).await;
    }
}

#[tokio::test]
async fn listing_more_groups_costs_no_more_statements() {
    let app = TestApp::spawn_quiet().await;
    let (forum, _) = app.forum("Digital Nations").await;

    add_groups(&app, &forum, 0..2).await;
    let few = statements_with(&app, DEEP_LIST, json!({})).await;
    add_groups(&app, &forum, 2..12).await;
    let many = statements_with(&app, DEEP_LIST, json!({})).await;

    // Batches may split when a page takes longer than the loader's batching delay, so allow one
    // or two; a query per item would add at least ten.
    assert!(
        many <= few + 2,
        "2 groups took {few} statements, 12 took {many}"
    );
    // Each child list is a page cut in SQL: its rows and its count, two statements per list.
    assert!((5..=22).contains(&many), "{many} statements for one page");
}

const DOCUMENTS: &str = "query($g: ID!) { documents(groupId: $g, first: 20) { edges { node {
  title timeZone createdAt group { name } currentVersion { number createdAt }
  versions(first: 3) { edges { node { number author { email } } } }
  translations(first: 3) { nodes { language outdated } } missingLanguages
  amendments(first: 3) { nodes { title state closesAt createdBy { email }
    responses(first: 3) { nodes { kind author { email } } }
    history(first: 3) { edges { node { transition at } } } } } } } } }";

async fn add_documents(
    app: &TestApp,
    group: &str,
    chair: &govflow_tests::TestUser,
    range: std::ops::Range<usize>,
) {
    for index in range {
        let data = app
            .ok(
                "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { id } }",
                json!({ "input": { "groupId": group, "kind": "expert_paper", "title": format!("Paper {index:02}"), "text": "First text\n" } }),
                chair,
            )
            .await;
        let document = data["createDocument"]["id"].as_str().unwrap().to_owned();
        app.ok(
            "mutation($input: CreateAmendmentInput!) { createAmendment(input: $input) { id } }",
            json!({ "input": { "groupId": group, "documentId": document, "text": "Second text\n" } }),
            chair,
        )
        .await;
        app.ok(
            "mutation($d: ID!) { requestTranslation(documentId: $d, language: \"fr\") { id } }",
            json!({ "d": document }),
            chair,
        )
        .await;
    }
}

#[tokio::test]
async fn listing_more_documents_costs_no_more_statements() {
    let app = TestApp::spawn_quiet().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let chair = app.create_user("chair@example.org", "Chair").await;
    app.grant(&chair, "chair", "groupId", &group).await;
    add_documents(&app, &group, &chair, 0..2).await;
    let variables = json!({ "g": group });
    let few = statements_with(&app, DOCUMENTS, variables.clone()).await;
    add_documents(&app, &group, &chair, 2..20).await;
    let many = statements_with(&app, DOCUMENTS, variables).await;
    // Batches can split when a page outlasts the loader's batching delay, which moves the count
    // by a few either way; a query per document would add eighteen or more.
    assert!(
        many <= few + 5,
        "2 documents took {few} statements, 20 took {many}"
    );
    assert!((5..=30).contains(&many), "{many} statements for one page");
}

const GUARDED: &str = "query($g: ID!) { amendments(groupId: $g, first: 20) { totalCount
  nodes { title state availableTransitions { name } } } }";

/// Amendments under consultation, whose `adopt` names two guards that read the database.
async fn add_amendments_in_consultation(
    app: &TestApp,
    group: &str,
    chair: &govflow_tests::TestUser,
    range: std::ops::Range<usize>,
) {
    let closes_at = (app.engine.now() + chrono::Duration::days(20)).to_rfc3339();
    for index in range {
        let title = format!("Paper {index:02}");
        let document = app
            .document(group, "expert_paper", &title, "First text\n")
            .await;
        let data = app
            .ok(
                "mutation($input: CreateAmendmentInput!) { createAmendment(input: $input) { id } }",
                json!({ "input": { "groupId": group, "documentId": document, "text": "Second text\n" } }),
                chair,
            )
            .await;
        let amendment = data["createAmendment"]["id"].as_str().unwrap().to_owned();
        app.ok(
            "mutation($a: ID!, $c: DateTime!) { openConsultation(id: $a, closesAt: $c) { state } }",
            json!({ "a": amendment, "c": closes_at }),
            chair,
        )
        .await;
    }
}

#[tokio::test]
async fn available_transitions_of_guarded_subjects_cost_a_few_statements_per_guard() {
    let app = TestApp::spawn_quiet().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let chair = app.create_user("chair@example.org", "Chair").await;
    app.grant(&chair, "chair", "groupId", &group).await;
    add_amendments_in_consultation(&app, &group, &chair, 0..2).await;
    let variables = json!({ "g": group });

    let count = |variables: serde_json::Value| {
        let app = &app;
        let chair = &chair;
        async move {
            app.wait_until_idle().await;
            let before = app.engine.statements_executed();
            let data = app.ok(GUARDED, variables, chair).await;
            (app.engine.statements_executed() - before, data)
        }
    };
    let (few, data) = count(variables.clone()).await;
    // The window is open: `adopt` is refused by its guard, and the chair may still withdraw.
    let names: Vec<&str> = data["amendments"]["nodes"][0]["availableTransitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|transition| transition["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"adopt"), "{names:?}");
    assert!(names.contains(&"withdraw"), "{names:?}");

    add_amendments_in_consultation(&app, &group, &chair, 2..12).await;
    let (many, data) = count(variables.clone()).await;
    assert_eq!(data["amendments"]["totalCount"], 12);
    assert!(
        many <= few + 2,
        "2 amendments took {few} statements, 12 took {many}"
    );
    assert!((3..=16).contains(&many), "{many} statements for one page");

    // Once the windows close the guards let `adopt` through, for every amendment of the page.
    app.clock.advance(chrono::Duration::days(21));
    let (_, data) = count(variables).await;
    for node in data["amendments"]["nodes"].as_array().unwrap() {
        let names: Vec<&str> = node["availableTransitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|transition| transition["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"adopt"), "{names:?}");
    }
}

/// A transition without effects, through the generic `transition` mutation: the caller with
/// their roles (1), then in one transaction the subject with its document, forum, group and
/// workflow instance (1), the version-checked UPDATE (1), the history row (1), the amendment's own
/// UPDATE, whose RETURNING gives the answer (1), and the deadlines waiting for this transition of
/// the subject or its group (1, by index). Nothing is read after COMMIT. BEGIN and COMMIT come on
/// top.
const TRANSITION_BUDGET: u64 = 6;

const REBASE: &str = "mutation($id: ID!, $v: Int) { transition(subjectId: $id, name: \"rebase\", expectedVersion: $v) { state version } }";

/// A draft amendment of a new group's document, and the group's chair.
async fn draft_amendment(app: &TestApp) -> (TestUser, String) {
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let chair = app.create_user("chair@example.org", "Chair").await;
    app.grant(&chair, "chair", "groupId", &group).await;
    let document = app
        .document(&group, "expert_paper", "Paper", "First text\n")
        .await;
    let data = app
        .ok(
            "mutation($input: CreateAmendmentInput!) { createAmendment(input: $input) { id } }",
            json!({ "input": { "groupId": group, "documentId": document, "text": "Second text\n" } }),
            &chair,
        )
        .await;
    let amendment = data["createAmendment"]["id"].as_str().unwrap().to_owned();
    (chair, amendment)
}

#[tokio::test]
async fn a_transition_without_effects_stays_within_its_statement_budget() {
    let app = TestApp::spawn_quiet().await;
    let (chair, amendment) = draft_amendment(&app).await;
    // Establishing the group gave it a report deadline, which woke the scheduler: let that pass
    // end before counting.
    app.wait_until_idle().await;
    for version in 1..=3 {
        let before = app.engine.statements_executed();
        let data = app
            .ok(REBASE, json!({ "id": amendment, "v": version }), &chair)
            .await;
        let spent = app.engine.statements_executed() - before;
        assert_eq!(data["transition"]["version"], version + 1);
        assert!(
            spent <= TRANSITION_BUDGET,
            "a rebase took {spent} statements, over the budget of {TRANSITION_BUDGET}"
        );
    }
}

/// A server that has not met the subject yet (here, another server of the same database) reads
/// its instance first to learn its kind: one statement more, once; it then keeps to the budget.
#[tokio::test]
async fn a_server_meeting_a_subject_first_spends_one_statement_more_once() {
    let app = TestApp::spawn_quiet().await;
    let (chair, amendment) = draft_amendment(&app).await;
    // The peer has the app's settings: its background loops sleep after their first pass.
    let peer = app.spawn_peer(None).await;
    app.wait_until_idle().await;
    govflow_tests::wait_until_idle(&peer.engine).await;
    for (version, budget) in [(1, TRANSITION_BUDGET + 1), (2, TRANSITION_BUDGET)] {
        let before = peer.engine.statements_executed();
        let data = app
            .gql_at(
                &peer.address,
                REBASE,
                json!({ "id": amendment, "v": version }),
                &chair,
            )
            .await;
        let spent = peer.engine.statements_executed() - before;
        assert_eq!(data["data"]["transition"]["version"], version + 1, "{data}");
        assert!(
            spent <= budget,
            "rebase {version} on the peer took {spent} statements, over {budget}"
        );
    }
}
