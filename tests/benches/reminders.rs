//! Benchmark B4 of deadlines: the scheduler's reminder path on PostgreSQL, against what the
//! database itself sets, in one invocation. It opens an engine (no server, so no background
//! scheduler) on a new database, with a manual clock, and seeds deadlines, occurrences and
//! pending reminders with `INSERT … SELECT … FROM generate_series(…)`, to a forum, a working group
//! and one coordinator of the group, who receives every reminder. It measures:
//!
//! - The claim query of `scheduler::send_reminders`, built with the same sea-query calls
//!   (`state = 'pending' AND due_at <= now ORDER BY due_at LIMIT … FOR UPDATE SKIP LOCKED`) for
//!   the batch of 100 that B4 names (the scheduler itself claims up to 500 at once), run
//!   in a write transaction that is rolled back: median, lowest and highest time of 50 runs (after
//!   5 not counted) with 1,000 pending reminders in the table, then with 1,000,000 pending
//!   reminders of which 5,040 are due and the rest fall due over the next 87 days. It reports both
//!   and their ratio (target ≤ 2×), prints `EXPLAIN (ANALYZE, BUFFERS)` of the query at 1,000,000
//!   rows, and exits with status 1 if that plan reads `deadline_reminder` with a `Seq Scan`.
//! - Draining 50,000 due reminders (500 deadlines of the group, 5 occurrences each, 20 reminders
//!   per occurrence at `-1h` … `-20h`) into the outbox with `scheduler::run_due`, one outbox row per
//!   reminder: rows per second (target ≥ 16,000/s). Its floor does the same writes straight in SQL
//!   on the engine's own pool, per batch of 100 in one write transaction: one `INSERT INTO
//!   outbox_message … SELECT` over the claimed reminders joined with their deadline and coordinator,
//!   and one `UPDATE deadline_reminder SET state = 'sent'` of the same claimed rows; its messages
//!   carry the subject line and bodies of one rendered by the scheduler, so both write as many
//!   bytes. The two run alternately, scheduler first, three times each, each on freshly seeded
//!   tables; the report gives the median and range of each, their ratio, and the statements the
//!   scheduler runs per reminder (`Engine::statements_executed`; BEGIN and COMMIT not counted).
//! - As a diagnostic of where the drain's time goes: the time of one rendering of the reminder
//!   template (`send_reminders` renders once per message), and of one `outbox::enqueue_many` of
//!   100 rendered messages (the scheduler queues each batch's messages with one) against one of a
//!   single message, each in a write transaction rolled back afterwards, 30 times.
//!
//! After each run it checks that every reminder is `sent` with exactly one outbox row. It prints
//! the CPU time (user + system) of this process and of PostgreSQL's processes (every process named
//! `postgres`, from `/proc`) per drain run, and of the process over the whole invocation. The
//! summary is a Markdown table. A missed target is reported, not an error; the bench exits with
//! status 1 only if the plan has a `Seq Scan` on `deadline_reminder` or a run or check failed.
//!
//! It runs on the server of `GOVFLOW_TEST_DATABASE_URL` when it is set, else on
//! `postgres://postgres@127.0.0.1:5432/postgres` (a new database either way, dropped at the end).
//!
//! Run it with `cargo bench -p govflow-tests --bench reminders`.

use chrono::{DateTime, Utc};
use govflow_engine::db::{connect, migrate};
use govflow_engine::deadlines::scheduler::{self, LATE_AFTER, TickReport};
use govflow_engine::entities::{app_user, deadline_reminder, forum, membership, working_group};
use govflow_engine::forums::ForumSettings;
use govflow_engine::notify::outbox::{self, NewMessage};
use govflow_engine::notify::recipients::Recipient;
use govflow_engine::notify::templates::RenderedMail;
use govflow_engine::{ConfigSource, Engine, ManualClock};
use govflow_tests::figures::{Spread, cores, postgres_cpu, process_cpu, show, spread};
use govflow_tests::{DATABASE_ENV, TestDatabase, start_instant};
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Statement, Value as SqlValue,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The PostgreSQL server used when `GOVFLOW_TEST_DATABASE_URL` is not set.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Rows the scheduler claims per transaction (`BATCH` in `engine/src/areas/deadlines/scheduler.rs`);
/// the floor's batches are as large.
const BATCH: u64 = 100;
/// Reminders per occurrence, at `-1h` … `-20h`.
const OFFSETS: u32 = 20;
/// Timed runs of the claim query, and runs before them that are not counted.
const CLAIM_RUNS: usize = 50;
const CLAIM_WARM_UP: usize = 5;
/// Repetitions of each drain.
const REPEATS: usize = 3;
/// Renderings timed, and timed runs of each INSERT, in the diagnostic.
const RENDERS: usize = 2_000;
const PART_RUNS: usize = 30;
const CLAIM_RATIO_TARGET: f64 = 2.0;
const DRAIN_TARGET: f64 = 16_000.0;

/// How the seeded reminders lie in time: occurrence `i` (of `occurrences`) belongs to deadline
/// `i % deadlines` and is due `first + i × spacing` seconds after the clock's instant; each has
/// [`OFFSETS`] reminders, `k` hours before it for k in 1..=20.
#[derive(Clone, Copy)]
struct Layout {
    name: &'static str,
    deadlines: u32,
    occurrences: u32,
    first_seconds: u32,
    spacing_seconds: u32,
}

impl Layout {
    fn reminders(&self) -> u64 {
        u64::from(self.occurrences) * u64::from(OFFSETS)
    }
}

/// 1,000 pending reminders, 244 of them due: enough that the claim fills its batch.
const SMALL: Layout = Layout {
    name: "1,000 pending",
    deadlines: 10,
    occurrences: 50,
    first_seconds: 3_000,
    spacing_seconds: 3_000,
};

/// 1,000,000 pending reminders, 5,040 of them due; the occurrences fall due every 150 s over the
/// next 87 days, so most reminders lie in the future.
const LARGE: Layout = Layout {
    name: "1,000,000 pending",
    deadlines: 1_000,
    occurrences: 50_000,
    first_seconds: 150,
    spacing_seconds: 150,
};

/// 50,000 reminders, all due. Occurrence `j` of deadline `d` is number `j × 500 + d`, so that
/// reminders falling due together belong to different deadlines, as they do in practice; every
/// occurrence is due 10 to 52 minutes after the clock (so that no occurrence falls due and only
/// reminders are sent) and every reminder is due before it.
const DRAIN: Layout = Layout {
    name: "50,000 due",
    deadlines: 500,
    occurrences: 2_500,
    first_seconds: 600,
    spacing_seconds: 1,
};

// ---------------------------------------------------------------------------------------------
// Figures and the report.

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}

struct Row {
    check: String,
    measured: String,
    reference: String,
    ratio: String,
    target: String,
    verdict: &'static str,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    /// (path, the rest of the CPU table's line).
    cpu: Vec<(&'static str, String)>,
    notes: Vec<String>,
    plan: Vec<String>,
    problems: Vec<String>,
}

impl Report {
    fn print(&self) {
        println!();
        println!("| check | govflow | floor / reference | ratio | target | verdict |");
        println!("| --- | ---: | ---: | ---: | ---: | --- |");
        for row in &self.rows {
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                row.check, row.measured, row.reference, row.ratio, row.target, row.verdict
            );
        }
        println!();
        println!(
            "CPU time (user + system) per drain of {} reminders: this process (engine and floor) and \
             PostgreSQL's processes apart:",
            DRAIN.reminders()
        );
        println!();
        println!(
            "| path | rows/s | process CPU per run | process CPU per reminder | PostgreSQL CPU per run | PostgreSQL CPU per reminder |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: |");
        for (path, line) in &self.cpu {
            println!("| {path} | {line} |");
        }
        if !self.notes.is_empty() {
            println!();
            for note in &self.notes {
                println!("- {note}");
            }
        }
        if !self.plan.is_empty() {
            println!();
            println!("EXPLAIN (ANALYZE, BUFFERS) of the claim at {}:", LARGE.name);
            println!();
            for line in &self.plan {
                println!("    {line}");
            }
        }
        if !self.problems.is_empty() {
            println!();
            for problem in &self.problems {
                println!("FAILED: {problem}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The data.

/// The rows every reminder refers to, inserted once.
struct People {
    forum: Uuid,
    group: Uuid,
    coordinator: Uuid,
}

async fn people(engine: &Engine) -> Result<People, String> {
    let db = engine.db();
    let now = engine.now();
    let people = People {
        forum: Uuid::now_v7(),
        group: Uuid::now_v7(),
        coordinator: Uuid::now_v7(),
    };
    let settings = serde_json::to_string(&ForumSettings::default()).map_err(|e| e.to_string())?;
    forum::Entity::insert(forum::ActiveModel {
        id: Set(people.forum),
        name: Set("Digital Nations".into()),
        settings: Set(settings),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .map_err(|err| format!("the forum: {err}"))?;
    working_group::Entity::insert(working_group::ActiveModel {
        id: Set(people.group),
        forum_id: Set(people.forum),
        name: Set("Digital Governance".into()),
        theme: Set("Digital governance".into()),
        lead_member_state_id: Set(None),
        time_zone: Set("Asia/Seoul".into()),
        effective_at: Set(None),
        proposed_chair_id: Set(None),
        proposed_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .map_err(|err| format!("the working group: {err}"))?;
    app_user::Entity::insert(app_user::ActiveModel {
        id: Set(people.coordinator),
        email: Set("coordinator@example.org".into()),
        email_normalized: Set("coordinator@example.org".into()),
        name: Set("Group Coordinator".into()),
        is_admin: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .map_err(|err| format!("the coordinator: {err}"))?;
    membership::Entity::insert(membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(people.coordinator),
        role: Set("coordinator".into()),
        scope_kind: Set("group".into()),
        scope_id: Set(people.group),
        forum_id: Set(Some(people.forum)),
        created_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .map_err(|err| format!("the membership: {err}"))?;
    Ok(people)
}

/// A UUID (version 7 layout) of row `n` of table number `table`, in SQL: ids ascend with `n` as
/// the engine's time-ordered ids ascend with their creation.
fn id_sql(table: u32, n: &str) -> String {
    format!("format('{table:08x}-0000-7000-8000-%s', lpad(to_hex({n}), 12, '0'))::uuid")
}

async fn execute(db: &DatabaseConnection, sql: &str) -> Result<u64, String> {
    db.execute_unprepared(sql)
        .await
        .map(|done| done.rows_affected())
        .map_err(|err| format!("{err}; in: {}", sql.lines().next().unwrap_or_default()))
}

async fn count(db: &DatabaseConnection, sql: &str) -> Result<i64, String> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .map_err(|err| format!("{err}; in: {sql}"))?
        .ok_or_else(|| format!("no row from: {sql}"))?;
    row.try_get_by_index::<i64>(0)
        .map_err(|err| format!("{err}; in: {sql}"))
}

/// Empties the deadline tables and the outbox.
async fn reset(db: &DatabaseConnection) -> Result<(), String> {
    execute(
        db,
        "TRUNCATE outbox_message, deadline_reminder, deadline_occurrence, deadline",
    )
    .await
    .map(drop)
}

/// Empties the tables, writes `layout`'s deadlines, occurrences and pending reminders, updates
/// the planner's statistics (as autovacuum would soon after such an insert) and writes the dirty
/// pages out, so that no run pays for the previous one's checkpoint.
async fn seed(
    db: &DatabaseConnection,
    people: &People,
    at: DateTime<Utc>,
    layout: Layout,
) -> Result<(), String> {
    reset(db).await?;
    let at = format!("'{}'::timestamptz", at.to_rfc3339());
    let created = format!("({at} - interval '30 days')");
    let due = format!(
        "({at} + make_interval(secs => {} + i * {}))",
        layout.first_seconds, layout.spacing_seconds
    );
    let deadlines = layout.deadlines;
    let occurrences = layout.occurrences;
    execute(
        db,
        &format!(
            "INSERT INTO deadline (id, forum_id, group_id, subject_id, subject_kind, title, \
             rule_kind, rule, time_zone, grace_days, after_transition, met_by, on_missed, \
             reminder_plan, state, effective_at, next_extend_at, version, created_by, created_at, \
             updated_at) \
             SELECT {id}, '{forum}', '{group}', '{group}', 'group', 'Progress report ' || d, \
             'cron', 'cron 0 9 * * 1', 'UTC', 0, NULL, NULL, NULL, NULL, 'active', NULL, \
             {at} + interval '7 days', 1, '{user}', {created}, {created} \
             FROM generate_series(0, {last}) AS d",
            id = id_sql(1, "d"),
            forum = people.forum,
            group = people.group,
            user = people.coordinator,
            last = deadlines - 1,
        ),
    )
    .await?;
    execute(
        db,
        &format!(
            "INSERT INTO deadline_occurrence (id, deadline_id, anchor, due_at, grace_until, state, \
             held, met_at, met_by_user, met_reason, created_at, updated_at) \
             SELECT {id}, {deadline}, to_char({due} AT TIME ZONE 'UTC', \
             'YYYY-MM-DD\"T\"HH24:MI:SS'), {due}, {due}, 'scheduled', false, NULL, NULL, NULL, \
             {created}, {created} \
             FROM generate_series(0, {last}) AS i",
            id = id_sql(2, "i"),
            deadline = id_sql(1, &format!("i % {deadlines}")),
            last = occurrences - 1,
        ),
    )
    .await?;
    execute(
        db,
        &format!(
            "INSERT INTO deadline_reminder (id, occurrence_id, deadline_id, \"offset\", roles, \
             due_at, state, late, sent_at, created_at, updated_at) \
             SELECT {id}, {occurrence}, {deadline}, '-' || k || 'h', 'coordinator', \
             {due} - make_interval(hours => k), 'pending', false, NULL, {created}, {created} \
             FROM generate_series(0, {last}) AS i CROSS JOIN generate_series(1, {OFFSETS}) AS k",
            id = id_sql(3, &format!("i * {OFFSETS} + k - 1")),
            occurrence = id_sql(2, "i"),
            deadline = id_sql(1, &format!("i % {deadlines}")),
            last = occurrences - 1,
        ),
    )
    .await?;
    execute(
        db,
        "ANALYZE deadline, deadline_occurrence, deadline_reminder",
    )
    .await?;
    execute(db, "CHECKPOINT").await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The claim.

/// The claim of `scheduler::send_reminders`, built with the same calls.
fn claim(now: DateTime<Utc>) -> Select<deadline_reminder::Entity> {
    deadline_reminder::Entity::find()
        .filter(deadline_reminder::Column::State.eq("pending"))
        .filter(deadline_reminder::Column::DueAt.lte(now))
        .order_by_asc(deadline_reminder::Column::DueAt)
        .limit(BATCH)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
}

/// Times of the claim (in ms), each in a write transaction rolled back afterwards; the
/// transaction's BEGIN and ROLLBACK are not timed.
async fn time_claim(engine: &Engine, report: &mut Report) -> Vec<f64> {
    let mut times = Vec::new();
    for run in 0..CLAIM_WARM_UP + CLAIM_RUNS {
        let claimed = async {
            let txn = engine.begin_write().await.map_err(|err| err.to_string())?;
            let started = Instant::now();
            let rows = claim(engine.now())
                .all(&txn)
                .await
                .map_err(|err| err.to_string())?;
            let elapsed = started.elapsed();
            txn.rollback().await.map_err(|err| err.to_string())?;
            Ok::<_, String>((rows.len(), elapsed))
        };
        match claimed.await {
            Ok((rows, _)) if rows as u64 != BATCH => {
                report
                    .problems
                    .push(format!("the claim returned {rows} rows, {BATCH} expected"));
                return times;
            }
            Ok((_, elapsed)) if run >= CLAIM_WARM_UP => times.push(elapsed.as_secs_f64() * 1e3),
            Ok(_) => {}
            Err(problem) => {
                report.problems.push(format!("the claim failed: {problem}"));
                return times;
            }
        }
    }
    times
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of the claim with the values it is sent with, in a transaction
/// rolled back afterwards (ANALYZE runs it, and so takes its locks).
async fn explain_claim(engine: &Engine) -> Result<(String, Vec<String>), String> {
    let built = claim(engine.now()).build(DbBackend::Postgres);
    let values = built.values.map(|values| values.0).unwrap_or_default();
    let explain = Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("EXPLAIN (ANALYZE, BUFFERS) {}", built.sql),
        values,
    );
    let txn = engine.begin_write().await.map_err(|err| err.to_string())?;
    let rows = txn
        .query_all_raw(explain)
        .await
        .map_err(|err| err.to_string())?;
    txn.rollback().await.map_err(|err| err.to_string())?;
    let plan = rows
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| err.to_string())?;
    Ok((built.sql, plan))
}

async fn claim_section(engine: &Engine, people: &People, report: &mut Report) {
    let mut medians = Vec::new();
    for layout in [SMALL, LARGE] {
        let started = Instant::now();
        if let Err(problem) = seed(engine.db(), people, engine.now(), layout).await {
            report
                .problems
                .push(format!("seeding {}: {problem}", layout.name));
            return;
        }
        let due = count(
            engine.db(),
            &format!(
                "SELECT count(*) FROM deadline_reminder WHERE state = 'pending' AND due_at <= '{}'",
                engine.now().to_rfc3339()
            ),
        )
        .await
        .unwrap_or(-1);
        println!(
            "  seeded {} reminders ({due} due) in {:.1} s",
            layout.reminders(),
            started.elapsed().as_secs_f64()
        );
        let times = time_claim(engine, report).await;
        let times_spread = spread(times.iter().copied());
        println!(
            "  claim, {}: {} runs, median {:.3} ms, min {:.3} ms, max {:.3} ms",
            layout.name,
            times.len(),
            times_spread.median,
            times_spread.low,
            times_spread.high
        );
        report.notes.push(format!(
            "claim table {}: {} reminders, {due} due",
            layout.name,
            layout.reminders()
        ));
        medians.push((layout, times_spread));
    }
    match explain_claim(engine).await {
        Ok((sql, plan)) => {
            println!("  claim SQL: {sql}");
            let seq_scan = plan
                .iter()
                .any(|line| line.contains("Seq Scan on deadline_reminder"));
            if seq_scan {
                report.problems.push(format!(
                    "the claim's plan at {} reads deadline_reminder with a Seq Scan",
                    LARGE.name
                ));
            }
            report.notes.push(format!("claim SQL: `{sql}`"));
            report.plan = plan;
        }
        Err(problem) => report
            .problems
            .push(format!("EXPLAIN of the claim failed: {problem}")),
    }
    if let [(small, small_times), (large, large_times)] = medians.as_slice() {
        let ratio = large_times.median / small_times.median;
        let row = |layout: &Layout, times: &Spread| {
            format!(
                "{:.3} ms ({:.3}–{:.3}) ({})",
                times.median, times.low, times.high, layout.name
            )
        };
        report.rows.push(Row {
            check: format!("B4 claim query, median of {CLAIM_RUNS}"),
            measured: row(large, large_times),
            reference: row(small, small_times),
            ratio: format!("{ratio:.2}×"),
            target: format!("≤ {CLAIM_RATIO_TARGET:.2}"),
            verdict: verdict(ratio <= CLAIM_RATIO_TARGET),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The drain.

/// What one drain did.
struct Drained {
    elapsed: Duration,
    cpu: Duration,
    database_cpu: Duration,
    /// Statements the engine ran (the scheduler only).
    statements: Option<u64>,
}

impl Drained {
    fn per_second(&self) -> f64 {
        DRAIN.reminders() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// The subject line and bodies of one message the scheduler rendered, for the floor's rows.
#[derive(Clone)]
struct Sample {
    subject_line: String,
    body: String,
    body_html: Option<String>,
}

async fn sample(db: &DatabaseConnection) -> Result<Sample, String> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT subject_line, body, body_html FROM outbox_message LIMIT 1",
        ))
        .await
        .map_err(|err| err.to_string())?
        .ok_or("the scheduler wrote no outbox row")?;
    let text = |column: &str| row.try_get::<String>("", column);
    Ok(Sample {
        subject_line: text("subject_line").map_err(|err| err.to_string())?,
        body: text("body").map_err(|err| err.to_string())?,
        body_html: row
            .try_get::<Option<String>>("", "body_html")
            .map_err(|err| err.to_string())?,
    })
}

/// The floor's two statements of one batch. The INSERT claims the batch as the scheduler does
/// (its ORDER BY and LIMIT, FOR UPDATE SKIP LOCKED); the UPDATE claims it again in the same
/// transaction, which finds the same rows: they are locked by this transaction, not skipped, and
/// the seeded due instants are distinct.
fn floor_sql() -> (String, String) {
    let claimed = |columns: &str| {
        format!(
            "SELECT {columns} FROM deadline_reminder WHERE state = 'pending' \
             AND due_at <= $1 ORDER BY due_at LIMIT {BATCH} FOR UPDATE SKIP LOCKED"
        )
    };
    let insert = format!(
        "INSERT INTO outbox_message (id, dedup_key, recipient_user_id, recipient_email, \
         subject_line, body, body_html, template, subject_id, forum_id, group_id, status, attempts, \
         message_id, next_attempt_at, lease_until, last_error, created_at, sent_at, retry_since) \
         SELECT m.id, m.dedup_key, m.user_id, m.email, $2, $3, $4, '{template}', m.subject_id, \
         m.forum_id, m.group_id, 'pending', 0, '<' || m.id || '@govflow>', $1, NULL, NULL, $1, \
         NULL, NULL \
         FROM (SELECT gen_random_uuid() AS id, 'reminder:' || r.id || ':' || u.id AS dedup_key, \
         u.id AS user_id, u.email, d.subject_id, d.forum_id, d.group_id \
         FROM ({claimed}) AS r \
         JOIN deadline d ON d.id = r.deadline_id \
         JOIN membership s ON s.role = 'coordinator' AND s.scope_id IN (d.group_id, d.forum_id) \
         JOIN app_user u ON u.id = s.user_id \
         WHERE 'coordinator' = ANY (string_to_array(r.roles, ','))) AS m \
         ON CONFLICT (dedup_key) DO NOTHING",
        template = scheduler::TEMPLATE,
        claimed = claimed("id, deadline_id, roles"),
    );
    let update = format!(
        "UPDATE deadline_reminder SET state = 'sent', sent_at = $1, late = due_at < $2, \
         updated_at = $1 WHERE id IN ({})",
        claimed("id")
    );
    (insert, update)
}

/// The floor: batches of [`BATCH`] until none is left.
async fn floor_drain(engine: &Engine, sample: &Sample) -> Result<u64, String> {
    let (insert, update) = floor_sql();
    let now = engine.now();
    let mut sent = 0;
    loop {
        let txn = engine.begin_write().await.map_err(|err| err.to_string())?;
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            insert.as_str(),
            [
                SqlValue::from(now),
                sample.subject_line.as_str().into(),
                sample.body.as_str().into(),
                sample.body_html.clone().into(),
            ],
        ))
        .await
        .map_err(|err| err.to_string())?;
        let updated = txn
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                update.as_str(),
                [SqlValue::from(now), SqlValue::from(now - LATE_AFTER)],
            ))
            .await
            .map_err(|err| err.to_string())?
            .rows_affected();
        txn.commit().await.map_err(|err| err.to_string())?;
        if updated == 0 {
            return Ok(sent);
        }
        sent += updated;
    }
}

/// Checks that every reminder is sent, with exactly one outbox row each.
async fn check_drained(db: &DatabaseConnection, people: &People) -> Result<(), String> {
    let expected = DRAIN.reminders() as i64;
    let sent = count(
        db,
        "SELECT count(*) FROM deadline_reminder WHERE state = 'sent'",
    )
    .await?;
    let messages = count(db, "SELECT count(*) FROM outbox_message").await?;
    let reached = count(
        db,
        &format!(
            "SELECT count(*) FROM deadline_reminder r WHERE EXISTS (SELECT 1 FROM outbox_message o \
             WHERE o.dedup_key = 'reminder:' || r.id || ':{}')",
            people.coordinator
        ),
    )
    .await?;
    if sent == expected && messages == expected && reached == expected {
        Ok(())
    } else {
        Err(format!(
            "{sent} reminders sent, {messages} outbox rows, {reached} reminders with an outbox \
             row; {expected} of each expected"
        ))
    }
}

async fn drain_run(
    engine: &Engine,
    people: &People,
    floor: Option<&Sample>,
    label: &str,
) -> Result<Drained, String> {
    seed(engine.db(), people, engine.now(), DRAIN).await?;
    let statements_before = engine.statements_executed();
    let cpu_before = process_cpu();
    let database_cpu_before = postgres_cpu();
    let started = Instant::now();
    let sent = match floor {
        None => {
            let report: TickReport = scheduler::run_due(engine)
                .await
                .map_err(|err| format!("run_due failed: {err}"))?;
            if report.messages != DRAIN.reminders() {
                return Err(format!("run_due reported {report:?}"));
            }
            report.reminders_sent
        }
        Some(sample) => floor_drain(engine, sample).await?,
    };
    let elapsed = started.elapsed();
    let drained = Drained {
        elapsed,
        cpu: process_cpu().saturating_sub(cpu_before),
        database_cpu: postgres_cpu().saturating_sub(database_cpu_before),
        statements: floor
            .is_none()
            .then(|| engine.statements_executed() - statements_before),
    };
    if sent != DRAIN.reminders() {
        return Err(format!("{label}: {sent} reminders sent"));
    }
    check_drained(engine.db(), people)
        .await
        .map_err(|problem| format!("{label}: {problem}"))?;
    println!(
        "  {label:<18} {sent} reminders in {:>6.2} s  {:>8.0} rows/s  cpu {:.2} s  postgres cpu {:.2} s{}",
        elapsed.as_secs_f64(),
        drained.per_second(),
        drained.cpu.as_secs_f64(),
        drained.database_cpu.as_secs_f64(),
        drained
            .statements
            .map(|n| format!("  {n} statements"))
            .unwrap_or_default()
    );
    Ok(drained)
}

async fn drain_section(engine: &Engine, people: &People, report: &mut Report) {
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    let mut rendered: Option<Sample> = None;
    for repeat in 1..=REPEATS {
        match drain_run(engine, people, None, &format!("run_due #{repeat}")).await {
            Ok(drained) => ours.push(drained),
            Err(problem) => {
                report.problems.push(problem);
                return;
            }
        }
        if rendered.is_none() {
            match sample(engine.db()).await {
                Ok(sample) => rendered = Some(sample),
                Err(problem) => {
                    report.problems.push(problem);
                    return;
                }
            }
        }
        match drain_run(
            engine,
            people,
            rendered.as_ref(),
            &format!("floor #{repeat}"),
        )
        .await
        {
            Ok(drained) => floor.push(drained),
            Err(problem) => {
                report.problems.push(problem);
                return;
            }
        }
    }
    if let Err(problem) = reset(engine.db()).await {
        report.problems.push(problem);
    }
    let rates = |runs: &[Drained]| spread(runs.iter().map(Drained::per_second));
    let (our_rate, floor_rate) = (rates(&ours), rates(&floor));
    let ratio = spread(
        ours.iter()
            .zip(&floor)
            .map(|(ours, floor)| ours.per_second() / floor.per_second()),
    );
    report.rows.push(Row {
        check: format!("B4 drain of {} due reminders, rows/s", DRAIN.reminders()),
        measured: show(our_rate, 0, "/s"),
        reference: format!("{} (floor)", show(floor_rate, 0, "/s")),
        ratio: show(ratio, 2, "×"),
        target: format!("≥ {DRAIN_TARGET:.0}/s"),
        verdict: verdict(our_rate.median >= DRAIN_TARGET),
    });
    let reminders = DRAIN.reminders() as f64;
    for (path, runs) in [("run_due", &ours), ("floor", &floor)] {
        let line = format!(
            "{} | {} | {} | {} | {}",
            show(rates(runs), 0, "/s"),
            show(
                spread(runs.iter().map(|run| run.cpu.as_secs_f64())),
                2,
                " s"
            ),
            show(
                spread(
                    runs.iter()
                        .map(|run| run.cpu.as_secs_f64() * 1e6 / reminders)
                ),
                1,
                " µs"
            ),
            show(
                spread(runs.iter().map(|run| run.database_cpu.as_secs_f64())),
                2,
                " s"
            ),
            show(
                spread(
                    runs.iter()
                        .map(|run| run.database_cpu.as_secs_f64() * 1e6 / reminders)
                ),
                1,
                " µs"
            ),
        );
        report.cpu.push((path, line));
    }
    let statements = spread(
        ours.iter()
            .filter_map(|run| run.statements)
            .map(|n| n as f64),
    );
    report.notes.push(format!(
        "run_due ran {} statements per drain of {} reminders (BEGIN and COMMIT not counted): {:.2} \
         per reminder; the floor runs 2 per batch of {BATCH} ({:.2} per reminder)",
        show(statements, 0, ""),
        DRAIN.reminders(),
        statements.median / reminders,
        2.0 / BATCH as f64,
    ));
}

// ---------------------------------------------------------------------------------------------
// Where the drain's time goes.

/// The reminder template rendered for the coordinator, as `send_reminders` renders each message.
fn rendered(engine: &Engine, people: &People) -> Result<RenderedMail, String> {
    let context = serde_json::json!({
        "deadline": { "id": Uuid::now_v7(), "title": "Progress report 7", "rule": "cron 0 9 * * 1" },
        "subject": { "kind": "group", "id": people.group },
        "forum": { "name": "Digital Nations" },
        "group": { "name": "Digital Governance" },
        "due": "2026-03-02 00:41 +00:00 (UTC)",
        "when": "in 3 hours",
        "overdue": false,
        "state": "scheduled",
        "late": true,
        "recipient": { "name": "Group Coordinator", "email": "coordinator@example.org" },
    });
    engine
        .templates()
        .render(scheduler::TEMPLATE, &context)
        .map_err(|err| format!("rendering: {err}"))
}

/// ms of one `outbox::enqueue_many` of `rows` rendered messages, in a write transaction rolled
/// back afterwards (BEGIN and ROLLBACK not timed), [`PART_RUNS`] times.
async fn time_enqueue(
    engine: &Engine,
    recipient: &Recipient,
    mail: &RenderedMail,
    rows: usize,
) -> Result<Vec<f64>, String> {
    let mut times = Vec::new();
    for _ in 0..PART_RUNS {
        let txn = engine.begin_write().await.map_err(|err| err.to_string())?;
        let messages = (0..rows)
            .map(|_| NewMessage {
                dedup_key: format!("reminder:{}:{}", Uuid::now_v7(), recipient.user_id),
                recipient,
                mail: Ok(mail.clone()),
                template: scheduler::TEMPLATE,
                subject_id: Some(Uuid::now_v7()),
                forum_id: Some(Uuid::now_v7()),
                group_id: Some(Uuid::now_v7()),
                now: engine.now(),
            })
            .collect();
        let started = Instant::now();
        outbox::enqueue_many(&txn, messages)
            .await
            .map_err(|err| err.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        txn.rollback().await.map_err(|err| err.to_string())?;
    }
    Ok(times)
}

/// The parts of a batch that do not depend on the data: one rendering of the reminder template
/// (`send_reminders` renders once per message), and one `outbox::enqueue_many` of a batch's 100
/// messages (one per batch) against one of a single message.
async fn parts_section(engine: &Engine, people: &People, report: &mut Report) {
    let mail = match rendered(engine, people) {
        Ok(mail) => mail,
        Err(problem) => {
            report.problems.push(problem);
            return;
        }
    };
    let started = Instant::now();
    for _ in 0..RENDERS {
        if let Err(problem) = rendered(engine, people) {
            report.problems.push(problem);
            return;
        }
    }
    let render_us = started.elapsed().as_secs_f64() * 1e6 / RENDERS as f64;
    let recipient = Recipient {
        user_id: people.coordinator,
        email: "coordinator@example.org".into(),
        name: "Group Coordinator".into(),
    };
    let mut inserts = Vec::new();
    for rows in [BATCH as usize, 1] {
        match time_enqueue(engine, &recipient, &mail, rows).await {
            Ok(times) => inserts.push((rows, spread(times))),
            Err(problem) => {
                report
                    .problems
                    .push(format!("enqueue_many of {rows}: {problem}"));
                return;
            }
        }
    }
    let bytes = mail.subject.len() + mail.body.len() + mail.html.as_ref().map_or(0, String::len);
    println!("  rendering {render_us:.1} µs per message ({bytes} bytes of subject and bodies)");
    for (rows, times) in &inserts {
        println!(
            "  enqueue_many of {rows}: median {:.2} ms, min {:.2} ms, max {:.2} ms",
            times.median, times.low, times.high
        );
    }
    let shown: Vec<String> = inserts
        .iter()
        .map(|(rows, times)| format!("{} for {rows}", show(*times, 2, " ms")))
        .collect();
    report.notes.push(format!(
        "diagnostic: rendering the reminder template takes {render_us:.1} µs per message \
         ({RENDERS} renderings; {bytes} bytes of subject and bodies); one `outbox::enqueue_many` \
         in a write transaction, median of {PART_RUNS}, takes {}",
        shown.join(", ")
    ));
}

// ---------------------------------------------------------------------------------------------

async fn run(base: String) -> bool {
    let mut report = Report::default();
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
            println!("B4 not measured: PostgreSQL at {base} does not answer ({err})");
            return false;
        }
        Err(_) => {
            println!("B4 not measured: PostgreSQL at {base} does not answer within 5 s");
            return false;
        }
    }
    println!(
        "B4 reminders: PostgreSQL ({base}, a new database), {} cores shared by the engine and the \
         database",
        cores()
    );
    let database = TestDatabase::create().await;
    let connection = match connect(&database.url).await {
        Ok(connection) => connection,
        Err(err) => {
            println!("the new database does not open: {err}");
            return false;
        }
    };
    if let Err(err) = migrate(&connection).await {
        println!("the new database cannot be migrated: {err}");
        return false;
    }
    let clock = ManualClock::new(start_instant());
    let engine =
        match Engine::start(connection, Arc::new(clock.clone()), ConfigSource::BuiltIn).await {
            Ok(engine) => engine,
            Err(err) => {
                println!("the engine does not start: {err}");
                return false;
            }
        };
    match people(&engine).await {
        Ok(people) => {
            claim_section(&engine, &people, &mut report).await;
            drain_section(&engine, &people, &mut report).await;
            parts_section(&engine, &people, &mut report).await;
        }
        Err(problem) => report.problems.push(problem),
    }
    report.print();
    let _ = engine.db().clone().close().await;
    drop(engine);
    drop(database);
    report.problems.is_empty()
}

fn main() {
    let started = Instant::now();
    let postgres = std::env::var(DATABASE_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES.to_owned());
    // `TestDatabase::create` reads the variable to pick PostgreSQL.
    // SAFETY: no other thread exists yet, so nothing reads the environment meanwhile.
    unsafe { std::env::set_var(DATABASE_ENV, &postgres) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread tokio runtime can be built");
    let succeeded = runtime.block_on(run(postgres));
    // `process::exit` runs no destructors: shut the runtime down first.
    drop(runtime);
    println!();
    println!(
        "whole run: {:.0} s, process CPU {:.1} s",
        started.elapsed().as_secs_f64(),
        process_cpu().as_secs_f64()
    );
    if !succeeded {
        std::process::exit(1);
    }
}
