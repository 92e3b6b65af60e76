//! A role a user holds in a forum, a group or a member state.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "membership")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    /// `forum`, `group` or `member_state`.
    pub scope_kind: String,
    pub scope_id: Uuid,
    /// The forum the scope belongs to, so that forum-wide questions need no join.
    pub forum_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
