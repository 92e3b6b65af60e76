//! Meetings as workflow subjects (`subject = "meeting"`): their scope and zone, the new dates a
//! `reschedule` takes, the events their moves raise, and the guards about decisions taken at them
//! (`votes_closed` for the meeting, `decision_passed` and `decision_failed` for a proposal on an
//! agenda, whatever its kind).

use super::{agenda, publish_change};
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::events::MeetingChangeKind;
use crate::time::{local, stored_zone};
use crate::types::{TimeZone, input_instant};
use crate::workflow::guards::{Guard, GuardContext, GuardFuture, refuse};
use crate::workflow::subjects::{AfterTransition, SubjectInfo, SubjectKind, TransitionCall};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use govflow_entities::{forum, meeting};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseExecutor, EntityTrait, IntoActiveModel};
use serde_json::json;
use uuid::Uuid;

pub struct MeetingKind;

/// An instant as notices show it: local time, offset and zone.
pub(super) fn shown(zone: TimeZone, at: DateTime<Utc>) -> String {
    format!(
        "{} ({})",
        local(zone, at).format("%Y-%m-%d %H:%M %:z"),
        zone.name()
    )
}

pub(super) async fn info_of<C: ConnectionTrait>(
    db: &C,
    row: &meeting::Model,
) -> EngineResult<SubjectInfo> {
    let forum = forum::Entity::find_by_id(row.forum_id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("forum", row.forum_id))?;
    let zone = stored_zone(&row.time_zone);
    Ok(SubjectInfo {
        kind: "meeting".into(),
        scope: super::meeting_scope(row),
        time_zone: zone,
        fields: json!({
            "id": row.id.to_string(),
            "title": row.title,
            "series": row.series,
            "number": row.number,
            "place": row.place,
            "time_zone": row.time_zone,
            "starts_at": shown(zone, row.starts_at),
            "ends_at": shown(zone, row.ends_at),
        }),
        forum: json!({ "id": forum.id.to_string(), "name": forum.name }),
    })
}

async fn row_in<C: ConnectionTrait>(db: &C, meeting_id: Uuid) -> EngineResult<meeting::Model> {
    meeting::Entity::find_by_id(meeting_id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("meeting", meeting_id))
}

/// The new dates of a `reschedule`.
fn new_dates(input: &serde_json::Value) -> EngineResult<(DateTime<Utc>, DateTime<Utc>)> {
    let starts_at = input_instant(input, "startsAt")?;
    let ends_at = input_instant(input, "endsAt")?;
    super::parse_dates(starts_at, ends_at)
}

#[async_trait]
impl SubjectKind for MeetingKind {
    fn name(&self) -> &'static str {
        "meeting"
    }

    fn table(&self) -> &'static str {
        "meeting"
    }

    async fn info(&self, db: &DatabaseExecutor<'_>, meeting_id: Uuid) -> EngineResult<SubjectInfo> {
        info_of(db, &row_in(db, meeting_id).await?).await
    }

    async fn check_input(&self, call: &TransitionCall<'_>) -> EngineResult<()> {
        if call.transition.name == "reschedule" {
            new_dates(call.input)?;
        }
        Ok(())
    }

    /// A reschedule writes the new dates; every change of dates is published to the engine's
    /// subscribers in the transition's transaction.
    async fn after_transition(&self, call: &TransitionCall<'_>) -> EngineResult<AfterTransition> {
        let change = match call.transition.name.as_str() {
            "postpone" => MeetingChangeKind::Postponed,
            "cancel" => MeetingChangeKind::Cancelled,
            "reschedule" => MeetingChangeKind::Rescheduled,
            _ => return Ok(AfterTransition::Unchanged),
        };
        let before = row_in(call.txn, call.instance.subject_id).await?;
        let after = if change == MeetingChangeKind::Rescheduled {
            let (starts_at, ends_at) = new_dates(call.input)?;
            let mut row = before.clone().into_active_model();
            row.starts_at = Set(starts_at);
            row.ends_at = Set(ends_at);
            row.updated_at = Set(call.engine.now());
            meeting::Entity::update(row).exec(call.txn).await?
        } else {
            before.clone()
        };
        publish_change(call.engine, call.txn, change, &after, &before).await?;
        Ok(AfterTransition::from_changed(
            change == MeetingChangeKind::Rescheduled,
        ))
    }

    fn guards(&self) -> Vec<Guard> {
        vec![
            Guard {
                name: "votes_closed",
                check: votes_closed,
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

/// A meeting closes only when no item of its agenda waits for a decision.
fn votes_closed<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async move {
        let meeting_ids: Vec<Uuid> = context
            .subjects
            .iter()
            .filter_map(|subject| subject.subject_id)
            .collect();
        let open = agenda::pending_counts(context.txn, &meeting_ids).await?;
        Ok(context
            .subjects
            .iter()
            .map(|subject| {
                let pending = subject
                    .subject_id
                    .and_then(|id| open.get(&id).copied())
                    .unwrap_or(0);
                if pending == 0 {
                    Ok(())
                } else {
                    Err(refuse(
                        "votes_closed",
                        format!(
                            "{pending} agenda item(s) still wait for a decision: close their votes, or defer or withdraw them"
                        ),
                    ))
                }
            })
            .collect())
    })
}

fn decision_passed<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(decided(context, "decision_passed", "passed"))
}

fn decision_failed<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(decided(context, "decision_failed", "failed"))
}

/// Whether the latest decision on each subject's agenda item has `outcome`.
async fn decided(
    context: &GuardContext<'_>,
    guard: &'static str,
    outcome: &'static str,
) -> EngineResult<crate::workflow::guards::Verdicts> {
    let subject_ids: Vec<Uuid> = context
        .subjects
        .iter()
        .filter_map(|subject| subject.subject_id)
        .collect();
    let latest = agenda::latest_items(context.txn, &subject_ids).await?;
    Ok(context
        .subjects
        .iter()
        .map(|subject| {
            let item = subject.subject_id.and_then(|id| latest.get(&id));
            match item.and_then(|item| item.outcome.as_deref()) {
                Some(found) if found == outcome => Ok(()),
                Some(found) => Err(refuse(
                    guard,
                    format!("the member states' decision on it was `{found}`"),
                )),
                None => Err(refuse(
                    guard,
                    "no decision of the member states has been recorded for it",
                )),
            }
        })
        .collect())
}
