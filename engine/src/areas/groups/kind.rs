//! Working groups as workflow subjects (`subject = "group"`): their scope and zone, the meeting
//! `place_on_agenda` takes, what their transitions do besides moving the state (the agenda, the
//! activation), and the guard `group_active`. The decision guards are the meetings'.

use super::proposals;
use crate::areas::meetings::agenda;
use crate::kernel::error::{EngineError, EngineResult};
use crate::types::TimeZone;
use crate::workflow::guards::{Guard, GuardContext, GuardFuture, refuse};
use crate::workflow::subjects::{self, AfterTransition, SubjectInfo, SubjectKind, TransitionCall};
use async_trait::async_trait;
use govflow_entities::{forum, working_group};
use sea_orm::{DatabaseExecutor, EntityTrait};
use serde_json::json;
use uuid::Uuid;

pub struct GroupKind;

#[async_trait]
impl SubjectKind for GroupKind {
    fn name(&self) -> &'static str {
        "group"
    }

    fn table(&self) -> &'static str {
        "working_group"
    }

    async fn info(&self, db: &DatabaseExecutor<'_>, group_id: Uuid) -> EngineResult<SubjectInfo> {
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
            scope: super::group_scope(&group),
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

    /// `place_on_agenda` names a planned meeting of the group's forum.
    async fn check_input(&self, call: &TransitionCall<'_>) -> EngineResult<()> {
        if call.transition.name == "place_on_agenda" {
            agenda::meeting_for(call.txn, call.input, forum_of(call)?).await?;
        }
        Ok(())
    }

    /// The agenda follows the proposal (placed, deferred, withdrawn), and `activate` adopts the
    /// draft terms, installs the chair and starts the mandate.
    async fn after_transition(&self, call: &TransitionCall<'_>) -> EngineResult<AfterTransition> {
        agenda::follow_transition(call, forum_of(call)?).await?;
        if call.transition.name == "activate" {
            proposals::activate(call).await?;
            return Ok(AfterTransition::Changed);
        }
        Ok(AfterTransition::Unchanged)
    }

    fn guards(&self) -> Vec<Guard> {
        vec![Guard {
            name: "group_active",
            check: group_active,
        }]
    }
}

fn forum_of(call: &TransitionCall<'_>) -> EngineResult<Uuid> {
    call.subject
        .scope
        .forum_id
        .ok_or_else(|| EngineError::Internal("a group without a forum".into()))
}

/// Nothing may be created or changed in a group that is not `active`.
fn group_active<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async move {
        let group_ids = context
            .subjects
            .iter()
            .filter_map(|subject| subject.scope.group_id)
            .collect();
        let groups = subjects::instances_of(context.txn, group_ids).await?;
        Ok(context
            .subjects
            .iter()
            .map(|subject| {
                let Some(group_id) = subject.scope.group_id else {
                    return Err(refuse("group_active", "the subject belongs to no group"));
                };
                match groups.get(&group_id) {
                    Some(group) if group.state == "active" => Ok(()),
                    Some(group) => Err(refuse(
                        "group_active",
                        format!("the group is `{}`, not `active`", group.state),
                    )),
                    None => Err(EngineError::not_found("working group", group_id)),
                }
            })
            .collect())
    })
}
