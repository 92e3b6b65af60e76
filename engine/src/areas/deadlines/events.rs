//! How deadlines follow the rest of the engine, inside the writer's transaction: a meeting
//! scheduled, moved, postponed, rescheduled or cancelled re-times the `before_event` occurrences
//! anchored on it (and anchors the next meeting of the series); a transition taken anchors the
//! `after_transition` deadlines counting from it and meets the occurrence a `metBy` deadline
//! waits for.

use super::occurrences::{self, OPEN, Planned};
use super::subject::DeadlineSubject;
use crate::kernel::actor::Acting;
use crate::kernel::engine::Engine;
use crate::kernel::error::EngineResult;
use crate::kernel::events::{Event, MeetingChange, MeetingChangeKind, Subscriber, TransitionTaken};
use crate::time::rules::Rule;
use crate::workflow::subjects::OccurrenceMet;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use govflow_entities::{deadline, deadline_occurrence, history_entry, instrument, working_group};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Select,
};

/// The subscriber the registry installs.
pub struct DeadlineEvents;

#[async_trait]
impl Subscriber for DeadlineEvents {
    async fn on_event(
        &self,
        engine: &Engine,
        txn: &DatabaseTransaction,
        event: &Event,
    ) -> EngineResult<()> {
        match event {
            Event::MeetingChanged(change) => meeting_changed(engine, txn, change).await,
            Event::TransitionTaken(taken) => transition_taken(engine, txn, taken).await,
        }
    }
}

async fn meeting_changed(
    engine: &Engine,
    txn: &DatabaseTransaction,
    change: &MeetingChange,
) -> EngineResult<()> {
    let now = engine.now();
    let candidates = deadline::Entity::find()
        .filter(deadline::Column::ForumId.eq(change.forum_id))
        .filter(deadline::Column::RuleKind.eq("before_event"))
        .filter(deadline::Column::State.eq("active"))
        .all(txn)
        .await?;
    let system = Acting::System { on_behalf_of: None };
    let mut touched = false;
    for row in &candidates {
        let planned = Planned::of(engine, row)?;
        let Rule::BeforeEvent { series, lead } = &planned.rule else {
            continue;
        };
        if *series != change.series {
            continue;
        }
        touched = true;
        let anchored = deadline_occurrence::Entity::find()
            .filter(deadline_occurrence::Column::DeadlineId.eq(row.id))
            .filter(deadline_occurrence::Column::Anchor.eq(change.meeting_id.to_string()))
            .filter(deadline_occurrence::Column::State.is_in(OPEN))
            .one(txn)
            .await?;
        if let Some(occurrence) = anchored {
            let due = lead.shift(planned.zone, change.starts_at, -1);
            match change.kind {
                MeetingChangeKind::Scheduled => {}
                MeetingChangeKind::Moved | MeetingChangeKind::Rescheduled => {
                    occurrences::retime(txn, &planned, &occurrence, due, false, now).await?;
                }
                MeetingChangeKind::Postponed => {
                    occurrences::retime(txn, &planned, &occurrence, due, true, now).await?;
                }
                MeetingChangeKind::Cancelled => {
                    let reason = Some("the meeting was cancelled");
                    occurrences::close(txn, &occurrence, "cancelled", system, reason, now).await?;
                }
            }
        }
        // The next meeting of the series may be another one now.
        occurrences::extend(engine, txn, &planned, now).await?;
    }
    if touched {
        engine.wake_scheduler();
    }
    Ok(())
}

/// The active deadlines `taken` may meet or anchor: the subject's own that name its transition
/// (`metBy` or `afterTransition`), and its group's met by it. One statement, by index. Public so
/// that a benchmark's floor runs exactly the same SQL.
pub fn waiting_for(taken: &TransitionTaken) -> Select<deadline::Entity> {
    let own = Condition::all()
        .add(deadline::Column::SubjectId.eq(taken.subject_id))
        .add(
            Condition::any()
                .add(deadline::Column::MetBy.eq(taken.transition.clone()))
                .add(deadline::Column::AfterTransition.eq(taken.transition.clone())),
        );
    let mut watching = Condition::any().add(own);
    if let Some(group_id) = taken.group_id.filter(|group| *group != taken.subject_id) {
        watching = watching.add(
            Condition::all()
                .add(deadline::Column::SubjectId.eq(group_id))
                .add(deadline::Column::MetBy.eq(taken.transition.clone())),
        );
    }
    deadline::Entity::find()
        .filter(deadline::Column::State.eq("active"))
        .filter(watching)
}

async fn transition_taken(
    engine: &Engine,
    txn: &DatabaseTransaction,
    taken: &TransitionTaken,
) -> EngineResult<()> {
    let rows = waiting_for(taken).all(txn).await?;
    let acting = Acting::System {
        on_behalf_of: taken.by,
    };
    for row in rows {
        let anchors = row.subject_id == taken.subject_id
            && row.after_transition.as_deref() == Some(taken.transition.as_str());
        if anchors {
            let effective = effective_of(
                txn,
                (&taken.subject_kind, taken.subject_id),
                &taken.transition,
                taken.at,
            )
            .await?;
            deadline::Entity::update_many()
                .col_expr(deadline::Column::EffectiveAt, Expr::value(effective))
                .filter(deadline::Column::Id.eq(row.id))
                .exec(txn)
                .await?;
            let row = deadline::Model {
                effective_at: Some(effective),
                ..row.clone()
            };
            occurrences::replan(engine, txn, &Planned::of(engine, &row)?, acting).await?;
            engine.wake_scheduler();
        }
        if row.met_by.as_deref() == Some(taken.transition.as_str())
            && let Some(occurrence) = to_meet(engine, txn, taken, row.id).await?
        {
            let reason = format!("`{}` was taken", taken.transition);
            occurrences::meet(txn, &occurrence, acting, Some(&reason), taken.at).await?;
        }
    }
    Ok(())
}

/// The occurrence of deadline `deadline_id` that `taken` meets: the one its subject names (if
/// it is one of this deadline's and still open), none if the subject is tied to none, else the
/// oldest due one, else the next scheduled one.
async fn to_meet(
    engine: &Engine,
    txn: &DatabaseTransaction,
    taken: &TransitionTaken,
    deadline_id: uuid::Uuid,
) -> EngineResult<Option<deadline_occurrence::Model>> {
    let kind = engine.subject_kinds().get(&taken.subject_kind)?;
    match kind.occurrence_met(txn, taken.subject_id).await? {
        OccurrenceMet::Next => occurrences::to_meet(txn, deadline_id).await,
        OccurrenceMet::Nothing => Ok(None),
        OccurrenceMet::Named(id) => Ok(deadline_occurrence::Entity::find_by_id(id)
            .filter(deadline_occurrence::Column::DeadlineId.eq(deadline_id))
            .filter(deadline_occurrence::Column::State.is_in(OPEN))
            .one(txn)
            .await?),
    }
}

/// The instant a transition of a subject took effect, if it was taken: for `record` the
/// instrument's adoption, for `establish` the group's given start, otherwise when it was taken.
pub async fn effective_instant(
    txn: &DatabaseTransaction,
    subject: &DeadlineSubject,
    transition: &str,
) -> EngineResult<Option<DateTime<Utc>>> {
    let taken = history_entry::Entity::find()
        .filter(history_entry::Column::SubjectId.eq(subject.id))
        .filter(history_entry::Column::Transition.eq(transition))
        .order_by_desc(history_entry::Column::At)
        .one(txn)
        .await?;
    match taken {
        None => Ok(None),
        Some(entry) => Ok(Some(
            effective_of(txn, (&subject.kind, subject.id), transition, entry.at).await?,
        )),
    }
}

async fn effective_of<C: ConnectionTrait>(
    db: &C,
    (kind, subject_id): (&str, uuid::Uuid),
    transition: &str,
    taken_at: DateTime<Utc>,
) -> EngineResult<DateTime<Utc>> {
    let given = match (kind, transition) {
        ("instrument", "record" | "adopt") => instrument::Entity::find_by_id(subject_id)
            .one(db)
            .await?
            .and_then(|row| row.adopted_at),
        ("group", "establish") => working_group::Entity::find_by_id(subject_id)
            .one(db)
            .await?
            .and_then(|row| row.effective_at),
        _ => None,
    };
    Ok(given.unwrap_or(taken_at))
}
