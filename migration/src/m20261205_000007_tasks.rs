//! The work plan of a group: its research topics, and the research tasks under them that experts
//! claim, deliver and the chair accepts (a task is a workflow subject, `research_task.toml`).

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
                NewTable::with_uuid_id("work_topic")
                    .col(uuid("forum_id"))
                    .col(uuid("group_id"))
                    .col(string("title"))
                    .col(integer("position"))
                    .col(uuid_null("created_by"))
                    .timestamps()
                    .references("group_id", "working_group", "id")
                    .unique_index(&["group_id", "position"]),
                NewTable::with_uuid_id("research_task")
                    .col(uuid("forum_id"))
                    .col(uuid("group_id"))
                    .col(uuid_null("topic_id"))
                    .col(string("title"))
                    .col(text_null("description"))
                    .col(uuid_null("claimant_id"))
                    .col(boolean("assigned"))
                    .col(text_null("deliverable_text"))
                    .col(uuid_null("deliverable_document_id"))
                    .col(integer_null("deliverable_version"))
                    .col(timestamp_with_time_zone_null("submitted_at"))
                    .col(timestamp_with_time_zone_null("accepted_at"))
                    .col(uuid_null("created_by"))
                    .timestamps()
                    .references("group_id", "working_group", "id")
                    .references("topic_id", "work_topic", "id")
                    .index(&["group_id", "topic_id"])
                    .index(&["forum_id", "claimant_id"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["research_task", "work_topic"]).await
    }
}
