//! A member state's ballot on one agenda item, changeable until the vote closes.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ballot")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub agenda_item_id: Uuid,
    pub member_state_id: Uuid,
    /// `in_favour`, `against`, `abstain` or `object`.
    pub choice: String,
    /// The representative who cast (or last changed) it.
    pub cast_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
