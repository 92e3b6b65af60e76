//! The scheduler, in every `govflow serve`: writes occurrences ahead, moves them `due` and
//! `missed`, and turns due reminders into outbox rows (DECISIONS §9, §10).
//!
//! Each step claims a batch of rows in one short write transaction (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so instances sharing one database take different rows and never wait on each
//! other; SQLite's single writer serialises them) and finishes it there: a reminder is marked
//! `sent` in the same transaction that writes its outbox rows, keyed (reminder, user), so a crash
//! either keeps both or neither, and no instance sends a reminder another already sent. After
//! downtime every reminder that fell due meanwhile is still `pending` and goes out once, marked
//! late.
//!
//! The loop sleeps until the next row falls due, not on a fixed beat; a write that adds earlier
//! work wakes it ([`Engine::wake_scheduler`]), and `poll` bounds the sleep so that work added by
//! another instance is seen within it.

use super::occurrences::{self, Planned};
use crate::kernel::actor::{Acting, SubjectScope};
use crate::kernel::db::{DatabaseKind, backend_kind};
use crate::kernel::engine::Engine;
use crate::kernel::error::EngineResult;
use crate::notify::outbox::{self, NewMessage};
use crate::notify::recipients::{self, Recipient};
use crate::time::{local, stored_zone};
use crate::workflow::executor::{TransitionRequest, take_transition};
use crate::workflow::subjects;
use chrono::{DateTime, Duration, Utc};
use govflow_entities::{deadline, deadline_occurrence, deadline_reminder, forum, working_group};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use uuid::Uuid;

/// Rows claimed per transaction.
const BATCH: u64 = 100;
/// Reminders claimed per transaction: more than the other steps, since each batch's fixed cost
/// (its reads of occurrences, deadlines, places and recipients, one INSERT, one commit) is shared
/// by every reminder in it; the claim stays an index range scan whatever the table's size.
const REMINDER_BATCH: u64 = 500;
/// How many batches PostgreSQL claims at once.
const PARALLEL_CLAIMS: usize = 4;
/// A reminder sent more than this after its time is marked late.
pub const LATE_AFTER: Duration = Duration::minutes(5);
/// How long a woken scheduler waits for the waking write to commit.
const COMMIT_GRACE: std::time::Duration = std::time::Duration::from_millis(100);
/// The template of every reminder.
pub const TEMPLATE: &str = "deadline_reminder";

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    pub extended: u64,
    pub fell_due: u64,
    pub reminders_sent: u64,
    pub late: u64,
    pub messages: u64,
    pub missed: u64,
}

/// Does everything due now, batch after batch, until nothing due is left.
pub async fn run_due(engine: &Engine) -> EngineResult<TickReport> {
    let mut report = TickReport::default();
    loop {
        let extended = extend_due(engine).await?;
        let fell_due = fall_due(engine).await?;
        let (sent, late, messages) = send_reminders_in_parallel(engine).await?;
        let missed = miss(engine).await?;
        report.extended += extended;
        report.fell_due += fell_due;
        report.reminders_sent += sent;
        report.late += late;
        report.messages += messages;
        report.missed += missed;
        if extended + fell_due + sent + missed == 0 {
            return Ok(report);
        }
    }
}

/// Runs until `shutdown` resolves: does what is due, then sleeps until the next row falls due
/// (at most `poll`) or a write wakes it.
pub async fn run(engine: Engine, poll: std::time::Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let wait = match run_due(&engine).await {
            Ok(_) => match next_due(&engine).await {
                Ok(Some(at)) => (at - engine.now())
                    .to_std()
                    .unwrap_or_default()
                    .clamp(std::time::Duration::from_millis(200), poll),
                Ok(None) => poll,
                Err(err) => {
                    tracing::warn!("the scheduler could not read what falls due next: {err}");
                    poll
                }
            },
            Err(err) => {
                tracing::warn!("the scheduler's pass failed: {err}");
                poll
            }
        };
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(wait) => {}
            () = engine.scheduler_woken() => {
                // The waking writer may not have committed yet.
                tokio::time::sleep(COMMIT_GRACE).await;
            }
        }
    }
}

/// When the next piece of work falls due: a reminder, an occurrence, a grace ending, or a
/// deadline to write ahead.
pub async fn next_due(engine: &Engine) -> EngineResult<Option<DateTime<Utc>>> {
    let db = engine.db();
    let reminder = deadline_reminder::Entity::find()
        .filter(deadline_reminder::Column::State.eq("pending"))
        .order_by_asc(deadline_reminder::Column::DueAt)
        .one(db)
        .await?
        .map(|row| row.due_at);
    let occurrence = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::State.eq("scheduled"))
        .filter(deadline_occurrence::Column::Held.eq(false))
        .order_by_asc(deadline_occurrence::Column::DueAt)
        .one(db)
        .await?
        .map(|row| row.due_at);
    let grace = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::State.eq("due"))
        .order_by_asc(deadline_occurrence::Column::GraceUntil)
        .one(db)
        .await?
        .map(|row| row.grace_until);
    let extend = deadline::Entity::find()
        .filter(deadline::Column::NextExtendAt.is_not_null())
        .filter(deadline::Column::State.eq("active"))
        .order_by_asc(deadline::Column::NextExtendAt)
        .one(db)
        .await?
        .and_then(|row| row.next_extend_at);
    Ok([reminder, occurrence, grace, extend]
        .into_iter()
        .flatten()
        .min())
}

/// Writes ahead the deadlines whose time to look again has come.
async fn extend_due(engine: &Engine) -> EngineResult<u64> {
    let now = engine.now();
    let txn = engine.begin_write().await?;
    let rows = deadline::Entity::find()
        .filter(deadline::Column::State.eq("active"))
        .filter(deadline::Column::NextExtendAt.lte(now))
        .order_by_asc(deadline::Column::NextExtendAt)
        .limit(BATCH)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&txn)
        .await?;
    for row in &rows {
        let counts_from = row.next_extend_at.unwrap_or(now);
        occurrences::extend(engine, &txn, &Planned::of(engine, row)?, counts_from).await?;
    }
    txn.commit().await?;
    Ok(rows.len() as u64)
}

/// `scheduled → due` for the occurrences whose instant has passed.
async fn fall_due(engine: &Engine) -> EngineResult<u64> {
    let now = engine.now();
    let txn = engine.begin_write().await?;
    let rows = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::State.eq("scheduled"))
        .filter(deadline_occurrence::Column::Held.eq(false))
        .filter(deadline_occurrence::Column::DueAt.lte(now))
        .order_by_asc(deadline_occurrence::Column::DueAt)
        .limit(BATCH)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&txn)
        .await?;
    if !rows.is_empty() {
        deadline_occurrence::Entity::update_many()
            .col_expr(deadline_occurrence::Column::State, Expr::value("due"))
            .col_expr(deadline_occurrence::Column::UpdatedAt, Expr::value(now))
            .filter(deadline_occurrence::Column::Id.is_in(rows.iter().map(|row| row.id)))
            .exec(&txn)
            .await?;
        let system = Acting::System { on_behalf_of: None };
        for row in &rows {
            occurrences::record(&txn, row, ("scheduled", "due"), system, None, now).await?;
        }
    }
    txn.commit().await?;
    Ok(rows.len() as u64)
}

/// `due → missed` once the grace has run out, taking the deadline's `onMissed` transition.
async fn miss(engine: &Engine) -> EngineResult<u64> {
    let now = engine.now();
    let txn = engine.begin_write().await?;
    let rows = deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::State.eq("due"))
        .filter(deadline_occurrence::Column::GraceUntil.lt(now))
        .order_by_asc(deadline_occurrence::Column::GraceUntil)
        .limit(BATCH)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&txn)
        .await?;
    let deadlines = deadlines_of(&txn, rows.iter().map(|row| row.deadline_id)).await?;
    let system = Acting::System { on_behalf_of: None };
    for row in &rows {
        occurrences::close(&txn, row, "missed", system, None, now).await?;
        if let Some(transition) = deadlines
            .get(&row.deadline_id)
            .and_then(|deadline| deadline.on_missed.as_ref().map(|name| (deadline, name)))
        {
            take_on_missed(engine, &txn, transition.0, transition.1).await?;
        }
    }
    txn.commit().await?;
    Ok(rows.len() as u64)
}

/// Takes `onMissed` in a savepoint: a transition that cannot be taken now (the subject moved
/// on) is logged, and the miss itself still stands.
async fn take_on_missed(
    engine: &Engine,
    txn: &DatabaseTransaction,
    row: &deadline::Model,
    name: &str,
) -> EngineResult<()> {
    let savepoint = txn.begin().await?;
    let request = TransitionRequest {
        subject_id: row.subject_id,
        name: name.to_owned(),
        reason: Some(format!("the deadline \"{}\" was missed", row.title)),
        expected_version: None,
        input: serde_json::Value::Null,
    };
    let system = Acting::System { on_behalf_of: None };
    match take_transition(engine, &savepoint, system, &request).await {
        Ok(_) => savepoint.commit().await?,
        Err(err) => {
            tracing::warn!(deadline = %row.id, "`{name}` could not be taken on a missed deadline: {err}");
            savepoint.rollback().await?;
        }
    }
    Ok(())
}

async fn deadlines_of(
    txn: &DatabaseTransaction,
    ids: impl Iterator<Item = Uuid>,
) -> EngineResult<HashMap<Uuid, deadline::Model>> {
    let ids: Vec<Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(deadline::Entity::find()
        .filter(deadline::Column::Id.is_in(ids))
        .all(txn)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}

/// On PostgreSQL several claims run at once on their own connections (SKIP LOCKED gives them
/// different rows): while one batch's large INSERT waits on the network, the others work.
/// SQLite's single writer would only queue them behind each other.
async fn send_reminders_in_parallel(engine: &Engine) -> EngineResult<(u64, u64, u64)> {
    if backend_kind(engine.db()) != DatabaseKind::Postgres {
        return send_reminders(engine).await;
    }
    let claims = (0..PARALLEL_CLAIMS).map(|_| send_reminders(engine));
    let done = futures::future::try_join_all(claims).await?;
    Ok(done.into_iter().fold((0, 0, 0), |sum, one| {
        (sum.0 + one.0, sum.1 + one.1, sum.2 + one.2)
    }))
}

/// Claims due reminders, writes one outbox row per (reminder, recipient) and marks each sent;
/// returns (sent, of which late, messages).
async fn send_reminders(engine: &Engine) -> EngineResult<(u64, u64, u64)> {
    let now = engine.now();
    let txn = engine.begin_write().await?;
    let rows = deadline_reminder::Entity::find()
        .filter(deadline_reminder::Column::State.eq("pending"))
        .filter(deadline_reminder::Column::DueAt.lte(now))
        .order_by_asc(deadline_reminder::Column::DueAt)
        .limit(REMINDER_BATCH)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&txn)
        .await?;
    if rows.is_empty() {
        txn.commit().await?;
        return Ok((0, 0, 0));
    }
    let occurrences: HashMap<Uuid, deadline_occurrence::Model> =
        deadline_occurrence::Entity::find()
            .filter(deadline_occurrence::Column::Id.is_in(rows.iter().map(|row| row.occurrence_id)))
            .all(&txn)
            .await?
            .into_iter()
            .map(|row| (row.id, row))
            .collect();
    let deadlines = deadlines_of(&txn, rows.iter().map(|row| row.deadline_id)).await?;
    let places = Places::load(&txn, deadlines.values()).await?;
    let recipients = recipients_of(engine, &txn, &rows, &deadlines).await?;
    let (mut late, mut on_time) = (Vec::new(), Vec::new());
    let (mut queued, mut persons) = (Vec::new(), Vec::new());
    for reminder in &rows {
        let (Some(occurrence), Some(deadline)) = (
            occurrences.get(&reminder.occurrence_id),
            deadlines.get(&reminder.deadline_id),
        ) else {
            continue;
        };
        let is_late = now - reminder.due_at > LATE_AFTER;
        let mut reached: Vec<Recipient> = Vec::new();
        for role in reminder.roles.split(',').filter(|role| !role.is_empty()) {
            let key = (deadline.id, role.to_owned());
            for person in recipients.get(&key).into_iter().flatten() {
                if !reached.iter().any(|seen| seen.user_id == person.user_id) {
                    reached.push(person.clone());
                }
            }
        }
        for person in reached {
            let context = mail_context(deadline, occurrence, reminder, &places, &person, is_late);
            let rendered = engine.templates().render(TEMPLATE, &context);
            queued.push((
                format!("reminder:{}:{}", reminder.id, person.user_id),
                rendered.map_err(|err| err.to_string()),
                deadline,
            ));
            persons.push(person);
        }
        if is_late {
            late.push(reminder.id);
        } else {
            on_time.push(reminder.id);
        }
    }
    let messages = queued.len() as u64;
    outbox::enqueue_many(
        &txn,
        queued
            .into_iter()
            .zip(&persons)
            .map(|((key, mail, deadline), person)| NewMessage {
                dedup_key: key,
                recipient: person,
                mail,
                template: TEMPLATE,
                subject_id: Some(deadline.subject_id),
                forum_id: Some(deadline.forum_id),
                group_id: deadline.group_id,
                now,
            })
            .collect(),
    )
    .await?;
    for (ids, is_late) in [(&on_time, false), (&late, true)] {
        if ids.is_empty() {
            continue;
        }
        deadline_reminder::Entity::update_many()
            .col_expr(deadline_reminder::Column::State, Expr::value("sent"))
            .col_expr(deadline_reminder::Column::SentAt, Expr::value(now))
            .col_expr(deadline_reminder::Column::Late, Expr::value(is_late))
            .col_expr(deadline_reminder::Column::UpdatedAt, Expr::value(now))
            .filter(deadline_reminder::Column::Id.is_in(ids.iter().copied()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    if messages > 0 {
        engine.metrics().reminders_sent.inc_by(messages);
    }
    Ok((
        (on_time.len() + late.len()) as u64,
        late.len() as u64,
        messages,
    ))
}

/// The people each (deadline, role) of a batch reaches, resolved now, for the whole batch at
/// once: a claimant is whoever holds the task when the reminder is sent.
async fn recipients_of(
    engine: &Engine,
    txn: &DatabaseTransaction,
    rows: &[deadline_reminder::Model],
    deadlines: &HashMap<Uuid, deadline::Model>,
) -> EngineResult<HashMap<(Uuid, String), Vec<Recipient>>> {
    let mut wanted: BTreeMap<(Uuid, String), SubjectScope> = BTreeMap::new();
    for reminder in rows {
        let Some(deadline) = deadlines.get(&reminder.deadline_id) else {
            continue;
        };
        for role in reminder.roles.split(',').filter(|role| !role.is_empty()) {
            let key = (deadline.id, role.to_owned());
            if wanted.contains_key(&key) {
                continue;
            }
            let mut scope = SubjectScope {
                forum_id: Some(deadline.forum_id),
                group_id: deadline.group_id,
                ..SubjectScope::default()
            };
            if role == "claimant" {
                let info = subjects::info(engine, txn, &deadline.subject_kind, deadline.subject_id)
                    .await?;
                scope.claimant_id = info.scope.claimant_id;
            }
            wanted.insert(key, scope);
        }
    }
    let pairs: Vec<(String, SubjectScope)> = wanted
        .iter()
        .map(|((_, role), scope)| (role.clone(), scope.clone()))
        .collect();
    let holders = recipients::holders_of_many(txn, &pairs).await?;
    Ok(wanted
        .into_iter()
        .map(|((deadline_id, role), scope)| {
            let found = holders
                .get(&(role.clone(), scope))
                .cloned()
                .unwrap_or_default();
            ((deadline_id, role), found)
        })
        .collect())
}

/// The forum and group names a batch of reminders shows.
struct Places {
    forums: HashMap<Uuid, String>,
    groups: HashMap<Uuid, String>,
}

impl Places {
    async fn load(
        txn: &DatabaseTransaction,
        deadlines: impl Iterator<Item = &deadline::Model> + Clone,
    ) -> EngineResult<Places> {
        let forum_ids: Vec<Uuid> = deadlines.clone().map(|row| row.forum_id).collect();
        let group_ids: Vec<Uuid> = deadlines.filter_map(|row| row.group_id).collect();
        let forums = forum::Entity::find()
            .filter(forum::Column::Id.is_in(forum_ids))
            .all(txn)
            .await?
            .into_iter()
            .map(|row| (row.id, row.name))
            .collect();
        let groups = working_group::Entity::find()
            .filter(working_group::Column::Id.is_in(group_ids))
            .all(txn)
            .await?
            .into_iter()
            .map(|row| (row.id, row.name))
            .collect();
        Ok(Places { forums, groups })
    }
}

/// What the reminder template sees.
fn mail_context(
    deadline: &deadline::Model,
    occurrence: &deadline_occurrence::Model,
    reminder: &deadline_reminder::Model,
    places: &Places,
    person: &Recipient,
    is_late: bool,
) -> serde_json::Value {
    let zone = stored_zone(&deadline.time_zone);
    let due = local(zone, occurrence.due_at);
    let overdue = reminder.offset.starts_with('+');
    json!({
        "deadline": { "id": deadline.id, "title": deadline.title, "rule": deadline.rule },
        "subject": { "kind": deadline.subject_kind, "id": deadline.subject_id },
        "forum": { "name": places.forums.get(&deadline.forum_id).cloned().unwrap_or_default() },
        "group": deadline.group_id.and_then(|id| places.groups.get(&id)).map(|name| json!({ "name": name })),
        "due": format!("{} ({})", due.format("%Y-%m-%d %H:%M %:z"), zone.name()),
        "when": when(&reminder.offset),
        "overdue": overdue,
        "state": occurrence.state,
        "late": is_late,
        "recipient": { "name": person.name, "email": person.email },
    })
}

/// "in 30 days", "now", "1 day ago", from an offset such as `-30d`, `0d`, `+1d`, `-12h`.
fn when(offset: &str) -> String {
    let (sign, rest) = offset.split_at(offset.len().min(1));
    let rest = if sign == "-" || sign == "+" {
        rest
    } else {
        offset
    };
    let (number, unit) = rest.split_at(rest.len().saturating_sub(1));
    let Ok(amount) = number.parse::<u32>() else {
        // A combined offset (`-1d12h`) is shown as written.
        return if sign == "-" {
            format!("in {rest}")
        } else {
            format!("{rest} ago")
        };
    };
    if amount == 0 {
        return "now".into();
    }
    let unit = match (unit, amount) {
        ("h", 1) => "hour",
        ("h", _) => "hours",
        (_, 1) => "day",
        _ => "days",
    };
    if sign == "-" {
        format!("in {amount} {unit}")
    } else {
        format!("{amount} {unit} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::when;

    #[test]
    fn offsets_read_as_people_say_them() {
        assert_eq!(when("-30d"), "in 30 days");
        assert_eq!(when("-1d"), "in 1 day");
        assert_eq!(when("-12h"), "in 12 hours");
        assert_eq!(when("0d"), "now");
        assert_eq!(when("+7d"), "7 days ago");
        assert_eq!(when("-1d12h"), "in 1d12h");
    }
}
