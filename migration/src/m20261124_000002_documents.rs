//! Documents and their amendment: documents of a group or forum, their numbered immutable
//! versions, translations per version and language, amendments (workflow subjects) and the
//! experts' responses to them (comments, endorsements, objections).

use sea_orm_migration::{prelude::*, schema::*};

use crate::tables::{NewTable, create_tables, drop_tables};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(
            manager,
            [
                NewTable::with_uuid_id("document")
                    .col(uuid("forum_id"))
                    .col(uuid_null("group_id"))
                    .col(string("kind"))
                    .col(string("title"))
                    .col(string_null("symbol"))
                    .col(string("original_language"))
                    .col(uuid_null("created_by"))
                    .timestamps()
                    .references("forum_id", "forum", "id")
                    .references("group_id", "working_group", "id")
                    .unique_index(&["forum_id", "symbol"])
                    .index(&["group_id", "kind"]),
                NewTable::with_uuid_id("document_version")
                    .col(uuid("document_id"))
                    .col(integer("number"))
                    .col(text("text"))
                    .col(string("status"))
                    .col(uuid_null("author_id"))
                    .col(uuid_null("amendment_id"))
                    .created_at()
                    .references("document_id", "document", "id")
                    .unique_index(&["document_id", "number"]),
                NewTable::with_uuid_id("translation")
                    .col(uuid("document_id"))
                    .col(integer("version_number"))
                    .col(string("language"))
                    .col(string("status"))
                    .col(text_null("text"))
                    .col(uuid_null("requested_by"))
                    .col(uuid_null("translator_id"))
                    .timestamps()
                    .col(timestamp_with_time_zone_null("published_at"))
                    .references("document_id", "document", "id")
                    .unique_index(&["document_id", "version_number", "language"]),
                NewTable::with_uuid_id("amendment")
                    .col(uuid("document_id"))
                    .col(uuid("forum_id"))
                    .col(uuid_null("group_id"))
                    .col(string("title"))
                    .col(integer("base_version"))
                    .col(text("text"))
                    .col(integer("text_revision"))
                    .col(timestamp_with_time_zone_null("opened_at"))
                    .col(timestamp_with_time_zone_null("closes_at"))
                    .col(integer_null("adopted_version"))
                    .col(uuid_null("created_by"))
                    .timestamps()
                    .references("document_id", "document", "id")
                    .index(&["document_id"])
                    .index(&["group_id"]),
                NewTable::with_uuid_id("amendment_response")
                    .col(uuid("amendment_id"))
                    .col(uuid("author_id"))
                    .col(string("kind"))
                    .col(text("text"))
                    .col(integer("text_revision"))
                    .created_at()
                    .references("amendment_id", "amendment", "id")
                    .index(&["amendment_id", "created_at"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "amendment_response",
                "amendment",
                "translation",
                "document_version",
                "document",
            ],
        )
        .await
    }
}
