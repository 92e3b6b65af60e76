//! Meetings of a forum's series (a Ministerial Summit, a CEPA session) and what is decided at them.
//! A meeting is a workflow subject (definition `meeting`): scheduled with a number in its series,
//! moved while planned, postponed and rescheduled, started, and closed once every vote on its
//! agenda has closed. The agenda ([`agenda`]) lists the proposals (groups, instruments) the member
//! states decide on; [`decisions`] holds their ballots and the decision that closes each vote.
//! Changes of a meeting's dates are published as [`crate::kernel::events::Event`]s, so that what
//! counts from a meeting follows it in the same transaction.

pub mod agenda;
pub mod decisions;
mod kind;

pub use kind::MeetingKind;

use crate::areas::forums::{ForumSettings, forum_scope};
use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::events::{Event, MeetingChange, MeetingChangeKind};
use crate::kernel::pagination::{Page, PageRequest, page_of};
use crate::time::{local, stored_zone};
use crate::types::{MAX_NAME_CHARS, SingleLine, TimeZone};
use crate::workflow::effects::{self, EffectContext};
use crate::workflow::executor::{
    CreationRequest, Edit, authorize_creation, check_expected_version, create_subject,
    parse_reason, save_edit,
};
use crate::workflow::subjects::{self, SubjectState};
use chrono::{DateTime, Duration, Utc};
use govflow_entities::{forum, meeting, workflow_instance};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use std::collections::BTreeSet;
use uuid::Uuid;

/// The longest a meeting may last: a session, not a season.
const MAX_MEETING_DAYS: i64 = 60;
/// The states in which a meeting still lies ahead.
const UPCOMING: [&str; 2] = ["planned", "postponed"];

/// A meeting with its workflow state.
#[derive(Debug, Clone)]
pub struct Meeting {
    pub id: Uuid,
    pub forum_id: Uuid,
    pub series: String,
    pub number: i32,
    pub title: String,
    pub place: Option<String>,
    /// The zone the meeting's dates are shown and counted in.
    pub time_zone: TimeZone,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub workflow: SubjectState,
}

impl Meeting {
    fn new(row: meeting::Model, instance: &workflow_instance::Model) -> Meeting {
        let time_zone = stored_zone(&row.time_zone);
        Meeting {
            workflow: SubjectState::new(instance, meeting_scope(&row), time_zone),
            id: row.id,
            forum_id: row.forum_id,
            series: row.series,
            number: row.number,
            title: row.title,
            place: row.place,
            time_zone,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            created_at: row.created_at,
        }
    }
}

pub fn meeting_scope(row: &meeting::Model) -> SubjectScope {
    forum_scope(row.forum_id)
}

pub struct NewMeeting {
    pub forum_id: Uuid,
    pub series: String,
    /// For a series that started before govflow (the 9th summit); otherwise highest + 1.
    pub number: Option<i32>,
    /// Defaults to "9th Ministerial Summit".
    pub title: Option<String>,
    pub place: Option<String>,
    /// Defaults to the forum's zone.
    pub time_zone: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct MeetingFilter {
    pub forum_id: Option<Uuid>,
    pub series: Option<String>,
    /// Meetings that end at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Meetings that start before this instant.
    pub to: Option<DateTime<Utc>>,
    pub state: Option<String>,
}

/// Parses a meeting's start and end: the end after the start, and not months later.
pub fn parse_dates(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> EngineResult<(DateTime<Utc>, DateTime<Utc>)> {
    if ends_at <= starts_at {
        return Err(EngineError::invalid("endsAt", "must be after startsAt"));
    }
    if ends_at - starts_at > Duration::days(MAX_MEETING_DAYS) {
        return Err(EngineError::invalid(
            "endsAt",
            format!("a meeting lasts at most {MAX_MEETING_DAYS} days"),
        ));
    }
    Ok((starts_at, ends_at))
}

/// "1st", "2nd", "3rd", "4th", "11th", "21st".
fn ordinal(number: i32) -> String {
    let suffix = match (number % 10, number % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{number}{suffix}")
}

pub async fn schedule_meeting(
    engine: &Engine,
    actor: &Actor,
    input: NewMeeting,
) -> EngineResult<Meeting> {
    let series = SingleLine::parse("series", &input.series, MAX_NAME_CHARS)?.into_string();
    let title = SingleLine::parse_optional("title", input.title.as_deref(), MAX_NAME_CHARS * 2)?;
    let place = SingleLine::parse_optional("place", input.place.as_deref(), MAX_NAME_CHARS)?;
    let zone = input
        .time_zone
        .as_deref()
        .map(|zone| TimeZone::parse("timeZone", zone))
        .transpose()?;
    if let Some(number) = input.number
        && !(1..=100_000).contains(&number)
    {
        return Err(EngineError::invalid(
            "number",
            "must be between 1 and 100000",
        ));
    }
    let (starts_at, ends_at) = parse_dates(input.starts_at, input.ends_at)?;
    let txn = engine.begin_write().await?;
    // The forum's row is locked while the number is chosen, so that two coordinators scheduling
    // at once on PostgreSQL get consecutive numbers rather than one CONFLICT.
    let forum = forum::Entity::find_by_id(input.forum_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("forum", input.forum_id))?;
    let acting = Acting::User(actor);
    let creation = authorize_creation(
        engine,
        &txn,
        acting,
        CreationRequest {
            subject_kind: "meeting",
            transition: "schedule",
            parent_scope: &forum_scope(forum.id),
            reason: input.reason.as_deref(),
            input: &serde_json::Value::Null,
        },
    )
    .await?;
    let number = match input.number {
        Some(number) => {
            if number_taken(&txn, forum.id, &series, number).await? {
                return Err(EngineError::Conflict(format!(
                    "the series \"{series}\" already has a meeting number {number}"
                )));
            }
            number
        }
        None => highest_number(&txn, forum.id, &series).await? + 1,
    };
    let zone = zone.unwrap_or_else(|| ForumSettings::of(&forum).zone());
    let now = engine.now();
    let row = meeting::Model {
        id: Uuid::now_v7(),
        forum_id: forum.id,
        title: title.unwrap_or_else(|| format!("{} {series}", ordinal(number))),
        series,
        number,
        place,
        time_zone: zone.name().to_owned(),
        starts_at,
        ends_at,
        created_by: Some(actor.user_id),
        created_at: now,
        updated_at: now,
    };
    meeting::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    let instance = create_subject(engine, &txn, acting, &creation, row.id).await?;
    publish_change(engine, &txn, MeetingChangeKind::Scheduled, &row, &row).await?;
    txn.commit().await?;
    Ok(Meeting::new(row, &instance))
}

async fn number_taken<C: ConnectionTrait>(
    db: &C,
    forum_id: Uuid,
    series: &str,
    number: i32,
) -> EngineResult<bool> {
    Ok(meeting::Entity::find()
        .filter(meeting::Column::ForumId.eq(forum_id))
        .filter(meeting::Column::Series.eq(series))
        .filter(meeting::Column::Number.eq(number))
        .one(db)
        .await?
        .is_some())
}

/// The highest number of the series so far (0 for a new series). Meetings are never deleted, so
/// highest + 1 never reuses a number, not even a cancelled meeting's.
async fn highest_number<C: ConnectionTrait>(
    db: &C,
    forum_id: Uuid,
    series: &str,
) -> EngineResult<i32> {
    let highest: Option<Option<i32>> = meeting::Entity::find()
        .select_only()
        .column_as(meeting::Column::Number.max(), "highest")
        .filter(meeting::Column::ForumId.eq(forum_id))
        .filter(meeting::Column::Series.eq(series))
        .into_tuple()
        .one(db)
        .await?;
    Ok(highest.flatten().unwrap_or(0))
}

/// Moves a planned meeting (an edit, not a transition): one history row holding the old and new
/// times, the dependants re-timed through the `Moved` event, and a notice to the participants,
/// all in one transaction.
pub async fn move_meeting(
    engine: &Engine,
    actor: &Actor,
    meeting_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    reason: Option<String>,
    expected_version: Option<i32>,
) -> EngineResult<Meeting> {
    let (starts_at, ends_at) = parse_dates(starts_at, ends_at)?;
    let reason = parse_reason(reason.as_deref())?;
    let txn = engine.begin_write().await?;
    let (current, instance) = row_and_instance(&txn, meeting_id).await?;
    if !actor.holds("forum_coordinator", &meeting_scope(&current)) {
        return Err(EngineError::Forbidden(
            "moving a meeting needs the role forum_coordinator".into(),
        ));
    }
    check_expected_version(&instance, expected_version)?;
    if instance.state != "planned" {
        return Err(EngineError::InvalidTransition(format!(
            "only a planned meeting can be moved; this one is `{}` (reschedule a postponed one)",
            instance.state
        )));
    }
    let zone = stored_zone(&current.time_zone);
    let shown = |at: DateTime<Utc>| local(zone, at).to_rfc3339();
    let mut changed = serde_json::Map::new();
    changed.insert(
        "startsAt".into(),
        json!({ "from": shown(current.starts_at), "to": shown(starts_at) }),
    );
    changed.insert(
        "endsAt".into(),
        json!({ "from": shown(current.ends_at), "to": shown(ends_at) }),
    );
    let mut row = current.clone().into_active_model();
    row.starts_at = Set(starts_at);
    row.ends_at = Set(ends_at);
    row.updated_at = Set(engine.now());
    let edit = Edit {
        subject_id: meeting_id,
        operation: "move_meeting",
        expected_version,
        reason: reason.as_deref(),
        changed,
    };
    let saved = save_edit(engine, &txn, Acting::User(actor), edit, row).await?;
    publish_change(engine, &txn, MeetingChangeKind::Moved, &saved.row, &current).await?;
    let notice = Notice {
        actor,
        reason: reason.as_deref(),
        history_id: saved.history_id,
    };
    notify_participants(engine, &txn, &notice, &current, &saved.row).await?;
    txn.commit().await?;
    Ok(Meeting::new(saved.row, &saved.instance))
}

/// Tells the engine's subscribers that `meeting`'s dates changed (it was `before`).
pub(crate) async fn publish_change(
    engine: &Engine,
    txn: &DatabaseTransaction,
    kind: MeetingChangeKind,
    meeting: &meeting::Model,
    before: &meeting::Model,
) -> EngineResult<()> {
    engine
        .publish(
            txn,
            &Event::MeetingChanged(MeetingChange {
                kind,
                meeting_id: meeting.id,
                forum_id: meeting.forum_id,
                series: meeting.series.clone(),
                starts_at: meeting.starts_at,
                ends_at: meeting.ends_at,
                previous: (before.starts_at, before.ends_at),
            }),
        )
        .await
}

/// Who moved a meeting and why, as its notice tells.
struct Notice<'a> {
    actor: &'a Actor,
    reason: Option<&'a str>,
    history_id: Uuid,
}

/// The move notice, to the participants: the forum's representatives and coordinators, and for
/// each proposal on the agenda the chairs of its group (or of the group proposing it) and a
/// proposed group's future chair. Each person gets one copy.
async fn notify_participants(
    engine: &Engine,
    txn: &DatabaseTransaction,
    notice: &Notice<'_>,
    before: &meeting::Model,
    after: &meeting::Model,
) -> EngineResult<()> {
    let mut subject = kind::info_of(txn, after).await?;
    if let Some(fields) = subject.fields.as_object_mut() {
        let zone = subject.time_zone;
        fields.insert(
            "previous_starts_at".into(),
            json!(kind::shown(zone, before.starts_at)),
        );
        fields.insert(
            "previous_ends_at".into(),
            json!(kind::shown(zone, before.ends_at)),
        );
    }
    let context = EffectContext {
        txn,
        subject_id: after.id,
        subject: &subject,
        transition: "move_meeting",
        from_state: "planned",
        to_state: "planned",
        actor_name: &notice.actor.name,
        reason: notice.reason,
        history_id: notice.history_id,
        at: engine.now(),
    };
    let template = "meeting_moved";
    let mut queued = BTreeSet::new();
    for role in ["representative", "forum_coordinator"] {
        effects::notify_role(engine, role, template, &context, &mut queued).await?;
    }
    let (groups, future_chairs) = agenda::participants(txn, after.id).await?;
    for group_id in groups {
        let scope = SubjectScope {
            forum_id: Some(after.forum_id),
            group_id: Some(group_id),
            ..SubjectScope::default()
        };
        effects::notify_holders(engine, "chair", &scope, template, &context, &mut queued).await?;
    }
    effects::notify_users(engine, &future_chairs, template, &context, &mut queued).await
}

pub(crate) async fn row_and_instance<C: ConnectionTrait>(
    db: &C,
    meeting_id: Uuid,
) -> EngineResult<(meeting::Model, workflow_instance::Model)> {
    subjects::row_with_instance::<meeting::Entity, _>(db, meeting::Column::Id, meeting_id)
        .await?
        .ok_or_else(|| EngineError::not_found("meeting", meeting_id))
}

pub async fn get_meeting(engine: &Engine, meeting_id: Uuid) -> EngineResult<Meeting> {
    let (row, instance) = row_and_instance(engine.db(), meeting_id).await?;
    Ok(Meeting::new(row, &instance))
}

async fn with_instances<C: ConnectionTrait>(
    db: &C,
    rows: Vec<meeting::Model>,
) -> EngineResult<Vec<Meeting>> {
    subjects::with_instances(db, rows, |row| row.id, Meeting::new).await
}

pub async fn by_ids(engine: &Engine, ids: &[Uuid]) -> EngineResult<Vec<Meeting>> {
    let rows = meeting::Entity::find()
        .filter(meeting::Column::Id.is_in(ids.iter().copied()))
        .all(engine.db())
        .await?;
    with_instances(engine.db(), rows).await
}

/// Meetings by start, optionally of one forum, series, state and period.
pub async fn list_meetings(
    engine: &Engine,
    filter: &MeetingFilter,
    page: PageRequest,
) -> EngineResult<Page<Meeting>> {
    let mut condition = Condition::all();
    if let Some(forum_id) = filter.forum_id {
        condition = condition.add(meeting::Column::ForumId.eq(forum_id));
    }
    if let Some(series) = &filter.series {
        condition = condition.add(meeting::Column::Series.eq(series.clone()));
    }
    if let Some(from) = filter.from {
        condition = condition.add(meeting::Column::EndsAt.gte(from));
    }
    if let Some(to) = filter.to {
        condition = condition.add(meeting::Column::StartsAt.lt(to));
    }
    if let Some(state) = &filter.state {
        condition = condition.add(meeting::Column::Id.in_subquery(subjects::ids_where(
            "meeting",
            workflow_instance::Column::State.eq(state.clone()),
        )));
    }
    let query = meeting::Entity::find()
        .filter(condition)
        .order_by_asc(meeting::Column::StartsAt)
        .order_by_asc(meeting::Column::Id);
    let rows = page_of(engine.db(), query, page).await?;
    let items = with_instances(engine.db(), rows.items).await?;
    Ok(Page::new(items, page, rows.total))
}

/// The next meeting of a series: its earliest planned or postponed meeting that has not started.
pub async fn next_meeting<C: ConnectionTrait>(
    db: &C,
    forum_id: Uuid,
    series: &str,
    now: DateTime<Utc>,
) -> EngineResult<Option<meeting::Model>> {
    Ok(upcoming_of_series(db, forum_id, series, now, 1)
        .await?
        .into_iter()
        .next())
}

/// The next `count` meetings of a series still to come (planned or postponed), by start.
pub async fn upcoming_of_series<C: ConnectionTrait>(
    db: &C,
    forum_id: Uuid,
    series: &str,
    now: DateTime<Utc>,
    count: usize,
) -> EngineResult<Vec<meeting::Model>> {
    let upcoming = subjects::ids_where("meeting", workflow_instance::Column::State.is_in(UPCOMING));
    Ok(meeting::Entity::find()
        .filter(meeting::Column::ForumId.eq(forum_id))
        .filter(meeting::Column::Series.eq(series))
        .filter(meeting::Column::StartsAt.gt(now))
        .filter(meeting::Column::Id.in_subquery(upcoming))
        .order_by_asc(meeting::Column::StartsAt)
        .order_by_asc(meeting::Column::Id)
        .limit(count as u64)
        .all(db)
        .await?)
}

/// [`next_meeting`] as the API shows it.
pub async fn next_of_series(
    engine: &Engine,
    forum_id: Uuid,
    series: &str,
) -> EngineResult<Option<Meeting>> {
    let Some(row) = next_meeting(engine.db(), forum_id, series, engine.now()).await? else {
        return Ok(None);
    };
    let (row, instance) = row_and_instance(engine.db(), row.id).await?;
    Ok(Some(Meeting::new(row, &instance)))
}

#[cfg(test)]
mod tests;
