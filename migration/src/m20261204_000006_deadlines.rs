//! Deadlines and their reminders (DECISIONS §9): a deadline on a subject with its rule, the
//! occurrences it falls due on, each keyed by its anchor, the reminders planned around each
//! occurrence (the scheduler claims them when due), and the per-user calendar feed tokens.

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
                NewTable::with_uuid_id("deadline")
                    .col(uuid("forum_id"))
                    .col(uuid_null("group_id"))
                    .col(uuid("subject_id"))
                    .col(string("subject_kind"))
                    .col(string("title"))
                    .col(string("rule_kind"))
                    .col(string("rule"))
                    .col(string("time_zone"))
                    .col(integer("grace_days"))
                    .col(string_null("after_transition"))
                    .col(string_null("met_by"))
                    .col(string_null("on_missed"))
                    .col(text_null("reminder_plan"))
                    .col(string("state"))
                    .col(timestamp_with_time_zone_null("effective_at"))
                    .col(timestamp_with_time_zone_null("next_extend_at"))
                    .col(integer("version"))
                    .col(uuid_null("created_by"))
                    .timestamps()
                    .references("forum_id", "forum", "id")
                    .index(&["subject_id"])
                    .index(&["group_id"])
                    .index(&["forum_id", "rule_kind"])
                    .index(&["next_extend_at"]),
                NewTable::with_uuid_id("deadline_occurrence")
                    .col(uuid("deadline_id"))
                    .col(string("anchor"))
                    .col(timestamp_with_time_zone("due_at"))
                    .col(timestamp_with_time_zone("grace_until"))
                    .col(string("state"))
                    .col(boolean("held"))
                    .col(timestamp_with_time_zone_null("met_at"))
                    .col(uuid_null("met_by_user"))
                    .col(string_null("met_reason"))
                    .timestamps()
                    .references("deadline_id", "deadline", "id")
                    .unique_index(&["deadline_id", "anchor"])
                    .index(&["state", "due_at"])
                    .index(&["state", "grace_until"]),
                NewTable::with_uuid_id("deadline_reminder")
                    .col(uuid("occurrence_id"))
                    .col(uuid("deadline_id"))
                    .col(string("offset"))
                    .col(string("roles"))
                    .col(timestamp_with_time_zone("due_at"))
                    .col(string("state"))
                    .col(boolean("late"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .timestamps()
                    .references("occurrence_id", "deadline_occurrence", "id")
                    .unique_index(&["occurrence_id", "offset"])
                    .index(&["state", "due_at"]),
                NewTable::with_uuid_id("calendar_feed")
                    .col(uuid("user_id"))
                    .col(string("token_hash"))
                    .timestamps()
                    .references("user_id", "app_user", "id")
                    .unique_index(&["user_id"])
                    .unique_index(&["token_hash"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "calendar_feed",
                "deadline_reminder",
                "deadline_occurrence",
                "deadline",
            ],
        )
        .await
    }
}
