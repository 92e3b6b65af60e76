//! Indexes that let the multi-year trends read each year of a group as one range of an index
//! holding all they need: tasks by acceptance (with the claim, for the median) and by
//! cancellation, and a deadline's occurrences by due instant (with their state). The first
//! replaces the index on (group_id, accepted_at), whose lookups it serves as well.

use sea_orm_migration::prelude::*;

use crate::tables::{drop_index, plain_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_index(
            manager,
            "research_task",
            "ix_research_task_group_id_accepted_at",
        )
        .await?;
        plain_index(
            manager,
            "research_task",
            &["group_id", "accepted_at", "claimed_at"],
        )
        .await?;
        plain_index(manager, "research_task", &["group_id", "cancelled_at"]).await?;
        plain_index(
            manager,
            "deadline_occurrence",
            &["deadline_id", "due_at", "state"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name) in [
            (
                "deadline_occurrence",
                "ix_deadline_occurrence_deadline_id_due_at_state",
            ),
            ("research_task", "ix_research_task_group_id_cancelled_at"),
            (
                "research_task",
                "ix_research_task_group_id_accepted_at_claimed_at",
            ),
        ] {
            drop_index(manager, table, name).await?;
        }
        plain_index(manager, "research_task", &["group_id", "accepted_at"]).await
    }
}
