//! Workflow definitions as data: `govflow workflows check` reports every kind of error with its
//! file and line, a server refuses to start on a wrong definition, and instances keep the
//! version they started under.

use govflow_api::cli::execute;
use govflow_tests::{TestApp, TestDatabase, base_settings, checked};
use serde_json::json;

const VALID: &str = r#"name = "research_task"
subject = "task"
initial = "open"

[states.open]
[states.claimed]
[states.accepted]
terminal = true

[[transitions]]
name = "claim"
from = ["open"]
to = "claimed"
roles = ["expert"]
guards = ["group_active"]
effects = [{ notify = "chair", template = "group_concluded" }]

[[transitions]]
name = "accept"
from = ["claimed"]
to = "accepted"
roles = ["chair"]
"#;

/// A config folder with the shipped templates and one workflow file.
fn config_dir(workflow: &str) -> tempfile::TempDir {
    let dir = govflow_tests::config_copy();
    for entry in std::fs::read_dir(dir.path().join("workflows")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    std::fs::write(dir.path().join("workflows/task.toml"), workflow).unwrap();
    dir
}

async fn check(workflow: &str) -> govflow_api::cli::Outcome {
    let dir = config_dir(workflow);
    let path = dir.path().to_str().unwrap().to_owned();
    execute(
        ["govflow", "workflows", "check", path.as_str()],
        Vec::<(String, String)>::new(),
    )
    .await
}

#[tokio::test]
async fn the_shipped_definitions_and_the_issue_example_load() {
    let outcome = execute(
        ["govflow", "workflows", "check"],
        Vec::<(String, String)>::new(),
    )
    .await;
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome.stdout.contains("working_group (subject `group`)"),
        "{}",
        outcome.stdout
    );

    let outcome = check(VALID).await;
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(outcome.stdout.contains("research_task"));
}

/// Broken variants of the valid file: what is replaced, by what, and the line and reason the check
/// must report.
const BROKEN: &[(&str, &str, usize, &str)] = &[
    (
        "to = \"claimed\"",
        "to = \"taken\"",
        13,
        "unknown state `taken`",
    ),
    (
        "[states.accepted]",
        "[states.lost]\n[states.accepted]",
        7,
        "state `lost` is unreachable",
    ),
    (
        "name = \"accept\"",
        "name = \"claim\"",
        19,
        "duplicate transition `claim`",
    ),
    (
        "group_active",
        "moon_is_full",
        15,
        "unknown guard `moon_is_full`",
    ),
    (
        "roles = [\"chair\"]",
        "roles = [\"emperor\"]",
        22,
        "unknown role `emperor`",
    ),
    (
        "notify = \"chair\"",
        "fax = \"chair\"",
        16,
        "unknown effect `fax`",
    ),
    (
        "group_concluded",
        "no_such_template",
        16,
        "no_such_template",
    ),
    (
        "from = [\"claimed\"]\nto = \"accepted\"",
        "from = [\"claimed\"]\nto = \"open\"",
        6,
        "no path to a terminal state",
    ),
    ("from = [\"open\"]\n", "", 10, "has no `from`"),
    ("initial = \"open\"", "initial = open", 3, ""),
];

/// Each variant in [`BROKEN`], and one with a transition out of a terminal state, is refused with
/// its line and reason.
#[tokio::test]
async fn every_definition_error_names_file_line_and_reason() {
    let mut cases: Vec<(String, usize, &str)> = BROKEN
        .iter()
        .map(|&(from, to, line, reason)| (VALID.replace(from, to), line, reason))
        .collect();
    // A transition out of a terminal state, added at the end.
    cases.push((
        format!(
            "{VALID}\n[[transitions]]\nname = \"reopen\"\nfrom = [\"accepted\"]\nto = \"open\"\nroles = [\"chair\"]\n"
        ),
        26,
        "terminal",
    ));
    for (text, line, reason) in cases {
        let outcome = check(&text).await;
        assert_eq!(
            outcome.code, 1,
            "expected a refusal for {reason}: {outcome:?}"
        );
        let expected = format!("task.toml:{line}: ");
        let reported = outcome
            .stdout
            .lines()
            .find(|reported| reported.contains(&expected) && reported.contains(reason));
        assert!(
            reported.is_some(),
            "expected `{expected}...{reason}` in:\n{}",
            outcome.stdout
        );
    }
}

#[tokio::test]
async fn a_server_refuses_to_start_on_a_wrong_definition() {
    let dir = config_dir(&VALID.replace("to = \"claimed\"", "to = \"taken\""));
    let database = TestDatabase::create().await;
    let mut raw = base_settings(&database.url);
    raw.config_dir = dir.path().display().to_string();
    let settings = checked(raw);
    let clock = govflow_engine::ManualClock::new(govflow_tests::start_instant());
    let err = govflow_api::server::Server::build(&settings, std::sync::Arc::new(clock))
        .await
        .err()
        .expect("start-up is refused");
    let message = err.to_string();
    assert!(message.contains("task.toml:13:"), "{message}");
    assert!(message.contains("unknown state `taken`"), "{message}");
}

#[tokio::test]
async fn definitions_are_versioned_and_instances_keep_their_version() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let data = app
        .ok(
            "query($id: ID!) { workflowDefinitions { name version subject initial states { name terminal } }
               group(id: $id) { history { edges { node { transition definitionVersion } } } } }",
            json!({ "id": group }),
            &app.admin,
        )
        .await;
    let definition = data["workflowDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|definition| definition["name"] == "working_group")
        .unwrap();
    let version = definition["version"].as_str().unwrap();
    assert_eq!(version.len(), 64, "a SHA-256 content hash");
    assert_eq!(definition["initial"], "draft");
    let establish = &data["group"]["history"]["edges"][0]["node"];
    assert_eq!(establish["transition"], "establish");
    assert_eq!(establish["definitionVersion"], version);
}
