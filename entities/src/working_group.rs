//! A thematic working group of a forum.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "working_group")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub forum_id: Uuid,
    pub name: String,
    pub theme: String,
    pub lead_member_state_id: Option<Uuid>,
    /// IANA zone name.
    pub time_zone: String,
    /// When the group took effect, for groups recorded after the fact.
    pub effective_at: Option<DateTimeUtc>,
    /// The user proposed to chair it, who becomes its chair on activation.
    pub proposed_chair_id: Option<Uuid>,
    /// The representative who proposed it.
    pub proposed_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
