//! One numbered, immutable version of a document's text.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_version")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub document_id: Uuid,
    pub number: i32,
    pub text: String,
    /// `proposed`, `adopted` or `superseded`.
    pub status: String,
    pub author_id: Option<Uuid>,
    /// The amendment whose adoption created this version.
    pub amendment_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
