//! A reminder of one occurrence, at an offset from its due instant, to the holders of some roles
//! (resolved when it is sent). Its outbox rows are keyed (reminder, user).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deadline_reminder")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub occurrence_id: Uuid,
    pub deadline_id: Uuid,
    /// Signed offset from the due instant: `-30d`, `0d`, `+7d`.
    pub offset: String,
    /// Comma-separated roles: `coordinator,chair`.
    pub roles: String,
    pub due_at: DateTimeUtc,
    /// `pending`, `held` (its meeting is postponed), `sent` or `cancelled`.
    pub state: String,
    /// Sent well after its time (after downtime, or re-timed into the past).
    pub late: bool,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
