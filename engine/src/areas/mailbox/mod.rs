//! The outbox as people see it: what was queued for whom, read by the coordinators of the group
//! or forum it concerns and by the administrator; and the dead letters, which a forum's
//! coordinators send again once the cause is fixed.

use crate::areas::forums::Zones;
use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history;
use crate::kernel::pagination::{Page, PageRequest};
use crate::notify::outbox::{self, MailState, OutboxFilter};
use crate::types::TimeZone;
use chrono::{DateTime, Utc};
use govflow_entities::{app_user, outbox_message};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;

/// A queued, sent or dead e-mail, with the zone of what it is about (its group's, else its
/// forum's).
#[derive(Debug, Clone)]
pub struct Mail {
    pub id: uuid::Uuid,
    pub recipient_user_id: Option<uuid::Uuid>,
    pub recipient_email: String,
    pub subject_line: String,
    pub body: String,
    pub template: String,
    pub subject_id: Option<uuid::Uuid>,
    /// `pending`, `sending`, `sent` or `dead`, as stored.
    pub status: String,
    pub state: MailState,
    pub attempts: i32,
    /// When the next attempt is due (queued and retrying messages).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Kept across retries, so that a receiver can drop a duplicate.
    pub message_id: String,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub time_zone: TimeZone,
}

impl Mail {
    fn new(row: outbox_message::Model, zones: &Zones) -> Mail {
        let state = MailState::of(&row);
        let waiting = matches!(state, MailState::Queued | MailState::Retrying);
        Mail {
            time_zone: zones.zone(row.group_id, row.forum_id),
            state,
            next_attempt_at: waiting.then_some(row.next_attempt_at),
            id: row.id,
            recipient_user_id: row.recipient_user_id,
            recipient_email: row.recipient_email,
            subject_line: row.subject_line,
            body: row.body,
            template: row.template,
            subject_id: row.subject_id,
            status: row.status,
            attempts: row.attempts,
            message_id: row.message_id,
            last_error: row.last_error,
            created_at: row.created_at,
            sent_at: row.sent_at,
        }
    }
}

/// The outbox as a person may read it: a group's messages for its coordinators, a forum's for the
/// forum's coordinators, everything for the administrator.
pub async fn visible_to(
    engine: &Engine,
    actor: &Actor,
    filter: &OutboxFilter,
    page: PageRequest,
) -> EngineResult<Page<Mail>> {
    let allowed = if let Some(group_id) = filter.group_id {
        let group = crate::areas::groups::get_group(engine, group_id).await?;
        actor.holds("coordinator", group.scope())
    } else if let Some(forum_id) = filter.forum_id {
        crate::areas::forums::get_forum(engine, forum_id).await?;
        actor.holds(
            "forum_coordinator",
            &SubjectScope {
                forum_id: Some(forum_id),
                ..SubjectScope::default()
            },
        )
    } else {
        actor.is_admin
    };
    if !allowed {
        return Err(EngineError::Forbidden(
            "reading the outbox needs the role coordinator of that group or forum (or admin)"
                .into(),
        ));
    }
    let page = outbox::list(engine.db(), filter, page).await?;
    let zones = Zones::load(
        engine.db(),
        page.items.iter().map(|row| (row.group_id, row.forum_id)),
    )
    .await?;
    Ok(page.map(|row| Mail::new(row, &zones)))
}

/// The scope a forum's mail is answered for in.
fn forum_scope(forum_id: Option<uuid::Uuid>) -> SubjectScope {
    SubjectScope {
        forum_id,
        ..SubjectScope::default()
    }
}

/// Sends a dead letter again: it is queued at once, with a fresh retry window, and the retry is
/// on the message's history. Only the forum's coordinators (and the administrator) may; a message
/// the caller may not even read is NOT_FOUND.
pub async fn retry_dead_letter(
    engine: &Engine,
    actor: &Actor,
    id: uuid::Uuid,
) -> EngineResult<Mail> {
    let txn = engine.begin_write().await?;
    let row = outbox_message::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("e-mail", id))?;
    let readable = actor.holds(
        "coordinator",
        &SubjectScope {
            forum_id: row.forum_id,
            group_id: row.group_id,
            ..SubjectScope::default()
        },
    );
    if !readable {
        return Err(EngineError::not_found("e-mail", id));
    }
    if !actor.holds("forum_coordinator", &forum_scope(row.forum_id)) {
        return Err(EngineError::Forbidden(
            "retrying a dead letter needs the role coordinator of its forum".into(),
        ));
    }
    if row.status != "dead" {
        return Err(EngineError::InvalidTransition(format!(
            "only a dead letter can be retried; this e-mail is `{}`",
            MailState::of(&row).as_str()
        )));
    }
    let now = engine.now();
    requeue(&txn, vec![id], now).await?;
    record_retry(&txn, actor, id, now).await?;
    let row = outbox_message::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("e-mail", id))?;
    txn.commit().await?;
    let zones = Zones::load(engine.db(), [(row.group_id, row.forum_id)]).await?;
    Ok(Mail::new(row, &zones))
}

/// Sends every dead letter of a forum (and its groups) again; returns how many. Only the forum's
/// coordinators (and the administrator) may.
pub async fn retry_dead_letters(
    engine: &Engine,
    actor: &Actor,
    forum_id: uuid::Uuid,
) -> EngineResult<u64> {
    crate::areas::forums::get_forum(engine, forum_id).await?;
    if !actor.holds("forum_coordinator", &forum_scope(Some(forum_id))) {
        return Err(EngineError::Forbidden(
            "retrying dead letters needs the role coordinator of the forum".into(),
        ));
    }
    let txn = engine.begin_write().await?;
    let ids: Vec<uuid::Uuid> = outbox_message::Entity::find()
        .select_only()
        .column(outbox_message::Column::Id)
        .filter(outbox_message::Column::ForumId.eq(forum_id))
        .filter(outbox_message::Column::Status.eq("dead"))
        .into_tuple()
        .all(&txn)
        .await?;
    let now = engine.now();
    requeue(&txn, ids.clone(), now).await?;
    for id in &ids {
        record_retry(&txn, actor, *id, now).await?;
    }
    txn.commit().await?;
    Ok(ids.len() as u64)
}

/// Queues dead letters again, due now, with their retry window starting now, each to its
/// recipient's current address: a dead letter's usual cure is a corrected address.
async fn requeue(
    txn: &sea_orm::DatabaseTransaction,
    ids: Vec<uuid::Uuid>,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    let recipients: Vec<(uuid::Uuid, Option<uuid::Uuid>, String)> = outbox_message::Entity::find()
        .select_only()
        .column(outbox_message::Column::Id)
        .column(outbox_message::Column::RecipientUserId)
        .column(outbox_message::Column::RecipientEmail)
        .filter(outbox_message::Column::Id.is_in(ids.clone()))
        .into_tuple()
        .all(txn)
        .await?;
    let users: std::collections::HashMap<uuid::Uuid, String> = app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(recipients.iter().filter_map(|(_, user, _)| *user)))
        .all(txn)
        .await?
        .into_iter()
        .map(|user| (user.id, user.email))
        .collect();
    for (id, user, address) in recipients {
        if let Some(current) = user.and_then(|user| users.get(&user))
            && *current != address
        {
            outbox_message::Entity::update_many()
                .col_expr(
                    outbox_message::Column::RecipientEmail,
                    Expr::value(current.clone()),
                )
                .filter(outbox_message::Column::Id.eq(id))
                .exec(txn)
                .await?;
        }
    }
    outbox_message::Entity::update_many()
        .col_expr(outbox_message::Column::Status, Expr::value("pending"))
        .col_expr(outbox_message::Column::Attempts, Expr::value(0))
        .col_expr(outbox_message::Column::NextAttemptAt, Expr::value(now))
        .col_expr(outbox_message::Column::RetrySince, Expr::value(now))
        .filter(outbox_message::Column::Id.is_in(ids))
        .filter(outbox_message::Column::Status.eq("dead"))
        .exec(txn)
        .await?;
    Ok(())
}

async fn record_retry(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    id: uuid::Uuid,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    history::record_write(
        txn,
        id,
        "outbox_message",
        "retry_dead_letter",
        Acting::User(actor),
        json!({ "state": "queued" }),
        now,
    )
    .await?;
    Ok(())
}
