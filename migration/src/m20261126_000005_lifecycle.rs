//! The life of a working group: meetings of a forum's series with their agendas, the ballots of
//! the member states on each agenda item and the decision that closes it, the co-sponsors of a
//! proposal, instruments (recommendations, resolutions) and the states adhering to them, and on
//! the group itself its proposer and proposed chair.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tables::{NewTable, create_tables, drop_tables};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WorkingGroup {
    Table,
    ProposedChairId,
    ProposedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [WorkingGroup::ProposedChairId, WorkingGroup::ProposedBy] {
            manager
                .alter_table(
                    Table::alter()
                        .table(WorkingGroup::Table)
                        .add_column(ColumnDef::new(column).uuid().null())
                        .to_owned(),
                )
                .await?;
        }
        create_tables(
            manager,
            [
                NewTable::with_uuid_id("meeting")
                    .col(uuid("forum_id"))
                    .col(string("series"))
                    .col(integer("number"))
                    .col(string("title"))
                    .col(string_null("place"))
                    .col(string("time_zone"))
                    .col(timestamp_with_time_zone("starts_at"))
                    .col(timestamp_with_time_zone("ends_at"))
                    .col(uuid_null("created_by"))
                    .timestamps()
                    .references("forum_id", "forum", "id")
                    .unique_index(&["forum_id", "series", "number"])
                    .index(&["forum_id", "starts_at"]),
                NewTable::with_uuid_id("agenda_item")
                    .col(uuid("meeting_id"))
                    .col(uuid("subject_id"))
                    .col(string("subject_kind"))
                    .col(integer("position"))
                    .col(string("status"))
                    .col(string_null("outcome"))
                    .col(string_null("rule"))
                    .col(double_null("quorum"))
                    .col(integer_null("member_count"))
                    .col(integer_null("in_favour"))
                    .col(integer_null("against"))
                    .col(integer_null("abstain"))
                    .col(integer_null("objections"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(uuid_null("decided_by"))
                    .timestamps()
                    .references("meeting_id", "meeting", "id")
                    .index(&["meeting_id", "position"])
                    .index(&["subject_id"]),
                NewTable::with_uuid_id("ballot")
                    .col(uuid("agenda_item_id"))
                    .col(uuid("member_state_id"))
                    .col(string("choice"))
                    .col(uuid("cast_by"))
                    .timestamps()
                    .references("agenda_item_id", "agenda_item", "id")
                    .references("member_state_id", "member_state", "id")
                    .unique_index(&["agenda_item_id", "member_state_id"]),
                NewTable::with_uuid_id("co_sponsor")
                    .col(uuid("subject_id"))
                    .col(uuid("member_state_id"))
                    .created_at()
                    .references("member_state_id", "member_state", "id")
                    .unique_index(&["subject_id", "member_state_id"]),
                NewTable::with_uuid_id("instrument")
                    .col(uuid("forum_id"))
                    .col(string("kind"))
                    .col(string("title"))
                    .col(string_null("symbol"))
                    .col(text_null("text"))
                    .col(uuid_null("proposing_member_state_id"))
                    .col(uuid_null("proposing_group_id"))
                    .col(timestamp_with_time_zone_null("adopted_at"))
                    .col(uuid_null("created_by"))
                    .timestamps()
                    .references("forum_id", "forum", "id")
                    .references("proposing_member_state_id", "member_state", "id")
                    .references("proposing_group_id", "working_group", "id")
                    .index(&["forum_id", "title"]),
                NewTable::with_uuid_id("adherence")
                    .col(uuid("instrument_id"))
                    .col(uuid("member_state_id"))
                    .col(date("adhered_on"))
                    .col(uuid_null("recorded_by"))
                    .created_at()
                    .references("instrument_id", "instrument", "id")
                    .references("member_state_id", "member_state", "id")
                    .unique_index(&["instrument_id", "member_state_id"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "adherence",
                "instrument",
                "co_sponsor",
                "ballot",
                "agenda_item",
                "meeting",
            ],
        )
        .await?;
        for column in [WorkingGroup::ProposedBy, WorkingGroup::ProposedChairId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(WorkingGroup::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
