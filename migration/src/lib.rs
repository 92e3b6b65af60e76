//! The database schema of govflow, as an ordered list of sea-orm migrations.
//!
//! `govflow serve` applies the pending ones at start and `govflow migrate` applies them on their
//! own. Migrations are append-only: a released one is never edited, so that every database can be
//! brought forward from wherever it stands.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_foundation;
mod m20261124_000002_documents;
mod m20261124_000003_integrity;

pub use m20261124_000003_integrity::TERMS_OF_REFERENCE_INDEX;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_foundation::Migration),
            Box::new(m20261124_000002_documents::Migration),
            Box::new(m20261124_000003_integrity::Migration),
        ]
    }
}

/// Creates a (unique) index named after its table and columns.
pub(crate) async fn create_index(
    manager: &SchemaManager<'_>,
    table: &'static str,
    columns: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index
        .name(format!("ix_{}_{}", table, columns.join("_")))
        .table(table);
    for column in columns {
        index.col(*column);
    }
    if unique {
        index.unique();
    }
    manager.create_index(index.to_owned()).await
}
