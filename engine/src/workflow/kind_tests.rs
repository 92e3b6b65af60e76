//! A subject kind that exists only here, to show what adding one takes: the kind itself (its
//! folder, in the product), a definition file, and the kind in the registry's list. Nothing of the
//! executor, the guards or the effects is touched.

use crate::areas::forums::{self, NewForum, SettingsPatch};
use crate::kernel::actor::{Acting, SubjectScope};
use crate::kernel::config::ConfigSource;
use crate::kernel::error::{EngineError, EngineResult};
use crate::registry;
use crate::testing::TestEngine;
use crate::time::stored_zone;
use crate::workflow::executor::{CreationRequest, authorize_creation, create_subject};
use crate::workflow::guards::{Guard, GuardContext, GuardFuture, refuse};
use crate::workflow::subjects::{self, SubjectInfo, SubjectKind, SubjectKinds, TransitionCall};
use crate::workflow::{self, TransitionRequest};
use async_trait::async_trait;
use govflow_entities::forum;
use sea_orm::{DatabaseExecutor, EntityTrait};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// A poll of a forum's coordinators; for the test its row is the forum's own.
struct PollKind;

#[async_trait]
impl SubjectKind for PollKind {
    fn name(&self) -> &'static str {
        "poll"
    }

    fn table(&self) -> &'static str {
        "forum"
    }

    async fn info(&self, db: &DatabaseExecutor<'_>, id: Uuid) -> EngineResult<SubjectInfo> {
        let row = forum::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or_else(|| EngineError::not_found("poll", id))?;
        Ok(SubjectInfo {
            kind: "poll".into(),
            scope: SubjectScope {
                forum_id: Some(row.id),
                ..SubjectScope::default()
            },
            time_zone: stored_zone("UTC"),
            fields: json!({ "name": row.name }),
            forum: json!({ "name": row.name }),
        })
    }

    async fn check_input(&self, call: &TransitionCall<'_>) -> EngineResult<()> {
        match call.input.get("votes").map(serde_json::Value::as_u64) {
            Some(None) => Err(EngineError::invalid("input.votes", "is not a count")),
            _ => Ok(()),
        }
    }

    fn guards(&self) -> Vec<Guard> {
        vec![Guard {
            name: "quorum_reached",
            check: quorum_reached,
        }]
    }
}

fn quorum_reached<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async move {
        let votes = context
            .input
            .get("votes")
            .and_then(serde_json::Value::as_u64);
        let verdict = || {
            if votes.unwrap_or(0) >= 3 {
                Ok(())
            } else {
                Err(refuse("quorum_reached", "fewer than 3 votes were cast"))
            }
        };
        Ok(context.subjects.iter().map(|_| verdict()).collect())
    })
}

const POLL_WORKFLOW: &str = r#"
name = "forum_poll"
subject = "poll"
initial = "open"

[states.open]
[states.closed]
terminal = true

[[transitions]]
name = "open"
from = []
to = "open"
roles = ["forum_coordinator"]

[[transitions]]
name = "close"
from = ["open"]
to = "closed"
roles = ["forum_coordinator"]
guards = ["quorum_reached"]
input = ["votes"]
"#;

/// The shipped config folder plus the poll's definition.
fn config_with_poll() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    for folder in ["workflows", "templates"] {
        std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        for entry in std::fs::read_dir(shipped.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(
                &path,
                dir.path().join(folder).join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    std::fs::write(dir.path().join("workflows/poll.toml"), POLL_WORKFLOW).unwrap();
    dir
}

#[tokio::test]
async fn a_kind_added_to_the_registry_runs_its_workflow() {
    let config = config_with_poll();
    let mut kinds = registry::subject_kinds();
    kinds.push(Arc::new(PollKind));
    let test = TestEngine::start_with(
        SubjectKinds::new(kinds).unwrap(),
        ConfigSource::Dir(config.path().into()),
    )
    .await;
    let engine = &test.engine;
    let forum = forums::create_forum(
        engine,
        &test.admin,
        NewForum {
            name: "Digital Nations".into(),
            settings: SettingsPatch::default(),
        },
    )
    .await
    .unwrap();

    // Created through the executor's creation path, like a group or an amendment.
    let acting = Acting::User(&test.admin);
    let scope = SubjectScope {
        forum_id: Some(forum.id),
        ..SubjectScope::default()
    };
    let txn = engine.begin_write().await.unwrap();
    let creation = authorize_creation(
        engine,
        &txn,
        acting,
        CreationRequest {
            subject_kind: "poll",
            transition: "open",
            parent_scope: &scope,
            reason: None,
            input: &serde_json::Value::Null,
        },
    )
    .await
    .unwrap();
    create_subject(engine, &txn, acting, &creation, forum.id)
        .await
        .unwrap();
    txn.commit().await.unwrap();

    let close = |votes: serde_json::Value| TransitionRequest {
        subject_id: forum.id,
        name: "close".into(),
        reason: None,
        expected_version: None,
        input: json!({ "votes": votes }),
    };
    let refused = |result: EngineResult<workflow::Transitioned>| result.map(|_| ()).unwrap_err();
    // The kind's input check, then its guard, each reached through the registry.
    let bad = refused(workflow::transition(engine, &test.admin, close(json!("many"))).await);
    assert_eq!(
        (bad.code(), bad.to_string().contains("input.votes")),
        ("INVALID_INPUT", true)
    );
    let short = refused(workflow::transition(engine, &test.admin, close(json!(2))).await);
    assert_eq!(short.code(), "GUARD_FAILED", "{short}");
    let done = workflow::transition(engine, &test.admin, close(json!(3)))
        .await
        .unwrap();
    assert_eq!(
        (done.instance.state.as_str(), done.instance.version),
        ("closed", 2)
    );
    assert_eq!(done.subject.kind, "poll");
    let instance = subjects::instance_of(engine.db(), forum.id).await.unwrap();
    assert_eq!(instance.state, "closed");
}

#[tokio::test]
async fn a_definition_naming_a_guard_no_kind_offers_does_not_load() {
    // Without the poll kind its guard is unknown: the file fails at start, with file and line.
    let config = config_with_poll();
    let database = crate::testing::TestDatabase::create().await;
    let connection = crate::kernel::db::connect(&database.url).await.unwrap();
    crate::kernel::db::migrate(&connection).await.unwrap();
    let err = crate::kernel::engine::Engine::start(
        connection,
        Arc::new(crate::kernel::clock::SystemClock),
        ConfigSource::Dir(config.path().into()),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("poll.toml:21: unknown guard `quorum_reached`"),
        "{err}"
    );
}

#[test]
fn two_kinds_of_one_name_or_two_guards_of_one_name_are_refused() {
    let twice: Vec<Arc<dyn SubjectKind>> = vec![Arc::new(PollKind), Arc::new(PollKind)];
    let err = SubjectKinds::new(twice).unwrap_err();
    assert!(
        err.contains("guard `quorum_reached` is registered twice"),
        "{err}"
    );
    let registered = registry::registered().unwrap();
    assert!(registered.get("group").is_ok() && registered.get("amendment").is_ok());
    assert_eq!(
        registered.get("poll").err().map(|err| err.code()),
        Some("INTERNAL")
    );
}
