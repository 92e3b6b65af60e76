//! The database schema of govflow, as an ordered list of sea-orm migrations.
//!
//! `govflow serve` applies the pending ones at start and `govflow migrate` applies them on their
//! own. Migrations are append-only: what a released one does (the SQL it runs) never changes, so
//! that every database can be brought forward from wherever it stands.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_foundation;
mod m20261124_000002_documents;
mod m20261124_000003_integrity;
mod m20261125_000004_mail;
mod m20261126_000005_lifecycle;
mod m20261204_000006_deadlines;
mod m20261205_000007_tasks;
mod m20261205_000008_reports;
mod m20261205_000009_trend_indexes;
mod tables;

pub use m20261124_000003_integrity::TERMS_OF_REFERENCE_INDEX;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_foundation::Migration),
            Box::new(m20261124_000002_documents::Migration),
            Box::new(m20261124_000003_integrity::Migration),
            Box::new(m20261125_000004_mail::Migration),
            Box::new(m20261126_000005_lifecycle::Migration),
            Box::new(m20261204_000006_deadlines::Migration),
            Box::new(m20261205_000007_tasks::Migration),
            Box::new(m20261205_000008_reports::Migration),
            Box::new(m20261205_000009_trend_indexes::Migration),
        ]
    }
}
