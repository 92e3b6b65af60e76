//! The [`Engine`] handle: the database, the loaded workflow definitions, subject kinds and
//! templates, and the clock. It holds what the layers above the kernel loaded, without knowing
//! any area: `Engine::start` (in `crate::registry`) hands it the subject kinds. Every area function takes `&Engine`; it is cheap to clone and shared by the API, the
//! background loops and the tests.
//!
//! The definitions are a cache of what the database stores: a set applied while the server runs
//! (by `govflow workflows apply`, or through another server of the same database) is picked up
//! without a restart, as `docs/WORKFLOWS.md` describes.

use crate::kernel::clock::Clock;
use crate::kernel::config::{ConfigSource, ReminderStep};
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::events::Event;
use crate::kernel::metrics::Metrics;
use crate::notify::templates::Templates;
use crate::workflow::subjects::SubjectKinds;
use crate::workflow::{self, Definition, Definitions, Vocabulary, store};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

/// Statements slower than this are logged with their SQL.
const SLOW_STATEMENT: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct Engine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: DatabaseConnection,
    /// Where write transactions begin: on SQLite a one-connection pool that serves writers in
    /// turn, elsewhere `db` (see `kernel::db::writer_for`).
    writer: DatabaseConnection,
    /// Statements run through `db`, so that tests and benchmarks can show counts stay bounded.
    statements: Arc<AtomicU64>,
    clock: Arc<dyn Clock>,
    /// The active set as last seen in the database, plus every older version met since start.
    /// Replaced whole, never edited in place, so a reader keeps a consistent snapshot.
    definitions: RwLock<Arc<Definitions>>,
    /// What stored definitions are parsed against when they are loaded after start.
    vocabulary: Vocabulary,
    kinds: SubjectKinds,
    metrics: Metrics,
    templates: Templates,
    config: ConfigSource,
    /// The default reminder plan of deadlines, as `config/reminders.toml` writes it.
    default_reminders: Vec<ReminderStep>,
    /// Woken when a write adds work for the scheduler sooner than it planned to look.
    scheduler: tokio::sync::Notify,
}

/// Why the engine could not start: each line names the file (and line) at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{}", .0.join("\n"))]
    Config(Vec<String>),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Counts every statement `db` runs into `statements`, and logs the slow ones with their SQL.
fn count_statements(db: &mut DatabaseConnection, statements: &Arc<AtomicU64>) {
    let counter = statements.clone();
    db.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        if info.elapsed >= SLOW_STATEMENT {
            tracing::warn!(
                elapsed_ms = info.elapsed.as_millis() as u64,
                failed = info.failed,
                "slow statement: {}",
                info.statement.sql
            );
        }
    });
}

impl Engine {
    /// Builds the handle from its parts: loads the templates and definitions from `config`
    /// against what `kinds` offer, and makes sure the database holds the active definition set.
    pub(crate) async fn assemble(
        mut db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        config: ConfigSource,
        kinds: SubjectKinds,
    ) -> Result<Engine, StartError> {
        let statements = Arc::new(AtomicU64::new(0));
        let mut writer = crate::kernel::db::writer_for(&db);
        count_statements(&mut db, &statements);
        count_statements(&mut writer, &statements);
        let templates = load_templates(&config)?;
        let default_reminders = config
            .default_reminders()
            .map_err(|err| StartError::Config(vec![err]))?;
        kinds.check_tables(&db).await?;
        let vocabulary = workflow::vocabulary(&templates, &kinds);
        let loaded = load_definitions(&config, &vocabulary)?;
        let definitions = workflow::store::activate_on_start(&db, loaded, &vocabulary).await?;
        Ok(Engine {
            inner: Arc::new(Inner {
                db,
                writer,
                statements,
                clock,
                definitions: RwLock::new(Arc::new(definitions)),
                vocabulary,
                kinds,
                metrics: Metrics::new(),
                templates,
                config,
                default_reminders,
                scheduler: tokio::sync::Notify::new(),
            }),
        })
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite) on the engine's writer. Every
    /// write of the engine goes through here, so that on SQLite writers take turns in order.
    pub async fn begin_write(&self) -> EngineResult<DatabaseTransaction> {
        crate::kernel::db::begin_write(&self.inner.writer).await
    }

    /// Whether the database answers (for `/health`).
    pub async fn ping(&self) -> EngineResult<()> {
        crate::kernel::db::ping(self.db()).await
    }

    /// How many statements this engine has run since it started.
    pub fn statements_executed(&self) -> u64 {
        self.inner.statements.load(Ordering::Relaxed)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The definitions known now, without asking the database: the active set as last seen.
    /// [`Engine::active_definitions`] checks the database first.
    pub fn definitions(&self) -> Arc<Definitions> {
        Arc::clone(
            &self
                .inner
                .definitions
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn replace_definitions(&self, change: impl FnOnce(&Arc<Definitions>) -> Arc<Definitions>) {
        let mut current = self
            .inner
            .definitions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *current = change(&current);
    }

    /// The definition a subject runs under, by the hash its instance keeps. A version this
    /// server has not met (applied after it started) is read from the database, parsed with the
    /// same vocabulary as at start, and kept.
    pub async fn definition_by_hash<C: ConnectionTrait>(
        &self,
        db: &C,
        hash: &str,
    ) -> EngineResult<Arc<Definition>> {
        if let Some(known) = self.definitions().by_hash(hash) {
            return Ok(Arc::clone(known));
        }
        let loaded = Arc::new(store::load_by_hash(db, hash, &self.inner.vocabulary).await?);
        self.replace_definitions(|current| {
            let mut next = Definitions::clone(current);
            next.insert_retired(Arc::clone(&loaded));
            Arc::new(next)
        });
        Ok(loaded)
    }

    /// The active definition for a new subject of `subject_kind`, as the database has it now:
    /// one indexed statement in the caller's transaction, so a creation never starts a subject
    /// under a set that was replaced before it began. When another set has become active, the
    /// whole stored set is read again.
    pub async fn active_definition<C: ConnectionTrait>(
        &self,
        db: &C,
        subject_kind: &str,
    ) -> EngineResult<Arc<Definition>> {
        let active = store::active_hash(db, subject_kind).await?.ok_or_else(|| {
            EngineError::Internal(format!("no workflow is defined for `{subject_kind}`"))
        })?;
        let changed = self
            .definitions()
            .by_subject(subject_kind)
            .is_none_or(|known| known.hash != active);
        if changed {
            self.reload_definitions(db).await?;
        }
        self.definition_by_hash(db, &active).await
    }

    /// The active set as the database has it now: one statement, and the stored set read again
    /// only when it changed.
    pub async fn active_definitions(&self) -> EngineResult<Arc<Definitions>> {
        let active = store::active_hashes(self.db()).await?;
        let known = self.definitions();
        let known_hashes: BTreeSet<String> = known
            .iter()
            .map(|definition| definition.hash.clone())
            .collect();
        if known_hashes == active {
            return Ok(known);
        }
        self.reload_definitions(self.db()).await
    }

    async fn reload_definitions<C: ConnectionTrait>(
        &self,
        db: &C,
    ) -> EngineResult<Arc<Definitions>> {
        let fresh = Arc::new(store::stored_set(db, &self.inner.vocabulary).await?);
        tracing::info!(
            "another workflow definition set is active: {}",
            fresh
                .iter()
                .map(|definition| format!(
                    "{} ({})",
                    definition.name,
                    definition.hash.get(..12).unwrap_or(&definition.hash)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.replace_definitions(|_| Arc::clone(&fresh));
        Ok(fresh)
    }

    /// The counters `/metrics` shows.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Tells every subscriber of the registry about `event`, inside the transaction that raised
    /// it; the first error is the write's.
    pub async fn publish(&self, txn: &DatabaseTransaction, event: &Event) -> EngineResult<()> {
        for subscriber in self.inner.kinds.subscribers() {
            subscriber.on_event(self, txn, event).await?;
        }
        Ok(())
    }

    /// The subject kinds and the guards they offer.
    pub fn subject_kinds(&self) -> &SubjectKinds {
        &self.inner.kinds
    }

    /// What definitions may name: this engine's subject kinds, guards, roles and templates.
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.inner.vocabulary
    }

    pub fn templates(&self) -> &Templates {
        &self.inner.templates
    }

    pub fn config(&self) -> &ConfigSource {
        &self.inner.config
    }

    pub fn default_reminders(&self) -> &[ReminderStep] {
        &self.inner.default_reminders
    }

    /// Tells the scheduler to look for due work now (a write added some sooner than it planned
    /// to look). A wake-up with nobody waiting is kept for the next wait. A writer may call it
    /// before its transaction commits: the scheduler gives the commit a moment before it looks.
    pub fn wake_scheduler(&self) {
        self.inner.scheduler.notify_one();
    }

    /// Resolves at the next [`Engine::wake_scheduler`].
    pub async fn scheduler_woken(&self) {
        self.inner.scheduler.notified().await;
    }
}

pub fn load_templates(config: &ConfigSource) -> Result<Templates, StartError> {
    Templates::from_sources(config.template_sources()?).map_err(StartError::Config)
}

/// Loads and checks the definitions of a config source against a vocabulary.
pub fn load_definitions(
    config: &ConfigSource,
    vocabulary: &Vocabulary,
) -> Result<Definitions, StartError> {
    let sources = config.workflow_sources()?;
    Definitions::from_sources(&sources, vocabulary).map_err(|errors| {
        StartError::Config(errors.into_iter().map(|err| err.to_string()).collect())
    })
}
