//! An annual report of a group: the Markdown draft the chair edits, the period it covers and the
//! deadline occurrence it meets.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "annual_report")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub forum_id: Uuid,
    pub group_id: Uuid,
    /// The year (in the group's zone) of `period_end`.
    pub year: i32,
    pub period_start: DateTimeUtc,
    /// The due instant of the deadline occurrence the report meets.
    pub period_end: DateTimeUtc,
    pub occurrence_id: Option<Uuid>,
    /// The report's document: `submit` stores the draft as its next version.
    pub document_id: Uuid,
    /// Markdown, edited in place until submitted.
    pub draft: String,
    pub submitted_version: Option<i32>,
    pub published_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
