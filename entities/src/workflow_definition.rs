//! A workflow definition, stored by the content hash of its source text.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_definition")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub hash: String,
    pub name: String,
    pub subject_kind: String,
    pub file_name: String,
    pub source: String,
    /// Whether it belongs to the set the instance runs new subjects under.
    pub active: bool,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
