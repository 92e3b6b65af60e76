//! Annual reports and the multi-year analysis of a group's work (seed 000: "publish an annual
//! report that presents the year's research topics, activities, and outcomes, along with the
//! implications for member states … before the Ministerial Summit").
//!
//! A report is a workflow subject (`annual_report.toml`, subject `annual_report`, [`ReportKind`])
//! of one group and one period: from the end of the previous report's period (or the group's
//! activation) to the due instant of the report deadline occurrence it meets. Its first draft is
//! generated from the period's data ([`draft`]); the chair edits it in place; `submit` stores it
//! as the next version of the report's document and `publish` adopts that version. Activating a
//! group gives it the recurring report deadline by itself ([`ReportEvents`]). [`trends`] counts a
//! group's or a forum's work per calendar year.

pub mod draft;
mod events;
mod kind;
#[cfg(test)]
mod tests;
pub mod trends;

pub use events::ReportEvents;
pub use kind::ReportKind;

use crate::areas::deadlines::occurrences::OPEN;
use crate::areas::documents;
use crate::areas::forums::{ForumSettings, with_instances_in_zones};
use crate::areas::groups;
use crate::kernel::actor::{Acting, Actor};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history::{self, NewEntry};
use crate::kernel::pagination::{Page, PageRequest, page_of};
use crate::time::stored_zone;
use crate::types::{MAX_TEXT_CHARS, RequiredText, TimeZone};
use crate::workflow::executor::{
    CreationRequest, Edit, authorize_creation, create_subject, save_edit,
};
use crate::workflow::subjects::{self, SubjectState};
use chrono::{DateTime, Datelike, Utc};
use draft::Period;
use govflow_entities::{
    annual_report, deadline, deadline_occurrence, document, forum, history_entry, report_comment,
    workflow_instance, working_group,
};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// The `metBy` of a group's report deadline.
pub const PUBLISH: &str = "publish";

/// An annual report with its workflow state.
#[derive(Debug, Clone)]
pub struct AnnualReport {
    pub id: Uuid,
    pub forum_id: Uuid,
    pub group_id: Uuid,
    pub year: i32,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub occurrence_id: Option<Uuid>,
    pub document_id: Uuid,
    pub draft: String,
    pub submitted_version: Option<i32>,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub time_zone: TimeZone,
    pub workflow: SubjectState,
}

impl AnnualReport {
    fn new(
        row: annual_report::Model,
        instance: &workflow_instance::Model,
        zone: TimeZone,
    ) -> AnnualReport {
        AnnualReport {
            workflow: SubjectState::new(instance, kind::scope_of(&row), zone),
            id: row.id,
            forum_id: row.forum_id,
            group_id: row.group_id,
            year: row.year,
            period_start: row.period_start,
            period_end: row.period_end,
            occurrence_id: row.occurrence_id,
            document_id: row.document_id,
            draft: row.draft,
            submitted_version: row.submitted_version,
            published_at: row.published_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            time_zone: zone,
        }
    }
}

/// A comment on a report.
pub type ReportComment = report_comment::Model;

/// Whether `actor` may see the report: anyone once published, its drafts only the group's
/// chair, experts and coordinators.
pub fn readable_by(actor: &Actor, report: &AnnualReport) -> bool {
    kind::may_read(actor, &report.workflow.state, &report.workflow.scope)
}

/// Reports with their instances and their groups' zones, in the order given.
async fn with_context<C: ConnectionTrait>(
    db: &C,
    rows: Vec<annual_report::Model>,
) -> EngineResult<Vec<AnnualReport>> {
    with_instances_in_zones(
        db,
        rows,
        |row| (row.id, row.group_id, row.forum_id),
        AnnualReport::new,
    )
    .await
}

pub struct NewReport {
    pub group_id: Uuid,
    /// Where the period ends when no report deadline occurrence is open (no summit planned).
    pub period_end: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// Starts a group's next report (transition `draft`: the group's chair or a coordinator, in an
/// active group), with its first draft generated from the period's data.
pub async fn draft_report(
    engine: &Engine,
    actor: &Actor,
    input: NewReport,
) -> EngineResult<AnnualReport> {
    let txn = engine.begin_write().await?;
    let group = groups::get_row_in(&txn, input.group_id).await?;
    let acting = Acting::User(actor);
    let creation = authorize_creation(
        engine,
        &txn,
        acting,
        CreationRequest {
            subject_kind: "annual_report",
            transition: "draft",
            parent_scope: &groups::group_scope(&group),
            reason: input.reason.as_deref(),
            input: &serde_json::Value::Null,
        },
    )
    .await?;
    let zone = stored_zone(&group.time_zone);
    let start = period_start(&txn, &group).await?;
    let (end, occurrence_id) = match input.period_end {
        Some(end) => (end, None),
        None => {
            let occurrence = next_occurrence(&txn, group.id, start)
                .await?
                .ok_or_else(|| {
                    EngineError::invalid(
                        "periodEnd",
                        "no report deadline of the group is open (is the next meeting of the forum's summit series scheduled?): give the end of the period",
                    )
                })?;
            (occurrence.due_at, Some(occurrence.id))
        }
    };
    if end <= start {
        return Err(EngineError::invalid(
            "periodEnd",
            format!(
                "the period starts at {} (the end of the previous report's period, or the group's activation): it must end after that",
                crate::areas::amendments::local(zone, start)
            ),
        ));
    }
    let year = end.with_timezone(&zone.tz()).year();
    let taken = annual_report::Entity::find()
        .filter(annual_report::Column::GroupId.eq(group.id))
        .filter(annual_report::Column::Year.eq(year))
        .one(&txn)
        .await?;
    if taken.is_some() {
        return Err(EngineError::Conflict(format!(
            "the group already has its report for {year}"
        )));
    }
    let forum = documents::forum_of(&txn, group.forum_id).await?;
    let period = Period { start, end, zone };
    let text = draft::generate(engine, &txn, &group, &forum, year, period).await?;
    let now = engine.now();
    let document_id = insert_document(&txn, actor, &group, &forum, year, now).await?;
    let row = annual_report::Model {
        id: Uuid::now_v7(),
        forum_id: group.forum_id,
        group_id: group.id,
        year,
        period_start: start,
        period_end: end,
        occurrence_id,
        document_id,
        draft: text,
        submitted_version: None,
        published_at: None,
        created_by: Some(actor.user_id),
        created_at: now,
        updated_at: now,
    };
    annual_report::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await
        .map_err(|err| match EngineError::from(err) {
            // Two drafts of one year raced past the check above: the unique index holds.
            EngineError::Conflict(_) => {
                EngineError::Conflict(format!("the group already has its report for {year}"))
            }
            other => other,
        })?;
    let instance = create_subject(engine, &txn, acting, &creation, row.id).await?;
    txn.commit().await?;
    Ok(AnnualReport::new(row, &instance, zone))
}

/// Where a group's next report period starts: the end of its latest report's period, else the
/// group's activation (its given start for `establish`), else its creation.
async fn period_start<C: ConnectionTrait>(
    db: &C,
    group: &working_group::Model,
) -> EngineResult<DateTime<Utc>> {
    let latest = annual_report::Entity::find()
        .filter(annual_report::Column::GroupId.eq(group.id))
        .order_by_desc(annual_report::Column::PeriodEnd)
        .one(db)
        .await?;
    if let Some(latest) = latest {
        return Ok(latest.period_end);
    }
    let activated = history_entry::Entity::find()
        .filter(history_entry::Column::SubjectId.eq(group.id))
        .filter(history_entry::Column::Transition.is_in(["establish", "activate"]))
        .order_by_desc(history_entry::Column::At)
        .one(db)
        .await?;
    Ok(match activated {
        Some(entry) if entry.transition == "establish" => group.effective_at.unwrap_or(entry.at),
        Some(entry) => entry.at,
        None => group.created_at,
    })
}

/// The earliest open occurrence of the group's report deadline due after `start` that no report
/// has taken yet.
async fn next_occurrence<C: ConnectionTrait>(
    db: &C,
    group_id: Uuid,
    start: DateTime<Utc>,
) -> EngineResult<Option<deadline_occurrence::Model>> {
    let report_deadlines = Query::select()
        .column(deadline::Column::Id)
        .from(deadline::Entity)
        .and_where(deadline::Column::SubjectId.eq(group_id))
        .and_where(deadline::Column::MetBy.eq(PUBLISH))
        .and_where(deadline::Column::State.eq("active"))
        .to_owned();
    let taken = Query::select()
        .column(annual_report::Column::OccurrenceId)
        .from(annual_report::Entity)
        .and_where(annual_report::Column::GroupId.eq(group_id))
        .and_where(annual_report::Column::OccurrenceId.is_not_null())
        .to_owned();
    Ok(deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::DeadlineId.in_subquery(report_deadlines))
        .filter(deadline_occurrence::Column::State.is_in(OPEN))
        .filter(deadline_occurrence::Column::DueAt.gt(start))
        .filter(deadline_occurrence::Column::Id.not_in_subquery(taken))
        .order_by_asc(deadline_occurrence::Column::DueAt)
        .one(db)
        .await?)
}

/// The report's document: no version until the report is submitted.
async fn insert_document<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    group: &working_group::Model,
    forum: &forum::Model,
    year: i32,
    now: DateTime<Utc>,
) -> EngineResult<Uuid> {
    let language = ForumSettings::of(forum)
        .official_languages
        .first()
        .cloned()
        .unwrap_or_else(|| "en".into());
    let row = document::Model {
        id: Uuid::now_v7(),
        forum_id: group.forum_id,
        group_id: Some(group.id),
        kind: documents::ANNUAL_REPORT.into(),
        title: format!("Annual report {year} of {}", group.name),
        symbol: None,
        original_language: language,
        created_by: Some(actor.user_id),
        created_at: now,
        updated_at: now,
    };
    document::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(db)
        .await?;
    Ok(row.id)
}

#[derive(Debug, Clone, Default)]
pub struct ReportUpdate {
    pub draft: String,
    pub expected_version: Option<i32>,
    pub reason: Option<String>,
}

/// Edits a report's draft in place (the group's chair or a coordinator) while it is drafted or
/// in review.
pub async fn update_report(
    engine: &Engine,
    actor: &Actor,
    report_id: Uuid,
    update: ReportUpdate,
) -> EngineResult<AnnualReport> {
    let txn = engine.begin_write().await?;
    let (instance, _) =
        subjects::readable_subject(engine, &txn, Acting::User(actor), report_id).await?;
    let row = kind::row_in(&txn, report_id).await?;
    let scope = kind::scope_of(&row);
    if !actor.holds("chair", &scope) && !actor.holds("coordinator", &scope) {
        return Err(EngineError::Forbidden(
            "a report's draft is edited by the group's chair or a coordinator".into(),
        ));
    }
    let forum = documents::forum_of(&txn, row.forum_id).await?;
    let text = documents::parse_text("draft", &update.draft, &ForumSettings::of(&forum))?;
    if !matches!(instance.state.as_str(), "drafting" | "in_review") {
        return Err(EngineError::InvalidTransition(format!(
            "the report is `{}`: only a report in drafting or in review is edited (return it to drafting first)",
            instance.state
        )));
    }
    let mut changed = row.clone().into_active_model();
    changed.draft = Set(text);
    changed.updated_at = Set(engine.now());
    let edit = Edit {
        subject_id: report_id,
        operation: "update_annual_report",
        expected_version: update.expected_version,
        reason: update.reason.as_deref(),
        changed: serde_json::Map::from_iter([("draft".to_owned(), json!("changed"))]),
    };
    let saved = save_edit(engine, &txn, Acting::User(actor), edit, changed).await?;
    let group = groups::get_row_in(&txn, row.group_id).await?;
    txn.commit().await?;
    Ok(AnnualReport::new(
        saved.row,
        &saved.instance,
        stored_zone(&group.time_zone),
    ))
}

/// An expert's comment on a report in review.
pub async fn comment_on_report(
    engine: &Engine,
    actor: &Actor,
    report_id: Uuid,
    text: &str,
) -> EngineResult<ReportComment> {
    let text = RequiredText::parse("text", text, MAX_TEXT_CHARS)?.into_string();
    let txn = engine.begin_write().await?;
    // The state is read with the instance row held, so that a comment never lands on a report a
    // concurrent `submit` has just moved on.
    if subjects::lock_instance(&txn, report_id).await?.is_none() {
        return Err(EngineError::not_found("annual report", report_id));
    }
    let (instance, _) =
        subjects::readable_subject(engine, &txn, Acting::User(actor), report_id).await?;
    let row = kind::row_in(&txn, report_id).await?;
    if !actor.holds("expert", &kind::scope_of(&row)) {
        return Err(EngineError::Forbidden(
            "a comment on a report needs the role expert of its group".into(),
        ));
    }
    if instance.state != "in_review" {
        return Err(EngineError::GuardFailed {
            guard: "in_review".into(),
            reason: format!(
                "the report is `{}`: comments are taken while it is in review",
                instance.state
            ),
        });
    }
    let now = engine.now();
    let comment = report_comment::Model {
        id: Uuid::now_v7(),
        report_id,
        author_id: actor.user_id,
        text,
        created_at: now,
    };
    report_comment::Entity::insert(comment.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    history::append(
        &txn,
        NewEntry {
            subject_id: report_id,
            subject_kind: "annual_report",
            transition: "comment_on_annual_report",
            from_state: &instance.state,
            to_state: &instance.state,
            acting: Acting::User(actor),
            reason: None,
            definition_hash: Some(&instance.definition_hash),
            detail: Some(json!({ "commentId": comment.id.to_string() })),
            at: now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(comment)
}

/// A report `actor` may read; NOT_FOUND for a draft they may not.
pub async fn get_report(
    engine: &Engine,
    actor: &Actor,
    report_id: Uuid,
) -> EngineResult<AnnualReport> {
    let row = kind::row_in(engine.db(), report_id).await?;
    with_context(engine.db(), vec![row])
        .await?
        .pop()
        .filter(|report| readable_by(actor, report))
        .ok_or_else(|| EngineError::not_found("annual report", report_id))
}

/// A group's report for `year`, if there is one `actor` may read.
pub async fn report_of_year(
    engine: &Engine,
    actor: &Actor,
    group_id: Uuid,
    year: i32,
) -> EngineResult<Option<AnnualReport>> {
    groups::get_row_in(engine.db(), group_id).await?;
    let row = annual_report::Entity::find()
        .filter(annual_report::Column::GroupId.eq(group_id))
        .filter(annual_report::Column::Year.eq(year))
        .one(engine.db())
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(with_context(engine.db(), vec![row])
        .await?
        .pop()
        .filter(|report| readable_by(actor, report)))
}

/// A group's reports `actor` may read, latest period first.
pub async fn list_reports(
    engine: &Engine,
    actor: &Actor,
    group_id: Uuid,
    page: PageRequest,
) -> EngineResult<Page<AnnualReport>> {
    groups::get_row_in(engine.db(), group_id).await?;
    let published = subjects::ids_where(
        "annual_report",
        workflow_instance::Column::State.eq("published"),
    );
    let readable = subjects::public_or_insiders(
        actor,
        annual_report::Column::Id.in_subquery(published),
        (
            annual_report::Column::GroupId,
            annual_report::Column::ForumId,
        ),
    );
    let query = annual_report::Entity::find()
        .filter(
            Condition::all()
                .add(annual_report::Column::GroupId.eq(group_id))
                .add(readable),
        )
        .order_by_desc(annual_report::Column::PeriodEnd)
        .order_by_desc(annual_report::Column::Id);
    let rows = page_of(engine.db(), query, page).await?;
    let items = with_context(engine.db(), rows.items).await?;
    Ok(Page::new(items, page, rows.total))
}

/// Reports by id (for DataLoader), whoever may read them: the caller filters.
pub async fn by_ids(engine: &Engine, ids: &[Uuid]) -> EngineResult<Vec<AnnualReport>> {
    let rows = annual_report::Entity::find()
        .filter(annual_report::Column::Id.is_in(ids.iter().copied()))
        .all(engine.db())
        .await?;
    with_context(engine.db(), rows).await
}

/// The comments on many reports (for DataLoader), a page per report, oldest first. The caller
/// has already read each report.
pub async fn pages_of_comments(
    engine: &Engine,
    report_ids: &[Uuid],
    page: PageRequest,
) -> EngineResult<HashMap<Uuid, Page<ReportComment>>> {
    crate::kernel::pagination::pages_per_parent(
        engine.db(),
        report_comment::Entity::find(),
        report_comment::Column::ReportId,
        report_ids,
        &[
            report_comment::Column::CreatedAt,
            report_comment::Column::Id,
        ],
        page,
    )
    .await
}
