//! What the executor needs to know about a subject of any kind: whether the caller may see it at
//! all, its scope (for role checks and recipients), its time zone, and the fields its e-mails may
//! show. Each subject kind registers here; the workflow instance row says which kind a subject id
//! is.

use crate::actor::{Acting, SubjectScope};
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::types::TimeZone;
use crate::workflow::TransitionDef;
use govflow_entities::{forum, workflow_instance, working_group};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct SubjectInfo {
    pub kind: String,
    pub scope: SubjectScope,
    pub time_zone: TimeZone,
    /// The subject's own fields, as templates see them (`subject.name`, ...).
    pub fields: serde_json::Value,
    /// The forum, as templates see it (`forum.name`).
    pub forum: serde_json::Value,
}

/// What an unknown subject id answers; a subject the caller may not read answers the same.
pub fn not_found(subject_id: Uuid) -> EngineError {
    EngineError::not_found("workflow subject", subject_id)
}

pub async fn instance_of<C: ConnectionTrait>(
    db: &C,
    subject_id: Uuid,
) -> EngineResult<workflow_instance::Model> {
    workflow_instance::Entity::find()
        .filter(workflow_instance::Column::SubjectId.eq(subject_id))
        .one(db)
        .await?
        .ok_or_else(|| not_found(subject_id))
}

/// The instance of `subject_id`, with its row locked until the transaction ends, so that a
/// write depending on the subject's state waits for a transition of it under way. PostgreSQL
/// takes the row lock (`FOR UPDATE`); SQLite has no row locks (sea-query leaves the clause out)
/// and needs none, since its write transactions start with `BEGIN IMMEDIATE` and so run one at
/// a time.
pub async fn lock_instance(
    txn: &DatabaseTransaction,
    subject_id: Uuid,
) -> EngineResult<Option<workflow_instance::Model>> {
    Ok(workflow_instance::Entity::find()
        .filter(workflow_instance::Column::SubjectId.eq(subject_id))
        .lock_exclusive()
        .one(txn)
        .await?)
}

/// Whether `acting` may know that the subject exists. The caller answers `false` exactly as it
/// answers an unknown id (DECISIONS: a draft the caller may not read is NOT_FOUND), and asks
/// before any role check, so that FORBIDDEN never tells an outsider the subject is there.
pub async fn readable<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    instance: &workflow_instance::Model,
) -> EngineResult<bool> {
    // The engine itself (scheduler, effects, closing a vote) acts on subjects nobody shows it.
    let Acting::User(actor) = acting else {
        return Ok(true);
    };
    match instance.subject_kind.as_str() {
        "amendment" => crate::amendments::readable(db, actor, instance).await,
        _ => Ok(true),
    }
}

/// The workflow instances of many subjects, by subject id: one query for a page of subjects.
pub async fn instances_of<C: ConnectionTrait>(
    db: &C,
    subject_ids: Vec<Uuid>,
) -> EngineResult<HashMap<Uuid, workflow_instance::Model>> {
    Ok(workflow_instance::Entity::find()
        .filter(workflow_instance::Column::SubjectId.is_in(subject_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|instance| (instance.subject_id, instance))
        .collect())
}

/// Takes the instance of `subject_id` out of a map from [`instances_of`].
pub fn take_instance(
    instances: &mut HashMap<Uuid, workflow_instance::Model>,
    subject_id: Uuid,
) -> EngineResult<workflow_instance::Model> {
    instances.remove(&subject_id).ok_or_else(|| {
        EngineError::Internal(format!("subject {subject_id} has no workflow instance"))
    })
}

pub async fn state_of<C: ConnectionTrait>(db: &C, subject_id: Uuid) -> EngineResult<String> {
    Ok(instance_of(db, subject_id).await?.state)
}

pub async fn info<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    subject_id: Uuid,
) -> EngineResult<SubjectInfo> {
    match kind {
        "group" => group_info(db, subject_id).await,
        "amendment" => crate::amendments::subject_info(db, subject_id).await,
        other => Err(EngineError::Internal(format!(
            "subjects of kind `{other}` are not registered"
        ))),
    }
}

/// The area's parsing of a transition's `input`, run before the role check.
pub async fn check_input(
    engine: &Engine,
    txn: &DatabaseTransaction,
    instance: &workflow_instance::Model,
    transition: &TransitionDef,
    subject: &SubjectInfo,
    input: &serde_json::Value,
) -> EngineResult<()> {
    match instance.subject_kind.as_str() {
        "group" => crate::groups::check_input(transition, input),
        "amendment" => {
            crate::amendments::check_input(engine, txn, instance, transition, subject, input).await
        }
        _ => Ok(()),
    }
}

/// The area's own writes after a transition moved the subject, in the same transaction;
/// `true` when they changed the subject's fields.
pub async fn after_transition(
    engine: &Engine,
    txn: &DatabaseTransaction,
    acting: Acting<'_>,
    instance: &workflow_instance::Model,
    transition: &TransitionDef,
    input: &serde_json::Value,
) -> EngineResult<bool> {
    match instance.subject_kind.as_str() {
        "amendment" => {
            crate::amendments::after_transition(engine, txn, acting, instance, transition, input)
                .await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

async fn group_info<C: ConnectionTrait>(db: &C, group_id: Uuid) -> EngineResult<SubjectInfo> {
    let group = working_group::Entity::find_by_id(group_id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("working group", group_id))?;
    let forum = forum::Entity::find_by_id(group.forum_id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("forum", group.forum_id))?;
    let time_zone = TimeZone::parse("timeZone", &group.time_zone)?;
    Ok(SubjectInfo {
        kind: "group".into(),
        scope: SubjectScope {
            forum_id: Some(group.forum_id),
            group_id: Some(group.id),
            member_state_id: group.lead_member_state_id,
            ..SubjectScope::default()
        },
        time_zone,
        fields: json!({
            "id": group.id.to_string(),
            "name": group.name,
            "theme": group.theme,
            "time_zone": group.time_zone,
        }),
        forum: json!({ "id": forum.id.to_string(), "name": forum.name }),
    })
}
