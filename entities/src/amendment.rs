//! A proposed change to a document: its full proposed text against a base version.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "amendment")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub document_id: Uuid,
    pub forum_id: Uuid,
    pub group_id: Option<Uuid>,
    pub title: String,
    /// The document version the proposed text was written against.
    pub base_version: i32,
    pub text: String,
    /// Bumped by every edit or rebase, so that responses record which text they were about.
    pub text_revision: i32,
    pub opened_at: Option<DateTimeUtc>,
    pub closes_at: Option<DateTimeUtc>,
    /// The version the adoption created.
    pub adopted_version: Option<i32>,
    pub adopted_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
