//! Working groups as workflow subjects (`subject = "group"`): their scope and zone, the input
//! their transitions take, and the guards they offer (`group_active`, and the decisions of the
//! member representatives on a proposal).

use crate::kernel::error::{EngineError, EngineResult};
use crate::types::TimeZone;
use crate::workflow::guards::{Guard, GuardContext, GuardFuture, Verdicts, refuse};
use crate::workflow::subjects::{self, SubjectInfo, SubjectKind, TransitionCall};
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

    async fn check_input(&self, call: &TransitionCall<'_>) -> EngineResult<()> {
        if call.transition.name == "place_on_agenda"
            && let Some(value) = call.input.get("meetingId")
        {
            let id = value
                .as_str()
                .and_then(|text| Uuid::parse_str(text).ok())
                .ok_or_else(|| EngineError::invalid("input.meetingId", "is not an id"))?;
            // Meetings are not recorded yet, so no id can name one.
            return Err(EngineError::not_found("meeting", id));
        }
        Ok(())
    }

    fn guards(&self) -> Vec<Guard> {
        vec![
            Guard {
                name: "group_active",
                check: group_active,
            },
            Guard {
                name: "decision_passed",
                check: decision_passed,
            },
            Guard {
                name: "decision_failed",
                check: decision_failed,
            },
        ]
    }
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

/// Meetings and their decisions are not recorded yet, so no decision can have passed or failed:
/// the move off the agenda is refused until one is.
fn decision_passed<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async { Ok(no_decision(context, "decision_passed")) })
}

fn decision_failed<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async { Ok(no_decision(context, "decision_failed")) })
}

fn no_decision(context: &GuardContext<'_>, guard: &str) -> Verdicts {
    let refusal = || {
        Err(refuse(
            guard,
            "no decision of the member representatives has been recorded for this proposal",
        ))
    };
    context.subjects.iter().map(|_| refusal()).collect()
}
