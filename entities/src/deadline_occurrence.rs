//! One occurrence of a deadline, keyed by its anchor: the meeting id (`before_event`), the n-th
//! repeat (`after_transition`) or the nominal local date-time (`at`, `cron`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deadline_occurrence")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub deadline_id: Uuid,
    pub anchor: String,
    pub due_at: DateTimeUtc,
    /// When a `due` occurrence becomes `missed`: the grace, never past the next occurrence.
    pub grace_until: DateTimeUtc,
    /// `scheduled`, `due`, `met`, `met_late`, `missed` or `cancelled`.
    pub state: String,
    /// Waiting for its anchor (a postponed meeting) to have dates again.
    pub held: bool,
    pub met_at: Option<DateTimeUtc>,
    pub met_by_user: Option<Uuid>,
    pub met_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
