//! The outbox: e-mails are written here in the same transaction as the change that causes them,
//! and sent later by the mailer. Each row has a natural `dedup_key`, so the same notice to the same
//! person is never queued twice.

use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::pagination::{Page, PageRequest, page_of};
use crate::notify::recipients::Recipient;
use crate::notify::templates::RenderedMail;
use chrono::{DateTime, Utc};
use govflow_entities::outbox_message;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

pub struct NewMessage<'a> {
    pub dedup_key: String,
    pub recipient: &'a Recipient,
    /// The rendered mail, or why the template failed: such a message is queued straight into
    /// the dead letters with the error, so the change that caused it still commits and the
    /// failure stays visible (and retryable once the template is fixed).
    pub mail: Result<RenderedMail, String>,
    pub template: &'a str,
    pub subject_id: Option<Uuid>,
    pub forum_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub now: DateTime<Utc>,
}

/// Rows per INSERT of [`enqueue_many`] (20 columns each).
const MAX_ROWS_PER_INSERT: usize = 500;

/// Queues a message; a second message with the same key is dropped silently.
pub async fn enqueue<C: ConnectionTrait>(db: &C, message: NewMessage<'_>) -> EngineResult<()> {
    enqueue_many(db, vec![message]).await
}

/// Queues many messages in one statement (a scheduler's batch); those whose key is already
/// queued are dropped silently.
pub async fn enqueue_many<C: ConnectionTrait>(
    db: &C,
    messages: Vec<NewMessage<'_>>,
) -> EngineResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<outbox_message::ActiveModel> = messages.into_iter().map(row_of).collect();
    // A statement holds at most a few hundred rows, so that its parameters stay far below the
    // databases' limits (SQLite's 32,766; PostgreSQL's 65,535) whatever the batch.
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(MAX_ROWS_PER_INSERT));
        outbox_message::Entity::insert_many(std::mem::replace(&mut rows, rest))
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(outbox_message::Column::DedupKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

fn row_of(message: NewMessage<'_>) -> outbox_message::ActiveModel {
    let id = Uuid::now_v7();
    let (mail, status, last_error) = match message.mail {
        Ok(mail) => (mail, "pending", None),
        Err(error) => {
            let unrendered = RenderedMail {
                subject: format!("(template `{}` could not be rendered)", message.template),
                body: String::new(),
                html: None,
            };
            (unrendered, "dead", Some(error))
        }
    };
    outbox_message::ActiveModel {
        id: Set(id),
        dedup_key: Set(message.dedup_key),
        recipient_user_id: Set(Some(message.recipient.user_id)),
        recipient_email: Set(message.recipient.email.clone()),
        subject_line: Set(mail.subject),
        body: Set(mail.body),
        body_html: Set(mail.html),
        template: Set(message.template.to_owned()),
        subject_id: Set(message.subject_id),
        forum_id: Set(message.forum_id),
        group_id: Set(message.group_id),
        status: Set(status.into()),
        attempts: Set(0),
        message_id: Set(format!("<{id}@govflow>")),
        next_attempt_at: Set(message.now),
        lease_until: Set(None),
        last_error: Set(last_error),
        created_at: Set(message.now),
        sent_at: Set(None),
        retry_since: Set(None),
    }
}

/// Where a message stands, as people see it: `queued` (not tried yet), `sending` (claimed by a
/// mailer), `sent`, `retrying` (failed, and will be tried again) or `dead`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailState {
    Queued,
    Sending,
    Sent,
    Retrying,
    Dead,
}

impl MailState {
    pub const ALL: [MailState; 5] = [
        MailState::Queued,
        MailState::Sending,
        MailState::Sent,
        MailState::Retrying,
        MailState::Dead,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            MailState::Queued => "queued",
            MailState::Sending => "sending",
            MailState::Sent => "sent",
            MailState::Retrying => "retrying",
            MailState::Dead => "dead",
        }
    }

    pub fn parse(field: &str, raw: &str) -> EngineResult<MailState> {
        MailState::ALL
            .into_iter()
            .find(|state| state.as_str() == raw)
            .ok_or_else(|| {
                EngineError::invalid(
                    field,
                    format!("`{raw}` is not one of queued, sending, sent, retrying, dead"),
                )
            })
    }

    /// The state of a stored row.
    pub fn of(row: &outbox_message::Model) -> MailState {
        match row.status.as_str() {
            "sending" => MailState::Sending,
            "sent" => MailState::Sent,
            "dead" => MailState::Dead,
            _ if row.attempts > 0 => MailState::Retrying,
            _ => MailState::Queued,
        }
    }

    /// The rows in this state, as a condition.
    fn condition(&self) -> Condition {
        let status = outbox_message::Column::Status;
        let pending = Condition::all().add(status.eq("pending"));
        match self {
            MailState::Queued => pending.add(outbox_message::Column::Attempts.eq(0)),
            MailState::Retrying => pending.add(outbox_message::Column::Attempts.gt(0)),
            MailState::Sending => Condition::all().add(status.eq("sending")),
            MailState::Sent => Condition::all().add(status.eq("sent")),
            MailState::Dead => Condition::all().add(status.eq("dead")),
        }
    }
}

/// Filters for reading the outbox.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    pub subject_id: Option<Uuid>,
    pub forum_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    /// The stored status (`pending`, `sending`, `sent`, `dead`).
    pub status: Option<String>,
    pub state: Option<MailState>,
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &OutboxFilter,
    page: PageRequest,
) -> EngineResult<Page<outbox_message::Model>> {
    let mut query = outbox_message::Entity::find()
        .order_by_asc(outbox_message::Column::CreatedAt)
        .order_by_asc(outbox_message::Column::Id);
    if let Some(subject_id) = filter.subject_id {
        query = query.filter(outbox_message::Column::SubjectId.eq(subject_id));
    }
    if let Some(forum_id) = filter.forum_id {
        query = query.filter(outbox_message::Column::ForumId.eq(forum_id));
    }
    if let Some(group_id) = filter.group_id {
        query = query.filter(outbox_message::Column::GroupId.eq(group_id));
    }
    if let Some(status) = &filter.status {
        query = query.filter(outbox_message::Column::Status.eq(status.clone()));
    }
    if let Some(state) = filter.state {
        query = query.filter(state.condition());
    }
    page_of(db, query, page).await
}
