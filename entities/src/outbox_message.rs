//! An e-mail waiting to be sent (or sent, or dead-lettered).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_message")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The natural key of the message, so that the same notice is never queued twice.
    #[sea_orm(unique)]
    pub dedup_key: String,
    pub recipient_user_id: Option<Uuid>,
    pub recipient_email: String,
    pub subject_line: String,
    /// The plain-text body.
    pub body: String,
    /// The HTML alternative, when the template has one.
    pub body_html: Option<String>,
    pub template: String,
    pub subject_id: Option<Uuid>,
    pub forum_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    /// `pending` (queued, or retrying after a failure), `sending` (claimed by a mailer until
    /// `lease_until`), `sent` or `dead`.
    pub status: String,
    pub attempts: i32,
    /// Kept across retries so that a receiver can drop a duplicate.
    pub message_id: String,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// When the current retry window began: `None` for the creation; set when a dead letter is
    /// retried, so that `mail.max_retry_hours` counts from then.
    pub retry_since: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
