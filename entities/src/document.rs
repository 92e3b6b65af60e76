//! A document of a group or a forum: terms of reference, work plan, report, expert paper.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub forum_id: Uuid,
    /// `None` for a forum's own document.
    pub group_id: Option<Uuid>,
    pub kind: String,
    pub title: String,
    /// A document symbol such as `E/C.16/2024/7`, unique within its forum.
    pub symbol: Option<String>,
    pub original_language: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
