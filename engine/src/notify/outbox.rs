//! The outbox: e-mails are written here in the same transaction as the change that causes them,
//! and sent later by the mailer. Each row has a natural `dedup_key`, so the same notice to the same
//! person is never queued twice.

use crate::kernel::error::EngineResult;
use crate::kernel::pagination::{Page, PageRequest, page_of};
use crate::notify::recipients::Recipient;
use crate::notify::templates::RenderedMail;
use chrono::{DateTime, Utc};
use govflow_entities::outbox_message;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

pub struct NewMessage<'a> {
    pub dedup_key: String,
    pub recipient: &'a Recipient,
    pub mail: RenderedMail,
    pub template: &'a str,
    pub subject_id: Option<Uuid>,
    pub forum_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub now: DateTime<Utc>,
}

/// Queues a message; a second message with the same key is dropped silently.
pub async fn enqueue<C: ConnectionTrait>(db: &C, message: NewMessage<'_>) -> EngineResult<()> {
    let id = Uuid::now_v7();
    let row = outbox_message::ActiveModel {
        id: Set(id),
        dedup_key: Set(message.dedup_key),
        recipient_user_id: Set(Some(message.recipient.user_id)),
        recipient_email: Set(message.recipient.email.clone()),
        subject_line: Set(message.mail.subject),
        body: Set(message.mail.body),
        template: Set(message.template.to_owned()),
        subject_id: Set(message.subject_id),
        forum_id: Set(message.forum_id),
        group_id: Set(message.group_id),
        status: Set("pending".into()),
        attempts: Set(0),
        message_id: Set(format!("<{id}@govflow>")),
        next_attempt_at: Set(message.now),
        lease_until: Set(None),
        last_error: Set(None),
        created_at: Set(message.now),
        sent_at: Set(None),
    };
    outbox_message::Entity::insert(row)
        .on_conflict_do_nothing_on([outbox_message::Column::DedupKey])
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Filters for reading the outbox.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    pub subject_id: Option<Uuid>,
    pub forum_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub status: Option<String>,
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
    page_of(db, query, page).await
}
