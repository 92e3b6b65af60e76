//! A research task of a group: claimed by one expert (or assigned), delivered, accepted.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "research_task")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub forum_id: Uuid,
    pub group_id: Uuid,
    pub topic_id: Option<Uuid>,
    pub title: String,
    pub description: Option<String>,
    /// The expert holding the claim (or assigned it), while `claimed` or `submitted`.
    pub claimant_id: Option<Uuid>,
    /// Whether the chair assigned it (then the claimant may decline).
    pub assigned: bool,
    pub deliverable_text: Option<String>,
    pub deliverable_document_id: Option<Uuid>,
    pub deliverable_version: Option<i32>,
    pub submitted_at: Option<DateTimeUtc>,
    pub accepted_at: Option<DateTimeUtc>,
    /// When it was last claimed or assigned.
    pub claimed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
