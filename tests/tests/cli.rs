//! The command line: bootstrapping an administrator, minting a token that the server accepts,
//! and switching the active workflow set with `workflows apply`.

use govflow_api::cli::execute;
use govflow_tests::{TEST_SECRET, TestApp, TestDatabase, base_settings, checked};
use serde_json::json;

fn env(database: &str) -> Vec<(String, String)> {
    vec![
        ("GOVFLOW_DATABASE_URL".into(), database.into()),
        ("GOVFLOW_JWT_SECRET".into(), TEST_SECRET.into()),
    ]
}

#[tokio::test]
async fn admin_create_and_token_give_a_working_login() {
    let database = TestDatabase::create().await;
    let url = database.url.clone();
    let created = execute(
        [
            "govflow",
            "admin",
            "create",
            "--email",
            "Root@Example.org",
            "--name",
            "Root",
        ],
        env(&url),
    )
    .await;
    assert_eq!(created.code, 0, "{created:?}");
    assert!(
        created
            .stdout
            .contains("administrator Root <Root@Example.org>"),
        "{created:?}"
    );

    let minted = execute(
        [
            "govflow",
            "token",
            "--email",
            "root@example.org",
            "--ttl",
            "1h",
        ],
        env(&url),
    )
    .await;
    assert_eq!(minted.code, 0, "{minted:?}");
    let token = minted.stdout.trim().to_owned();

    let bad_ttl = execute(
        [
            "govflow",
            "token",
            "--email",
            "root@example.org",
            "--ttl",
            "soon",
        ],
        env(&url),
    )
    .await;
    assert_eq!(bad_ttl.code, 2, "{bad_ttl:?}");
    let nobody = execute(
        ["govflow", "token", "--email", "nobody@example.org"],
        env(&url),
    )
    .await;
    assert_eq!(nobody.code, 1, "{nobody:?}");
    assert!(nobody.stderr.contains("no user"), "{nobody:?}");

    let app = TestApp::spawn_on(database, checked(base_settings(&url))).await;
    let body = json!({ "query": "{ me { email isAdmin } }" }).to_string();
    let response: serde_json::Value = app.post(body, Some(&token)).await.json().await.unwrap();
    assert_eq!(
        response["data"]["me"]["email"], "Root@Example.org",
        "{response}"
    );
    assert_eq!(response["data"]["me"]["isAdmin"], true);
}

#[tokio::test]
async fn workflows_apply_switches_the_set_and_old_subjects_keep_their_version() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let old_group = app.group(&forum, "Digital Governance").await;

    // A changed working_group: one more transition.
    let dir = govflow_tests::config_copy();
    let file = dir.path().join("workflows/working_group.toml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(
        "\n[[transitions]]\nname = \"suspend\"\nfrom = [\"active\"]\nto = \"concluded\"\nroles = [\"forum_coordinator\"]\nreason_required = true\n",
    );
    std::fs::write(&file, text).unwrap();

    let path = dir.path().display().to_string();
    let applied = execute(
        ["govflow", "workflows", "apply", path.as_str()],
        env(&app.database.url),
    )
    .await;
    assert_eq!(applied.code, 0, "{applied:?}");
    assert!(
        applied.stdout.contains("activated working_group"),
        "{applied:?}"
    );
    assert!(
        applied.stdout.contains("retired working_group"),
        "{applied:?}"
    );

    // A server started now runs the active set from the database, whatever its own folder says.
    let peer = app.spawn_peer(None).await;
    let new_group = app
        .gql_at(
            &peer.address,
            "mutation($f: ID!) { createGroup(input: { forumId: $f, name: \"Data Governance\", theme: \"Data\" }) { id } }",
            json!({ "f": forum }),
            &app.admin,
        )
        .await;
    let new_group = new_group["data"]["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = "query($id: ID!) { group(id: $id) { availableTransitions { name } history { edges { node { definitionVersion } } } } }";
    let names = |data: &serde_json::Value| -> Vec<String> {
        data["data"]["group"]["availableTransitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let old = app
        .gql_at(&peer.address, query, json!({ "id": old_group }), &app.admin)
        .await;
    let new = app
        .gql_at(&peer.address, query, json!({ "id": new_group }), &app.admin)
        .await;
    assert_eq!(names(&old), vec!["conclude"], "{old}");
    assert_eq!(names(&new), vec!["conclude", "suspend"], "{new}");
    assert_ne!(
        old["data"]["group"]["history"]["edges"][0]["node"]["definitionVersion"],
        new["data"]["group"]["history"]["edges"][0]["node"]["definitionVersion"]
    );
}
