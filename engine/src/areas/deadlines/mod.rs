//! Deadlines (DECISIONS §9): obligations on a group, document, instrument or meeting that fall
//! due by a rule in the subject's zone, with reminders before and after and an escalation to the
//! chair. A deadline is not a workflow subject: it is `active` or `cancelled`, and its
//! occurrences move `scheduled → due → met | met_late | missed` (or `cancelled` with their
//! anchor) by the engine itself, each move a history row on the deadline.
//!
//! Group coordinators (and the forum's) manage a group's deadlines; anyone who may read the
//! subject reads them. Occurrences are rows written ahead by [`occurrences`]; the [`scheduler`]
//! moves them and sends the reminders; [`events`] follows meetings and transitions.

pub mod calendar;
mod events;
pub use events::waiting_for;
pub mod occurrences;
pub mod plan;
mod reads;
pub mod scheduler;
pub mod subject;
#[cfg(test)]
mod tests;

pub use events::DeadlineEvents;
pub use reads::{
    DeadlineFilter, Upcoming, by_ids, get_deadline, list_deadlines, my_upcoming,
    pages_of_occurrences, preview_rule, reminders_of,
};

use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::db::update_if_unchanged;
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history::{self, NewEntry};
use crate::kernel::pagination::{Page, PageRequest, page_of, pages_per_parent};
use crate::time::rules::Rule;
use crate::time::stored_zone;
use crate::types::{MAX_NAME_CHARS, SingleLine, TimeZone};
use crate::workflow::executor::parse_reason;
use chrono::{DateTime, Utc};
use govflow_entities::{deadline, deadline_occurrence, deadline_reminder, membership};
use occurrences::{OPEN, Planned};
use plan::StepText;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use serde_json::json;
use std::collections::HashMap;
use subject::DeadlineSubject;
use uuid::Uuid;

pub const DEFAULT_GRACE_DAYS: i32 = 30;
const MAX_GRACE_DAYS: i32 = 3660;
/// How far ahead `myUpcomingDeadlines` looks at most.
pub const MAX_UPCOMING_DAYS: i64 = 366;

/// A deadline as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub id: Uuid,
    pub subject_id: Uuid,
    pub subject_kind: String,
    pub forum_id: Uuid,
    pub group_id: Option<Uuid>,
    pub title: String,
    pub rule: String,
    pub rule_kind: String,
    pub time_zone: TimeZone,
    pub grace_days: i32,
    pub met_by: Option<String>,
    pub on_missed: Option<String>,
    /// The plan it follows: its own, or the configured default.
    pub reminders: Vec<StepText>,
    pub uses_default_reminders: bool,
    pub state: String,
    pub effective_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Deadline {
    fn new(engine: &Engine, row: deadline::Model) -> Deadline {
        let reminders = match &row.reminder_plan {
            Some(json) => plan::to_text(&plan::stored(json)),
            None => plan::parse("reminders", engine.default_reminders())
                .map(|steps| plan::to_text(&steps))
                .unwrap_or_default(),
        };
        Deadline {
            id: row.id,
            subject_id: row.subject_id,
            subject_kind: row.subject_kind,
            forum_id: row.forum_id,
            group_id: row.group_id,
            title: row.title,
            rule: row.rule,
            rule_kind: row.rule_kind,
            time_zone: stored_zone(&row.time_zone),
            grace_days: row.grace_days,
            met_by: row.met_by,
            on_missed: row.on_missed,
            reminders,
            uses_default_reminders: row.reminder_plan.is_none(),
            state: row.state,
            effective_at: row.effective_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    pub fn scope(&self) -> SubjectScope {
        SubjectScope {
            forum_id: Some(self.forum_id),
            group_id: self.group_id,
            ..SubjectScope::default()
        }
    }
}

pub type Occurrence = deadline_occurrence::Model;
pub type Reminder = deadline_reminder::Model;

#[derive(Debug, Clone, Default)]
pub struct NewDeadline {
    pub subject_id: Uuid,
    pub title: String,
    pub rule: String,
    pub grace_days: Option<i32>,
    pub met_by: Option<String>,
    pub on_missed: Option<String>,
    /// Its own plan; none follows the default.
    pub reminders: Option<Vec<StepText>>,
}

/// What `updateDeadline` changes; `None` leaves a field as it is. A blank `met_by` or
/// `on_missed` clears it; `use_default_reminders` drops the deadline's own plan.
#[derive(Debug, Clone, Default)]
pub struct DeadlineChanges {
    pub title: Option<String>,
    pub rule: Option<String>,
    pub grace_days: Option<i32>,
    pub met_by: Option<String>,
    pub on_missed: Option<String>,
    pub reminders: Option<Vec<StepText>>,
    pub use_default_reminders: bool,
    pub expected_version: Option<i32>,
    pub reason: Option<String>,
}

fn parse_grace(days: i32) -> EngineResult<i32> {
    if !(0..=MAX_GRACE_DAYS).contains(&days) {
        return Err(EngineError::invalid(
            "graceDays",
            format!("must be between 0 and {MAX_GRACE_DAYS}"),
        ));
    }
    Ok(days)
}

/// A transition name: lower-case letters, digits and `_`, as workflow definitions write them.
fn parse_transition_name(field: &str, raw: Option<&str>) -> EngineResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(name) => {
            let valid = name.len() <= 64
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if valid {
                Ok(Some(name.to_owned()))
            } else {
                Err(EngineError::invalid(
                    field,
                    format!("`{name}` is not a transition name (lower-case letters, digits, _)"),
                ))
            }
        }
    }
}

/// `on_missed` must be a transition of the subject's own workflow.
async fn check_on_missed(
    engine: &Engine,
    txn: &DatabaseTransaction,
    subject: &DeadlineSubject,
    on_missed: Option<&str>,
) -> EngineResult<()> {
    let Some(name) = on_missed else {
        return Ok(());
    };
    let Some(hash) = &subject.definition_hash else {
        return Err(EngineError::invalid(
            "onMissed",
            format!("a {} has no workflow to take `{name}` in", subject.kind),
        ));
    };
    let definition = engine.definition_by_hash(txn, hash).await?;
    if definition.transition(name).is_none() {
        return Err(EngineError::invalid(
            "onMissed",
            format!("workflow `{}` has no transition `{name}`", definition.name),
        ));
    }
    Ok(())
}

fn parse_title(raw: &str) -> EngineResult<String> {
    Ok(SingleLine::parse("title", raw, MAX_NAME_CHARS)?.into_string())
}

fn parse_plan(steps: Option<&[StepText]>) -> EngineResult<Option<String>> {
    steps
        .map(|steps| {
            let parsed = plan::parse("reminders", steps)?;
            serde_json::to_string(&plan::to_text(&parsed))
                .map_err(|err| EngineError::Internal(err.to_string()))
        })
        .transpose()
}

/// Only a coordinator of the subject's group (or forum) manages its deadlines.
fn authorize(actor: &Actor, subject_scope: &SubjectScope) -> EngineResult<()> {
    if actor.holds("coordinator", subject_scope) {
        Ok(())
    } else {
        Err(EngineError::Forbidden(
            "deadlines are managed by the coordinators of the subject's group or forum".into(),
        ))
    }
}

/// An `at` rule must name a time still ahead.
fn check_rule_ahead(rule: &Rule, zone: TimeZone, now: DateTime<Utc>) -> EngineResult<()> {
    if let Rule::At(wall) = rule
        && crate::time::resolve(zone, *wall) <= now
    {
        return Err(EngineError::invalid(
            "rule",
            format!(
                "{} in {} has already passed",
                crate::time::rules::wall_text(*wall),
                zone.name()
            ),
        ));
    }
    Ok(())
}

pub async fn create_deadline(
    engine: &Engine,
    actor: &Actor,
    input: NewDeadline,
) -> EngineResult<Deadline> {
    let fields = Fields::parse(&input)?;
    let txn = engine.begin_write().await?;
    let acting = Acting::User(actor);
    let subject = subject::readable(engine, &txn, acting, input.subject_id).await?;
    authorize(actor, &subject.scope)?;
    let row = insert(engine, &txn, &subject, fields, acting).await?;
    txn.commit().await?;
    engine.wake_scheduler();
    Ok(Deadline::new(engine, row))
}

/// A deadline the engine sets itself inside the caller's transaction (a claim's lease): no role
/// is checked; returns its id.
pub(crate) async fn set_in(
    engine: &Engine,
    txn: &DatabaseTransaction,
    acting: Acting<'_>,
    input: NewDeadline,
) -> EngineResult<Uuid> {
    let fields = Fields::parse(&input)?;
    let system = Acting::System {
        on_behalf_of: acting.user_id(),
    };
    let subject = subject::readable(engine, txn, system, input.subject_id).await?;
    let row = insert(engine, txn, &subject, fields, acting).await?;
    engine.wake_scheduler();
    Ok(row.id)
}

/// What a new deadline says, parsed.
struct Fields {
    title: String,
    rule: Rule,
    grace_days: i32,
    met_by: Option<String>,
    on_missed: Option<String>,
    reminder_plan: Option<String>,
}

impl Fields {
    fn parse(input: &NewDeadline) -> EngineResult<Fields> {
        Ok(Fields {
            title: parse_title(&input.title)?,
            rule: Rule::parse("rule", &input.rule)?,
            grace_days: parse_grace(input.grace_days.unwrap_or(DEFAULT_GRACE_DAYS))?,
            met_by: parse_transition_name("metBy", input.met_by.as_deref())?,
            on_missed: parse_transition_name("onMissed", input.on_missed.as_deref())?,
            reminder_plan: parse_plan(input.reminders.as_deref())?,
        })
    }
}

/// Writes a new deadline on `subject` with its first occurrences.
async fn insert(
    engine: &Engine,
    txn: &DatabaseTransaction,
    subject: &DeadlineSubject,
    fields: Fields,
    acting: Acting<'_>,
) -> EngineResult<deadline::Model> {
    check_on_missed(engine, txn, subject, fields.on_missed.as_deref()).await?;
    let now = engine.now();
    let rule = fields.rule;
    check_rule_ahead(&rule, subject.zone, now)?;
    let after_transition = match &rule {
        Rule::AfterTransition { transition, .. } => Some(transition.clone()),
        _ => None,
    };
    let effective_at = match &after_transition {
        Some(transition) => events::effective_instant(txn, subject, transition).await?,
        None => None,
    };
    let row = deadline::Model {
        id: Uuid::now_v7(),
        forum_id: subject.forum_id(),
        group_id: subject.scope.group_id,
        subject_id: subject.id,
        subject_kind: subject.kind.clone(),
        title: fields.title,
        rule_kind: rule.kind().to_owned(),
        rule: rule.text(),
        time_zone: subject.zone.name().to_owned(),
        grace_days: fields.grace_days,
        after_transition,
        met_by: fields.met_by,
        on_missed: fields.on_missed,
        reminder_plan: fields.reminder_plan,
        state: "active".into(),
        effective_at,
        next_extend_at: None,
        version: 1,
        created_by: acting.user_id(),
        created_at: now,
        updated_at: now,
    };
    deadline::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(txn)
        .await?;
    let entry = change(&row, "create", ("", "active"), None);
    record(txn, entry, acting, now).await?;
    occurrences::extend(engine, txn, &Planned::of(engine, &row)?, now).await?;
    Ok(row)
}

/// A history row on a deadline: its own changes, and its occurrences' moves.
pub(crate) struct DeadlineEntry<'a> {
    pub deadline_id: Uuid,
    pub transition: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub reason: Option<&'a str>,
    pub detail: serde_json::Value,
}

pub(crate) async fn record(
    txn: &DatabaseTransaction,
    entry: DeadlineEntry<'_>,
    acting: Acting<'_>,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    history::append(
        txn,
        NewEntry {
            subject_id: entry.deadline_id,
            subject_kind: "deadline",
            transition: entry.transition,
            from_state: entry.from,
            to_state: entry.to,
            acting,
            reason: entry.reason,
            definition_hash: None,
            detail: Some(entry.detail),
            at: now,
        },
    )
    .await?;
    Ok(())
}

/// The history row of a change of the deadline itself.
fn change<'a>(
    row: &deadline::Model,
    operation: &'a str,
    (from, to): (&'a str, &'a str),
    reason: Option<&'a str>,
) -> DeadlineEntry<'a> {
    DeadlineEntry {
        deadline_id: row.id,
        transition: operation,
        from,
        to,
        reason,
        detail: json!({ "title": row.title, "rule": row.rule }),
    }
}

/// The deadline row, for a change by `actor`: NOT_FOUND when they may not read its subject,
/// FORBIDDEN when they may read but not manage it.
async fn managed_row(
    engine: &Engine,
    txn: &DatabaseTransaction,
    actor: &Actor,
    deadline_id: Uuid,
) -> EngineResult<(deadline::Model, DeadlineSubject)> {
    let row = deadline::Entity::find_by_id(deadline_id)
        .one(txn)
        .await?
        .ok_or_else(|| EngineError::not_found("deadline", deadline_id))?;
    let subject = subject::readable(engine, txn, Acting::User(actor), row.subject_id)
        .await
        .map_err(|err| match err {
            EngineError::NotFound(_) => EngineError::not_found("deadline", deadline_id),
            other => other,
        })?;
    authorize(actor, &subject.scope)?;
    Ok((row, subject))
}

fn check_version(row: &deadline::Model, expected: Option<i32>) -> EngineResult<()> {
    match expected {
        Some(expected) if expected != row.version => Err(EngineError::StaleState(format!(
            "the deadline is at version {}, not {expected}: reload it and try again",
            row.version
        ))),
        _ => Ok(()),
    }
}

pub async fn update_deadline(
    engine: &Engine,
    actor: &Actor,
    deadline_id: Uuid,
    changes: DeadlineChanges,
) -> EngineResult<Deadline> {
    let title = changes.title.as_deref().map(parse_title).transpose()?;
    let rule = changes
        .rule
        .as_deref()
        .map(|rule| Rule::parse("rule", rule))
        .transpose()?;
    let grace_days = changes.grace_days.map(parse_grace).transpose()?;
    let met_by = changes
        .met_by
        .as_deref()
        .map(|name| parse_transition_name("metBy", Some(name)))
        .transpose()?;
    let on_missed = changes
        .on_missed
        .as_deref()
        .map(|name| parse_transition_name("onMissed", Some(name)))
        .transpose()?;
    if changes.use_default_reminders && changes.reminders.is_some() {
        return Err(EngineError::invalid(
            "reminders",
            "give a plan or useDefaultReminders, not both",
        ));
    }
    let reminder_plan = if changes.use_default_reminders {
        Some(None)
    } else {
        parse_plan(changes.reminders.as_deref())?.map(Some)
    };
    let reason = parse_reason(changes.reason.as_deref())?;
    let txn = engine.begin_write().await?;
    let (current, subject) = managed_row(engine, &txn, actor, deadline_id).await?;
    check_version(&current, changes.expected_version)?;
    if current.state != "active" {
        return Err(EngineError::InvalidTransition(
            "a cancelled deadline cannot be changed".into(),
        ));
    }
    if let Some(Some(name)) = &on_missed {
        check_on_missed(engine, &txn, &subject, Some(name)).await?;
    }
    let now = engine.now();
    if let Some(rule) = &rule {
        check_rule_ahead(rule, stored_zone(&current.time_zone), now)?;
    }
    let mut row = current.clone();
    if let Some(title) = title {
        row.title = title;
    }
    if let Some(rule) = &rule {
        row.rule = rule.text();
        row.rule_kind = rule.kind().to_owned();
        let transition = match rule {
            Rule::AfterTransition { transition, .. } => Some(transition.clone()),
            _ => None,
        };
        if transition != row.after_transition {
            row.effective_at = match &transition {
                Some(name) => events::effective_instant(&txn, &subject, name).await?,
                None => None,
            };
            row.after_transition = transition;
        }
    }
    if let Some(days) = grace_days {
        row.grace_days = days;
    }
    if let Some(met_by) = met_by {
        row.met_by = met_by;
    }
    if let Some(on_missed) = on_missed {
        row.on_missed = on_missed;
    }
    if let Some(plan) = reminder_plan {
        row.reminder_plan = plan;
    }
    row.updated_at = now;
    let replan = row.rule != current.rule
        || row.grace_days != current.grace_days
        || row.reminder_plan != current.reminder_plan
        || row.effective_at != current.effective_at;
    save(&txn, &current, &row).await?;
    let acting = Acting::User(actor);
    let entry = change(&row, "update", ("active", "active"), reason.as_deref());
    record(&txn, entry, acting, now).await?;
    if replan {
        occurrences::replan(engine, &txn, &Planned::of(engine, &row)?, acting).await?;
    }
    txn.commit().await?;
    engine.wake_scheduler();
    reread(engine, deadline_id).await
}

/// Writes `row` over `current` unless another writer changed it since it was read.
async fn save(
    txn: &DatabaseTransaction,
    current: &deadline::Model,
    row: &deadline::Model,
) -> EngineResult<()> {
    let update = deadline::Entity::update_many()
        .col_expr(deadline::Column::Title, Expr::value(row.title.clone()))
        .col_expr(deadline::Column::Rule, Expr::value(row.rule.clone()))
        .col_expr(
            deadline::Column::RuleKind,
            Expr::value(row.rule_kind.clone()),
        )
        .col_expr(deadline::Column::GraceDays, Expr::value(row.grace_days))
        .col_expr(
            deadline::Column::AfterTransition,
            Expr::value(row.after_transition.clone()),
        )
        .col_expr(deadline::Column::MetBy, Expr::value(row.met_by.clone()))
        .col_expr(
            deadline::Column::OnMissed,
            Expr::value(row.on_missed.clone()),
        )
        .col_expr(
            deadline::Column::ReminderPlan,
            Expr::value(row.reminder_plan.clone()),
        )
        .col_expr(deadline::Column::State, Expr::value(row.state.clone()))
        .col_expr(deadline::Column::EffectiveAt, Expr::value(row.effective_at))
        .col_expr(deadline::Column::UpdatedAt, Expr::value(row.updated_at));
    let saved = update_if_unchanged(
        txn,
        update,
        (deadline::Column::Id, current.id),
        (deadline::Column::Version, current.version),
    )
    .await?;
    if saved {
        Ok(())
    } else {
        Err(EngineError::StaleState(
            "the deadline was changed meanwhile: reload it and try again".into(),
        ))
    }
}

async fn reread(engine: &Engine, deadline_id: Uuid) -> EngineResult<Deadline> {
    let row = deadline::Entity::find_by_id(deadline_id)
        .one(engine.db())
        .await?
        .ok_or_else(|| EngineError::not_found("deadline", deadline_id))?;
    Ok(Deadline::new(engine, row))
}

/// Cancels a deadline with its open occurrences and unsent reminders.
pub async fn cancel_deadline(
    engine: &Engine,
    actor: &Actor,
    deadline_id: Uuid,
    reason: Option<String>,
    expected_version: Option<i32>,
) -> EngineResult<Deadline> {
    let reason = parse_reason(reason.as_deref())?;
    let txn = engine.begin_write().await?;
    let (current, _) = managed_row(engine, &txn, actor, deadline_id).await?;
    check_version(&current, expected_version)?;
    if current.state != "active" {
        return Err(EngineError::InvalidTransition(
            "the deadline is already cancelled".into(),
        ));
    }
    cancel_row(
        &txn,
        &current,
        Acting::User(actor),
        reason.as_deref(),
        engine.now(),
    )
    .await?;
    txn.commit().await?;
    reread(engine, deadline_id).await
}

/// Cancels a deadline row with its open occurrences and unsent reminders.
async fn cancel_row(
    txn: &DatabaseTransaction,
    current: &deadline::Model,
    acting: Acting<'_>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    let row = deadline::Model {
        state: "cancelled".into(),
        updated_at: now,
        ..current.clone()
    };
    save(txn, current, &row).await?;
    let entry = change(&row, "cancel", ("active", "cancelled"), reason);
    record(txn, entry, acting, now).await?;
    occurrences::cancel(txn, row.id, None, acting, reason, now).await?;
    deadline::Entity::update_many()
        .col_expr(
            deadline::Column::NextExtendAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(deadline::Column::Id.eq(row.id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Cancels, inside the caller's transaction, the active deadlines of `subject_id` that wait for
/// `met_by` (a claim's lease, when the claim ends otherwise than by submission).
pub(crate) async fn cancel_waiting_for(
    engine: &Engine,
    txn: &DatabaseTransaction,
    subject_id: Uuid,
    met_by: &str,
    acting: Acting<'_>,
    reason: &str,
) -> EngineResult<()> {
    let rows = deadline::Entity::find()
        .filter(deadline::Column::SubjectId.eq(subject_id))
        .filter(deadline::Column::MetBy.eq(met_by))
        .filter(deadline::Column::State.eq("active"))
        .all(txn)
        .await?;
    for row in &rows {
        cancel_row(txn, row, acting, Some(reason), engine.now()).await?;
    }
    Ok(())
}

/// A coordinator marks an occurrence met (or met late), with a reason; a missed one can be
/// marked met late after the fact.
pub async fn mark_occurrence_met(
    engine: &Engine,
    actor: &Actor,
    occurrence_id: Uuid,
    reason: Option<String>,
) -> EngineResult<Occurrence> {
    let reason = parse_reason(reason.as_deref())?
        .ok_or_else(|| EngineError::invalid("reason", "say why the occurrence counts as met"))?;
    let txn = engine.begin_write().await?;
    let occurrence = deadline_occurrence::Entity::find_by_id(occurrence_id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("deadline occurrence", occurrence_id))?;
    managed_row(engine, &txn, actor, occurrence.deadline_id)
        .await
        .map_err(|err| match err {
            EngineError::NotFound(_) => {
                EngineError::not_found("deadline occurrence", occurrence_id)
            }
            other => other,
        })?;
    let now = engine.now();
    let acting = Acting::User(actor);
    match occurrence.state.as_str() {
        "scheduled" | "due" => {
            occurrences::meet(&txn, &occurrence, acting, Some(&reason), now).await?;
        }
        "missed" => {
            occurrences::close(&txn, &occurrence, "met_late", acting, Some(&reason), now).await?;
        }
        state => {
            return Err(EngineError::InvalidTransition(format!(
                "the occurrence is {state}; only a scheduled, due or missed one can be marked met"
            )));
        }
    }
    let met = deadline_occurrence::Entity::find_by_id(occurrence_id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("deadline occurrence", occurrence_id))?;
    txn.commit().await?;
    Ok(met)
}
