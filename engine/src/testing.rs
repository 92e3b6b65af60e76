//! Databases for tests: each test gets a fresh database of its own, a temporary SQLite file, or a
//! new PostgreSQL database when `GOVFLOW_TEST_DATABASE_URL` names a server, dropped when the test
//! ends. The engine's own tests and the end-to-end harness (feature `testing`) share it, so that
//! one setting runs both on PostgreSQL.

use crate::areas::people::users;
use crate::kernel::actor::Actor;
use crate::kernel::clock::ManualClock;
use crate::kernel::config::ConfigSource;
use crate::kernel::db;
use crate::kernel::engine::Engine;
use crate::workflow::subjects::SubjectKinds;
use chrono::{TimeZone, Utc};
use sea_orm::{ConnectionTrait, Database};
use std::sync::Arc;
use uuid::Uuid;

/// The name of the variable that selects PostgreSQL for the tests.
pub const DATABASE_ENV: &str = "GOVFLOW_TEST_DATABASE_URL";

/// A database of its own for one test, removed when the test ends.
pub struct TestDatabase {
    pub url: String,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        match std::env::var(DATABASE_ENV) {
            Ok(base) if !base.trim().is_empty() => {
                let base = base.trim().to_owned();
                let name = format!("govflow_test_{}", Uuid::now_v7().simple());
                let admin = Database::connect(base.as_str())
                    .await
                    .expect("the PostgreSQL server of GOVFLOW_TEST_DATABASE_URL answers");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("a test database can be created");
                admin.close().await.ok();
                let (prefix, _) = base.rsplit_once('/').expect("the URL names a database");
                TestDatabase {
                    url: format!("{prefix}/{name}"),
                    postgres: Some((base, name)),
                    _dir: None,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let url = format!("sqlite://{}", dir.path().join("govflow.db").display());
                TestDatabase {
                    url,
                    postgres: None,
                    _dir: Some(dir),
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((base, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any runtime: a thread of its own runs the async clean-up.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Runtime::new() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(admin) = Database::connect(base.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// An engine on a fresh database, with an administrator.
pub struct TestEngine {
    pub engine: Engine,
    pub admin: Actor,
    /// The engine's clock, which stands still until a test moves it.
    pub clock: ManualClock,
    _database: TestDatabase,
}

impl TestEngine {
    pub async fn start() -> TestEngine {
        let kinds = crate::registry::registered().unwrap();
        TestEngine::start_with(kinds, ConfigSource::BuiltIn).await
    }

    /// An engine with other subject kinds or definitions than the shipped ones.
    pub async fn start_with(kinds: SubjectKinds, config: ConfigSource) -> TestEngine {
        let database = TestDatabase::create().await;
        let url = database.url.clone();
        let connection = db::connect(&url).await.unwrap();
        db::migrate(&connection).await.unwrap();
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap());
        let engine = Engine::assemble(connection, Arc::new(clock.clone()), config, kinds)
            .await
            .unwrap();
        let row = users::bootstrap_admin(&engine, "admin@govflow.test", "Administrator")
            .await
            .unwrap();
        let admin = Actor::load(&engine, row.id).await.unwrap().unwrap();
        TestEngine {
            engine,
            admin,
            clock,
            _database: database,
        }
    }

    /// A user with no role at all.
    pub async fn outsider(&self) -> Actor {
        let row = users::create_user(
            &self.engine,
            &self.admin,
            users::NewUser {
                email: "outsider@example.org".into(),
                name: "Outsider".into(),
                is_admin: false,
            },
        )
        .await
        .unwrap();
        Actor::load(&self.engine, row.id).await.unwrap().unwrap()
    }
}
