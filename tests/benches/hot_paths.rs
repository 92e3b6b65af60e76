//! Load generator for govflow's hot paths, each measured beside a floor: the least work that does
//! the same thing, in the same process, on the same database. It starts the real govflow server
//! in-process (the harness's `TestApp`) and measures, in one invocation:
//!
//! - B1: the generic `transition` mutation `rebase` (no effects) over 2,000 draft amendments on
//!   PostgreSQL, 16 concurrent clients for 5 s each picking amendments round-robin so that no two
//!   clients touch the same one, against a loop that runs the same SQL statements directly through
//!   a sea-orm connection pool (the caller's lookup, then BEGIN on a writer like govflow's, the
//!   amendment with its document, forum, group and workflow instance, the versioned UPDATE of the
//!   instance, the history row, the UPDATE of the amendment RETURNING it, the deadlines waiting for
//!   the transition, COMMIT): transitions per second. Also the statements one mutation runs
//!   (`Engine::statements_executed`, which does not count BEGIN and COMMIT).
//! - B2: the same with one client: p50 and p99 latency.
//! - B3: `{ me { id } }` with a valid token against a plain axum JSON handler in this process that
//!   checks the same HS256 token and runs the same user-and-memberships SELECT, both over HTTP from
//!   the same reqwest client, 16 clients for 5 s: requests per second.
//! - B5: B1 and B2 on SQLite (the embedded default), with 1 and 16 clients: transitions per second,
//!   and at 16 clients govflow's p99 / p50.
//! - B7: resident memory (VmRSS) of the process idle after the PostgreSQL server started, and its
//!   peak during B1's govflow runs, sampled every 50 ms. The client shares the process.
//! - B8: the `groups` connection of a forum with 1,000 groups (50,000 history rows and 50,000
//!   tasks over them)
//!   against the same page of a forum with 10 groups, as a forum coordinator, on SQLite: statements
//!   per page and p50 latency over 50 requests; and, as a diagnostic, a 10-group page of the
//!   1,000-group forum against the 10-group forum's page.
//!
//! B1, B2, B3 and B7 run on PostgreSQL: on the server of `GOVFLOW_TEST_DATABASE_URL` when it is
//! set, else on `postgres://postgres@127.0.0.1:5432/postgres` (a new database, dropped at the end);
//! when no server answers they are skipped and say so. B5 and B8 always run on SQLite.
//!
//! Each measurement runs 3 times, govflow and its floor alternately; the report gives the median
//! and the range, the ratio (median of the per-repetition ratios, with their range), the target
//! and whether it is met, and the CPU time (user + system) the whole process spent in each
//! measurement (`/proc/self/stat`): client and server together, and on SQLite the database too,
//! which runs inside the process. On PostgreSQL the server's processes are measured apart (every
//! process named `postgres`, from `/proc`). The tables are printed in Markdown. A missed target
//! is reported, not an error; the bench exits with status 1 only if an operation failed.
//! Arguments name the checks to run (`B1 B8`; default all).
//!
//! Run it with `cargo bench -p govflow-tests --bench hot_paths`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use govflow_engine::Actor;
// The floor runs the very statements the engine builds: the caller with their roles, and the
// amendment with its document, forum and group.
use govflow_engine::actor::caller_query;
use govflow_engine::amendments::{self, NewAmendment, context_query};
use govflow_engine::db::{begin_write, connect, writer_for};
use govflow_engine::deadlines;
use govflow_engine::entities::{
    amendment, history_entry, membership, research_task, workflow_instance,
};
use govflow_engine::events::TransitionTaken;
use govflow_engine::groups::{self, NewGroup};
use govflow_engine::tasks::{self, NewTask};
use govflow_engine::workflow::subjects::joined_with_instance;
use govflow_tests::figures::{Spread, cores, postgres_cpu, process_cpu, show, spread};
use govflow_tests::{
    DATABASE_ENV, TEST_SECRET, TestApp, TestDatabase, TestUser, base_settings, checked,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryTrait, Statement, Value as SqlValue,
};
use serde_json::{Value as JsonValue, json};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The PostgreSQL server B1, B2, B3 and B7 use when `GOVFLOW_TEST_DATABASE_URL` is not set.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Draft amendments the transitions cycle through; a multiple of [`CLIENTS`].
const AMENDMENTS: usize = 2_000;
/// Documents the amendments are spread over.
const DOCUMENTS: usize = 20;
/// Concurrent clients of the concurrent measurements.
const CLIENTS: usize = 16;
// Round-robin picks keep the clients apart only when every client has its own amendments.
const _: () = assert!(AMENDMENTS.is_multiple_of(CLIENTS));
/// Repetitions of each measurement.
const REPEATS: usize = 3;
/// How long each throughput measurement runs.
const B1_RUN: Duration = Duration::from_secs(5);
const B2_RUN: Duration = Duration::from_secs(4);
const B3_RUN: Duration = Duration::from_secs(5);
const B5_RUN: Duration = Duration::from_secs(3);
/// Unmeasured load before a section's first measurement, per path, so that every pooled
/// connection is open and has prepared its statements.
const WARM_UP: Duration = Duration::from_secs(1);
/// How often B7 samples the resident memory.
const RSS_EVERY: Duration = Duration::from_millis(50);
/// B8: groups of the large and the small forum, history rows per group, requests per repetition.
const BIG_FORUM_GROUPS: usize = 1_000;
const SMALL_FORUM_GROUPS: usize = 10;
const HISTORY_PER_GROUP: usize = 50;
const TASKS_PER_GROUP: usize = 50;
const HISTORY_BATCH: usize = 1_000;
const B8_REQUESTS: usize = 50;
/// Tried this many times; the least is reported (a background loop may add a statement).
const COUNT_TRIES: usize = 5;

const REBASE: &str =
    "mutation($s: ID!) { transition(subjectId: $s, name: \"rebase\") { state version } }";
const ME: &str = "{ me { id } }";
const GROUPS_PAGE: &str = "query($f: ID!, $n: Int!) { groups(forumId: $f, first: $n) { totalCount nodes { name state version chair { name } taskCounts { open claimed accepted } availableTransitions { name } memberships(first: 5) { nodes { role } } history(first: 5) { totalCount } } } }";

// ---------------------------------------------------------------------------------------------
// Process figures.

/// Resident memory of the process (VmRSS), in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples the resident memory every [`RSS_EVERY`] and keeps the peak since the last reset.
struct Memory {
    peak: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

impl Memory {
    fn start() -> Memory {
        let peak = Arc::new(AtomicU64::new(rss_kib()));
        let sampled = peak.clone();
        let sampler = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(RSS_EVERY);
            loop {
                ticks.tick().await;
                sampled.fetch_max(rss_kib(), Ordering::Relaxed);
            }
        });
        Memory { peak, sampler }
    }

    fn reset(&self) {
        self.peak.store(rss_kib(), Ordering::Relaxed);
    }

    fn peak_kib(&self) -> u64 {
        self.peak.load(Ordering::Relaxed).max(rss_kib())
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        self.sampler.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements.

/// What one measurement saw.
struct Measured {
    ops: usize,
    failed: usize,
    first_error: Option<String>,
    elapsed: Duration,
    cpu: Duration,
    /// CPU time of the PostgreSQL server's processes meanwhile.
    database_cpu: Duration,
    /// Of the successful operations, sorted.
    latencies: Vec<Duration>,
    peak_rss_kib: u64,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The latency at quantile `q` (nearest rank), in milliseconds.
    fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1].as_secs_f64() * 1000.0
    }

    fn cpu_per_op_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.ops.max(1) as f64
    }

    fn database_cpu_per_op_us(&self) -> f64 {
        self.database_cpu.as_secs_f64() * 1e6 / self.ops.max(1) as f64
    }

    /// Share of the machine's cores the process kept busy.
    fn cpu_share(&self, cores: usize) -> f64 {
        self.cpu.as_secs_f64() / (self.elapsed.as_secs_f64() * cores.max(1) as f64)
    }
}

/// Runs `op(client, iteration)` from `clients` concurrent tasks, each one after another, until
/// `duration` has passed; the operations under way then finish and count.
async fn drive<F, Fut>(
    label: &str,
    clients: usize,
    duration: Duration,
    memory: &Memory,
    op: F,
) -> Measured
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    memory.reset();
    let cpu_before = process_cpu();
    let database_cpu_before = postgres_cpu();
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failed = 0;
                let mut first_error = None;
                let mut iteration = 0;
                while Instant::now() < deadline {
                    let began = Instant::now();
                    match op(client, iteration).await {
                        Ok(()) => latencies.push(began.elapsed()),
                        Err(problem) => {
                            failed += 1;
                            first_error.get_or_insert(problem);
                        }
                    }
                    iteration += 1;
                }
                (latencies, failed, first_error)
            })
        })
        .collect();
    let mut measured = Measured {
        ops: 0,
        failed: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        cpu: Duration::ZERO,
        database_cpu: Duration::ZERO,
        latencies: Vec::new(),
        peak_rss_kib: 0,
    };
    for task in futures::future::join_all(tasks).await {
        match task {
            Ok((latencies, failed, first_error)) => {
                measured.latencies.extend(latencies);
                measured.failed += failed;
                if measured.first_error.is_none() {
                    measured.first_error = first_error;
                }
            }
            Err(err) => {
                measured.failed += 1;
                measured
                    .first_error
                    .get_or_insert(format!("client task failed: {err}"));
            }
        }
    }
    measured.elapsed = started.elapsed();
    measured.cpu = process_cpu().saturating_sub(cpu_before);
    measured.database_cpu = postgres_cpu().saturating_sub(database_cpu_before);
    measured.peak_rss_kib = memory.peak_kib();
    measured.ops = measured.latencies.len();
    measured.latencies.sort_unstable();
    println!(
        "  {label:<34} c{clients:<2} {:>6} ok {:>3} failed {:>6.2} s  {:>8.1}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  cpu {:>5.2} s",
        measured.ops,
        measured.failed,
        measured.elapsed.as_secs_f64(),
        measured.per_second(),
        measured.quantile_ms(0.50),
        measured.quantile_ms(0.99),
        measured.cpu.as_secs_f64(),
    );
    if let Some(problem) = &measured.first_error {
        println!("    first failure: {problem}");
    }
    measured
}

/// One line of the summary.
struct Row {
    check: String,
    database: &'static str,
    clients: String,
    measured: String,
    reference: String,
    ratio: String,
    target: String,
    verdict: &'static str,
}

/// Which way a target goes.
#[derive(Clone, Copy)]
enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    fn describe(self) -> String {
        match self {
            Target::AtLeast(value) => format!("≥ {value:.2}"),
            Target::AtMost(value) => format!("≤ {value:.2}"),
        }
    }

    fn verdict(self, value: f64) -> &'static str {
        match self {
            _ if value.is_nan() => "not measured",
            Target::AtLeast(target) if value >= target => "met",
            Target::AtMost(target) if value <= target => "met",
            _ => "missed",
        }
    }
}

/// A row comparing govflow's runs with the floor's, repetition by repetition, on `figure`.
struct Comparison<'a> {
    check: &'a str,
    database: &'static str,
    clients: usize,
    govflow: &'a [Measured],
    floor: &'a [Measured],
    decimals: usize,
    unit: &'a str,
    target: Target,
}

impl Comparison<'_> {
    fn row(&self, figure: impl Fn(&Measured) -> f64) -> Row {
        let ratios = self
            .govflow
            .iter()
            .zip(self.floor)
            .map(|(ours, floor)| figure(ours) / figure(floor));
        let ratio = spread(ratios);
        Row {
            check: self.check.to_owned(),
            database: self.database,
            clients: self.clients.to_string(),
            measured: show(
                spread(self.govflow.iter().map(&figure)),
                self.decimals,
                self.unit,
            ),
            reference: show(
                spread(self.floor.iter().map(&figure)),
                self.decimals,
                self.unit,
            ),
            ratio: show(ratio, 2, "×"),
            target: self.target.describe(),
            verdict: self.target.verdict(ratio.median),
        }
    }
}

/// Everything the summary needs, gathered section by section.
#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    /// (measurement, path, runs): for the CPU table.
    cpu: Vec<(String, &'static str, String)>,
    notes: Vec<String>,
    failures: usize,
}

impl Report {
    /// `postgres`: whether the runs were on PostgreSQL, whose processes' CPU is then shown.
    fn record_cpu(
        &mut self,
        measurement: &str,
        path: &'static str,
        runs: &[Measured],
        postgres: bool,
    ) {
        let cores = cores();
        let database = if postgres {
            show(
                spread(runs.iter().map(Measured::database_cpu_per_op_us)),
                0,
                " µs",
            )
        } else {
            "in the process".to_owned()
        };
        let line = format!(
            "{} | {} | {} | {} | {database}",
            show(spread(runs.iter().map(Measured::per_second)), 0, "/s"),
            show(
                spread(runs.iter().map(|run| run.cpu.as_secs_f64())),
                2,
                " s"
            ),
            show(spread(runs.iter().map(Measured::cpu_per_op_us)), 0, " µs"),
            show(
                spread(runs.iter().map(|run| 100.0 * run.cpu_share(cores))),
                0,
                " %"
            ),
        );
        self.cpu.push((measurement.to_owned(), path, line));
        self.failures += runs.iter().map(|run| run.failed).sum::<usize>();
    }

    fn print(&self) {
        println!();
        println!(
            "| check | database | clients | govflow | floor / reference | ratio | target | verdict |"
        );
        println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
        for row in &self.rows {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                row.check,
                row.database,
                row.clients,
                row.measured,
                row.reference,
                row.ratio,
                row.target,
                row.verdict
            );
        }
        println!();
        println!(
            "CPU time (user + system) of this process: client and server together, and on SQLite the \
             database too; PostgreSQL's processes apart:"
        );
        println!();
        println!(
            "| measurement | path | operations/s | process CPU per run | process CPU per operation | process CPU, share of all cores | PostgreSQL CPU per operation |"
        );
        println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
        for (measurement, path, line) in &self.cpu {
            println!("| {measurement} | {path} | {line} |");
        }
        if !self.notes.is_empty() {
            println!();
            for note in &self.notes {
                println!("- {note}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The floor: the statements govflow runs for `rebase`, straight through a sea-orm pool.

/// The values of one floor transition.
struct Rebase {
    user: Uuid,
    subject: Uuid,
    group: Uuid,
    instance: Uuid,
    version: i32,
    from_state: String,
    definition_hash: String,
    history_id: Uuid,
    now: DateTime<Utc>,
}

impl Rebase {
    fn sample() -> Rebase {
        Rebase {
            user: Uuid::now_v7(),
            subject: Uuid::now_v7(),
            group: Uuid::now_v7(),
            instance: Uuid::now_v7(),
            version: 7,
            from_state: "draft".into(),
            definition_hash: "hash".into(),
            history_id: Uuid::now_v7(),
            now: Utc::now(),
        }
    }
}

/// The floor's statements as SQL text for one database, with their values in placeholder order.
/// The text is built once with the engine's own query builders, so that it is the text govflow
/// sends (and the driver prepares) word for word; [`FloorSql::new`] checks each statement's text
/// and values against the builders' for sample values.
struct FloorSql {
    backend: DbBackend,
    caller: String,
    subject: String,
    advance: String,
    history: String,
    rebase: String,
    deadlines: String,
}

impl FloorSql {
    fn new(backend: DbBackend) -> FloorSql {
        let sample = Rebase::sample();
        let built = FloorSql::built(backend, &sample);
        let sql = FloorSql {
            backend,
            caller: built[0].sql.clone(),
            subject: built[1].sql.clone(),
            advance: built[2].sql.clone(),
            history: built[3].sql.clone(),
            rebase: built[4].sql.clone(),
            deadlines: built[5].sql.clone(),
        };
        let ours = [
            sql.caller(sample.user),
            sql.subject(sample.subject),
            sql.advance(&sample),
            sql.history(&sample),
            sql.rebase(&sample),
            sql.deadlines(&sample),
        ];
        for (ours, engine) in ours.iter().zip(&built) {
            assert_eq!(
                ours, engine,
                "the floor's statement differs from the engine's"
            );
        }
        sql
    }

    /// Each statement as the engine's code builds it (see the functions named in the comments).
    fn built(backend: DbBackend, values: &Rebase) -> [Statement; 6] {
        // In scope here only: its `min` and `max` would shadow those of the numbers.
        use sea_orm::sea_query::ExprTrait as _;
        // executor::advance + db::update_if_unchanged
        let advance = workflow_instance::Entity::update_many()
            .col_expr(
                workflow_instance::Column::State,
                Expr::value("draft".to_owned()),
            )
            .col_expr(
                workflow_instance::Column::UpdatedAt,
                Expr::value(values.now),
            )
            .col_expr(
                workflow_instance::Column::Version,
                Expr::col(workflow_instance::Column::Version).add(1),
            )
            .filter(workflow_instance::Column::Id.eq(values.instance))
            .filter(workflow_instance::Column::Version.eq(values.version))
            .build(backend);
        // history::append
        let history = history_entry::Entity::insert(history_entry::ActiveModel {
            id: Set(values.history_id),
            subject_id: Set(values.subject),
            subject_kind: Set("amendment".to_owned()),
            transition: Set("rebase".to_owned()),
            from_state: Set(values.from_state.clone()),
            to_state: Set("draft".to_owned()),
            actor_kind: Set("user".to_owned()),
            actor_user_id: Set(Some(values.user)),
            reason: Set(None),
            definition_hash: Set(Some(values.definition_hash.clone())),
            detail: Set(None),
            at: Set(values.now),
        })
        .build(backend);
        // AmendmentKind::after_transition, for `rebase` without a new text, RETURNING the row
        let mut rebase = amendment::Entity::update_many()
            .col_expr(amendment::Column::UpdatedAt, Expr::value(values.now))
            .filter(amendment::Column::Id.eq(values.subject))
            .col_expr(
                amendment::Column::BaseVersion,
                Expr::cust(
                    "(SELECT MAX(document_version.number) FROM document_version \
                     WHERE document_version.document_id = amendment.document_id \
                     AND document_version.status = 'adopted')",
                ),
            )
            .col_expr(
                amendment::Column::OpenedAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(
                amendment::Column::ClosesAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .into_query();
        rebase.returning_all();
        // deadlines' answer to TransitionTaken
        let taken = TransitionTaken {
            subject_id: values.subject,
            subject_kind: "amendment".into(),
            transition: "rebase".into(),
            forum_id: None,
            group_id: Some(values.group),
            at: values.now,
            by: Some(values.user),
        };
        [
            backend.build(&caller_query(values.user)),
            // subjects::readable_subject, for a subject whose kind the server has met
            backend.build(&joined_with_instance(
                context_query(values.subject),
                "amendment",
            )),
            advance,
            history,
            backend.build(&rebase),
            deadlines::waiting_for(&taken).build(backend),
        ]
    }

    fn statement(&self, sql: &str, values: Vec<SqlValue>) -> Statement {
        Statement::from_sql_and_values(self.backend, sql, values)
    }

    fn caller(&self, user: Uuid) -> Statement {
        self.statement(&self.caller, vec![user.into()])
    }

    fn subject(&self, subject: Uuid) -> Statement {
        self.statement(&self.subject, vec![subject.into()])
    }

    fn advance(&self, values: &Rebase) -> Statement {
        self.statement(
            &self.advance,
            vec![
                "draft".into(),
                values.now.into(),
                1i32.into(),
                values.instance.into(),
                values.version.into(),
            ],
        )
    }

    fn history(&self, values: &Rebase) -> Statement {
        self.statement(
            &self.history,
            vec![
                values.history_id.into(),
                values.subject.into(),
                "amendment".into(),
                "rebase".into(),
                values.from_state.as_str().into(),
                "draft".into(),
                "user".into(),
                Some(values.user).into(),
                None::<String>.into(),
                Some(values.definition_hash.clone()).into(),
                None::<String>.into(),
                values.now.into(),
            ],
        )
    }

    fn rebase(&self, values: &Rebase) -> Statement {
        self.statement(
            &self.rebase,
            vec![
                values.now.into(),
                None::<DateTime<Utc>>.into(),
                None::<DateTime<Utc>>.into(),
                values.subject.into(),
            ],
        )
    }

    fn deadlines(&self, values: &Rebase) -> Statement {
        self.statement(
            &self.deadlines,
            vec![
                "active".into(),
                values.subject.into(),
                "rebase".into(),
                "rebase".into(),
                values.group.into(),
                "rebase".into(),
            ],
        )
    }

    /// Every SQL text, for the report.
    fn texts(&self) -> [(&'static str, &str); 6] {
        [
            ("caller", &self.caller),
            ("amendment with its instance", &self.subject),
            ("advance", &self.advance),
            ("history", &self.history),
            ("rebase", &self.rebase),
            ("deadlines waiting", &self.deadlines),
        ]
    }
}

fn db_error(err: DbErr) -> String {
    format!("database: {err}")
}

/// One `rebase` the floor's way: the caller's lookup on the pool, then one write transaction on
/// the writer (`BEGIN IMMEDIATE` on SQLite, through a writer of its own as govflow's
/// `Engine::begin_write`).
async fn floor_rebase(
    db: &DatabaseConnection,
    writer: &DatabaseConnection,
    sql: &FloorSql,
    user: Uuid,
    subject: Uuid,
) -> Result<(), String> {
    let caller = db.query_all_raw(sql.caller(user)).await.map_err(db_error)?;
    if caller.is_empty() {
        return Err("the caller is unknown".into());
    }
    let txn = begin_write(writer).await.map_err(|err| err.to_string())?;
    let row = txn
        .query_one_raw(sql.subject(subject))
        .await
        .map_err(db_error)?
        .ok_or("no amendment")?;
    let values = Rebase {
        user,
        subject,
        group: row.try_get("", "group_id").map_err(db_error)?,
        instance: row.try_get("wi_", "id").map_err(db_error)?,
        version: row.try_get("wi_", "version").map_err(db_error)?,
        from_state: row.try_get("wi_", "state").map_err(db_error)?,
        definition_hash: row.try_get("wi_", "definition_hash").map_err(db_error)?,
        history_id: Uuid::now_v7(),
        now: Utc::now(),
    };
    let moved = txn
        .execute_raw(sql.advance(&values))
        .await
        .map_err(db_error)?;
    if moved.rows_affected() != 1 {
        return Err("another writer moved the instance first".into());
    }
    txn.execute_raw(sql.history(&values))
        .await
        .map_err(db_error)?;
    txn.query_one_raw(sql.rebase(&values))
        .await
        .map_err(db_error)?
        .ok_or("no amendment was rebased")?;
    txn.query_all_raw(sql.deadlines(&values))
        .await
        .map_err(db_error)?;
    txn.commit().await.map_err(db_error)
}

// ---------------------------------------------------------------------------------------------
// The govflow side, over HTTP.

/// Posts a prepared body; `Ok` with the response when it has no `errors`.
async fn post_json(
    client: &reqwest::Client,
    endpoint: &str,
    token: &str,
    body: String,
) -> Result<JsonValue, String> {
    let response = client
        .post(endpoint)
        .header("content-type", "application/json")
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .map_err(|err| format!("transport: {err}"))?;
    let status = response.status();
    let value: JsonValue = response
        .json()
        .await
        .map_err(|err| format!("HTTP {status}: {err}"))?;
    match value.get("errors") {
        Some(errors) => Err(format!("HTTP {status}: {errors}")),
        None => Ok(value),
    }
}

/// 2,000 draft amendments of one group, over [`DOCUMENTS`] documents, with the chair who drafts
/// them; made through the engine, since 2,000 GraphQL mutations would take a good while.
struct Amendments {
    chair: TestUser,
    ids: Vec<Uuid>,
    /// The `rebase` request of each amendment, ready to send.
    bodies: Vec<String>,
}

async fn draft_amendments(app: &TestApp) -> Amendments {
    let started = Instant::now();
    let (forum, _) = app.forum("Hot paths").await;
    let group = app.group(&forum, "Hot paths group").await;
    let group_id = Uuid::parse_str(&group).expect("a group id");
    let chair = app.create_user("chair@example.org", "Chair").await;
    app.grant(&chair, "chair", "groupId", &group).await;
    let mut documents = Vec::new();
    for index in 0..DOCUMENTS {
        let id = app
            .document(
                &group,
                "expert_paper",
                &format!("Paper {index:02}"),
                "First text\n",
            )
            .await;
        documents.push(Uuid::parse_str(&id).expect("a document id"));
    }
    let actor = Actor::load(&app.engine, chair.id)
        .await
        .expect("the chair loads")
        .expect("the chair exists");
    let (engine, actor, documents) = (&app.engine, &actor, &documents);
    let ids: Vec<Uuid> = futures::stream::iter(0..AMENDMENTS)
        .map(|index| async move {
            amendments::create_amendment(
                engine,
                actor,
                NewAmendment {
                    group_id: Some(group_id),
                    document_id: documents[index % DOCUMENTS],
                    title: Some(format!("Amendment {index}")),
                    text: format!("Second text {index}\n"),
                    reason: None,
                },
            )
            .await
            .expect("an amendment is created")
            .id
        })
        .buffered(4)
        .collect()
        .await;
    let bodies = ids
        .iter()
        .map(|id| json!({ "query": REBASE, "variables": { "s": id.to_string() } }).to_string())
        .collect();
    println!(
        "  set-up: {AMENDMENTS} draft amendments over {DOCUMENTS} documents in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Amendments { chair, ids, bodies }
}

/// The amendment a client takes at an iteration: client `c` takes c, c + N, c + 2N, ... so that
/// no two clients ever hold the same amendment.
fn pick(client: usize, iteration: usize, clients: usize) -> usize {
    (client + iteration * clients) % AMENDMENTS
}

/// The statements of one request, the least of [`COUNT_TRIES`] (a background loop of the server,
/// such as the mailer's poll, may add one now and then).
async fn statements_of(app: &TestApp, endpoint: &str, token: &str, bodies: &[String]) -> u64 {
    let mut least = u64::MAX;
    for body in bodies.iter().take(COUNT_TRIES) {
        let before = app.engine.statements_executed();
        post_json(&app.client, endpoint, token, body.clone())
            .await
            .expect("the request succeeds");
        least = least.min(app.engine.statements_executed() - before);
    }
    least
}

/// govflow's `rebase` over HTTP and the floor, alternately, at `clients`.
struct TransitionPair<'a> {
    app: &'a TestApp,
    fixture: &'a Amendments,
    floor_db: &'a DatabaseConnection,
    /// The floor's writer: on SQLite a one-connection pool of its own, as govflow's.
    floor_writer: &'a DatabaseConnection,
    sql: &'a Arc<FloorSql>,
    memory: &'a Memory,
}

impl TransitionPair<'_> {
    async fn govflow(&self, label: &str, clients: usize, duration: Duration) -> Measured {
        let client = self.app.client.clone();
        let endpoint = format!("{}/graphql", self.app.address);
        let token = self.fixture.chair.token.clone();
        let bodies = Arc::new(self.fixture.bodies.clone());
        drive(label, clients, duration, self.memory, move |c, i| {
            let (client, endpoint, token) = (client.clone(), endpoint.clone(), token.clone());
            let body = bodies[pick(c, i, clients)].clone();
            async move {
                let answer = post_json(&client, &endpoint, &token, body).await?;
                match answer["data"]["transition"]["state"].as_str() {
                    Some("draft") => Ok(()),
                    _ => Err(format!("unexpected answer: {answer}")),
                }
            }
        })
        .await
    }

    async fn floor(&self, label: &str, clients: usize, duration: Duration) -> Measured {
        let db = self.floor_db.clone();
        let writer = self.floor_writer.clone();
        let sql = self.sql.clone();
        let user = self.fixture.chair.id;
        let ids = Arc::new(self.fixture.ids.clone());
        drive(label, clients, duration, self.memory, move |c, i| {
            let (db, writer, sql) = (db.clone(), writer.clone(), sql.clone());
            let subject = ids[pick(c, i, clients)];
            async move { floor_rebase(&db, &writer, &sql, user, subject).await }
        })
        .await
    }

    /// [`REPEATS`] runs of each, govflow first.
    async fn alternate(
        &self,
        name: &str,
        clients: usize,
        duration: Duration,
    ) -> (Vec<Measured>, Vec<Measured>) {
        let (mut ours, mut floor) = (Vec::new(), Vec::new());
        for repeat in 1..=REPEATS {
            ours.push(
                self.govflow(&format!("{name} govflow #{repeat}"), clients, duration)
                    .await,
            );
            floor.push(
                self.floor(&format!("{name} floor #{repeat}"), clients, duration)
                    .await,
            );
        }
        (ours, floor)
    }

    async fn warm_up(&self) {
        self.govflow("warm-up govflow (not counted)", CLIENTS, WARM_UP)
            .await;
        self.floor("warm-up floor (not counted)", CLIENTS, WARM_UP)
            .await;
    }
}

// ---------------------------------------------------------------------------------------------
// B3's plain handler.

struct Plain {
    db: DatabaseConnection,
    sql: String,
    key: DecodingKey,
    validation: Validation,
}

#[derive(serde::Deserialize)]
struct PlainClaims {
    sub: String,
    #[serde(default)]
    iat: Option<u64>,
}

fn refused(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "errors": [{ "message": message }] }))).into_response()
}

/// `{ me { id } }` by hand: the bearer token checked as govflow checks its own (HS256, `exp` and
/// `sub` required, 5 s leeway, no `iat` in the future), then the same user-and-memberships SELECT.
async fn plain_me(
    State(plain): State<Arc<Plain>>,
    headers: HeaderMap,
    Json(_request): Json<JsonValue>,
) -> Response {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return refused(StatusCode::UNAUTHORIZED, "no bearer token");
    };
    let claims = match jsonwebtoken::decode::<PlainClaims>(token, &plain.key, &plain.validation) {
        Ok(data) => data.claims,
        Err(err) => return refused(StatusCode::UNAUTHORIZED, &err.to_string()),
    };
    if claims
        .iat
        .is_some_and(|iat| iat > jsonwebtoken::get_current_timestamp() + 5)
    {
        return refused(StatusCode::UNAUTHORIZED, "iat in the future");
    }
    let Ok(user) = Uuid::parse_str(&claims.sub) else {
        return refused(StatusCode::UNAUTHORIZED, "unknown user");
    };
    let statement = Statement::from_sql_and_values(
        plain.db.get_database_backend(),
        plain.sql.as_str(),
        [user.into()],
    );
    let rows = match plain.db.query_all_raw(statement).await {
        Ok(rows) => rows,
        Err(err) => return refused(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    };
    match rows.first().map(|row| row.try_get::<Uuid>("", "id")) {
        Some(Ok(id)) => Json(json!({ "data": { "me": { "id": id.to_string() } } })).into_response(),
        _ => refused(StatusCode::UNAUTHORIZED, "unknown user"),
    }
}

/// Serves [`plain_me`] at `/me` on a port of its own, with a pool of its own made as govflow makes
/// its pool; returns its endpoint, the server task and the pool.
async fn start_plain(
    database_url: &str,
) -> (String, tokio::task::JoinHandle<()>, DatabaseConnection) {
    let db = connect(database_url).await.expect("the database opens");
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    let plain = Arc::new(Plain {
        sql: db
            .get_database_backend()
            .build(&caller_query(Uuid::nil()))
            .sql,
        db: db.clone(),
        key: DecodingKey::from_secret(TEST_SECRET.as_bytes()),
        validation,
    });
    let router = Router::new().route("/me", post(plain_me)).with_state(plain);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let endpoint = format!(
        "http://{}/me",
        listener.local_addr().expect("a local address")
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (endpoint, server, db)
}

/// `{ me { id } }` sent to `endpoint`, answered with the chair's id.
async fn me_at(
    label: &str,
    app: &TestApp,
    endpoint: &str,
    user: &TestUser,
    duration: Duration,
    memory: &Memory,
) -> Measured {
    let client = app.client.clone();
    let endpoint = endpoint.to_owned();
    let token = user.token.clone();
    let expected = user.id.to_string();
    let body = json!({ "query": ME }).to_string();
    drive(label, CLIENTS, duration, memory, move |_, _| {
        let (client, endpoint, token, expected, body) = (
            client.clone(),
            endpoint.clone(),
            token.clone(),
            expected.clone(),
            body.clone(),
        );
        async move {
            let answer = post_json(&client, &endpoint, &token, body).await?;
            if answer["data"]["me"]["id"].as_str() == Some(expected.as_str()) {
                Ok(())
            } else {
                Err(format!("unexpected answer: {answer}"))
            }
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Sections.

/// Which checks to run: those named on the command line, or all.
struct Selection(Vec<String>);

impl Selection {
    fn wants(&self, check: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|name| name.eq_ignore_ascii_case(check))
    }
}

/// B1, B2, B3 and B7 on PostgreSQL.
async fn postgres_section(selection: &Selection, report: &mut Report) {
    let cores = cores();
    let base = std::env::var(DATABASE_ENV).unwrap_or_default();
    let reachable = tokio::time::timeout(
        Duration::from_secs(5),
        sea_orm::Database::connect(base.as_str()),
    )
    .await;
    match reachable {
        Ok(Ok(admin)) => {
            let _ = admin.close().await;
        }
        Ok(Err(err)) => {
            report.notes.push(format!(
                "B1, B2, B3 and B7 not measured: PostgreSQL at {base} does not answer ({err})"
            ));
            return;
        }
        Err(_) => {
            report.notes.push(format!(
                "B1, B2, B3 and B7 not measured: PostgreSQL at {base} does not answer within 5 s"
            ));
            return;
        }
    }
    println!(
        "PostgreSQL ({base}, a new database), {cores} cores shared by client, server and database"
    );
    let database = TestDatabase::create().await;
    let settings = checked(base_settings(&database.url));
    let app = TestApp::spawn_on(database, settings).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kib = rss_kib();
    let memory = Memory::start();
    println!(
        "  B7 idle: VmRSS {:.1} MB after start",
        idle_kib as f64 / 1024.0
    );

    let fixture = draft_amendments(&app).await;
    let floor_db = connect(&app.database.url)
        .await
        .expect("the database opens");
    let floor_writer = writer_for(&floor_db);
    let sql = Arc::new(FloorSql::new(floor_db.get_database_backend()));
    let pair = TransitionPair {
        app: &app,
        fixture: &fixture,
        floor_db: &floor_db,
        floor_writer: &floor_writer,
        sql: &sql,
        memory: &memory,
    };
    let endpoint = format!("{}/graphql", app.address);
    let statements = statements_of(&app, &endpoint, &fixture.chair.token, &fixture.bodies).await;
    report.notes.push(format!(
        "one `rebase` mutation runs {statements} statements (BEGIN and COMMIT not counted) on \
         PostgreSQL; the floor runs 6 and BEGIN/COMMIT"
    ));

    if selection.wants("B1") || selection.wants("B2") || selection.wants("B7") {
        pair.warm_up().await;
    }
    if selection.wants("B1") || selection.wants("B7") {
        let (ours, floor) = pair.alternate("B1", CLIENTS, B1_RUN).await;
        report.rows.push(
            Comparison {
                check: "B1 transitions/s",
                database: "PostgreSQL",
                clients: CLIENTS,
                govflow: &ours,
                floor: &floor,
                decimals: 0,
                unit: "/s",
                target: Target::AtLeast(0.75),
            }
            .row(Measured::per_second),
        );
        report.record_cpu("B1 rebase, PostgreSQL c16", "govflow", &ours, true);
        report.record_cpu("B1 rebase, PostgreSQL c16", "floor", &floor, true);
        let peak = spread(ours.iter().map(|run| run.peak_rss_kib as f64 / 1024.0));
        let floor_peak = spread(floor.iter().map(|run| run.peak_rss_kib as f64 / 1024.0));
        report.rows.push(Row {
            check: "B7 VmRSS idle after start".into(),
            database: "PostgreSQL",
            clients: "0".into(),
            measured: format!("{:.1} MB", idle_kib as f64 / 1024.0),
            reference: "—".into(),
            ratio: "—".into(),
            target: "≤ 60 MB".into(),
            verdict: if (idle_kib as f64 / 1024.0) <= 60.0 {
                "met"
            } else {
                "missed"
            },
        });
        report.rows.push(Row {
            check: "B7 VmRSS peak during B1".into(),
            database: "PostgreSQL",
            clients: CLIENTS.to_string(),
            measured: show(peak, 1, " MB"),
            reference: format!("{} (floor runs)", show(floor_peak, 1, " MB")),
            ratio: "—".into(),
            target: "≤ 200 MB".into(),
            verdict: if peak.high <= 200.0 { "met" } else { "missed" },
        });
    }
    if selection.wants("B2") {
        let (ours, floor) = pair.alternate("B2", 1, B2_RUN).await;
        for (check, q, target) in [
            ("B2 p50 latency", 0.50, Target::AtMost(1.5)),
            ("B2 p99 latency", 0.99, Target::AtMost(3.0)),
        ] {
            report.rows.push(
                Comparison {
                    check,
                    database: "PostgreSQL",
                    clients: 1,
                    govflow: &ours,
                    floor: &floor,
                    decimals: 2,
                    unit: " ms",
                    target,
                }
                .row(|run| run.quantile_ms(q)),
            );
        }
        report.record_cpu("B2 rebase, PostgreSQL c1", "govflow", &ours, true);
        report.record_cpu("B2 rebase, PostgreSQL c1", "floor", &floor, true);
    }
    if selection.wants("B3") {
        let (plain_endpoint, plain_server, plain_db) = start_plain(&app.database.url).await;
        let me_body = [json!({ "query": ME }).to_string()];
        let me_statements = statements_of(&app, &endpoint, &fixture.chair.token, &me_body).await;
        report.notes.push(format!(
            "`{{ me {{ id }} }}` runs {me_statements} statements in govflow; the plain handler runs 1"
        ));
        me_at(
            "warm-up govflow (not counted)",
            &app,
            &endpoint,
            &fixture.chair,
            WARM_UP,
            &memory,
        )
        .await;
        me_at(
            "warm-up axum (not counted)",
            &app,
            &plain_endpoint,
            &fixture.chair,
            WARM_UP,
            &memory,
        )
        .await;
        let (mut ours, mut plain) = (Vec::new(), Vec::new());
        for repeat in 1..=REPEATS {
            ours.push(
                me_at(
                    &format!("B3 govflow #{repeat}"),
                    &app,
                    &endpoint,
                    &fixture.chair,
                    B3_RUN,
                    &memory,
                )
                .await,
            );
            plain.push(
                me_at(
                    &format!("B3 axum #{repeat}"),
                    &app,
                    &plain_endpoint,
                    &fixture.chair,
                    B3_RUN,
                    &memory,
                )
                .await,
            );
        }
        report.rows.push(
            Comparison {
                check: "B3 `me` requests/s",
                database: "PostgreSQL",
                clients: CLIENTS,
                govflow: &ours,
                floor: &plain,
                decimals: 0,
                unit: "/s",
                target: Target::AtLeast(0.5),
            }
            .row(Measured::per_second),
        );
        report.record_cpu("B3 me, PostgreSQL c16", "govflow", &ours, true);
        report.record_cpu("B3 me, PostgreSQL c16", "axum handler", &plain, true);
        plain_server.abort();
        let _ = plain_db.close().await;
    }
    println!("  floor SQL on PostgreSQL:");
    for (name, text) in sql.texts() {
        println!("    {name}: {text}");
    }
    let _ = floor_writer.close().await;
    let _ = floor_db.close().await;
    drop(memory);
    drop(app);
}

/// B5: the transitions on SQLite.
async fn sqlite_transitions(database: TestDatabase, report: &mut Report) {
    println!("SQLite (a temporary file)");
    let settings = checked(base_settings(&database.url));
    let app = TestApp::spawn_on(database, settings).await;
    let memory = Memory::start();
    let fixture = draft_amendments(&app).await;
    let floor_db = connect(&app.database.url)
        .await
        .expect("the database opens");
    let floor_writer = writer_for(&floor_db);
    let sql = Arc::new(FloorSql::new(floor_db.get_database_backend()));
    let pair = TransitionPair {
        app: &app,
        fixture: &fixture,
        floor_db: &floor_db,
        floor_writer: &floor_writer,
        sql: &sql,
        memory: &memory,
    };
    let endpoint = format!("{}/graphql", app.address);
    let statements = statements_of(&app, &endpoint, &fixture.chair.token, &fixture.bodies).await;
    report.notes.push(format!(
        "one `rebase` mutation runs {statements} statements (BEGIN IMMEDIATE and COMMIT not \
         counted) on SQLite"
    ));
    pair.warm_up().await;
    for clients in [1, CLIENTS] {
        let (ours, floor) = pair
            .alternate(&format!("B5 c{clients}"), clients, B5_RUN)
            .await;
        report.rows.push(
            Comparison {
                check: "B5 transitions/s",
                database: "SQLite",
                clients,
                govflow: &ours,
                floor: &floor,
                decimals: 0,
                unit: "/s",
                target: Target::AtLeast(0.5),
            }
            .row(Measured::per_second),
        );
        report.record_cpu(
            &format!("B5 rebase, SQLite c{clients}"),
            "govflow",
            &ours,
            false,
        );
        report.record_cpu(
            &format!("B5 rebase, SQLite c{clients}"),
            "floor",
            &floor,
            false,
        );
        if clients == CLIENTS {
            let tail = |runs: &[Measured]| {
                spread(
                    runs.iter()
                        .map(|run| run.quantile_ms(0.99) / run.quantile_ms(0.50)),
                )
            };
            let ours_tail = tail(&ours);
            report.rows.push(Row {
                check: "B5 govflow p99 / p50".into(),
                database: "SQLite",
                clients: clients.to_string(),
                measured: show(ours_tail, 1, "×"),
                reference: format!("{} (floor)", show(tail(&floor), 1, "×")),
                ratio: "—".into(),
                target: "≤ 10".into(),
                verdict: Target::AtMost(10.0).verdict(ours_tail.median),
            });
        }
    }
    let _ = floor_writer.close().await;
    let _ = floor_db.close().await;
}

/// Gives each group a chair (one user for all) and `TASKS_PER_GROUP` research tasks, a fifth of
/// them claimed and a fifth accepted. The first task goes through the engine, so that the rest,
/// inserted directly for speed, run under the same workflow definition.
async fn seed_tasks(app: &TestApp, admin: &Actor, forum_id: Uuid, group_ids: &[Uuid]) -> usize {
    let db = app.engine.db();
    let now = app.engine.now();
    let chair = app
        .create_user(&format!("chair-{forum_id}@example.org"), "Chair")
        .await;
    let chair_id = chair.id;
    let chairs: Vec<membership::ActiveModel> = group_ids
        .iter()
        .map(|group| membership::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(chair_id),
            role: Set("chair".into()),
            scope_kind: Set("group".into()),
            scope_id: Set(*group),
            forum_id: Set(Some(forum_id)),
            created_at: Set(now),
        })
        .collect();
    for batch in chairs.chunks(HISTORY_BATCH) {
        membership::Entity::insert_many(batch.to_vec())
            .exec_without_returning(db)
            .await
            .expect("chairs are granted");
    }
    let first = tasks::create_task(
        &app.engine,
        admin,
        NewTask {
            group_id: group_ids[0],
            topic_id: None,
            title: "Task 0".into(),
            description: None,
            due: None,
            reason: None,
        },
    )
    .await
    .expect("a task is created");
    let definition = workflow_instance::Entity::find()
        .filter(workflow_instance::Column::SubjectId.eq(first.id))
        .one(db)
        .await
        .expect("the task's instance reads")
        .expect("the task has an instance");
    let (mut rows, mut instances) = (Vec::new(), Vec::new());
    for (g, group) in group_ids.iter().enumerate() {
        for t in 0..TASKS_PER_GROUP {
            if g == 0 && t == 0 {
                continue;
            }
            let id = Uuid::now_v7();
            let state = ["open", "open", "open", "claimed", "accepted"][t % 5];
            rows.push(research_task::ActiveModel {
                id: Set(id),
                forum_id: Set(forum_id),
                group_id: Set(*group),
                topic_id: Set(None),
                title: Set(format!("Task {t}")),
                description: Set(None),
                claimant_id: Set((state != "open").then_some(chair_id)),
                assigned: Set(false),
                deliverable_text: Set(None),
                deliverable_document_id: Set(None),
                deliverable_version: Set(None),
                submitted_at: Set(None),
                accepted_at: Set((state == "accepted").then_some(now)),
                claimed_at: Set((state != "open").then_some(now)),
                cancelled_at: Set(None),
                created_by: Set(Some(admin.user_id)),
                created_at: Set(now),
                updated_at: Set(now),
            });
            instances.push(workflow_instance::ActiveModel {
                id: Set(Uuid::now_v7()),
                definition_name: Set(definition.definition_name.clone()),
                definition_hash: Set(definition.definition_hash.clone()),
                subject_kind: Set("task".into()),
                subject_id: Set(id),
                state: Set(state.into()),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
    }
    for batch in rows.chunks(HISTORY_BATCH / 2) {
        research_task::Entity::insert_many(batch.to_vec())
            .exec_without_returning(db)
            .await
            .expect("tasks are inserted");
    }
    for batch in instances.chunks(HISTORY_BATCH) {
        workflow_instance::Entity::insert_many(batch.to_vec())
            .exec_without_returning(db)
            .await
            .expect("task instances are inserted");
    }
    rows.len() + 1
}

/// One repetition of B8 on one forum.
struct PageRun {
    requests: usize,
    elapsed: Duration,
    cpu: Duration,
    p50_ms: f64,
    statements: Spread,
}

/// B8: the `groups` page of a 1,000-group forum against that of a 10-group forum.
async fn groups_page(database: TestDatabase, report: &mut Report) {
    println!("SQLite (a temporary file): groups page");
    let settings = checked(base_settings(&database.url));
    let app = TestApp::spawn_on(database, settings).await;
    let started = Instant::now();
    let admin = Actor::load(&app.engine, app.admin.id)
        .await
        .expect("the administrator loads")
        .expect("the administrator exists");
    let mut forums = Vec::new();
    let (mut history_rows, mut task_rows) = (0, 0);
    for (name, count) in [
        ("Thousand groups", BIG_FORUM_GROUPS),
        ("Ten groups", SMALL_FORUM_GROUPS),
    ] {
        let (forum, _) = app.forum(name).await;
        let forum_id = Uuid::parse_str(&forum).expect("a forum id");
        let mut group_ids = Vec::new();
        for index in 0..count {
            let group = groups::create_group(
                &app.engine,
                &admin,
                NewGroup {
                    forum_id,
                    name: format!("Group {index:04}"),
                    theme: "Digital governance".into(),
                    lead_member_state_id: None,
                    time_zone: None,
                    effective_at: None,
                    reason: None,
                },
            )
            .await
            .expect("a group is created");
            group_ids.push(group.id);
        }
        let now = app.engine.now();
        let rows: Vec<history_entry::ActiveModel> = group_ids
            .iter()
            .flat_map(|group| {
                (0..HISTORY_PER_GROUP).map(move |step| history_entry::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    subject_id: Set(*group),
                    subject_kind: Set("group".into()),
                    transition: Set("update_group".into()),
                    from_state: Set("active".into()),
                    to_state: Set("active".into()),
                    actor_kind: Set("user".into()),
                    actor_user_id: Set(Some(admin.user_id)),
                    reason: Set(None),
                    definition_hash: Set(None),
                    detail: Set(Some(format!("{{\"step\":{step}}}"))),
                    at: Set(now - chrono::Duration::seconds(step as i64 + 1)),
                })
            })
            .collect();
        history_rows += rows.len();
        for batch in rows.chunks(HISTORY_BATCH) {
            history_entry::Entity::insert_many(batch.to_vec())
                .exec_without_returning(app.engine.db())
                .await
                .expect("history rows are inserted");
        }
        task_rows += seed_tasks(&app, &admin, forum_id, &group_ids).await;
        forums.push((name, count, forum));
    }
    let coordinator = app
        .create_user("coordinator@example.org", "Coordinator")
        .await;
    for (_, _, forum) in &forums {
        app.grant(&coordinator, "coordinator", "forumId", forum)
            .await;
    }
    println!(
        "  set-up: {} groups, each with a chair, {history_rows} added history rows and {task_rows} tasks in {:.1} s",
        BIG_FORUM_GROUPS + SMALL_FORUM_GROUPS,
        started.elapsed().as_secs_f64()
    );

    let endpoint = format!("{}/graphql", app.address);
    let (big, small) = (&forums[0].2, &forums[1].2);
    // The 10-group forum's page, the 1,000-group forum's page, and, as a diagnostic, a page of the
    // 1,000-group forum as long as the 10-group forum's (10 groups), so that only the forum's
    // size differs.
    let pages = [
        ("10-group forum, first: 50", small, 50),
        ("1,000-group forum, first: 50", big, 50),
        ("1,000-group forum, first: 10", big, 10),
    ];
    let body_of = |forum: &str, first: usize| {
        json!({ "query": GROUPS_PAGE, "variables": { "f": forum, "n": first } }).to_string()
    };
    for (label, forum, first) in &pages {
        let answer = post_json(
            &app.client,
            &endpoint,
            &coordinator.token,
            body_of(forum, *first),
        )
        .await
        .expect("the page is served");
        let page = &answer["data"]["groups"];
        println!(
            "  {label}: totalCount {}, {} groups on the page, the first one's history totalCount {}",
            page["totalCount"],
            page["nodes"].as_array().map_or(0, Vec::len),
            page["nodes"][0]["history"]["totalCount"],
        );
        // Warm-up, not counted.
        for _ in 0..5 {
            post_json(
                &app.client,
                &endpoint,
                &coordinator.token,
                body_of(forum, *first),
            )
            .await
            .expect("the page is served");
        }
    }
    // Per page (in the order of `pages`), one entry per repetition.
    let mut runs: Vec<Vec<PageRun>> = pages.iter().map(|_| Vec::new()).collect();
    for repeat in 1..=REPEATS {
        for (index, (label, forum, first)) in pages.iter().enumerate() {
            let body = body_of(forum, *first);
            let mut latencies = Vec::new();
            let mut statements = Vec::new();
            let cpu_before = process_cpu();
            let run_started = Instant::now();
            for _ in 0..B8_REQUESTS {
                let before = app.engine.statements_executed();
                let began = Instant::now();
                match post_json(&app.client, &endpoint, &coordinator.token, body.clone()).await {
                    Ok(_) => {
                        latencies.push(began.elapsed().as_secs_f64() * 1000.0);
                        statements.push((app.engine.statements_executed() - before) as f64);
                    }
                    Err(problem) => {
                        report.failures += 1;
                        println!("    failure: {problem}");
                    }
                }
            }
            let run = PageRun {
                requests: latencies.len(),
                elapsed: run_started.elapsed(),
                cpu: process_cpu().saturating_sub(cpu_before),
                p50_ms: spread(latencies.iter().copied()).median,
                statements: spread(statements.iter().copied()),
            };
            println!(
                "  B8 {label:<29} #{repeat}: {} requests in {:.2} s, p50 {:.2} ms, statements {} (median; {}–{}), cpu {:.2} s",
                run.requests,
                run.elapsed.as_secs_f64(),
                run.p50_ms,
                run.statements.median,
                run.statements.low,
                run.statements.high,
                run.cpu.as_secs_f64()
            );
            runs[index].push(run);
        }
    }
    let small_runs = &runs[0];
    for (check, page_runs, target) in [
        (
            "B8 groups page p50 latency",
            &runs[1],
            Some(Target::AtMost(2.0)),
        ),
        ("B8 diagnostic: 10 groups on both pages", &runs[2], None),
    ] {
        let ratio = spread(
            page_runs
                .iter()
                .zip(small_runs)
                .map(|(ours, small)| ours.p50_ms / small.p50_ms),
        );
        report.rows.push(Row {
            check: check.into(),
            database: "SQLite",
            clients: "1".into(),
            measured: format!(
                "{} ({})",
                show(spread(page_runs.iter().map(|run| run.p50_ms)), 2, " ms"),
                pages[if target.is_some() { 1 } else { 2 }].0
            ),
            reference: format!(
                "{} ({})",
                show(spread(small_runs.iter().map(|run| run.p50_ms)), 2, " ms"),
                pages[0].0
            ),
            ratio: show(ratio, 2, "×"),
            target: target.map_or_else(|| "—".to_owned(), Target::describe),
            verdict: target.map_or("—", |target| target.verdict(ratio.median)),
        });
    }
    let statements_ratio = spread(
        runs[1]
            .iter()
            .zip(small_runs)
            .map(|(big, small)| big.statements.median / small.statements.median),
    );
    report.rows.push(Row {
        check: "B8 groups page statements".into(),
        database: "SQLite",
        clients: "1".into(),
        measured: format!(
            "{} ({})",
            show(
                spread(runs[1].iter().map(|run| run.statements.median)),
                0,
                ""
            ),
            pages[1].0
        ),
        reference: format!(
            "{} ({})",
            show(
                spread(small_runs.iter().map(|run| run.statements.median)),
                0,
                ""
            ),
            pages[0].0
        ),
        ratio: show(statements_ratio, 2, "×"),
        target: "equal or nearly".into(),
        verdict: if statements_ratio.high <= 1.1 {
            "met"
        } else {
            "missed"
        },
    });
    for ((label, _, _), page_runs) in pages.iter().zip(&runs) {
        let per_request = |run: &PageRun| run.cpu.as_secs_f64() * 1e6 / run.requests.max(1) as f64;
        let share = |run: &PageRun| {
            100.0 * run.cpu.as_secs_f64() / (run.elapsed.as_secs_f64() * cores() as f64)
        };
        let rate =
            |run: &PageRun| run.requests as f64 / run.elapsed.as_secs_f64().max(f64::EPSILON);
        let line = format!(
            "{} | {} | {} | {} | in the process",
            show(spread(page_runs.iter().map(rate)), 1, "/s"),
            show(
                spread(page_runs.iter().map(|run| run.cpu.as_secs_f64())),
                2,
                " s"
            ),
            show(spread(page_runs.iter().map(per_request)), 0, " µs"),
            show(spread(page_runs.iter().map(share)), 0, " %"),
        );
        report
            .cpu
            .push(("B8 groups page, SQLite c1".into(), *label, line));
    }
}

async fn run(selection: Selection, sqlite: [TestDatabase; 2]) -> bool {
    let mut report = Report::default();
    let [transitions_db, groups_db] = sqlite;
    if ["B1", "B2", "B3", "B7"]
        .iter()
        .any(|check| selection.wants(check))
    {
        postgres_section(&selection, &mut report).await;
    }
    if selection.wants("B5") {
        sqlite_transitions(transitions_db, &mut report).await;
    }
    if selection.wants("B8") {
        groups_page(groups_db, &mut report).await;
    }
    report.print();
    if report.failures > 0 {
        println!();
        println!("{} operations failed", report.failures);
    }
    report.failures == 0
}

fn main() {
    let started = Instant::now();
    // `cargo bench` passes `--bench`; other arguments name checks.
    let selection = Selection(
        std::env::args()
            .skip(1)
            .filter(|arg| !arg.starts_with("--"))
            .collect(),
    );
    let postgres = std::env::var(DATABASE_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES.to_owned());
    // `TestDatabase::create` picks SQLite or PostgreSQL by the variable: the SQLite databases are
    // made first with it unset (their creation touches no runtime), then it names PostgreSQL.
    // SAFETY: no other thread exists yet, so nothing reads the environment meanwhile.
    unsafe { std::env::remove_var(DATABASE_ENV) };
    let sqlite = [
        futures::executor::block_on(TestDatabase::create()),
        futures::executor::block_on(TestDatabase::create()),
    ];
    // SAFETY: as above; the runtime's threads start after this.
    unsafe { std::env::set_var(DATABASE_ENV, &postgres) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread tokio runtime can be built");
    let all_succeeded = runtime.block_on(run(selection, sqlite));
    // `process::exit` runs no destructors: shut the runtime, and the servers on it, down first.
    drop(runtime);
    println!();
    println!(
        "whole run: {:.0} s, process CPU {:.1} s",
        started.elapsed().as_secs_f64(),
        process_cpu().as_secs_f64()
    );
    if !all_succeeded {
        std::process::exit(1);
    }
}
