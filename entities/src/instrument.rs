//! A legal instrument of a forum: a recommendation or resolution its member states adopt.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instrument")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub forum_id: Uuid,
    /// `recommendation` or `resolution`.
    pub kind: String,
    pub title: String,
    /// A symbol such as `OECD/LEGAL/0406`.
    pub symbol: Option<String>,
    pub text: Option<String>,
    pub proposing_member_state_id: Option<Uuid>,
    pub proposing_group_id: Option<Uuid>,
    /// The effective instant of its adoption (given for one recorded after the fact).
    pub adopted_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
