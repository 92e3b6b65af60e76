//! Annual reports (a workflow subject, `annual_report.toml`) with the comments experts leave while
//! one is in review, and the instants the multi-year trends count by: when a task was last claimed
//! and when it was cancelled, when an amendment was adopted. Those instants are backfilled from the
//! history, so trends over existing data are right from the start.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tables::{NewTable, create_tables, drop_tables, plain_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, column, transitions that set it) for the instants added to existing tables.
const INSTANTS: [(&str, &str, &str); 3] = [
    ("research_task", "claimed_at", "'claim', 'assign'"),
    ("research_task", "cancelled_at", "'cancel'"),
    ("amendment", "adopted_at", "'adopt'"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(
            manager,
            [
                NewTable::with_uuid_id("annual_report")
                    .col(uuid("forum_id"))
                    .col(uuid("group_id"))
                    .col(integer("year"))
                    .col(timestamp_with_time_zone("period_start"))
                    .col(timestamp_with_time_zone("period_end"))
                    .col(uuid_null("occurrence_id"))
                    .col(uuid("document_id"))
                    .col(text("draft"))
                    .col(integer_null("submitted_version"))
                    .col(timestamp_with_time_zone_null("published_at"))
                    .col(uuid_null("created_by"))
                    .timestamps()
                    .references("group_id", "working_group", "id")
                    .references("document_id", "document", "id")
                    .unique_index(&["group_id", "year"])
                    .index(&["forum_id", "published_at"]),
                NewTable::with_uuid_id("report_comment")
                    .col(uuid("report_id"))
                    .col(uuid("author_id"))
                    .col(text("text"))
                    .created_at()
                    .references("report_id", "annual_report", "id")
                    .references("author_id", "app_user", "id")
                    .index(&["report_id", "created_at"]),
            ],
        )
        .await?;
        for (table, column, transitions) in INSTANTS {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(timestamp_with_time_zone_null(column))
                        .to_owned(),
                )
                .await?;
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "UPDATE {table} SET {column} = (SELECT MAX(history_entry.at) \
                     FROM history_entry WHERE history_entry.subject_id = {table}.id \
                     AND history_entry.transition IN ({transitions}))"
                ))
                .await?;
        }
        plain_index(manager, "research_task", &["group_id", "accepted_at"]).await?;
        plain_index(manager, "research_task", &["group_id", "created_at"]).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_research_task_group_id_accepted_at", "research_task"),
            ("ix_research_task_group_id_created_at", "research_task"),
        ] {
            crate::tables::drop_index(manager, table, name).await?;
        }
        for (table, column, _) in INSTANTS {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        drop_tables(manager, &["report_comment", "annual_report"]).await
    }
}
