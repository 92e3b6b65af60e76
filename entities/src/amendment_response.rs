//! An expert's comment, endorsement or objection on an amendment under consultation.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "amendment_response")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub amendment_id: Uuid,
    pub author_id: Uuid,
    /// `comment`, `endorsement` or `objection`.
    pub kind: String,
    pub text: String,
    /// The amendment's text revision the response was about.
    pub text_revision: i32,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
