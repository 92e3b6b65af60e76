//! Connecting to the database and running migrations.
//!
//! SQLite is the embedded default: WAL so that readers never block the writer, a busy timeout so
//! that a writer waits for the lock instead of failing, foreign keys on, and every write
//! transaction started with `BEGIN IMMEDIATE` (see [`begin_write`]) so that a transaction never has
//! to upgrade from reader to writer half-way, which is the one case `busy_timeout` cannot retry.
//! PostgreSQL is the production database, with a pool shared by the requests and the background
//! loops.
//!
//! [`connect`] opens one connection on its own before the pool, so that a database that cannot be
//! reached is reported within seconds, with what was tried and what to do ([`ConnectError`]).
//!
//! SQLite has one write lock for the whole file. A writer that finds it taken sleeps in SQLite's
//! busy handler and retries, so under load writers are served by luck rather than in turn, and
//! the slowest wait many times the typical one. [`writer_for`] therefore gives the engine a pool
//! of one connection for its write transactions on SQLite: the pool hands that connection out in
//! the order it was asked for, so the engine's writers queue in order and never meet the busy
//! handler among themselves (another process writing to the same file still can).
//!
//! A pooled connection is pinged before it is handed out only when it has been idle for a while
//! ([`PING_IF_IDLE_FOR`]): a connection a server, proxy or firewall dropped is found and replaced,
//! while a busy pool does not pay a round trip per checkout.

use crate::kernel::error::{EngineError, EngineResult};
use govflow_migration::{Migrator, MigratorTrait};
/// The connection pool [`connect`] returns, named here for callers that have no sea-orm of their own.
pub use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
use sea_orm::{
    ConnectOptions, Database, DatabaseTransaction, DbBackend, SqliteTransactionMode,
    SqlxSqliteConnector, TransactionOptions, TransactionTrait,
};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a SQLite caller waits for a connection, the engine's writers for their turn among them.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);

/// A pooled connection idle for this long is pinged before use; a busier one is trusted.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

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

/// How long the first connection may take before start-up gives up: long enough for a remote
/// server's TLS handshake, short enough that a wrong host is reported within seconds rather than
/// after the pool's own, much longer, acquire timeout.
const FIRST_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a database could not be opened, in words an operator can act on: what was tried, what went
/// wrong, and what to do about it. The caller adds which setting named the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{tried}: {problem}; {remedy}")]
pub struct ConnectError {
    /// What was attempted, e.g. "cannot connect to PostgreSQL on 127.0.0.1:5432 as user `app`".
    pub tried: String,
    /// What went wrong, e.g. "connection refused".
    pub problem: String,
    /// What to do, e.g. "is the server running on 127.0.0.1:5432?".
    pub remedy: String,
}

impl From<ConnectError> for EngineError {
    fn from(err: ConnectError) -> Self {
        EngineError::invalid("database_url", err.to_string())
    }
}

/// Opens a pool on `url`. One connection is made first, on its own and with a short time limit,
/// so that a wrong URL, a stopped server, a missing database or role, or a missing folder is
/// reported at once and precisely, instead of as a pool timeout half a minute later.
pub async fn connect(url: &str) -> Result<DatabaseConnection, ConnectError> {
    let kind = DatabaseKind::of_url(url).map_err(|problem| ConnectError {
        tried: "cannot open the database".into(),
        problem,
        remedy: "use sqlite://FILE or postgres://USER@HOST/DATABASE".into(),
    })?;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR);
    match kind {
        DatabaseKind::Sqlite => {
            probe_sqlite(url).await?;
            options
                .max_connections(8)
                .min_connections(1)
                .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT)
                .map_sqlx_sqlite_opts(|opts| {
                    opts.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                });
        }
        DatabaseKind::Postgres => {
            probe_postgres(url).await?;
            options
                .max_connections(16)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .map_sqlx_postgres_opts(quiet_notices);
        }
    }
    Database::connect(options)
        .await
        .map_err(|err| ConnectError {
            tried: "cannot open the database".into(),
            problem: err.to_string(),
            remedy: "check the URL and that the database accepts connections".into(),
        })
}

/// Keeps the server's NOTICE messages (such as "relation ... already exists, skipping" from the
/// migrations' `CREATE TABLE IF NOT EXISTS` on every start) off the connection, and so out of the
/// log; warnings and errors still arrive.
fn quiet_notices(opts: PgConnectOptions) -> PgConnectOptions {
    opts.options([("client_min_messages", "warning")])
}

/// One PostgreSQL connection, closed again at once: the check behind [`connect`]'s messages.
async fn probe_postgres(url: &str) -> Result<(), ConnectError> {
    let opts = PgConnectOptions::from_str(url).map_err(|err| ConnectError {
        tried: "cannot read the PostgreSQL URL".into(),
        problem: err.to_string(),
        remedy: "write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE".into(),
    })?;
    let opts = quiet_notices(opts).disable_statement_logging();
    let host = opts.get_host().to_owned();
    let port = opts.get_port();
    let user = opts.get_username().to_owned();
    let database = opts.get_database().unwrap_or(user.as_str()).to_owned();
    let server = format!("{host}:{port}");
    let tried = format!("cannot connect to PostgreSQL on {server} as user `{user}`");
    let failed = |problem: String, remedy: String| ConnectError {
        tried: tried.clone(),
        problem,
        remedy,
    };
    let attempt = tokio::time::timeout(FIRST_CONNECTION_TIMEOUT, opts.connect()).await;
    let err = match attempt {
        Ok(Ok(connection)) => {
            // The check is done; a failure to say goodbye politely changes nothing.
            let _ = connection.close().await;
            return Ok(());
        }
        Ok(Err(err)) => err,
        Err(_) => {
            return Err(failed(
                format!("no answer within {} s", FIRST_CONNECTION_TIMEOUT.as_secs()),
                format!("is the server running on {server}, and can this machine reach it?"),
            ));
        }
    };
    // The same server and user for the client tools (a Unix socket folder works as `-h` too).
    let login = format!("-h {host} -p {port} -U {user}");
    Err(match &err {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => failed(
            "connection refused".into(),
            format!("is the server running on {server}?"),
        ),
        sqlx::Error::Io(io) => failed(
            io.to_string(),
            format!("check the host name and port, and that the server runs on {server}"),
        ),
        sqlx::Error::Tls(tls) => failed(
            format!("the TLS handshake failed: {tls}"),
            "check the sslmode and certificate parameters of the URL".into(),
        ),
        sqlx::Error::Database(db) => {
            let message = db.message().to_owned();
            match db.code().as_deref() {
                // invalid_catalog_name
                Some("3D000") => ConnectError {
                    tried: format!("cannot open database `{database}` on PostgreSQL {server}"),
                    problem: "it does not exist".into(),
                    remedy: format!(
                        "create it first with `createdb {login} {database}`, or name an \
                         existing database in the URL"
                    ),
                },
                // invalid_authorization_specification: here, a role that does not exist.
                Some("28000") if message.contains("does not exist") => failed(
                    message,
                    format!(
                        "create the role with `createuser -h {host} -p {port} {user}` (as a \
                         PostgreSQL superuser), or name an existing user in the URL"
                    ),
                ),
                // invalid_password
                Some("28P01") => failed(
                    message,
                    "check the user name and password in the URL".into(),
                ),
                Some("28000") => failed(
                    message,
                    "the server's pg_hba.conf does not let this user in from here; check \
                     the user, the host and the server's pg_hba.conf"
                        .into(),
                ),
                // too_many_connections, cannot_connect_now
                Some("53300") | Some("57P03") => failed(
                    message,
                    "the server refuses new connections for now; try again shortly".into(),
                ),
                _ => failed(message, "check the URL and the server's log".into()),
            }
        }
        other => failed(
            other.to_string(),
            "check the URL and the server's log".into(),
        ),
    })
}

/// Opens the SQLite file once (creating it if missing, as the pool would), after checking its
/// folder, so that a missing or read-only folder is named instead of reported as SQLite's
/// "unable to open database file".
async fn probe_sqlite(url: &str) -> Result<(), ConnectError> {
    let opts = SqliteConnectOptions::from_str(url).map_err(|err| ConnectError {
        tried: "cannot read the SQLite URL".into(),
        problem: err.to_string(),
        remedy: "write it as sqlite://FILE, e.g. sqlite://govflow.db".into(),
    })?;
    let file = opts.get_filename().to_path_buf();
    let tried = format!("cannot open the SQLite database `{}`", file.display());
    missing_sqlite_folder(&file)?;
    let opts = opts.create_if_missing(true).disable_statement_logging();
    match opts.connect().await {
        Ok(connection) => {
            let _ = connection.close().await;
            Ok(())
        }
        Err(err) => {
            let folder = folder_of(&file);
            Err(ConnectError {
                tried,
                problem: match &err {
                    sqlx::Error::Database(db) => db.message().to_owned(),
                    other => other.to_string(),
                },
                remedy: format!(
                    "check that the folder `{}` is writable by this user and that the file, if \
                     it exists, is a govflow database",
                    folder.display()
                ),
            })
        }
    }
}

/// The folder a SQLite file lives in (`.` for a bare file name).
fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Refuses a SQLite file whose folder does not exist: SQLite creates the file, never the folder.
/// Shared with whatever writes beside the database before it is opened (the generated JWT
/// secret), so that both report the same cause.
pub fn missing_sqlite_folder(file: &Path) -> Result<(), ConnectError> {
    let folder = folder_of(file);
    if folder.is_dir() || file.to_string_lossy().starts_with("file:") {
        // `file:` names are SQLite URIs (sqlx's in-memory databases among them), not paths.
        return Ok(());
    }
    let problem = if folder.exists() {
        format!("`{}` is not a folder", folder.display())
    } else {
        format!("the folder `{}` does not exist", folder.display())
    };
    Err(ConnectError {
        tried: format!("cannot open the SQLite database `{}`", file.display()),
        problem,
        remedy: format!(
            "create it first (`mkdir -p {}`), or choose another path",
            folder.display()
        ),
    })
}

/// The connection the engine's write transactions go through: on SQLite a pool of one connection
/// to the same file with the same settings, whose callers are served in the order they asked (see
/// the module's comment); elsewhere `db` itself.
pub fn writer_for(db: &DatabaseConnection) -> DatabaseConnection {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let options = db.get_sqlite_connection_pool().connect_options();
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(0)
                .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT)
                .test_before_acquire(false)
                .connect_lazy_with(options.as_ref().clone());
            SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
        }
        _ => db.clone(),
    }
}

/// Starts a transaction that will write: `BEGIN IMMEDIATE` on SQLite, a plain `BEGIN` elsewhere.
/// The engine's own writes go through [`crate::Engine::begin_write`], which uses its writer.
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

/// Applies `update` to the row `id` only while its version is still `seen`, and bumps the version
/// in the same statement: `UPDATE … SET version = version + 1 … WHERE id = $id AND version = $seen`.
/// This one statement is what makes two writers never both win, whatever the database's
/// isolation. `false` when another writer changed the row first: then nothing was written.
pub async fn update_if_unchanged<E, C>(
    db: &C,
    update: sea_orm::UpdateMany<E>,
    (id_column, id): (E::Column, uuid::Uuid),
    (version_column, seen): (E::Column, i32),
) -> EngineResult<bool>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ConnectionTrait,
{
    use sea_orm::sea_query::{Expr, ExprTrait};
    use sea_orm::{ColumnTrait, QueryFilter};
    let moved = update
        .col_expr(version_column, Expr::col(version_column).add(1))
        .filter(id_column.eq(id))
        .filter(version_column.eq(seen))
        .exec(db)
        .await?;
    Ok(moved.rows_affected == 1)
}
