//! Claim leases (DECISIONS §9): a claim, an assignment or a return starts a one-off deadline on
//! the task, due the forum's `claimLeaseDays` later, met by `submit` and, when missed, taking
//! `expire` (back to open). It reminds the claimant a week and a day before, and tells the chair
//! when it runs out. Releasing, declining or cancelling ends it. The deadline machinery does the
//! rest: there is no timer of its own.

use crate::areas::deadlines::{self, NewDeadline, plan::StepText};
use crate::areas::forums::ForumSettings;
use crate::kernel::error::{EngineError, EngineResult};
use crate::time::{self, rules::wall_text};
use crate::workflow::subjects::TransitionCall;
use govflow_entities::forum;
use sea_orm::EntityTrait;
use uuid::Uuid;

/// The transition that meets a lease, and the one a missed lease takes.
const MET_BY: &str = "submit";
const ON_MISSED: &str = "expire";

fn step(offset: &str, role: &str) -> StepText {
    StepText {
        offset: offset.into(),
        roles: vec![role.into()],
    }
}

/// Starts the lease of the claim the transition made (ending one still running).
pub(super) async fn start(call: &TransitionCall<'_>, task_id: Uuid) -> EngineResult<()> {
    end_with(call, task_id, "a new claim began").await?;
    let forum_id = call
        .subject
        .scope
        .forum_id
        .ok_or_else(|| EngineError::Internal("a task without a forum".into()))?;
    let forum = forum::Entity::find_by_id(forum_id)
        .one(call.txn)
        .await?
        .ok_or_else(|| EngineError::not_found("forum", forum_id))?;
    let days = u32::try_from(ForumSettings::of(&forum).claim_lease_days).unwrap_or(30);
    let zone = call.subject.time_zone;
    let due = time::add_days(zone, call.engine.now(), days);
    let wall = time::local(zone, due).naive_local();
    let title = call.subject.fields["title"].as_str().unwrap_or("a task");
    deadlines::set_in(
        call.engine,
        call.txn,
        call.acting,
        NewDeadline {
            subject_id: task_id,
            title: format!("Claim on \"{title}\""),
            rule: format!("at {}", wall_text(wall)),
            grace_days: Some(0),
            met_by: Some(MET_BY.into()),
            on_missed: Some(ON_MISSED.into()),
            reminders: Some(vec![
                step("-7d", "claimant"),
                step("-1d", "claimant"),
                step("0d", "chair"),
            ]),
        },
    )
    .await?;
    Ok(())
}

/// Ends the lease of a claim that ended otherwise than by submission.
pub(super) async fn end(call: &TransitionCall<'_>, task_id: Uuid) -> EngineResult<()> {
    let reason = format!("the claim ended (`{}`)", call.transition.name);
    end_with(call, task_id, &reason).await
}

async fn end_with(call: &TransitionCall<'_>, task_id: Uuid, reason: &str) -> EngineResult<()> {
    deadlines::cancel_waiting_for(call.engine, call.txn, task_id, MET_BY, call.acting, reason).await
}
