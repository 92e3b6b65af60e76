//! Integrity the engine relies on under concurrency: a group has at most one terms of reference
//! (a unique partial index, so that two creations racing past the engine's own check cannot both
//! commit), and the active workflow definition of a subject kind is found through an index, since
//! every creation looks it up.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

use crate::tables::{drop_index, plain_index};

/// The index's name is what the engine recognises in a uniqueness violation.
pub const TERMS_OF_REFERENCE_INDEX: &str = "ux_document_group_terms_of_reference";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // A database that already holds the duplicates this index forbids cannot take it; say
        // what to do instead of showing the database's own refusal.
        let duplicated = db
            .query_one_raw(Statement::from_string(
                manager.get_database_backend(),
                "SELECT COUNT(*) AS duplicate_count FROM (SELECT group_id FROM document \
                 WHERE kind = 'terms_of_reference' AND group_id IS NOT NULL \
                 GROUP BY group_id HAVING COUNT(*) > 1) AS duplicated",
            ))
            .await?
            .map(|row| row.try_get::<i64>("", "duplicate_count"))
            .transpose()?
            .unwrap_or(0);
        if duplicated > 0 {
            return Err(DbErr::Migration(format!(
                "{duplicated} group(s) have more than one terms of reference; change the kind of \
                 all but one of each group's (e.g. to `other`) and migrate again"
            )));
        }
        // Partial indexes are written as SQL: the same statement works on SQLite and PostgreSQL.
        db.execute_unprepared(&format!(
            "CREATE UNIQUE INDEX {TERMS_OF_REFERENCE_INDEX} ON document (group_id) \
             WHERE kind = 'terms_of_reference'"
        ))
        .await?;
        plain_index(manager, "workflow_definition", &["subject_kind", "active"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_index(
            manager,
            "workflow_definition",
            "ix_workflow_definition_subject_kind_active",
        )
        .await?;
        drop_index(manager, "document", TERMS_OF_REFERENCE_INDEX).await
    }
}
