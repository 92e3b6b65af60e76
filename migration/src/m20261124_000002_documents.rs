//! Documents and their amendment: documents of a group or forum, their numbered immutable
//! versions, translations per version and language, amendments (workflow subjects) and the
//! experts' responses to them (comments, endorsements, objections).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("document")
                    .col(pk_uuid("id"))
                    .col(uuid("forum_id"))
                    .col(uuid_null("group_id"))
                    .col(string("kind"))
                    .col(string("title"))
                    .col(string_null("symbol"))
                    .col(string("original_language"))
                    .col(uuid_null("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("document", "forum_id")
                            .to("forum", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("document", "group_id")
                            .to("working_group", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        index(manager, "document", &["forum_id", "symbol"], true).await?;
        index(manager, "document", &["group_id", "kind"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("document_version")
                    .col(pk_uuid("id"))
                    .col(uuid("document_id"))
                    .col(integer("number"))
                    .col(text("text"))
                    .col(string("status"))
                    .col(uuid_null("author_id"))
                    .col(uuid_null("amendment_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("document_version", "document_id")
                            .to("document", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "document_version",
            &["document_id", "number"],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("translation")
                    .col(pk_uuid("id"))
                    .col(uuid("document_id"))
                    .col(integer("version_number"))
                    .col(string("language"))
                    .col(string("status"))
                    .col(text_null("text"))
                    .col(uuid_null("requested_by"))
                    .col(uuid_null("translator_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("published_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("translation", "document_id")
                            .to("document", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "translation",
            &["document_id", "version_number", "language"],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("amendment")
                    .col(pk_uuid("id"))
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
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("amendment", "document_id")
                            .to("document", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        index(manager, "amendment", &["document_id"], false).await?;
        index(manager, "amendment", &["group_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table("amendment_response")
                    .col(pk_uuid("id"))
                    .col(uuid("amendment_id"))
                    .col(uuid("author_id"))
                    .col(string("kind"))
                    .col(text("text"))
                    .col(integer("text_revision"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("amendment_response", "amendment_id")
                            .to("amendment", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "amendment_response",
            &["amendment_id", "created_at"],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "amendment_response",
            "amendment",
            "translation",
            "document_version",
            "document",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn index(
    manager: &SchemaManager<'_>,
    table: &'static str,
    columns: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    crate::create_index(manager, table, columns, unique).await
}
