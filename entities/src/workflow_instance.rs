//! The workflow state of one subject (group, amendment, task, ...).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_instance")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub definition_name: String,
    /// The definition version the subject started under; it keeps running under it.
    pub definition_hash: String,
    pub subject_kind: String,
    #[sea_orm(unique)]
    pub subject_id: Uuid,
    pub state: String,
    /// The optimistic-lock counter: bumped by every transition and every edit of the subject.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
