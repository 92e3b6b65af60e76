//! Benchmark of the trends (`forumTrends`) on SQLite: `trends::forum_trends` over ten years of a
//! forum of 50 working groups, against one hand-written SQL statement computing the same
//! figures, at two sizes of data, in one invocation.
//!
//! - **Data.** A temporary SQLite file, migrated with `db::migrate`, and the engine alone
//!   (`Engine::start` with a `ManualClock`, no server, so no background loop runs). One forum
//!   (zone Asia/Seoul) with 50 groups in five zones (Asia/Seoul, Europe/Paris, America/New_York,
//!   UTC, Australia/Sydney: New Year falls at different instants, three of them with summer
//!   time), each with a document. With `INSERT … SELECT` from a recursive CTE, over 2017–2026:
//!   per group, `tasks` research tasks created at spread instants (85 % claimed, 70 % accepted
//!   1 to 41 days after the claim, 15 % cancelled); 10 deadlines with `tasks / 5` occurrences
//!   between them (in turn met, met, met late, missed, scheduled, cancelled), and the forum's own
//!   5 deadlines with a share of them; `tasks / 25` amendments (four in five adopted), with two
//!   objections and a comment each, and forum-level amendments beside them; one annual report
//!   per year (most published, some late, some not yet). Instants are stored as the driver
//!   stores them (RFC 3339 text in UTC).
//! - **Measured.** `forum_trends(forum, 2017, 2026)` as the API calls it (its 3 statements and
//!   the layout of the rows), against one hand-written statement that computes the same table
//!   (the years' bounds per zone as VALUES; one correlated subquery per figure and year; the
//!   median with window functions), run through the engine's own connection pool with
//!   `query_all_raw`. The two alternate, 2 runs of each not counted, then 7 each: median and
//!   range, and the ratio of the medians as speed (reference time / engine time; target
//!   ≥ 0.5). The hand-written statement's result must equal the engine's, or the bench exits
//!   with status 1.
//! - **Scaling.** The same at 500 tasks per group (25,000 tasks) and at 5,000 (250,000), each on
//!   a fresh database: the engine's time at 10× over its time at 1× (target ≤ 12×).
//!
//! It prints the statements `forum_trends` runs, the CPU time of the process per run (SQLite
//! runs inside it), and a Markdown table. A missed target is reported, not an error.
//!
//! Run it with `cargo bench -p govflow-tests --bench trends`.

use chrono::{DateTime, NaiveDate, Utc};
use govflow_engine::db::{connect, migrate};
use govflow_engine::entities::{document, forum, working_group};
use govflow_engine::forums::ForumSettings;
use govflow_engine::time::resolve;
use govflow_engine::trends::{self, TrendYear};
use govflow_engine::types::TimeZone;
use govflow_engine::{ConfigSource, Engine, ManualClock};
use govflow_tests::figures::{Spread, cores, process_cpu, show, spread};
use govflow_tests::start_instant;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Statement,
    Value as SqlValue,
};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

const GROUPS: usize = 50;
const ZONES: [&str; 5] = [
    "Asia/Seoul",
    "Europe/Paris",
    "America/New_York",
    "UTC",
    "Australia/Sydney",
];
const FORUM_ZONE: &str = "Asia/Seoul";
/// The years seeded and asked for.
const FROM_YEAR: i32 = 2017;
const TO_YEAR: i32 = 2026;
/// 2017-01-01T00:00:00Z and the ten years after it, in seconds.
const SEED_START: i64 = 1_483_228_800;
const SEED_SPAN: i64 = 315_532_800;
/// Deadlines per group, and the forum's own.
const DEADLINES_PER_GROUP: usize = 10;
const FORUM_DEADLINES: usize = 5;
const WARM_UP: usize = 2;
const RUNS: usize = 7;
const SPEED_TARGET: f64 = 0.5;
const SCALING_TARGET: f64 = 12.0;

#[derive(Clone, Copy)]
struct Scale {
    name: &'static str,
    tasks_per_group: usize,
}

impl Scale {
    fn tasks(self) -> usize {
        self.tasks_per_group * GROUPS
    }
    fn occurrences(self) -> usize {
        self.tasks() / 5
    }
    fn amendments(self) -> usize {
        self.tasks() / 25
    }
}

const ONE: Scale = Scale {
    name: "1×",
    tasks_per_group: 500,
};
const TEN: Scale = Scale {
    name: "10×",
    tasks_per_group: 5_000,
};

// ---------------------------------------------------------------------------------------------
// The data.

/// An RFC 3339 instant in UTC as sqlx stores it on SQLite, from seconds since 1970 in SQL.
fn instant_sql(seconds: &str) -> String {
    format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {seconds}, 'unixepoch')")
}

async fn execute(db: &DatabaseConnection, sql: &str) -> Result<u64, String> {
    db.execute_unprepared(sql)
        .await
        .map(|done| done.rows_affected())
        .map_err(|err| format!("{err}; in: {}", sql.lines().next().unwrap_or_default()))
}

/// The groups of the forum numbered 0.. (in id order), with their document: `idx`, `id`,
/// `document_id`, `forum_id`, `time_zone`.
const NUMBERED_GROUPS: &str = "SELECT g.id AS id, g.forum_id AS forum_id, g.time_zone AS time_zone, \
     d.id AS document_id, ROW_NUMBER() OVER (ORDER BY g.id) - 1 AS idx \
     FROM working_group g JOIN document d ON d.group_id = g.id";

/// Seeds the forum, its groups and their work; returns the forum's id.
async fn seed(engine: &Engine, scale: Scale) -> Result<Uuid, String> {
    let db = engine.db();
    let now = engine.now();
    let forum_id = Uuid::now_v7();
    let settings = ForumSettings {
        time_zone: FORUM_ZONE.into(),
        ..ForumSettings::default()
    };
    forum::Entity::insert(forum::ActiveModel {
        id: Set(forum_id),
        name: Set("Digital Nations".into()),
        settings: Set(serde_json::to_string(&settings).map_err(|err| err.to_string())?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .map_err(|err| format!("the forum: {err}"))?;
    let mut documents = Vec::new();
    for n in 0..GROUPS {
        let group_id = Uuid::now_v7();
        working_group::Entity::insert(working_group::ActiveModel {
            id: Set(group_id),
            forum_id: Set(forum_id),
            name: Set(format!("Group {n}")),
            theme: Set("Digital governance".into()),
            lead_member_state_id: Set(None),
            time_zone: Set(ZONES[n % ZONES.len()].into()),
            effective_at: Set(None),
            proposed_chair_id: Set(None),
            proposed_by: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(db)
        .await
        .map_err(|err| format!("a group: {err}"))?;
        documents.push((Some(group_id), format!("Work plan {n}")));
    }
    documents.push((None, "Forum work plan".into()));
    let mut forum_document = Uuid::nil();
    for (group_id, title) in documents {
        let id = Uuid::now_v7();
        if group_id.is_none() {
            forum_document = id;
        }
        document::Entity::insert(document::ActiveModel {
            id: Set(id),
            forum_id: Set(forum_id),
            group_id: Set(group_id),
            kind: Set("work_plan".into()),
            title: Set(title),
            symbol: Set(None),
            original_language: Set("en".into()),
            created_by: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(db)
        .await
        .map_err(|err| format!("a document: {err}"))?;
    }

    let groups = GROUPS;
    let forum_hex = forum_id.simple();
    let forum_blob = format!("X'{forum_hex}'");
    let forum_document = format!("X'{}'", forum_document.simple());
    let stamp = instant_sql(&now.timestamp().to_string());

    // Tasks: task i belongs to group i % 50, created in turn over the ten years (each group's
    // a few hours apart, so that New Year splits them differently in each zone).
    let tasks = scale.tasks();
    let step = SEED_SPAN / scale.tasks_per_group as i64;
    let created = format!("({SEED_START} + (i / {groups}) * {step} + (i % {groups}) * 3607)");
    let claimed = format!("({created} + (i % 7) * 86400 + (i % 24) * 3600)");
    let accepted = format!("({claimed} + 86400 + ((i * 37) % 40) * 86400 + (i % 11) * 3600)");
    execute(
        db,
        &format!(
            "INSERT INTO research_task (id, forum_id, group_id, title, assigned, created_at, \
             updated_at, claimed_at, accepted_at, cancelled_at) \
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}), \
             g AS ({NUMBERED_GROUPS}) \
             SELECT randomblob(16), g.forum_id, g.id, 'Task ' || i, 0, {created_at}, {created_at}, \
             CASE WHEN i % 20 < 17 THEN {claimed_at} END, \
             CASE WHEN i % 20 < 14 THEN {accepted_at} END, \
             CASE WHEN i % 20 >= 17 THEN {cancelled_at} END \
             FROM n JOIN g ON g.idx = i % {groups}",
            last = tasks - 1,
            created_at = instant_sql(&created),
            claimed_at = instant_sql(&claimed),
            accepted_at = instant_sql(&accepted),
            cancelled_at = instant_sql(&format!("({created} + 3 * 86400)")),
        ),
    )
    .await?;

    // Deadlines: 10 per group, and the forum's own 5 (no group).
    execute(
        db,
        &format!(
            "INSERT INTO deadline (id, forum_id, group_id, subject_id, subject_kind, title, \
             rule_kind, rule, time_zone, grace_days, state, version, created_at, updated_at) \
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}), \
             g AS ({NUMBERED_GROUPS}) \
             SELECT randomblob(16), g.forum_id, g.id, g.id, 'group', 'Deadline ' || i, 'cron', \
             'cron 0 9 1 * *', g.time_zone, 30, 'active', 1, {stamp}, {stamp} \
             FROM n JOIN g ON g.idx = i % {groups}",
            last = groups * DEADLINES_PER_GROUP - 1,
        ),
    )
    .await?;
    execute(
        db,
        &format!(
            "INSERT INTO deadline (id, forum_id, group_id, subject_id, subject_kind, title, \
             rule_kind, rule, time_zone, grace_days, state, version, created_at, updated_at) \
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
             SELECT randomblob(16), {forum_blob}, NULL, {forum_document}, 'document', \
             'Forum deadline ' || i, 'cron', 'cron 0 9 1 * *', '{FORUM_ZONE}', 30, 'active', 1, \
             {stamp}, {stamp} FROM n",
            last = FORUM_DEADLINES - 1,
        ),
    )
    .await?;
    // Occurrences, dealt to the deadlines in turn and spread over the ten years.
    let occurrences = scale.occurrences();
    let deadlines = groups * DEADLINES_PER_GROUP + FORUM_DEADLINES;
    let due = format!(
        "({SEED_START} + (i * {}) + (i % 97) * 3600)",
        SEED_SPAN / occurrences as i64
    );
    execute(
        db,
        &format!(
            "INSERT INTO deadline_occurrence (id, deadline_id, anchor, due_at, grace_until, state, \
             held, created_at, updated_at) \
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}), \
             d AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS idx FROM deadline \
             WHERE forum_id = {forum_blob}) \
             SELECT randomblob(16), d.id, 'n' || i, {due_at}, {due_at}, \
             CASE i % 6 WHEN 0 THEN 'met' WHEN 1 THEN 'met' WHEN 2 THEN 'met_late' \
             WHEN 3 THEN 'missed' WHEN 4 THEN 'scheduled' ELSE 'cancelled' END, 0, {stamp}, {stamp} \
             FROM n JOIN d ON d.idx = i % {deadlines}",
            last = occurrences - 1,
            due_at = instant_sql(&due),
        ),
    )
    .await?;

    // Amendments, dealt to the groups and the forum itself (slot 50) in turn; four in five
    // adopted 20 days after they were made.
    let amendments = scale.amendments();
    let made = format!(
        "({SEED_START} + i * {} + (i % 31) * 3600)",
        SEED_SPAN / amendments as i64
    );
    execute(
        db,
        &format!(
            "INSERT INTO amendment (id, document_id, forum_id, group_id, title, base_version, text, \
             text_revision, adopted_at, created_at, updated_at) \
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}), \
             g AS ({NUMBERED_GROUPS} UNION ALL SELECT NULL, {forum_blob}, '{FORUM_ZONE}', \
             {forum_document}, {groups}) \
             SELECT randomblob(16), g.document_id, {forum_blob}, g.id, 'Amendment ' || i, 1, \
             'Text', 1, CASE WHEN i % 5 <> 0 THEN {adopted} END, {made_at}, {made_at} \
             FROM n JOIN g ON g.idx = i % {slots}",
            last = amendments - 1,
            adopted = instant_sql(&format!("({made} + 20 * 86400)")),
            made_at = instant_sql(&made),
            slots = groups + 1,
        ),
    )
    .await?;
    // Two objections and a comment per amendment, 1, 4 and 9 days after it was made.
    execute(
        db,
        &format!(
            "INSERT INTO amendment_response (id, amendment_id, author_id, kind, text, \
             text_revision, created_at) \
             SELECT randomblob(16), a.id, {forum_blob}, k.kind, 'Response', 1, \
             strftime('%Y-%m-%dT%H:%M:%S+00:00', julianday(a.created_at) + k.days) \
             FROM amendment a CROSS JOIN (SELECT 'objection' AS kind, 1 AS days \
             UNION ALL SELECT 'objection', 4 UNION ALL SELECT 'comment', 9) k"
        ),
    )
    .await?;

    // A report per group and year: its period ends on 1 December; most are published within
    // a few weeks either side of it, every seventh not yet.
    execute(
        db,
        &format!(
            "INSERT INTO annual_report (id, forum_id, group_id, year, period_start, period_end, \
             document_id, draft, published_at, created_at, updated_at) \
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}), \
             g AS ({NUMBERED_GROUPS}) \
             SELECT randomblob(16), g.forum_id, g.id, {FROM_YEAR} + i / {groups}, \
             printf('%d-01-01T00:00:00+00:00', {FROM_YEAR} + i / {groups}), \
             printf('%d-12-01T00:00:00+00:00', {FROM_YEAR} + i / {groups}), g.document_id, \
             'Draft', CASE WHEN i % 7 <> 0 THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', \
             printf('%d-12-01', {FROM_YEAR} + i / {groups}), ((i * 13) % 60 - 30) || ' days') END, \
             {stamp}, {stamp} FROM n JOIN g ON g.idx = i % {groups}",
            last = groups * (TO_YEAR - FROM_YEAR + 1) as usize - 1,
        ),
    )
    .await?;
    Ok(forum_id)
}

// ---------------------------------------------------------------------------------------------
// The hand-written statement.

fn new_year(zone: TimeZone, year: i32) -> DateTime<Utc> {
    let wall = NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    resolve(zone, wall)
}

/// The one statement, written by hand: the bounds of every (zone, year) as VALUES; then, per
/// year, one correlated subquery per figure over the forum's groups (and the forum's own rows),
/// and the median from a windowed CTE. Parameters: ?1 the forum, ?2 its zone, then the bounds.
fn reference_sql() -> Result<(String, Vec<SqlValue>), String> {
    let mut values: Vec<SqlValue> = Vec::new();
    let mut rows = Vec::new();
    for name in ZONES {
        let zone = TimeZone::parse("zone", name).map_err(|err| err.to_string())?;
        for year in FROM_YEAR..=TO_YEAR {
            let at = values.len() + 3;
            rows.push(format!("(?{at}, {year}, ?{}, ?{})", at + 1, at + 2));
            values.push(name.into());
            values.push(new_year(zone, year).into());
            values.push(new_year(zone, year + 1).into());
        }
    }
    let count =
        |from: &str, condition: &str| format!("(SELECT COUNT(*) FROM {from} WHERE {condition})");
    let tasks = |column: &str| {
        count(
            &format!(
                "gb JOIN research_task t ON t.group_id = gb.group_id \
                 AND t.{column} >= gb.starts AND t.{column} < gb.ends"
            ),
            "gb.year = y.year",
        )
    };
    let occurrences = |state: &str| {
        format!(
            "({} + {})",
            count(
                "gb JOIN deadline d ON d.group_id = gb.group_id JOIN deadline_occurrence o \
                 ON o.deadline_id = d.id AND o.due_at >= gb.starts AND o.due_at < gb.ends",
                &format!("gb.year = y.year AND o.state = '{state}'"),
            ),
            count(
                "fb JOIN deadline d ON d.forum_id = ?1 AND d.group_id IS NULL \
                 JOIN deadline_occurrence o ON o.deadline_id = d.id \
                 AND o.due_at >= fb.starts AND o.due_at < fb.ends",
                &format!("fb.year = y.year AND o.state = '{state}'"),
            ),
        )
    };
    let amendments = |column: &str, response: bool| {
        let (join, alias) = if response {
            (
                " JOIN amendment_response r ON r.amendment_id = a.id AND r.kind = 'objection'",
                "r",
            )
        } else {
            ("", "a")
        };
        format!(
            "({} + {})",
            count(
                &format!(
                    "gb JOIN amendment a ON a.group_id = gb.group_id{join} \
                     AND {alias}.{column} >= gb.starts AND {alias}.{column} < gb.ends"
                ),
                "gb.year = y.year",
            ),
            count(
                &format!(
                    "fb JOIN amendment a ON a.forum_id = ?1 AND a.group_id IS NULL{join} \
                     AND {alias}.{column} >= fb.starts AND {alias}.{column} < fb.ends"
                ),
                "fb.year = y.year",
            ),
        )
    };
    let reports = |on_time: bool| {
        count(
            "gb JOIN annual_report p ON p.group_id = gb.group_id \
             AND p.published_at >= gb.starts AND p.published_at < gb.ends",
            &format!(
                "gb.year = y.year{}",
                if on_time {
                    " AND p.published_at <= p.period_end"
                } else {
                    ""
                }
            ),
        )
    };
    let sql = format!(
        "WITH zb(zone, year, starts, ends) AS (VALUES {bounds}), \
         gb AS (SELECT g.id AS group_id, zb.year AS year, zb.starts AS starts, zb.ends AS ends \
                FROM working_group g JOIN zb ON zb.zone = g.time_zone WHERE g.forum_id = ?1), \
         fb AS (SELECT year, starts, ends FROM zb WHERE zone = ?2), \
         years AS (SELECT DISTINCT year FROM zb), \
         durations AS (SELECT gb.year AS year, \
                ROUND((julianday(t.accepted_at) - julianday(t.claimed_at)) * 86400000.0) \
                / 86400000.0 AS days \
                FROM gb JOIN research_task t ON t.group_id = gb.group_id \
                AND t.accepted_at >= gb.starts AND t.accepted_at < gb.ends \
                WHERE t.claimed_at IS NOT NULL), \
         ranked AS (SELECT year, days, ROW_NUMBER() OVER (PARTITION BY year ORDER BY days) AS position, \
                COUNT(*) OVER (PARTITION BY year) AS total FROM durations), \
         medians AS (SELECT year, AVG(days) AS median FROM ranked \
                WHERE position IN ((total + 1) / 2, (total + 2) / 2) GROUP BY year) \
         SELECT y.year AS year, {opened} AS opened, {accepted} AS accepted, \
                {cancelled} AS cancelled, (SELECT median FROM medians m WHERE m.year = y.year) \
                AS median, {met} AS met, {met_late} AS met_late, {missed} AS missed, \
                {adopted} AS adopted, {objections} AS objections, {published} AS published, \
                {on_time} AS on_time \
         FROM years y ORDER BY y.year",
        bounds = rows.join(", "),
        opened = tasks("created_at"),
        accepted = tasks("accepted_at"),
        cancelled = tasks("cancelled_at"),
        met = occurrences("met"),
        met_late = occurrences("met_late"),
        missed = occurrences("missed"),
        adopted = amendments("adopted_at", false),
        objections = amendments("created_at", true),
        published = reports(false),
        on_time = reports(true),
    );
    Ok((sql, values))
}

async fn reference(
    db: &DatabaseConnection,
    forum_id: Uuid,
    sql: &str,
    bounds: &[SqlValue],
) -> Result<Vec<TrendYear>, String> {
    let mut values: Vec<SqlValue> = vec![forum_id.into(), FORUM_ZONE.into()];
    values.extend(bounds.iter().cloned());
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            values,
        ))
        .await
        .map_err(|err| format!("the hand-written statement: {err}"))?;
    let field = |row: &sea_orm::QueryResult, name: &str| -> Result<i64, String> {
        row.try_get::<i64>("", name)
            .map_err(|err| format!("{name}: {err}"))
    };
    rows.iter()
        .map(|row| {
            Ok(TrendYear {
                year: row
                    .try_get::<i32>("", "year")
                    .map_err(|err| format!("year: {err}"))?,
                tasks_opened: field(row, "opened")?,
                tasks_accepted: field(row, "accepted")?,
                tasks_cancelled: field(row, "cancelled")?,
                median_days_claim_to_acceptance: row
                    .try_get::<Option<f64>>("", "median")
                    .map_err(|err| format!("median: {err}"))?,
                occurrences_met: field(row, "met")?,
                occurrences_met_late: field(row, "met_late")?,
                occurrences_missed: field(row, "missed")?,
                amendments_adopted: field(row, "adopted")?,
                objections_filed: field(row, "objections")?,
                reports_published: field(row, "published")?,
                reports_published_on_time: field(row, "on_time")?,
            })
        })
        .collect()
}

/// Whether two tables agree (medians to a billionth of a day).
fn same(ours: &[TrendYear], theirs: &[TrendYear]) -> bool {
    ours.len() == theirs.len()
        && ours.iter().zip(theirs).all(|(a, b)| {
            let medians = match (
                a.median_days_claim_to_acceptance,
                b.median_days_claim_to_acceptance,
            ) {
                (Some(x), Some(y)) => (x - y).abs() < 1e-9,
                (None, None) => true,
                _ => false,
            };
            medians
                && TrendYear {
                    median_days_claim_to_acceptance: None,
                    ..a.clone()
                } == TrendYear {
                    median_days_claim_to_acceptance: None,
                    ..b.clone()
                }
        })
}

// ---------------------------------------------------------------------------------------------
// The measurements.

/// What one size of data measured.
struct Measured {
    scale: Scale,
    seconds_to_seed: f64,
    engine_ms: Spread,
    reference_ms: Spread,
    engine_cpu_ms: Spread,
    reference_cpu_ms: Spread,
    statements: u64,
    sample: Vec<TrendYear>,
}

async fn open(dir: &tempfile::TempDir) -> Result<Engine, String> {
    let url = format!("sqlite://{}", dir.path().join("trends.db").display());
    let connection = connect(&url).await.map_err(|err| err.to_string())?;
    migrate(&connection).await.map_err(|err| err.to_string())?;
    let clock = ManualClock::new(start_instant());
    Engine::start(connection, Arc::new(clock), ConfigSource::BuiltIn)
        .await
        .map_err(|err| err.to_string())
}

async fn measure(scale: Scale) -> Result<Measured, String> {
    let dir = tempfile::tempdir().map_err(|err| err.to_string())?;
    let engine = open(&dir).await?;
    let version = engine
        .db()
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT sqlite_version()",
        ))
        .await
        .map_err(|err| err.to_string())?
        .and_then(|row| row.try_get_by_index::<String>(0).ok())
        .unwrap_or_default();
    let started = Instant::now();
    let forum_id = seed(&engine, scale).await?;
    let seconds_to_seed = started.elapsed().as_secs_f64();
    let (sql, bounds) = reference_sql()?;
    let db = engine.db();

    let ours = trends::forum_trends(&engine, forum_id, FROM_YEAR, TO_YEAR)
        .await
        .map_err(|err| format!("forum_trends: {err}"))?;
    let theirs = reference(db, forum_id, &sql, &bounds).await?;
    if !same(&ours, &theirs) {
        return Err(format!(
            "at {}, the hand-written statement disagrees with forum_trends:\n  engine:    {ours:?}\n  reference: {theirs:?}",
            scale.name
        ));
    }
    let before = engine.statements_executed();
    trends::forum_trends(&engine, forum_id, FROM_YEAR, TO_YEAR)
        .await
        .map_err(|err| format!("forum_trends: {err}"))?;
    let statements = engine.statements_executed() - before;

    let (mut engine_ms, mut reference_ms) = (Vec::new(), Vec::new());
    let (mut engine_cpu, mut reference_cpu) = (Vec::new(), Vec::new());
    for run in 0..WARM_UP + RUNS {
        let cpu = process_cpu();
        let started = Instant::now();
        trends::forum_trends(&engine, forum_id, FROM_YEAR, TO_YEAR)
            .await
            .map_err(|err| format!("forum_trends: {err}"))?;
        let elapsed = started.elapsed();
        let used = process_cpu().saturating_sub(cpu);
        if run >= WARM_UP {
            engine_ms.push(elapsed.as_secs_f64() * 1e3);
            engine_cpu.push(used.as_secs_f64() * 1e3);
        }
        let cpu = process_cpu();
        let started = Instant::now();
        reference(db, forum_id, &sql, &bounds).await?;
        let elapsed = started.elapsed();
        let used = process_cpu().saturating_sub(cpu);
        if run >= WARM_UP {
            reference_ms.push(elapsed.as_secs_f64() * 1e3);
            reference_cpu.push(used.as_secs_f64() * 1e3);
        }
    }
    let measured = Measured {
        scale,
        seconds_to_seed,
        engine_ms: spread(engine_ms),
        reference_ms: spread(reference_ms),
        engine_cpu_ms: spread(engine_cpu),
        reference_cpu_ms: spread(reference_cpu),
        statements,
        sample: ours,
    };
    println!(
        "  {:<4} SQLite {version}: {} tasks seeded in {:.1} s; forum_trends {} ({} statements), hand-written {}",
        scale.name,
        scale.tasks(),
        measured.seconds_to_seed,
        show(measured.engine_ms, 2, " ms"),
        measured.statements,
        show(measured.reference_ms, 2, " ms"),
    );
    db.clone().close().await.map_err(|err| err.to_string())?;
    drop(engine);
    Ok(measured)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

fn report(one: &Measured, ten: &Measured) {
    println!();
    println!("| check | forum_trends | hand-written statement | ratio | target | verdict |");
    println!("| --- | ---: | ---: | ---: | ---: | --- |");
    for measured in [one, ten] {
        let speed = measured.reference_ms.median / measured.engine_ms.median;
        println!(
            "| 10 years of 50 groups, {} tasks ({}), median of {RUNS} | {} | {} | {speed:.2}× speed | ≥ {SPEED_TARGET}× | {} |",
            thousands(measured.scale.tasks()),
            measured.scale.name,
            show(measured.engine_ms, 2, " ms"),
            show(measured.reference_ms, 2, " ms"),
            verdict(speed >= SPEED_TARGET),
        );
    }
    let scaling = ten.engine_ms.median / one.engine_ms.median;
    let reference_scaling = ten.reference_ms.median / one.reference_ms.median;
    println!(
        "| time at 10× / time at 1× | {scaling:.2}× | {reference_scaling:.2}× | | ≤ {SCALING_TARGET}× | {} |",
        verdict(scaling <= SCALING_TARGET),
    );
    println!();
    println!("CPU time of the process (SQLite runs inside it) per run:");
    println!();
    println!("| data | forum_trends | hand-written statement |");
    println!("| --- | ---: | ---: |");
    for measured in [one, ten] {
        println!(
            "| {} tasks ({}) | {} | {} |",
            thousands(measured.scale.tasks()),
            measured.scale.name,
            show(measured.engine_cpu_ms, 1, " ms"),
            show(measured.reference_cpu_ms, 1, " ms"),
        );
    }
    println!();
    println!(
        "forum_trends ran {} statements per call at 1× and {} at 10×; seeding took {:.1} s and {:.1} s.",
        one.statements, ten.statements, one.seconds_to_seed, ten.seconds_to_seed
    );
    if let Some(year) = ten.sample.iter().find(|year| year.year == 2021) {
        println!(
            "At 10×, 2021: {} tasks opened, {} accepted (median {:.2} days from claim), {} cancelled, {} occurrences met, {} met late, {} missed, {} amendments adopted, {} objections, {} reports published ({} on time).",
            year.tasks_opened,
            year.tasks_accepted,
            year.median_days_claim_to_acceptance.unwrap_or(f64::NAN),
            year.tasks_cancelled,
            year.occurrences_met,
            year.occurrences_met_late,
            year.occurrences_missed,
            year.amendments_adopted,
            year.objections_filed,
            year.reports_published,
            year.reports_published_on_time,
        );
    }
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut shown = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            shown.push(',');
        }
        shown.push(digit);
    }
    shown
}

async fn run() -> Result<(), String> {
    println!(
        "trends: SQLite (a temporary file), {} cores, forum_trends over {FROM_YEAR}–{TO_YEAR}",
        cores()
    );
    let one = measure(ONE).await?;
    let ten = measure(TEN).await?;
    report(&one, &ten);
    Ok(())
}

fn main() {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread tokio runtime can be built");
    let outcome = runtime.block_on(run());
    drop(runtime);
    println!();
    println!(
        "whole run: {:.0} s, process CPU {:.1} s",
        started.elapsed().as_secs_f64(),
        process_cpu().as_secs_f64()
    );
    if let Err(problem) = outcome {
        println!("FAILED: {problem}");
        std::process::exit(1);
    }
}
