//! One entry of a subject's history: a transition, or another write recorded with from = to.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "history_entry")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub subject_id: Uuid,
    pub subject_kind: String,
    pub transition: String,
    pub from_state: String,
    pub to_state: String,
    /// `user` or `system`.
    pub actor_kind: String,
    /// The acting user; for `system`, the user whose action caused it, if any.
    pub actor_user_id: Option<Uuid>,
    pub reason: Option<String>,
    pub definition_hash: Option<String>,
    /// A JSON object with what the write changed, where that is more than a state.
    pub detail: Option<String>,
    pub at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
