//! The multi-year trends of a working group's work (`groupTrends`, `forumTrends`, and their CSV
//! export): per calendar year, the tasks opened, accepted and cancelled, the median time from
//! claim to acceptance, the deadline occurrences met, met late and missed, the amendments
//! adopted, the objections filed and the annual reports published (on time or not).
//!
//! Every figure counts an instant in the calendar year of the group's zone (DECISIONS §13): a
//! task accepted on 31 December at 20:00 UTC belongs to the next year in Seoul. A forum's trends
//! add up its groups' years, each group counted in its own zone; the forum's own deadlines and
//! amendments (those of no group) count in the forum's zone.
//!
//! The figures are computed in SQL, in a bounded number of statements whatever the data: one to
//! find the group (or two for a forum: the forum, then its groups' zones) and one that counts
//! everything. The years' bounds are computed here, where the zone database is, and travel as
//! values of that statement; the counting, the bucketing by year and the median are the
//! database's.

use crate::areas::forums;
use crate::areas::groups;
use crate::kernel::db::{DatabaseKind, backend_kind};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::time::{resolve, stored_zone};
use chrono::{DateTime, NaiveDate, Utc};
use govflow_entities::working_group;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Statement, Value,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The longest span of years one request may cover.
pub const MAX_YEARS: i32 = 50;
/// The years a request may name (those whose bounds every zone can compute).
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 9998;

/// What a group (or a forum) did in one calendar year.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendYear {
    pub year: i32,
    /// Research tasks created in the year.
    pub tasks_opened: i64,
    /// Research tasks accepted in the year.
    pub tasks_accepted: i64,
    /// Research tasks cancelled in the year.
    pub tasks_cancelled: i64,
    /// Over the tasks accepted in the year: the median of the days (fractional, to the
    /// millisecond) from their last claim or assignment to their acceptance; none when no task
    /// with a claim was accepted.
    pub median_days_claim_to_acceptance: Option<f64>,
    /// Deadline occurrences due in the year, by how they ended.
    pub occurrences_met: i64,
    pub occurrences_met_late: i64,
    pub occurrences_missed: i64,
    /// Amendments adopted in the year.
    pub amendments_adopted: i64,
    /// Objections to amendments filed in the year.
    pub objections_filed: i64,
    /// Annual reports published in the year, and of those, the ones published by the end of
    /// the period they cover.
    pub reports_published: i64,
    pub reports_published_on_time: i64,
}

impl TrendYear {
    fn empty(year: i32) -> TrendYear {
        TrendYear {
            year,
            tasks_opened: 0,
            tasks_accepted: 0,
            tasks_cancelled: 0,
            median_days_claim_to_acceptance: None,
            occurrences_met: 0,
            occurrences_met_late: 0,
            occurrences_missed: 0,
            amendments_adopted: 0,
            objections_filed: 0,
            reports_published: 0,
            reports_published_on_time: 0,
        }
    }
}

/// The trends of one group, a row per year from `from_year` to `to_year`.
pub async fn group_trends(
    engine: &Engine,
    group_id: Uuid,
    from_year: i32,
    to_year: i32,
) -> EngineResult<Vec<TrendYear>> {
    let years = Years::checked(from_year, to_year)?;
    let group = groups::get_row_in(engine.db(), group_id).await?;
    let calendars = Calendars::of([group.time_zone], years);
    figures(engine, Scope::Group(group_id), &calendars, years).await
}

/// The trends of a forum: its groups' figures added up year by year, each group's counted in
/// its own zone, with the forum's own deadlines and amendments counted in the forum's zone. The
/// median is taken over all the forum's tasks accepted in the year.
pub async fn forum_trends(
    engine: &Engine,
    forum_id: Uuid,
    from_year: i32,
    to_year: i32,
) -> EngineResult<Vec<TrendYear>> {
    let years = Years::checked(from_year, to_year)?;
    let forum = forums::get_forum(engine, forum_id).await?;
    let own_zone = forum.settings.zone().name().to_owned();
    let group_zones: Vec<String> = working_group::Entity::find()
        .select_only()
        .column(working_group::Column::TimeZone)
        .distinct()
        .filter(working_group::Column::ForumId.eq(forum_id))
        .into_tuple()
        .all(engine.db())
        .await?;
    // A group that moves to a zone not read here, between this statement and the next, is left
    // out of this one answer (its rows find no calendar); the next request counts it.
    let calendars = Calendars::of(group_zones.into_iter().chain([own_zone.clone()]), years);
    let own_calendar = calendars.calendar_of(&own_zone);
    figures(
        engine,
        Scope::Forum {
            forum_id,
            own_calendar,
        },
        &calendars,
        years,
    )
    .await
}

/// The CSV of some trends: a header of the fields' snake_case names, then one line per year;
/// a year without a median leaves its cell empty. Lines end with CRLF (RFC 4180).
pub fn to_csv(rows: &[TrendYear]) -> String {
    let mut csv = String::from(
        "year,tasks_opened,tasks_accepted,tasks_cancelled,median_days_claim_to_acceptance,\
         occurrences_met,occurrences_met_late,occurrences_missed,amendments_adopted,\
         objections_filed,reports_published,reports_published_on_time\r\n",
    );
    for row in rows {
        let median = row
            .median_days_claim_to_acceptance
            .map(|days| days.to_string())
            .unwrap_or_default();
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            row.year,
            row.tasks_opened,
            row.tasks_accepted,
            row.tasks_cancelled,
            median,
            row.occurrences_met,
            row.occurrences_met_late,
            row.occurrences_missed,
            row.amendments_adopted,
            row.objections_filed,
            row.reports_published,
            row.reports_published_on_time,
        ));
    }
    csv
}

/// A checked span of years.
#[derive(Debug, Clone, Copy)]
struct Years {
    from: i32,
    to: i32,
}

impl Years {
    fn checked(from: i32, to: i32) -> EngineResult<Years> {
        let range = format!("must be between {FIRST_YEAR} and {LAST_YEAR}");
        if !(FIRST_YEAR..=LAST_YEAR).contains(&from) {
            return Err(EngineError::invalid("fromYear", range));
        }
        if !(FIRST_YEAR..=LAST_YEAR).contains(&to) {
            return Err(EngineError::invalid("toYear", range));
        }
        if to < from {
            return Err(EngineError::invalid(
                "toYear",
                format!("{to} is before fromYear {from}"),
            ));
        }
        if to - from >= MAX_YEARS {
            return Err(EngineError::invalid(
                "toYear",
                format!(
                    "a request covers at most {MAX_YEARS} years: {from} to {} at the latest",
                    from + MAX_YEARS - 1
                ),
            ));
        }
        Ok(Years { from, to })
    }

    fn iter(self) -> impl Iterator<Item = i32> {
        self.from..=self.to
    }

    fn len(self) -> usize {
        usize::try_from(self.to - self.from + 1).unwrap_or(0)
    }
}

/// The zones of a request, grouped into calendars: zones whose years begin at the same instants
/// share one. A statement then carries the bounds of each calendar, not of each zone or group:
/// New Year falls at one of some forty UTC offsets, so a forum whose groups span many zones
/// still sends a few hundred values at most.
struct Calendars {
    /// Each zone as stored (the name a group's row holds), with its calendar's number.
    zones: Vec<(String, usize)>,
    /// Per calendar, the instant each year begins, from `from` to `to + 1` (the last is the end
    /// of the last year).
    starts: Vec<Vec<DateTime<Utc>>>,
}

impl Calendars {
    fn of(names: impl IntoIterator<Item = String>, years: Years) -> Calendars {
        let mut calendars = Calendars {
            zones: Vec::new(),
            starts: Vec::new(),
        };
        let mut numbers: HashMap<Vec<DateTime<Utc>>, usize> = HashMap::new();
        for name in names {
            if calendars.zones.iter().any(|(known, _)| *known == name) {
                continue;
            }
            // Read as everywhere else: a stored name that no longer parses counts in UTC.
            let zone = stored_zone(&name);
            let starts: Vec<DateTime<Utc>> = (years.from..=years.to + 1)
                .map(|year| {
                    let new_year = NaiveDate::from_ymd_opt(year, 1, 1)
                        .and_then(|day| day.and_hms_opt(0, 0, 0))
                        .unwrap_or_default();
                    resolve(zone, new_year)
                })
                .collect();
            let next = numbers.len();
            let number = *numbers.entry(starts.clone()).or_insert(next);
            if number == next {
                calendars.starts.push(starts);
            }
            calendars.zones.push((name, number));
        }
        calendars
    }

    fn calendar_of(&self, name: &str) -> usize {
        self.zones
            .iter()
            .find(|(known, _)| known == name)
            .map_or(0, |(_, number)| *number)
    }
}

/// Whose rows are counted.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Group(Uuid),
    /// The forum's groups, and its own rows (of no group) in the calendar `own_calendar`.
    Forum {
        forum_id: Uuid,
        own_calendar: usize,
    },
}

/// A statement being written, with its values bound in the order they appear.
struct Sql {
    kind: DatabaseKind,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(kind: DatabaseKind) -> Sql {
        Sql {
            kind,
            text: String::new(),
            values: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`: `?` on SQLite, `$n` on PostgreSQL.
    fn bind(&mut self, value: impl Into<Value>) -> &mut Sql {
        self.values.push(value.into());
        match self.kind {
            DatabaseKind::Sqlite => self.text.push('?'),
            DatabaseKind::Postgres => self.text.push_str(&format!("${}", self.values.len())),
        }
        self
    }

    fn statement(self) -> Statement {
        let backend = match self.kind {
            DatabaseKind::Sqlite => sea_orm::DbBackend::Sqlite,
            DatabaseKind::Postgres => sea_orm::DbBackend::Postgres,
        };
        Statement::from_sql_and_values(backend, self.text, self.values)
    }
}

/// The days from claim to acceptance of the task `t`, to the millisecond, as a double: SQLite
/// stores instants as RFC 3339 text, which `julianday` reads (its value is a whole number of
/// milliseconds over 86,400,000, so rounding the difference recovers it exactly); PostgreSQL
/// subtracts its timestamps.
fn days_to_acceptance(kind: DatabaseKind) -> &'static str {
    match kind {
        DatabaseKind::Sqlite => {
            "(CAST(ROUND((julianday(t.accepted_at) - julianday(t.claimed_at)) * 86400000.0) \
             AS DOUBLE PRECISION) / 86400000.0)"
        }
        DatabaseKind::Postgres => {
            "(CAST(ROUND(EXTRACT(EPOCH FROM (t.accepted_at - t.claimed_at)) * 1000) \
             AS DOUBLE PRECISION) / 86400000.0)"
        }
    }
}

/// The condition that puts `instant` in the year `b` (a row of `bounds`).
fn within(instant: &str) -> String {
    format!("{instant} >= b.starts AND {instant} < b.ends")
}

/// The tasks of each group in scope whose `instant` falls in each year, counted per group and
/// year by one range of the index `(group_id, instant)` each, then added up per year: so only a
/// few hundred counts, not every task, go through the GROUP BY.
fn tasks_counted(figure: &str, instant: &str) -> String {
    format!(
        "SELECT '{figure}' AS figure, per.year AS year, CAST(SUM(per.n) AS BIGINT) AS n, \
         CAST(NULL AS DOUBLE PRECISION) AS value FROM (SELECT b.year AS year, \
         (SELECT COUNT(*) FROM research_task t WHERE t.group_id = s.id AND {}) AS n \
         FROM scope s JOIN bounds b ON b.calendar = s.calendar) per GROUP BY per.year",
        within(&format!("t.{instant}"))
    )
}

/// One branch of the statement: rows counted per year under the name `figure`.
fn counted(figure: &str, from: &str) -> String {
    format!(
        "SELECT '{figure}' AS figure, b.year AS year, COUNT(*) AS n, \
         CAST(NULL AS DOUBLE PRECISION) AS value FROM {from} GROUP BY b.year"
    )
}

/// The occurrences `o` of the deadline `d`, whatever their state: those still scheduled or due,
/// and cancelled ones, are counted too and left out when the rows are laid out. A condition on
/// the state here would lead SQLite's planner to the `(state, …)` indexes, over every forum's
/// occurrences, instead of from the deadlines in scope.
const OCCURRENCES: &str = "JOIN deadline_occurrence o ON o.deadline_id = d.id";

/// The figure an occurrence counts in: `occurrences_met`, `occurrences_met_late`,
/// `occurrences_missed` (and others, such as `occurrences_cancelled`, that are not shown).
const OCCURRENCE_FIGURE: &str = "'occurrences_' || o.state";

/// Occurrences per year and state, `from` naming the occurrences `o`.
fn occurrences(from: &str) -> String {
    format!(
        "SELECT {OCCURRENCE_FIGURE} AS figure, b.year AS year, COUNT(*) AS n, \
         CAST(NULL AS DOUBLE PRECISION) AS value FROM {from} GROUP BY o.state, b.year"
    )
}

/// The statement that computes every figure of every year: the calendars' zones and year bounds
/// as VALUES, the groups in scope with their calendar, then one branch per figure, each putting
/// its rows in the year whose bounds hold their instant. Rows come back as (figure, year, count,
/// value); only the median has a value.
///
/// The indexes of migration `m20261205_000008_reports` give the branches one range per group and
/// year that holds all they read: the tasks' `(group_id, created_at)`,
/// `(group_id, accepted_at, claimed_at)` (the median's durations) and `(group_id, cancelled_at)`,
/// and the occurrences' `(deadline_id, due_at, state)`. The cost follows the rows of the groups
/// and years asked for, and SQLite's planner, which has no statistics to go by, has one good plan
/// to find (docs/BENCHMARKS.md, "Trends").
fn figures_sql(kind: DatabaseKind, scope: Scope, calendars: &Calendars, years: Years) -> Sql {
    let mut sql = Sql::new(kind);
    sql.push("WITH zones(zone, calendar) AS (VALUES ");
    for (n, (name, calendar)) in calendars.zones.iter().enumerate() {
        if n > 0 {
            sql.push(", ");
        }
        // Calendar numbers and years are integers made here: written out, they leave the bound
        // values to the instants (two per calendar and year), well within any driver's limit.
        sql.push("(")
            .bind(name.clone())
            .push(&format!(", {calendar})"));
    }
    sql.push("), bounds(calendar, year, starts, ends) AS (VALUES ");
    let mut first = true;
    for (calendar, starts) in calendars.starts.iter().enumerate() {
        for (n, year) in years.iter().enumerate() {
            if !first {
                sql.push(", ");
            }
            first = false;
            sql.push(&format!("({calendar}, {year}, "))
                .bind(starts[n])
                .push(", ")
                .bind(starts[n + 1])
                .push(")");
        }
    }
    sql.push("), scope(id, calendar) AS (SELECT g.id, z.calendar FROM working_group g ")
        .push("JOIN zones z ON z.zone = g.time_zone WHERE ");
    match scope {
        Scope::Group(group_id) => sql.push("g.id = ").bind(group_id),
        Scope::Forum { forum_id, .. } => sql.push("g.forum_id = ").bind(forum_id),
    };
    sql.push(") ");

    let in_scope = "scope s JOIN bounds b ON b.calendar = s.calendar";
    let days = days_to_acceptance(kind);
    let branches = [
        tasks_counted("tasks_opened", "created_at"),
        tasks_counted("tasks_accepted", "accepted_at"),
        tasks_counted("tasks_cancelled", "cancelled_at"),
        // The median: the middle one of the year's durations in order, or the mean of the two
        // middle ones (positions (n + 1) / 2 and (n + 2) / 2 in integer division). The duration
        // is computed once per task, in `durations`.
        format!(
            "SELECT 'median' AS figure, ranked.year AS year, COUNT(*) AS n, \
             AVG(ranked.days) AS value FROM (SELECT year, days, \
             ROW_NUMBER() OVER (PARTITION BY year ORDER BY days) AS position, \
             COUNT(*) OVER (PARTITION BY year) AS total \
             FROM (SELECT b.year AS year, {days} AS days FROM {in_scope} \
             JOIN research_task t ON t.group_id = s.id AND {} \
             WHERE t.claimed_at IS NOT NULL) durations) ranked \
             WHERE ranked.position IN ((ranked.total + 1) / 2, (ranked.total + 2) / 2) \
             GROUP BY ranked.year",
            within("t.accepted_at")
        ),
        occurrences(&format!(
            "scope s JOIN deadline d ON d.group_id = s.id {OCCURRENCES} \
             JOIN bounds b ON b.calendar = s.calendar AND {}",
            within("o.due_at")
        )),
        counted(
            "amendments_adopted",
            &format!(
                "{in_scope} JOIN amendment a ON a.group_id = s.id AND {}",
                within("a.adopted_at")
            ),
        ),
        counted(
            "objections_filed",
            &format!(
                "{in_scope} JOIN amendment a ON a.group_id = s.id \
                 JOIN amendment_response r ON r.amendment_id = a.id AND r.kind = 'objection' \
                 AND {}",
                within("r.created_at")
            ),
        ),
        counted(
            "reports_published",
            &format!(
                "{in_scope} JOIN annual_report p ON p.group_id = s.id AND {}",
                within("p.published_at")
            ),
        ),
        counted(
            "reports_published_on_time",
            &format!(
                "{in_scope} JOIN annual_report p ON p.group_id = s.id AND {} \
                 AND p.published_at <= p.period_end",
                within("p.published_at")
            ),
        ),
    ];
    sql.push(&branches.join(" UNION ALL "));

    // The forum's own rows (its deadlines and amendments of no group), in the forum's calendar.
    // Each branch ends with the forum's id and its GROUP BY.
    if let Scope::Forum {
        forum_id,
        own_calendar,
    } = scope
    {
        let own = format!("bounds b ON b.calendar = {own_calendar}");
        let no_value = "CAST(NULL AS DOUBLE PRECISION) AS value";
        let own_branches = [
            (
                format!(
                    "SELECT {OCCURRENCE_FIGURE} AS figure, b.year AS year, COUNT(*) AS n, \
                     {no_value} \
                     FROM deadline d {OCCURRENCES} JOIN {own} AND {}",
                    within("o.due_at")
                ),
                "d",
                "o.state, b.year",
            ),
            (
                format!(
                    "SELECT 'amendments_adopted' AS figure, b.year AS year, COUNT(*) AS n, {no_value} \
                     FROM amendment a JOIN {own} AND {}",
                    within("a.adopted_at")
                ),
                "a",
                "b.year",
            ),
            (
                format!(
                    "SELECT 'objections_filed' AS figure, b.year AS year, COUNT(*) AS n, {no_value} \
                     FROM amendment a JOIN amendment_response r ON r.amendment_id = a.id \
                     AND r.kind = 'objection' JOIN {own} AND {}",
                    within("r.created_at")
                ),
                "a",
                "b.year",
            ),
        ];
        for (select, table, group_by) in own_branches {
            sql.push(" UNION ALL ")
                .push(&select)
                .push(&format!(
                    " WHERE {table}.group_id IS NULL AND {table}.forum_id = "
                ))
                .bind(forum_id)
                .push(&format!(" GROUP BY {group_by}"));
        }
    }
    sql
}

/// Runs the statement and lays its rows out as one [`TrendYear`] per year.
async fn figures(
    engine: &Engine,
    scope: Scope,
    calendars: &Calendars,
    years: Years,
) -> EngineResult<Vec<TrendYear>> {
    let sql = figures_sql(backend_kind(engine.db()), scope, calendars, years);
    let rows = engine.db().query_all_raw(sql.statement()).await?;
    let mut trends: Vec<TrendYear> = years.iter().map(TrendYear::empty).collect();
    for row in rows {
        let figure: String = row.try_get("", "figure")?;
        let year: i32 = row.try_get("", "year")?;
        let n: i64 = row.try_get("", "n")?;
        let value: Option<f64> = row.try_get("", "value")?;
        let Some(trend) = usize::try_from(year - years.from)
            .ok()
            .filter(|index| *index < years.len())
            .and_then(|index| trends.get_mut(index))
        else {
            continue;
        };
        // The forum's own rows come as branches of their own: counts of one name add up.
        match figure.as_str() {
            "tasks_opened" => trend.tasks_opened += n,
            "tasks_accepted" => trend.tasks_accepted += n,
            "tasks_cancelled" => trend.tasks_cancelled += n,
            "median" => trend.median_days_claim_to_acceptance = value,
            "occurrences_met" => trend.occurrences_met += n,
            "occurrences_met_late" => trend.occurrences_met_late += n,
            "occurrences_missed" => trend.occurrences_missed += n,
            "amendments_adopted" => trend.amendments_adopted += n,
            "objections_filed" => trend.objections_filed += n,
            "reports_published" => trend.reports_published += n,
            "reports_published_on_time" => trend.reports_published_on_time += n,
            // Occurrences that have not ended (`scheduled`, `due`) or were cancelled.
            _ => {}
        }
    }
    Ok(trends)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year(year: i32, opened: i64, median: Option<f64>) -> TrendYear {
        TrendYear {
            tasks_opened: opened,
            median_days_claim_to_acceptance: median,
            ..TrendYear::empty(year)
        }
    }

    #[test]
    fn the_csv_has_a_header_and_a_line_per_year_with_an_empty_cell_for_no_median() {
        let csv = to_csv(&[year(2027, 4, Some(4.0)), year(2028, 0, None)]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "year,tasks_opened,tasks_accepted,tasks_cancelled,median_days_claim_to_acceptance,\
             occurrences_met,occurrences_met_late,occurrences_missed,amendments_adopted,\
             objections_filed,reports_published,reports_published_on_time"
        );
        assert_eq!(lines[1], "2027,4,0,0,4,0,0,0,0,0,0,0");
        assert_eq!(lines[2], "2028,0,0,0,,0,0,0,0,0,0,0");
        assert_eq!(lines[3], "");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn spans_of_years_are_checked() {
        assert!(Years::checked(2027, 2028).is_ok());
        assert!(Years::checked(1900, 1949).is_ok());
        for (from, to, field) in [
            (2028, 2027, "toYear"),
            (2000, 2059, "toYear"),
            (1899, 1900, "fromYear"),
            (9998, 9999, "toYear"),
        ] {
            match Years::checked(from, to) {
                Err(EngineError::InvalidInput { field: named, .. }) => {
                    assert_eq!(named, field, "{from}..{to}")
                }
                other => panic!("{from}..{to}: {other:?}"),
            }
        }
    }

    #[test]
    fn zones_whose_years_begin_together_share_a_calendar() {
        let years = Years::checked(2027, 2028).unwrap();
        let calendars = Calendars::of(
            [
                "Asia/Seoul".to_owned(),
                "Asia/Tokyo".to_owned(),
                "America/New_York".to_owned(),
                "Asia/Seoul".to_owned(),
            ],
            years,
        );
        assert_eq!(calendars.starts.len(), 2);
        assert_eq!(calendars.calendar_of("Asia/Tokyo"), 0);
        assert_eq!(calendars.calendar_of("America/New_York"), 1);
        // 2028 begins in Seoul at 15:00 UTC on 31 December 2027.
        assert_eq!(
            calendars.starts[0][1].to_rfc3339(),
            "2027-12-31T15:00:00+00:00"
        );
        assert_eq!(calendars.zones.len(), 3);
    }
}
