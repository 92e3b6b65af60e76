//! The [`Engine`] handle: the database, the loaded workflow definitions and templates, and the
//! clock. Every area function takes `&Engine`; it is cheap to clone and shared by the API, the
//! background loops and the tests.

use crate::clock::Clock;
use crate::config::ConfigSource;
use crate::error::EngineError;
use crate::templates::Templates;
use crate::workflow::{self, Definitions, Vocabulary};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Statements run through `db`, so that tests and benchmarks can show counts stay bounded.
    statements: Arc<AtomicU64>,
    clock: Arc<dyn Clock>,
    definitions: Definitions,
    templates: Templates,
    config: ConfigSource,
}

/// Why the engine could not start: each line names the file (and line) at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{}", .0.join("\n"))]
    Config(Vec<String>),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Engine {
    /// Loads the templates and definitions from `config`, makes sure the database holds the active
    /// definition set, and returns the handle. The database must already be migrated.
    pub async fn start(
        mut db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        config: ConfigSource,
    ) -> Result<Engine, StartError> {
        let statements = Arc::new(AtomicU64::new(0));
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
        let templates = load_templates(&config)?;
        let vocabulary = workflow::vocabulary(&templates);
        let loaded = load_definitions(&config, &vocabulary)?;
        let definitions = workflow::store::activate_on_start(&db, loaded, &vocabulary).await?;
        Ok(Engine {
            inner: Arc::new(Inner {
                db,
                statements,
                clock,
                definitions,
                templates,
                config,
            }),
        })
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
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

    pub fn definitions(&self) -> &Definitions {
        &self.inner.definitions
    }

    pub fn templates(&self) -> &Templates {
        &self.inner.templates
    }

    pub fn config(&self) -> &ConfigSource {
        &self.inner.config
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
