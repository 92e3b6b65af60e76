//! Migrations: applied at start and by `govflow migrate`, a no-op the second time, and a database
//! newer than the binary refused.

use govflow_api::cli::execute;
use govflow_engine::db;
use govflow_tests::TestDatabase;
use sea_orm::ConnectionTrait;

#[tokio::test]
async fn migrate_twice_is_a_no_op() {
    let database = TestDatabase::create().await;
    let args = ["govflow", "migrate", "--database", database.url.as_str()];
    let env = [(
        "GOVFLOW_JWT_SECRET".to_string(),
        govflow_tests::TEST_SECRET.to_string(),
    )];
    let first = execute(args, env.clone()).await;
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.stdout.contains("applied m20261124_000001_foundation"),
        "{first:?}"
    );
    let second = execute(args, env).await;
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(second.stdout.trim(), "the database is up to date");
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused() {
    let database = TestDatabase::create().await;
    let connection = db::connect(&database.url).await.unwrap();
    db::migrate(&connection).await.unwrap();
    connection
        .execute_unprepared(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29990101_000001_future', 0)",
        )
        .await
        .unwrap();
    let err = db::migrate(&connection).await.unwrap_err();
    assert!(err.to_string().contains("newer than this govflow"), "{err}");
    assert!(err.to_string().contains("m29990101_000001_future"), "{err}");

    let outcome = execute(
        ["govflow", "migrate", "--database", database.url.as_str()],
        Vec::<(String, String)>::new(),
    )
    .await;
    assert_eq!(outcome.code, 1);
    assert!(
        outcome.stderr.contains("newer than this govflow"),
        "{}",
        outcome.stderr
    );
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout() {
    let database = TestDatabase::create().await;
    if database.is_postgres() {
        return;
    }
    let connection = db::connect(&database.url).await.unwrap();
    let pragma = |name: &'static str| {
        let connection = connection.clone();
        async move {
            let row = connection
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Sqlite,
                    format!("PRAGMA {name}"),
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<String>(0)
                .or_else(|_| {
                    row.try_get_by_index::<i64>(0)
                        .map(|value| value.to_string())
                })
                .unwrap()
        }
    };
    assert_eq!(pragma("journal_mode").await, "wal");
    assert_eq!(pragma("foreign_keys").await, "1");
    assert_eq!(pragma("busy_timeout").await, "30000");
}
