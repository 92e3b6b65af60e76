//! Annual reports: `annualReport`, `annualReports`, and the mutations `draftAnnualReport`,
//! `updateAnnualReport`, `sendAnnualReportForReview`, `commentOnAnnualReport`,
//! `submitAnnualReport`, `returnAnnualReport`, `publishAnnualReport`. Drafts are NOT_FOUND to
//! anyone but the group's chair, experts and coordinators, through queries and mutations alike.

use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::documents::Document;
use crate::graphql::errors::EngineResultExt;
use crate::graphql::groups::WorkingGroup;
use crate::graphql::loaders::{CommentsOnReport, DocumentId, GroupId, UserId};
use crate::graphql::users::User;
use crate::graphql::workflow::{Subject, SubjectFields, take};
use crate::graphql::{actor, engine, loader, parse_id};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, FixedOffset, Utc};
use govflow_engine::pagination::Page;
use govflow_engine::reports::{
    self as area, AnnualReport as DomainReport, NewReport, ReportComment as DomainComment,
    ReportUpdate,
};
use govflow_engine::time;
use govflow_engine::workflow::subjects::SubjectState;
use govflow_engine::{EngineError, types::parse_instant};
use serde_json::json;

#[derive(Clone)]
pub struct AnnualReport(pub DomainReport);

impl AnnualReport {
    fn local(&self, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
        time::local(self.0.time_zone, instant)
    }
}

impl Subject for AnnualReport {
    fn subject_state(&self) -> &SubjectState {
        &self.0.workflow
    }
}

#[Object]
impl AnnualReport {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn group(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<WorkingGroup>> {
        Ok(loader(ctx)
            .load_one(GroupId(self.0.group_id))
            .await?
            .map(WorkingGroup))
    }
    /// The year, in the group's zone, of the instant the period ends.
    async fn year(&self) -> i32 {
        self.0.year
    }
    /// The period the report covers.
    async fn period(&self) -> ReportPeriod {
        ReportPeriod {
            start: self.local(self.0.period_start),
            end: self.local(self.0.period_end),
        }
    }
    /// The Markdown draft, edited in place until submitted.
    async fn draft(&self) -> &str {
        &self.0.draft
    }
    /// The version of the report's document the last `submit` stored, while submitted or
    /// published.
    async fn submitted_version(&self) -> Option<i32> {
        self.0.submitted_version
    }
    async fn published_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.published_at.map(|at| self.local(at))
    }
    /// The id of the report deadline occurrence whose due instant closes the period.
    async fn occurrence_id(&self) -> Option<ID> {
        self.0.occurrence_id.map(|id| ID(id.to_string()))
    }
    /// The report's document: `submit` stores the draft as its next version, `publish` adopts
    /// it.
    async fn document(&self, ctx: &Context<'_>) -> async_graphql::Result<Document> {
        loader(ctx)
            .load_one(DocumentId(self.0.document_id))
            .await?
            .map(Document)
            .ok_or_else(|| {
                crate::graphql::errors::from_engine(EngineError::not_found(
                    "document",
                    self.0.document_id,
                ))
            })
    }
    /// The experts' comments, oldest first.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<ReportComment>> {
        let request = page_request(first, after)?;
        let page = loader(ctx)
            .load_one(CommentsOnReport(self.0.id, request))
            .await?
            .unwrap_or_else(|| Page::new(Vec::new(), request, 0));
        let zone = self.0.time_zone;
        Ok(connection(page, |comment| ReportComment(comment, zone)))
    }
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.local(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<FixedOffset> {
        self.local(self.0.updated_at)
    }
    #[graphql(flatten)]
    async fn workflow(&self) -> SubjectFields {
        self.fields()
    }
}

/// The time a report covers: from the end of the previous report's period (or the group's
/// activation) to the due instant of the deadline occurrence it meets.
#[derive(async_graphql::SimpleObject)]
pub struct ReportPeriod {
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
}

#[derive(Clone)]
pub struct ReportComment(pub DomainComment, pub govflow_engine::types::TimeZone);

#[Object]
impl ReportComment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loader(ctx)
            .load_one(UserId(self.0.author_id))
            .await?
            .map(User))
    }
    async fn text(&self) -> &str {
        &self.0.text
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        time::local(self.1, self.0.created_at)
    }
}

#[derive(Default)]
pub struct ReportsQuery;

#[Object]
impl ReportsQuery {
    /// A group's report for `year`; null if there is none the caller may read.
    async fn annual_report(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        year: i32,
    ) -> async_graphql::Result<Option<AnnualReport>> {
        let actor = actor(ctx)?;
        let group_id = parse_id("groupId", &group_id)?;
        Ok(area::report_of_year(engine(ctx), actor, group_id, year)
            .await
            .gql()?
            .map(AnnualReport))
    }

    /// A group's reports the caller may read, latest period first.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn annual_reports(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<AnnualReport>> {
        let actor = actor(ctx)?;
        let group_id = parse_id("groupId", &group_id)?;
        let page = area::list_reports(engine(ctx), actor, group_id, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, AnnualReport))
    }
}

#[derive(Default)]
pub struct ReportsMutation;

impl ReportsMutation {
    /// Takes `name` on the report and answers it as it now is.
    async fn step(
        ctx: &Context<'_>,
        id: &ID,
        name: &str,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<AnnualReport> {
        let report_id = take(ctx, id, name, reason, expected_version, json!(null))
            .await?
            .instance
            .subject_id;
        Ok(AnnualReport(
            area::get_report(engine(ctx), actor(ctx)?, report_id)
                .await
                .gql()?,
        ))
    }
}

#[Object]
impl ReportsMutation {
    /// Starts the group's next report (its chair or a coordinator, in an active group), with a
    /// first draft generated from the period's data. The period ends at the group's next open
    /// report deadline occurrence; `periodEnd` (RFC 3339, with an offset) ends it where there is
    /// none.
    async fn draft_annual_report(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        period_end: Option<String>,
        reason: Option<String>,
    ) -> async_graphql::Result<AnnualReport> {
        let actor = actor(ctx)?;
        let new = NewReport {
            group_id: parse_id("groupId", &group_id)?,
            period_end: period_end
                .as_deref()
                .map(|raw| parse_instant("periodEnd", raw))
                .transpose()
                .gql()?,
            reason,
        };
        Ok(AnnualReport(
            area::draft_report(engine(ctx), actor, new).await.gql()?,
        ))
    }

    /// Replaces the draft's Markdown (the chair or a coordinator, in drafting or in review).
    async fn update_annual_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        draft: String,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<AnnualReport> {
        let actor = actor(ctx)?;
        let report_id = parse_id("id", &id)?;
        let update = ReportUpdate {
            draft,
            expected_version,
            reason,
        };
        Ok(AnnualReport(
            area::update_report(engine(ctx), actor, report_id, update)
                .await
                .gql()?,
        ))
    }

    /// Sends the draft to the group's experts for comments (the chair).
    async fn send_annual_report_for_review(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<AnnualReport> {
        Self::step(ctx, &id, "send_for_review", reason, expected_version).await
    }

    /// An expert's comment on a report in review.
    async fn comment_on_annual_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        text: String,
    ) -> async_graphql::Result<ReportComment> {
        let actor = actor(ctx)?;
        let report_id = parse_id("id", &id)?;
        let comment = area::comment_on_report(engine(ctx), actor, report_id, &text)
            .await
            .gql()?;
        let report = area::get_report(engine(ctx), actor, report_id)
            .await
            .gql()?;
        Ok(ReportComment(comment, report.time_zone))
    }

    /// Submits the report (the chair): its text becomes the next version of its document.
    /// Refused while the implications section holds only the template's placeholder.
    async fn submit_annual_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<AnnualReport> {
        Self::step(ctx, &id, "submit", reason, expected_version).await
    }

    /// Sends the report back to drafting (the chair or a coordinator); a submitted version is
    /// set aside.
    async fn return_annual_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<AnnualReport> {
        Self::step(ctx, &id, "return", reason, expected_version).await
    }

    /// Publishes a submitted report (a coordinator of the forum): its version is adopted and
    /// final, and the deadline occurrence closing its period is met.
    async fn publish_annual_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<AnnualReport> {
        Self::step(ctx, &id, "publish", reason, expected_version).await
    }
}
