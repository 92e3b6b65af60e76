//! Occurrences and their reminders as rows: materialised ahead of time from a deadline's rule,
//! re-timed when their anchor moves, met, missed or cancelled. Every function here runs inside
//! the caller's write transaction, so a meeting moved and the reminders that count from it
//! change together or not at all.
//!
//! Occurrences are written only as far ahead as the earliest reminder needs (the plan's longest
//! lead, plus a margin) and at least one ahead; the deadline's `next_extend_at` says when the
//! scheduler must write more. A rule that fires very often keeps at most [`MAX_AHEAD`] occurrences
//! waiting at once.

use super::DeadlineEntry;
use super::plan::{self, Step};
use crate::areas::meetings;
use crate::kernel::actor::Acting;
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::time::rules::{Rule, cron_occurrences, parse_wall, wall_text};
use crate::time::{self, stored_zone};
use crate::types::TimeZone;
use crate::workflow::subjects;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use govflow_entities::{deadline, deadline_occurrence, deadline_reminder, meeting};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, TryInsertResult,
};
use serde_json::json;
use uuid::Uuid;

/// The most occurrences of one deadline waiting (`scheduled`) at once.
pub const MAX_AHEAD: u64 = 100;
/// Written this long before the earliest reminder of an occurrence is due.
const MARGIN_DAYS: u32 = 2;

/// Occurrence states that are still open (can become due, be met or missed).
pub const OPEN: [&str; 2] = ["scheduled", "due"];
/// Reminder states not yet sent.
pub const UNSENT: [&str; 2] = ["pending", "held"];

/// A deadline with its rule, zone and plan parsed.
pub struct Planned<'a> {
    pub row: &'a deadline::Model,
    pub rule: Rule,
    pub zone: TimeZone,
    pub plan: Vec<Step>,
}

impl<'a> Planned<'a> {
    /// The stored rule was checked when it was written; one that no longer parses (written by a
    /// newer version) is an internal error of this deadline only.
    pub fn of(engine: &Engine, row: &'a deadline::Model) -> EngineResult<Planned<'a>> {
        let rule = Rule::parse("rule", &row.rule)
            .map_err(|err| EngineError::Internal(format!("deadline {}: {err}", row.id)))?;
        let plan = match &row.reminder_plan {
            Some(json) => plan::stored(json),
            None => plan::parse("reminders", engine.default_reminders())?,
        };
        Ok(Planned {
            row,
            rule,
            zone: stored_zone(&row.time_zone),
            plan,
        })
    }

    /// How far ahead occurrences are written.
    fn horizon(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        plan::longest_lead(&self.plan)
            .plus(crate::time::rules::Period::days(MARGIN_DAYS))
            .shift(self.zone, now, 1)
    }

    /// When a `due` occurrence becomes `missed`: `graceDays` later, never past the next one.
    fn grace_until(&self, due: DateTime<Utc>, next_due: Option<DateTime<Utc>>) -> DateTime<Utc> {
        let days = u32::try_from(self.row.grace_days).unwrap_or(0);
        let end = if days == 0 {
            due
        } else {
            time::add_days(self.zone, due, days)
        };
        next_due.map_or(end, |next| end.min(next))
    }
}

/// One occurrence to write.
struct NewOccurrence {
    anchor: String,
    due: DateTime<Utc>,
    next_due: Option<DateTime<Utc>>,
    held: bool,
}

/// Writes the occurrences the rule gives from now to the horizon (at least the next one) with
/// their reminders, and sets when to look again. Reminders due before `counts_from` are not
/// written: a deadline made today does not send last month's reminders.
pub async fn extend(
    engine: &Engine,
    txn: &DatabaseTransaction,
    planned: &Planned<'_>,
    counts_from: DateTime<Utc>,
) -> EngineResult<()> {
    let now = engine.now();
    let row = planned.row;
    // Cancelled occurrences (their anchor gone, or the rule changed) do not hold the sequence
    // back: one the rule names again is revived when it is written.
    let latest = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::DeadlineId.eq(row.id))
        .filter(deadline_occurrence::Column::State.ne("cancelled"))
        .order_by_desc(deadline_occurrence::Column::DueAt)
        .one(txn)
        .await?;
    let waiting = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::DeadlineId.eq(row.id))
        .filter(deadline_occurrence::Column::State.eq("scheduled"))
        .count(txn)
        .await?;
    let horizon = planned.horizon(now);
    let (new, next_extend_at) = match &planned.rule {
        Rule::At(wall) => {
            let anchor = wall_text(*wall);
            let new = if latest.as_ref().is_some_and(|last| last.anchor == anchor) {
                Vec::new()
            } else {
                vec![NewOccurrence {
                    anchor,
                    due: time::resolve(planned.zone, *wall),
                    next_due: None,
                    held: false,
                }]
            };
            (new, None)
        }
        Rule::Cron(cron) => {
            let (after_wall, after) = match &latest {
                Some(last) if last.due_at >= counts_from => (
                    parse_wall(&last.anchor).unwrap_or(NaiveDateTime::MIN),
                    last.due_at,
                ),
                _ => (
                    counts_from.with_timezone(&planned.zone.tz()).naive_local(),
                    counts_from,
                ),
            };
            let series = cron_occurrences(cron, planned.zone, after_wall, after)
                .map(|(wall, due)| (wall_text(wall), due));
            ahead(planned, series, waiting, horizon)
        }
        Rule::AfterTransition { .. } => match row.effective_at {
            None => (Vec::new(), None),
            Some(effective) => {
                let first = match &latest {
                    Some(last) => last.anchor.parse::<u32>().unwrap_or(0) + 1,
                    None => 1,
                };
                let series = (first..=first.saturating_add(10_000))
                    .map_while(|n| {
                        let due = planned.rule.nth_after(planned.zone, effective, n)?;
                        Some((n.to_string(), due))
                    })
                    // Repeats that fell due before the deadline was made (or its rule
                    // changed) are not its occurrences.
                    .filter(move |(_, due)| *due >= counts_from);
                ahead(planned, series, waiting, horizon)
            }
        },
        Rule::BeforeEvent { series, lead } => {
            let next = meetings::next_meeting(txn, row.forum_id, series, now).await?;
            match next {
                None => (Vec::new(), None),
                Some(meeting) => {
                    let anchor = meeting.id.to_string();
                    let known = deadline_occurrence::Entity::find()
                        .filter(deadline_occurrence::Column::DeadlineId.eq(row.id))
                        .filter(deadline_occurrence::Column::Anchor.eq(anchor.clone()))
                        .one(txn)
                        .await?
                        .is_some();
                    let new = if known {
                        Vec::new()
                    } else {
                        vec![NewOccurrence {
                            anchor,
                            due: lead.shift(planned.zone, meeting.starts_at, -1),
                            next_due: None,
                            held: is_postponed(txn, &meeting).await?,
                        }]
                    };
                    // Once it starts, the meeting after it is the next one.
                    (new, Some(meeting.starts_at))
                }
            }
        }
    };
    for occurrence in new {
        insert(txn, planned, occurrence, counts_from, now).await?;
    }
    deadline::Entity::update_many()
        .col_expr(deadline::Column::NextExtendAt, Expr::value(next_extend_at))
        .filter(deadline::Column::Id.eq(row.id))
        .exec(txn)
        .await?;
    Ok(())
}

/// The occurrences of a sequence to write now: through the horizon, at least one, at most
/// [`MAX_AHEAD`] waiting; and when to look again.
fn ahead(
    planned: &Planned<'_>,
    series: impl Iterator<Item = (String, DateTime<Utc>)>,
    waiting: u64,
    horizon: DateTime<Utc>,
) -> (Vec<NewOccurrence>, Option<DateTime<Utc>>) {
    let lead =
        plan::longest_lead(&planned.plan).plus(crate::time::rules::Period::days(MARGIN_DAYS));
    let mut series = series.peekable();
    let mut new: Vec<NewOccurrence> = Vec::new();
    while let Some((anchor, due)) = series.next() {
        let next_due = series.peek().map(|(_, due)| *due);
        new.push(NewOccurrence {
            anchor,
            due,
            next_due,
            held: false,
        });
        let Some(next_due) = next_due else {
            return (new, None);
        };
        let full = waiting + new.len() as u64 >= MAX_AHEAD;
        if next_due > horizon || full {
            // Look again when the next one's earliest reminder comes near (or, when full, once
            // the first written one has passed).
            let again = lead.shift(planned.zone, next_due, -1);
            let again = if full { again.max(new[0].due) } else { again };
            return (new, Some(again));
        }
    }
    (new, None)
}

async fn is_postponed<C: ConnectionTrait>(db: &C, meeting: &meeting::Model) -> EngineResult<bool> {
    Ok(subjects::state_of(db, meeting.id).await? == "postponed")
}

async fn insert(
    txn: &DatabaseTransaction,
    planned: &Planned<'_>,
    occurrence: NewOccurrence,
    counts_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    let row = deadline_occurrence::Model {
        id: Uuid::now_v7(),
        deadline_id: planned.row.id,
        anchor: occurrence.anchor,
        due_at: occurrence.due,
        grace_until: planned.grace_until(occurrence.due, occurrence.next_due),
        state: "scheduled".into(),
        held: occurrence.held,
        met_at: None,
        met_by_user: None,
        met_reason: None,
        created_at: now,
        updated_at: now,
    };
    let written = deadline_occurrence::Entity::insert(row.clone().into_active_model())
        .on_conflict_do_nothing_on([
            deadline_occurrence::Column::DeadlineId,
            deadline_occurrence::Column::Anchor,
        ])
        .exec_without_returning(txn)
        .await?;
    if matches!(written, TryInsertResult::Inserted(count) if count > 0) {
        return write_reminders(txn, planned, &row, Some(counts_from), now).await;
    }
    // The anchor has a row already: a cancelled one is revived at the new instant.
    let existing = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::DeadlineId.eq(planned.row.id))
        .filter(deadline_occurrence::Column::Anchor.eq(row.anchor.clone()))
        .one(txn)
        .await?;
    if let Some(existing) = existing.filter(|existing| existing.state == "cancelled") {
        let revived = deadline_occurrence::Model {
            state: "scheduled".into(),
            ..existing
        };
        deadline_occurrence::Entity::update_many()
            .col_expr(deadline_occurrence::Column::State, Expr::value("scheduled"))
            .filter(deadline_occurrence::Column::Id.eq(revived.id))
            .exec(txn)
            .await?;
        retime(txn, planned, &revived, row.due_at, row.held, now).await?;
    }
    Ok(())
}

/// The plan's reminders of `occurrence`, at its due instant; offsets already sent are kept as
/// they are. With `skip_before`, reminders whose time is earlier are not written.
async fn write_reminders(
    txn: &DatabaseTransaction,
    planned: &Planned<'_>,
    occurrence: &deadline_occurrence::Model,
    skip_before: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    let rows: Vec<deadline_reminder::ActiveModel> = planned
        .plan
        .iter()
        .filter_map(|step| {
            let due = step.offset.from(planned.zone, occurrence.due_at);
            if skip_before.is_some_and(|from| due < from) {
                return None;
            }
            Some(
                deadline_reminder::Model {
                    id: Uuid::now_v7(),
                    occurrence_id: occurrence.id,
                    deadline_id: planned.row.id,
                    offset: step.offset.text(),
                    roles: step.roles.join(","),
                    due_at: due,
                    state: if occurrence.held { "held" } else { "pending" }.into(),
                    late: false,
                    sent_at: None,
                    created_at: now,
                    updated_at: now,
                }
                .into_active_model(),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    deadline_reminder::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                deadline_reminder::Column::OccurrenceId,
                deadline_reminder::Column::Offset,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Moves an open occurrence to `due` (held while its anchor has no dates) and re-times its unsent
/// reminders; sent ones keep their rows. A reminder re-timed into the past goes out at once
/// (the scheduler marks it late). A `due` occurrence moved into the future is `scheduled` again.
pub async fn retime(
    txn: &DatabaseTransaction,
    planned: &Planned<'_>,
    occurrence: &deadline_occurrence::Model,
    due: DateTime<Utc>,
    held: bool,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    let state = if occurrence.state == "due" && due > now {
        "scheduled"
    } else {
        occurrence.state.as_str()
    };
    let moved = deadline_occurrence::Model {
        due_at: due,
        grace_until: planned.grace_until(due, None),
        state: state.to_owned(),
        held,
        updated_at: now,
        ..occurrence.clone()
    };
    deadline_occurrence::Entity::update_many()
        .col_expr(
            deadline_occurrence::Column::DueAt,
            Expr::value(moved.due_at),
        )
        .col_expr(
            deadline_occurrence::Column::GraceUntil,
            Expr::value(moved.grace_until),
        )
        .col_expr(
            deadline_occurrence::Column::State,
            Expr::value(moved.state.clone()),
        )
        .col_expr(deadline_occurrence::Column::Held, Expr::value(held))
        .col_expr(deadline_occurrence::Column::UpdatedAt, Expr::value(now))
        .filter(deadline_occurrence::Column::Id.eq(occurrence.id))
        .exec(txn)
        .await?;
    deadline_reminder::Entity::delete_many()
        .filter(deadline_reminder::Column::OccurrenceId.eq(occurrence.id))
        .filter(deadline_reminder::Column::State.is_in(UNSENT))
        .exec(txn)
        .await?;
    write_reminders(txn, planned, &moved, None, now).await
}

/// Closes open occurrences as `cancelled` (their anchor is gone, or the deadline is), with their
/// unsent reminders.
pub async fn cancel(
    txn: &DatabaseTransaction,
    deadline_id: Uuid,
    occurrence_ids: Option<&[Uuid]>,
    acting: Acting<'_>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> EngineResult<u64> {
    let mut query = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::DeadlineId.eq(deadline_id))
        .filter(deadline_occurrence::Column::State.is_in(OPEN));
    if let Some(ids) = occurrence_ids {
        query = query.filter(deadline_occurrence::Column::Id.is_in(ids.iter().copied()));
    }
    let open = query.all(txn).await?;
    for occurrence in &open {
        close(txn, occurrence, "cancelled", acting, reason, now).await?;
    }
    Ok(open.len() as u64)
}

/// Moves an open occurrence to a closed state (`met`, `met_late`, `missed`, `cancelled`) with a
/// history row on its deadline; its unsent reminders are cancelled, except that a missed one's
/// escalations still go out.
pub async fn close(
    txn: &DatabaseTransaction,
    occurrence: &deadline_occurrence::Model,
    to: &str,
    acting: Acting<'_>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    let mut update = deadline_occurrence::Entity::update_many()
        .col_expr(deadline_occurrence::Column::State, Expr::value(to))
        .col_expr(deadline_occurrence::Column::UpdatedAt, Expr::value(now));
    if to == "met" || to == "met_late" {
        update = update
            .col_expr(deadline_occurrence::Column::MetAt, Expr::value(now))
            .col_expr(
                deadline_occurrence::Column::MetByUser,
                Expr::value(acting.user_id()),
            )
            .col_expr(
                deadline_occurrence::Column::MetReason,
                Expr::value(reason.map(str::to_owned)),
            );
    }
    update
        .filter(deadline_occurrence::Column::Id.eq(occurrence.id))
        .exec(txn)
        .await?;
    if to != "missed" {
        deadline_reminder::Entity::update_many()
            .col_expr(deadline_reminder::Column::State, Expr::value("cancelled"))
            .col_expr(deadline_reminder::Column::UpdatedAt, Expr::value(now))
            .filter(deadline_reminder::Column::OccurrenceId.eq(occurrence.id))
            .filter(deadline_reminder::Column::State.is_in(UNSENT))
            .exec(txn)
            .await?;
    }
    record(
        txn,
        occurrence,
        (&occurrence.state, to),
        acting,
        reason,
        now,
    )
    .await
}

/// The history row of an occurrence's move, on its deadline.
pub async fn record(
    txn: &DatabaseTransaction,
    occurrence: &deadline_occurrence::Model,
    (from, to): (&str, &str),
    acting: Acting<'_>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    let transition = match to {
        "due" => "fall_due",
        "met" | "met_late" => "meet",
        "missed" => "miss",
        _ => "cancel_occurrence",
    };
    let entry = DeadlineEntry {
        deadline_id: occurrence.deadline_id,
        transition,
        from,
        to,
        reason,
        detail: json!({
            "occurrence": occurrence.id,
            "anchor": occurrence.anchor,
            "dueAt": occurrence.due_at.to_rfc3339(),
        }),
    };
    super::record(txn, entry, acting, now).await
}

/// Meets an open occurrence: `met` at or before its due instant, `met_late` after it.
pub async fn meet(
    txn: &DatabaseTransaction,
    occurrence: &deadline_occurrence::Model,
    acting: Acting<'_>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> EngineResult<&'static str> {
    let to = if now <= occurrence.due_at {
        "met"
    } else {
        "met_late"
    };
    close(txn, occurrence, to, acting, reason, now).await?;
    Ok(to)
}

/// The occurrence a `metBy` transition meets: the oldest `due` one, else the next `scheduled`.
pub async fn to_meet<C: ConnectionTrait>(
    db: &C,
    deadline_id: Uuid,
) -> EngineResult<Option<deadline_occurrence::Model>> {
    for state in OPEN.iter().rev() {
        let found = deadline_occurrence::Entity::find()
            .filter(deadline_occurrence::Column::DeadlineId.eq(deadline_id))
            .filter(deadline_occurrence::Column::State.eq(*state))
            .order_by_asc(deadline_occurrence::Column::DueAt)
            .one(db)
            .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Re-reads every waiting occurrence under the deadline's (new) rule, zone, grace and plan:
/// one whose anchor the rule still names is re-timed in place, the others are dropped (or, when
/// a reminder of theirs went out, cancelled); then the rule is written ahead again.
pub async fn replan(
    engine: &Engine,
    txn: &DatabaseTransaction,
    planned: &Planned<'_>,
    acting: Acting<'_>,
) -> EngineResult<()> {
    let now = engine.now();
    let waiting = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::DeadlineId.eq(planned.row.id))
        .filter(deadline_occurrence::Column::State.eq("scheduled"))
        .all(txn)
        .await?;
    for occurrence in waiting {
        match due_for_anchor(txn, planned, &occurrence.anchor).await? {
            Some((due, held)) if due > now => {
                retime(txn, planned, &occurrence, due, held, now).await?;
            }
            _ => {
                let sent = deadline_reminder::Entity::find()
                    .filter(deadline_reminder::Column::OccurrenceId.eq(occurrence.id))
                    .filter(deadline_reminder::Column::State.eq("sent"))
                    .count(txn)
                    .await?;
                if sent > 0 {
                    let reason = Some("the deadline's rule no longer names it");
                    close(txn, &occurrence, "cancelled", acting, reason, now).await?;
                } else {
                    deadline_reminder::Entity::delete_many()
                        .filter(deadline_reminder::Column::OccurrenceId.eq(occurrence.id))
                        .exec(txn)
                        .await?;
                    deadline_occurrence::Entity::delete_by_id(occurrence.id)
                        .exec(txn)
                        .await?;
                }
            }
        }
    }
    extend(engine, txn, planned, now).await?;
    cap_graces(txn, planned.row.id).await
}

/// Re-timed occurrences were given their grace without looking at the next one: each open one's
/// grace ends at the latest when the next occurrence falls due.
async fn cap_graces(txn: &DatabaseTransaction, deadline_id: Uuid) -> EngineResult<()> {
    let rows = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::DeadlineId.eq(deadline_id))
        .filter(deadline_occurrence::Column::State.ne("cancelled"))
        .order_by_asc(deadline_occurrence::Column::DueAt)
        .all(txn)
        .await?;
    for pair in rows.windows(2) {
        let (this, next) = (&pair[0], &pair[1]);
        if OPEN.contains(&this.state.as_str()) && this.grace_until > next.due_at {
            deadline_occurrence::Entity::update_many()
                .col_expr(
                    deadline_occurrence::Column::GraceUntil,
                    Expr::value(next.due_at),
                )
                .filter(deadline_occurrence::Column::Id.eq(this.id))
                .exec(txn)
                .await?;
        }
    }
    Ok(())
}

/// The due instant the rule gives an anchor (and whether it waits for its meeting's new
/// dates), or none when the rule does not name it.
async fn due_for_anchor(
    txn: &DatabaseTransaction,
    planned: &Planned<'_>,
    anchor: &str,
) -> EngineResult<Option<(DateTime<Utc>, bool)>> {
    Ok(match &planned.rule {
        Rule::At(wall) => {
            (wall_text(*wall) == anchor).then(|| (time::resolve(planned.zone, *wall), false))
        }
        Rule::Cron(cron) => parse_wall(anchor).and_then(|wall| {
            let named = cron.wall_times_after(wall - Duration::minutes(1)).next() == Some(wall);
            named.then(|| (time::resolve(planned.zone, wall), false))
        }),
        Rule::AfterTransition { .. } => {
            match (anchor.parse::<u32>().ok(), planned.row.effective_at) {
                (Some(n), Some(effective)) => planned
                    .rule
                    .nth_after(planned.zone, effective, n)
                    .map(|due| (due, false)),
                _ => None,
            }
        }
        Rule::BeforeEvent { series, lead } => {
            let Ok(meeting_id) = anchor.parse::<Uuid>() else {
                return Ok(None);
            };
            match meeting::Entity::find_by_id(meeting_id).one(txn).await? {
                Some(meeting) if &meeting.series == series => {
                    let state = subjects::state_of(txn, meeting.id).await?;
                    match state.as_str() {
                        "planned" => Some((lead.shift(planned.zone, meeting.starts_at, -1), false)),
                        "postponed" => {
                            Some((lead.shift(planned.zone, meeting.starts_at, -1), true))
                        }
                        _ => None,
                    }
                }
                _ => None,
            }
        }
    })
}
