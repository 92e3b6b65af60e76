//! Connecting to the database and running migrations.
//!
//! SQLite is the embedded default: WAL so that readers never block the writer, a busy timeout so
//! that a writer waits for the lock instead of failing, foreign keys on, and every write
//! transaction started with `BEGIN IMMEDIATE` (see [`begin_write`]) so that a transaction never has
//! to upgrade from reader to writer half-way, which is the one case `busy_timeout` cannot retry.
//! PostgreSQL is the production database, with a pool shared by the requests and the background
//! loops.

use crate::error::{EngineError, EngineResult};
use govflow_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::time::Duration;

/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Which database a URL names, parsed once so that the rest of the code never looks at the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn of_url(url: &str) -> Result<DatabaseKind, String> {
        if url.starts_with("sqlite:") {
            Ok(DatabaseKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseKind::Postgres)
        } else {
            Err(format!(
                "`{url}` is neither a sqlite:// nor a postgres:// URL"
            ))
        }
    }
}

pub async fn connect(url: &str) -> EngineResult<DatabaseConnection> {
    let kind = DatabaseKind::of_url(url)
        .map_err(|problem| EngineError::invalid("database_url", problem))?;
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    match kind {
        DatabaseKind::Sqlite => {
            options
                .max_connections(8)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(60))
                .map_sqlx_sqlite_opts(|opts| {
                    opts.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                });
        }
        DatabaseKind::Postgres => {
            options
                .max_connections(16)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(30));
        }
    }
    Database::connect(options)
        .await
        .map_err(|err| EngineError::Internal(format!("cannot connect to the database: {err}")))
}

/// Starts a transaction that will write: `BEGIN IMMEDIATE` on SQLite, a plain `BEGIN` elsewhere.
pub async fn begin_write(db: &DatabaseConnection) -> EngineResult<DatabaseTransaction> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    Ok(db.begin_with_options(options).await?)
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<String>,
}

/// Applies the pending migrations, refusing a database whose schema is newer than this binary.
pub async fn migrate(db: &DatabaseConnection) -> EngineResult<MigrationReport> {
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    let applied_before: Vec<String> = Migrator::get_migration_models(db)
        .await?
        .into_iter()
        .map(|model| model.version)
        .collect();
    if let Some(unknown) = applied_before.iter().find(|name| !known.contains(name)) {
        return Err(EngineError::Conflict(format!(
            "the database schema is newer than this govflow: it has migration `{unknown}`, which \
             this binary does not know; upgrade govflow before using this database"
        )));
    }
    Migrator::up(db, None).await?;
    let applied = known
        .into_iter()
        .filter(|name| !applied_before.contains(name))
        .collect();
    Ok(MigrationReport { applied })
}

pub fn backend_kind(db: &DatabaseConnection) -> DatabaseKind {
    match db.get_database_backend() {
        DbBackend::Sqlite => DatabaseKind::Sqlite,
        _ => DatabaseKind::Postgres,
    }
}

/// Whether the database answers (the health check).
pub async fn ping(db: &DatabaseConnection) -> EngineResult<()> {
    use sea_orm::ConnectionTrait;
    db.execute_unprepared("SELECT 1").await?;
    Ok(())
}
