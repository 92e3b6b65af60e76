//! A set applied with `govflow workflows apply` while servers run: every server creates new
//! subjects under it and acts on subjects created under it by any other server, without a
//! restart; subjects started under the old set keep their version.

use govflow_tests::{TestApp, apply_set_with_suspend};
use serde_json::{Value, json};

const CREATE_GROUP: &str = "mutation($f: ID!, $name: String!) { createGroup(input: { forumId: $f, name: $name, theme: \"Data\" }) { id } }";
const READ_GROUP: &str = "query($id: ID!) { group(id: $id) { state availableTransitions { name }
  history { edges { node { definitionVersion } } } } }";
const SUSPEND: &str = "mutation($id: ID!) { transition(subjectId: $id, name: \"suspend\", reason: \"paused by the ministers\") { state } }";

async fn create_group_at(app: &TestApp, address: &str, forum: &str, name: &str) -> String {
    let response = app
        .gql_at(
            address,
            CREATE_GROUP,
            json!({ "f": forum, "name": name }),
            &app.admin,
        )
        .await;
    response["data"]["createGroup"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("the group is created at {address}: {response}"))
        .to_owned()
}

fn transitions(response: &Value) -> Vec<&str> {
    response["data"]["group"]["availableTransitions"]
        .as_array()
        .unwrap_or_else(|| panic!("the group is readable: {response}"))
        .iter()
        .filter_map(|transition| transition["name"].as_str())
        .collect()
}

fn version(response: &Value) -> &Value {
    &response["data"]["group"]["history"]["edges"][0]["node"]["definitionVersion"]
}

#[tokio::test]
async fn servers_started_before_an_apply_run_the_new_set() {
    let app = TestApp::spawn().await;
    let before = app.spawn_peer(None).await;
    let (forum, _) = app.forum("Digital Nations").await;
    let old_group = create_group_at(&app, &app.address, &forum, "Old Group").await;

    apply_set_with_suspend(&app).await;
    let after = app.spawn_peer(None).await;

    let old = app
        .gql_at(
            &before.address,
            READ_GROUP,
            json!({ "id": old_group }),
            &app.admin,
        )
        .await;
    assert_eq!(transitions(&old), vec!["conclude"], "{old}");

    // Each server creates a group; every server reads it and takes the new transition on it.
    let servers = [
        ("the first server", app.address.clone()),
        ("a peer started before the apply", before.address.clone()),
        ("a peer started after it", after.address.clone()),
    ];
    for (index, (creator, created_at)) in servers.iter().enumerate() {
        let group = create_group_at(&app, created_at, &forum, &format!("Group {index}")).await;
        let mut versions = Vec::new();
        for (reader, address) in &servers {
            let read = app
                .gql_at(address, READ_GROUP, json!({ "id": group }), &app.admin)
                .await;
            assert_eq!(
                transitions(&read),
                vec!["conclude", "suspend"],
                "created by {creator}, read by {reader}: {read}"
            );
            versions.push(version(&read).clone());
        }
        assert!(versions.iter().all(|seen| seen == &versions[0]));
        assert_ne!(&versions[0], version(&old), "created by {creator}");

        // Each server in turn takes the transition on a group another server created.
        let (actor, address) = &servers[(index + 1) % servers.len()];
        let suspended = app
            .gql_at(address, SUSPEND, json!({ "id": group }), &app.admin)
            .await;
        assert_eq!(
            suspended["data"]["transition"]["state"], "concluded",
            "created by {creator}, suspended by {actor}: {suspended}"
        );
    }

    // The old group keeps its version everywhere.
    for (reader, address) in &servers {
        let read = app
            .gql_at(address, READ_GROUP, json!({ "id": old_group }), &app.admin)
            .await;
        assert_eq!(transitions(&read), vec!["conclude"], "{reader}: {read}");
    }
}
