//! The multi-year trends of a group's or a forum's work: `groupTrends` and `forumTrends`, for
//! any signed-in user (docs/TRENDS.md). The same figures come as CSV from `crate::export`.

use crate::graphql::errors::EngineResultExt;
use crate::graphql::{actor, engine, parse_id};
use async_graphql::{Context, ID, Object, SimpleObject};
use govflow_engine::trends::{self as area, MAX_YEARS};

/// What a group (or a forum) did in one calendar year of its zone.
#[derive(Clone, SimpleObject)]
pub struct TrendYear {
    year: i32,
    /// Research tasks created in the year.
    tasks_opened: i64,
    /// Research tasks accepted in the year.
    tasks_accepted: i64,
    /// Research tasks cancelled in the year.
    tasks_cancelled: i64,
    /// The median, over the tasks accepted in the year, of the days (fractional) from their last
    /// claim or assignment to their acceptance; null when none was accepted.
    median_days_claim_to_acceptance: Option<f64>,
    /// Deadline occurrences due in the year that were met by their due instant.
    occurrences_met: i64,
    /// Deadline occurrences due in the year that were met after it.
    occurrences_met_late: i64,
    /// Deadline occurrences due in the year that were missed.
    occurrences_missed: i64,
    /// Amendments adopted in the year.
    amendments_adopted: i64,
    /// Objections to amendments filed in the year.
    objections_filed: i64,
    /// Annual reports published in the year.
    reports_published: i64,
    /// Of those, the reports published by the end of the period they cover.
    reports_published_on_time: i64,
}

impl From<area::TrendYear> for TrendYear {
    fn from(row: area::TrendYear) -> Self {
        TrendYear {
            year: row.year,
            tasks_opened: row.tasks_opened,
            tasks_accepted: row.tasks_accepted,
            tasks_cancelled: row.tasks_cancelled,
            median_days_claim_to_acceptance: row.median_days_claim_to_acceptance,
            occurrences_met: row.occurrences_met,
            occurrences_met_late: row.occurrences_met_late,
            occurrences_missed: row.occurrences_missed,
            amendments_adopted: row.amendments_adopted,
            objections_filed: row.objections_filed,
            reports_published: row.reports_published,
            reports_published_on_time: row.reports_published_on_time,
        }
    }
}

/// The complexity of a trends field: one row per year asked for (at most [`MAX_YEARS`]; a span
/// the engine refuses costs as much, as it runs nothing).
pub fn years_cost(from_year: i32, to_year: i32, child_complexity: usize) -> usize {
    let years = to_year.saturating_sub(from_year).saturating_add(1);
    let years = usize::try_from(years.clamp(1, MAX_YEARS)).unwrap_or(1);
    years.saturating_mul(child_complexity).saturating_add(1)
}

fn rows(trends: Vec<area::TrendYear>) -> Vec<TrendYear> {
    trends.into_iter().map(TrendYear::from).collect()
}

#[derive(Default)]
pub struct TrendsQuery;

#[Object]
impl TrendsQuery {
    /// A group's figures per calendar year of its zone, from `fromYear` to `toYear` (at most 50
    /// years, within 1900–9998), one row per year.
    #[graphql(complexity = "years_cost(from_year, to_year, child_complexity)")]
    async fn group_trends(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        from_year: i32,
        to_year: i32,
    ) -> async_graphql::Result<Vec<TrendYear>> {
        actor(ctx)?;
        let group_id = parse_id("groupId", &group_id)?;
        let trends = area::group_trends(engine(ctx), group_id, from_year, to_year)
            .await
            .gql()?;
        Ok(rows(trends))
    }

    /// A forum's figures per year: its groups' added up, each group's counted in its own zone,
    /// and the forum's own deadlines and amendments in the forum's zone.
    #[graphql(complexity = "years_cost(from_year, to_year, child_complexity)")]
    async fn forum_trends(
        &self,
        ctx: &Context<'_>,
        forum_id: ID,
        from_year: i32,
        to_year: i32,
    ) -> async_graphql::Result<Vec<TrendYear>> {
        actor(ctx)?;
        let forum_id = parse_id("forumId", &forum_id)?;
        let trends = area::forum_trends(engine(ctx), forum_id, from_year, to_year)
            .await
            .gql()?;
        Ok(rows(trends))
    }
}
