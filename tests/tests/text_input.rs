//! One-line texts (names, titles, symbols, codes) refuse line breaks and other control characters,
//! which would split an e-mail subject line: INVALID_INPUT naming the field, and nothing written.
//! Multi-line texts (a document's text, a theme, a reason, a comment) keep their line breaks.

use govflow_tests::{TestApp, error_code};
use serde_json::{Value, json};

/// The ids the mutations act on.
struct Fixture {
    forum: String,
    member_state: String,
    group: String,
    user: String,
    document: String,
    amendment: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let (forum, member_states) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let user = app.create_user("expert@example.org", "Expert Tamm").await;
    let document = app
        .document(
            &group,
            "work_plan",
            "Work plan",
            "First line\nSecond line\n",
        )
        .await;
    let data = app
        .ok(
            "mutation($input: CreateAmendmentInput!) { createAmendment(input: $input) { id } }",
            json!({ "input": { "groupId": group, "documentId": document, "text": "First line\nThird line\n" } }),
            &app.admin,
        )
        .await;
    let amendment = data["createAmendment"]["id"].as_str().unwrap().to_owned();
    Fixture {
        forum,
        member_state: member_states[0].clone(),
        group,
        user: user.id.to_string(),
        document,
        amendment,
    }
}

/// A mutation that takes a one-line text, the variables it needs with `bad` in that text, and the
/// field its refusal must name.
fn cases(f: &Fixture, bad: &str) -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "mutation($input: CreateForumInput!) { createForum(input: $input) { id } }",
            json!({ "input": { "name": bad } }),
            "name",
        ),
        (
            "mutation($input: CreateForumInput!) { createForum(input: $input) { id } }",
            json!({ "input": { "name": "Ocean Nations", "settings": { "summitSeries": bad } } }),
            "settings.summitSeries",
        ),
        (
            "mutation($id: ID!, $input: UpdateForumInput!) { updateForum(id: $id, input: $input) { id } }",
            json!({ "id": f.forum, "input": { "name": bad } }),
            "name",
        ),
        (
            "mutation($input: CreateMemberStateInput!) { createMemberState(input: $input) { id } }",
            json!({ "input": { "forumId": f.forum, "name": bad, "code": "URY" } }),
            "name",
        ),
        (
            "mutation($input: CreateMemberStateInput!) { createMemberState(input: $input) { id } }",
            json!({ "input": { "forumId": f.forum, "name": "Uruguay", "code": format!("UR{bad}") } }),
            "code",
        ),
        (
            "mutation($id: ID!, $input: UpdateMemberStateInput!) { updateMemberState(id: $id, input: $input) { id } }",
            json!({ "id": f.member_state, "input": { "name": bad } }),
            "name",
        ),
        (
            "mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }",
            json!({ "input": { "forumId": f.forum, "name": bad, "theme": "Data" } }),
            "name",
        ),
        (
            "mutation($id: ID!, $input: UpdateGroupInput!) { updateGroup(id: $id, input: $input) { id } }",
            json!({ "id": f.group, "input": { "name": bad } }),
            "name",
        ),
        (
            "mutation($input: CreateUserInput!) { createUser(input: $input) { id } }",
            json!({ "input": { "email": "new@example.org", "name": bad } }),
            "name",
        ),
        (
            "mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }",
            json!({ "id": f.user, "input": { "name": bad } }),
            "name",
        ),
        (
            "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { id } }",
            json!({ "input": { "groupId": f.group, "kind": "note", "title": bad, "text": "Text\n" } }),
            "title",
        ),
        (
            "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { id } }",
            json!({ "input": { "groupId": f.group, "kind": "note", "title": "Note", "symbol": format!("DN/2026{bad}1"), "text": "Text\n" } }),
            "symbol",
        ),
        (
            "mutation($input: CreateAmendmentInput!) { createAmendment(input: $input) { id } }",
            json!({ "input": { "groupId": f.group, "documentId": f.document, "title": bad, "text": "Other\n" } }),
            "title",
        ),
        (
            "mutation($id: ID!, $input: UpdateAmendmentInput!) { updateAmendment(id: $id, input: $input) { id } }",
            json!({ "id": f.amendment, "input": { "title": bad } }),
            "title",
        ),
    ]
}

/// Everything the refused mutations could have written.
async fn everything(app: &TestApp, f: &Fixture) -> Value {
    app.ok(
        "query($f: ID!, $m: ID!, $g: ID!, $u: ID!) {
           forums(first: 100) { totalCount edges { node { name version settings { summitSeries } } } }
           forum(id: $f) { memberStates(first: 100) { totalCount edges { node { name code } } } }
           memberState(id: $m) { name code }
           groups(first: 100) { totalCount edges { node { name version } } }
           users(first: 100) { totalCount }
           user(id: $u) { name }
           documents(first: 100) { totalCount edges { node { title symbol } } }
           amendments(groupId: $g, first: 100) { totalCount edges { node { title version } } }
         }",
        json!({ "f": f.forum, "m": f.member_state, "g": f.group, "u": f.user }),
        &app.admin,
    )
    .await
}

#[tokio::test]
async fn one_line_texts_refuse_control_characters() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let before = everything(&app, &f).await;
    for bad in [
        "Two\nLines",
        "Carriage\rReturn",
        "Bell\u{7}Ring",
        "Escape\u{1b}[31m",
    ] {
        for (query, variables, field) in cases(&f, bad) {
            let response = app.gql(query, variables, Some(&app.admin)).await;
            assert_eq!(
                error_code(&response),
                "INVALID_INPUT",
                "{bad:?} in {query}: {response}"
            );
            assert_eq!(
                response["errors"][0]["extensions"]["field"], field,
                "{bad:?} in {query}: {response}"
            );
        }
    }
    assert_eq!(everything(&app, &f).await, before, "nothing was written");
}

#[tokio::test]
async fn multi_line_texts_keep_their_line_breaks() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let theme = "Digital governance:\n- open data\n- identity";
    let data = app
        .ok(
            "mutation($id: ID!, $theme: String!) { updateGroup(id: $id, input: { theme: $theme }) { theme } }",
            json!({ "id": f.group, "theme": theme }),
            &app.admin,
        )
        .await;
    assert_eq!(data["updateGroup"]["theme"], theme);
    let data = app
        .ok(
            "query($d: ID!) { document(id: $d) { currentVersion { text } } }",
            json!({ "d": f.document }),
            &app.admin,
        )
        .await;
    assert_eq!(
        data["document"]["currentVersion"]["text"],
        "First line\nSecond line\n"
    );
    let data = app
        .ok(
            "mutation($id: ID!) { withdrawAmendment(id: $id, reason: \"Superseded.\\nSee the next draft.\") { state history { edges { node { reason } } } } }",
            json!({ "id": f.amendment }),
            &app.admin,
        )
        .await;
    let history = data["withdrawAmendment"]["history"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(
        history.last().unwrap()["node"]["reason"],
        "Superseded.\nSee the next draft."
    );
}
