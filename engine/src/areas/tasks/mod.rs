//! The work plan of a group (seed 000: research topics, activities, outcomes): topics in order,
//! and research tasks under them that one expert claims (or the chair assigns), delivers, and the
//! chair accepts or returns. A task is a workflow subject (`research_task.toml`, subject `task`);
//! its claims run under leases ([`leases`]); accepted tasks are the group's outcomes.
//!
//! Claims are exclusive: the executor's version-checked UPDATE lets one of many simultaneous
//! claims win, and the others are refused ALREADY_CLAIMED naming the winner ([`TaskKind`]).

mod kind;
mod leases;

pub use kind::TaskKind;

use crate::areas::deadlines::{self, NewDeadline};
use crate::areas::forums::with_instances_in_zones;
use crate::areas::groups;
use crate::kernel::actor::{Acting, Actor};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::pagination::{Page, PageRequest, page_of};
use crate::time::stored_zone;
use crate::types::{MAX_NAME_CHARS, MAX_TEXT_CHARS, RequiredText, SingleLine, TimeZone};
use crate::workflow::executor::{
    CreationRequest, Edit, authorize_creation, create_subject, save_edit,
};
use crate::workflow::subjects::{self, SubjectState};
use chrono::{DateTime, Utc};
use govflow_entities::{membership, research_task, work_topic, workflow_instance};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// The most topics a work plan holds (what `workPlan` returns whole).
pub const MAX_TOPICS: u64 = 100;

/// A research task with its workflow state.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: Uuid,
    pub forum_id: Uuid,
    pub group_id: Uuid,
    pub topic_id: Option<Uuid>,
    pub title: String,
    pub description: Option<String>,
    pub claimant_id: Option<Uuid>,
    pub assigned: bool,
    pub deliverable_text: Option<String>,
    pub deliverable_document_id: Option<Uuid>,
    pub deliverable_version: Option<i32>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub time_zone: TimeZone,
    pub workflow: SubjectState,
}

impl Task {
    fn new(row: research_task::Model, instance: &workflow_instance::Model, zone: TimeZone) -> Task {
        Task {
            workflow: SubjectState::new(instance, kind::scope_of(&row), zone),
            id: row.id,
            forum_id: row.forum_id,
            group_id: row.group_id,
            topic_id: row.topic_id,
            title: row.title,
            description: row.description,
            claimant_id: row.claimant_id,
            assigned: row.assigned,
            deliverable_text: row.deliverable_text,
            deliverable_document_id: row.deliverable_document_id,
            deliverable_version: row.deliverable_version,
            submitted_at: row.submitted_at,
            accepted_at: row.accepted_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            time_zone: zone,
        }
    }
}

/// A topic of a work plan.
pub type Topic = work_topic::Model;

/// Tasks with their instances and their groups' zones, in the order given.
async fn with_context<C: ConnectionTrait>(
    db: &C,
    rows: Vec<research_task::Model>,
) -> EngineResult<Vec<Task>> {
    with_instances_in_zones(
        db,
        rows,
        |row| (row.id, row.group_id, row.forum_id),
        Task::new,
    )
    .await
}

fn parse_title(raw: &str) -> EngineResult<String> {
    Ok(SingleLine::parse("title", raw, MAX_NAME_CHARS)?.into_string())
}

fn parse_description(raw: Option<&str>) -> EngineResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Ok(Some(
            RequiredText::parse("description", text, MAX_TEXT_CHARS)?.into_string(),
        )),
    }
}

/// The topic, which must be of `group_id`.
async fn topic_of<C: ConnectionTrait>(
    db: &C,
    topic_id: Uuid,
    group_id: Uuid,
) -> EngineResult<work_topic::Model> {
    let topic = work_topic::Entity::find_by_id(topic_id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("topic", topic_id))?;
    if topic.group_id != group_id {
        return Err(EngineError::invalid(
            "topicId",
            "names a topic of another group",
        ));
    }
    Ok(topic)
}

pub struct NewTopic {
    pub group_id: Uuid,
    pub title: String,
}

/// Adds a topic at the end of a group's work plan (the group's chair, in an active group).
pub async fn create_topic(engine: &Engine, actor: &Actor, input: NewTopic) -> EngineResult<Topic> {
    let title = parse_title(&input.title)?;
    let txn = engine.begin_write().await?;
    let group = groups::get_row_in(&txn, input.group_id).await?;
    let scope = groups::group_scope(&group);
    if !actor.holds("chair", &scope) {
        return Err(EngineError::Forbidden(
            "a work plan is written by the group's chair".into(),
        ));
    }
    if subjects::state_of(&txn, group.id).await? != "active" {
        return Err(crate::workflow::guards::refuse(
            "group_active",
            "the group is not `active`",
        ));
    }
    let count: Vec<work_topic::Model> = work_topic::Entity::find()
        .filter(work_topic::Column::GroupId.eq(group.id))
        .order_by_desc(work_topic::Column::Position)
        .limit(1)
        .all(&txn)
        .await?;
    let position = count.first().map_or(1, |last| last.position + 1);
    if u64::try_from(position).unwrap_or(u64::MAX) > MAX_TOPICS {
        return Err(EngineError::invalid(
            "groupId",
            format!("a work plan holds at most {MAX_TOPICS} topics"),
        ));
    }
    let now = engine.now();
    let row = work_topic::Model {
        id: Uuid::now_v7(),
        forum_id: group.forum_id,
        group_id: group.id,
        title,
        position,
        created_by: Some(actor.user_id),
        created_at: now,
        updated_at: now,
    };
    work_topic::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    Ok(row)
}

/// A group's work plan: its topics in order.
pub async fn work_plan(engine: &Engine, group_id: Uuid) -> EngineResult<Vec<Topic>> {
    groups::get_row_in(engine.db(), group_id).await?;
    Ok(work_topic::Entity::find()
        .filter(work_topic::Column::GroupId.eq(group_id))
        .order_by_asc(work_topic::Column::Position)
        .limit(MAX_TOPICS)
        .all(engine.db())
        .await?)
}

pub struct NewTask {
    pub group_id: Uuid,
    pub topic_id: Option<Uuid>,
    pub title: String,
    pub description: Option<String>,
    /// When the task is due, a local date-time of the group (`2027-03-31T17:00`): a deadline on
    /// the task, met when it is accepted.
    pub due: Option<String>,
    pub reason: Option<String>,
}

/// Creates a task (transition `create`: the group's chair, in an active group); it starts open.
pub async fn create_task(engine: &Engine, actor: &Actor, input: NewTask) -> EngineResult<Task> {
    let title = parse_title(&input.title)?;
    let description = parse_description(input.description.as_deref())?;
    let due = match input.due.as_deref() {
        Some(text) => Some(crate::time::rules::parse_wall(text).ok_or_else(|| {
            EngineError::invalid(
                "dueAt",
                format!("`{text}` is not a local date and time such as `2027-03-31T17:00`"),
            )
        })?),
        None => None,
    };
    let txn = engine.begin_write().await?;
    let group = groups::get_row_in(&txn, input.group_id).await?;
    let acting = Acting::User(actor);
    let creation = authorize_creation(
        engine,
        &txn,
        acting,
        CreationRequest {
            subject_kind: "task",
            transition: "create",
            parent_scope: &groups::group_scope(&group),
            reason: input.reason.as_deref(),
            input: &serde_json::Value::Null,
        },
    )
    .await?;
    if let Some(topic_id) = input.topic_id {
        topic_of(&txn, topic_id, group.id).await?;
    }
    let now = engine.now();
    let row = research_task::Model {
        id: Uuid::now_v7(),
        forum_id: group.forum_id,
        group_id: group.id,
        topic_id: input.topic_id,
        title,
        description,
        claimant_id: None,
        assigned: false,
        deliverable_text: None,
        deliverable_document_id: None,
        deliverable_version: None,
        submitted_at: None,
        accepted_at: None,
        claimed_at: None,
        cancelled_at: None,
        created_by: Some(actor.user_id),
        created_at: now,
        updated_at: now,
    };
    research_task::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    let instance = create_subject(engine, &txn, acting, &creation, row.id).await?;
    if let Some(due) = due {
        let deadline = NewDeadline {
            subject_id: row.id,
            title: format!("Due: {}", row.title),
            rule: format!("at {}", crate::time::rules::wall_text(due)),
            met_by: Some("accept".into()),
            ..NewDeadline::default()
        };
        deadlines::set_in(engine, &txn, acting, deadline)
            .await
            .map_err(|err| match err {
                EngineError::InvalidInput { problem, .. } => EngineError::invalid("dueAt", problem),
                other => other,
            })?;
    }
    txn.commit().await?;
    Ok(Task::new(row, &instance, stored_zone(&group.time_zone)))
}

#[derive(Debug, Clone, Default)]
pub struct TaskUpdate {
    pub title: Option<String>,
    /// Blank clears it.
    pub description: Option<String>,
    pub topic_id: Option<Uuid>,
    pub expected_version: Option<i32>,
    pub reason: Option<String>,
}

/// Changes a task's title, description or topic (the group's chair), while it is not closed.
pub async fn update_task(
    engine: &Engine,
    actor: &Actor,
    task_id: Uuid,
    update: TaskUpdate,
) -> EngineResult<Task> {
    let title = update.title.as_deref().map(parse_title).transpose()?;
    let description = update
        .description
        .as_deref()
        .map(|text| parse_description(Some(text)))
        .transpose()?;
    let txn = engine.begin_write().await?;
    let row = kind::row_in(&txn, task_id).await?;
    if !actor.holds("chair", &kind::scope_of(&row)) {
        return Err(EngineError::Forbidden(
            "a task is changed by the group's chair".into(),
        ));
    }
    let state = subjects::state_of(&txn, task_id).await?;
    if matches!(state.as_str(), "accepted" | "cancelled") {
        return Err(EngineError::InvalidTransition(format!(
            "the task is {state}: it can no longer be changed"
        )));
    }
    if let Some(topic_id) = update.topic_id {
        topic_of(&txn, topic_id, row.group_id).await?;
    }
    let mut changed = row.clone().into_active_model();
    let mut fields = serde_json::Map::new();
    if let Some(title) = title {
        fields.insert("title".into(), json!(title));
        changed.title = Set(title);
    }
    if let Some(description) = description {
        fields.insert("description".into(), json!(description));
        changed.description = Set(description);
    }
    if let Some(topic_id) = update.topic_id {
        fields.insert("topicId".into(), json!(topic_id));
        changed.topic_id = Set(Some(topic_id));
    }
    changed.updated_at = Set(engine.now());
    let edit = Edit {
        subject_id: task_id,
        operation: "update_task",
        expected_version: update.expected_version,
        reason: update.reason.as_deref(),
        changed: fields,
    };
    let saved = save_edit(engine, &txn, Acting::User(actor), edit, changed).await?;
    let zone =
        crate::areas::forums::Zones::of_place(&txn, Some(row.group_id), Some(row.forum_id)).await?;
    txn.commit().await?;
    Ok(Task::new(saved.row, &saved.instance, zone))
}

pub async fn get_task(engine: &Engine, task_id: Uuid) -> EngineResult<Task> {
    let row = kind::row_in(engine.db(), task_id).await?;
    with_context(engine.db(), vec![row])
        .await?
        .pop()
        .ok_or_else(|| EngineError::not_found("task", task_id))
}

pub async fn by_ids(engine: &Engine, ids: &[Uuid]) -> EngineResult<Vec<Task>> {
    let rows = research_task::Entity::find()
        .filter(research_task::Column::Id.is_in(ids.iter().copied()))
        .all(engine.db())
        .await?;
    with_context(engine.db(), rows).await
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub group_id: Option<Uuid>,
    pub topic_id: Option<Uuid>,
    pub state: Option<String>,
    pub claimant_id: Option<Uuid>,
    /// Only the tasks of the groups this user is an expert of.
    pub expert_id: Option<Uuid>,
}

/// Tasks by creation, filtered.
pub async fn list_tasks(
    engine: &Engine,
    filter: &TaskFilter,
    page: PageRequest,
) -> EngineResult<Page<Task>> {
    let mut condition = Condition::all();
    if let Some(group_id) = filter.group_id {
        condition = condition.add(research_task::Column::GroupId.eq(group_id));
    }
    if let Some(topic_id) = filter.topic_id {
        condition = condition.add(research_task::Column::TopicId.eq(topic_id));
    }
    if let Some(claimant_id) = filter.claimant_id {
        condition = condition.add(research_task::Column::ClaimantId.eq(claimant_id));
    }
    if let Some(expert_id) = filter.expert_id {
        let groups = Query::select()
            .column(membership::Column::ScopeId)
            .from(membership::Entity)
            .and_where(membership::Column::UserId.eq(expert_id))
            .and_where(membership::Column::Role.eq("expert"))
            .to_owned();
        condition = condition.add(research_task::Column::GroupId.in_subquery(groups));
    }
    if let Some(state) = &filter.state {
        condition = condition.add(research_task::Column::Id.in_subquery(subjects::ids_where(
            "task",
            workflow_instance::Column::State.eq(state.clone()),
        )));
    }
    let query = research_task::Entity::find()
        .filter(condition)
        .order_by_asc(research_task::Column::CreatedAt)
        .order_by_asc(research_task::Column::Id);
    let rows = page_of(engine.db(), query, page).await?;
    let items = with_context(engine.db(), rows.items).await?;
    Ok(Page::new(items, page, rows.total))
}

/// The open tasks of the groups the caller is an expert of.
pub async fn claimable_tasks(
    engine: &Engine,
    actor: &Actor,
    page: PageRequest,
) -> EngineResult<Page<Task>> {
    let filter = TaskFilter {
        expert_id: Some(actor.user_id),
        state: Some("open".into()),
        ..TaskFilter::default()
    };
    list_tasks(engine, &filter, page).await
}

/// The tasks the caller holds (claimed or submitted) or delivered.
pub async fn my_tasks(
    engine: &Engine,
    actor: &Actor,
    state: Option<String>,
    page: PageRequest,
) -> EngineResult<Page<Task>> {
    let filter = TaskFilter {
        claimant_id: Some(actor.user_id),
        state,
        ..TaskFilter::default()
    };
    list_tasks(engine, &filter, page).await
}

/// The tasks of a group accepted in `year` (the group's calendar), by topic and acceptance: the
/// outcomes an annual report lists.
pub async fn outcomes(
    engine: &Engine,
    group_id: Uuid,
    year: i32,
    page: PageRequest,
) -> EngineResult<Page<Task>> {
    let group = groups::get_row_in(engine.db(), group_id).await?;
    let zone = stored_zone(&group.time_zone);
    let new_year = |year: i32| {
        chrono::NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .filter(|_| (1900..=9998).contains(&year))
            .map(|wall| crate::time::resolve(zone, wall))
            .ok_or_else(|| EngineError::invalid("year", "must be between 1900 and 9998"))
    };
    let (from, to) = (new_year(year)?, new_year(year + 1)?);
    let query = research_task::Entity::find()
        .filter(research_task::Column::GroupId.eq(group_id))
        .filter(research_task::Column::AcceptedAt.gte(from))
        .filter(research_task::Column::AcceptedAt.lt(to))
        .order_by_asc(research_task::Column::TopicId)
        .order_by_asc(research_task::Column::AcceptedAt)
        .order_by_asc(research_task::Column::Id);
    let rows = page_of(engine.db(), query, page).await?;
    let items = with_context(engine.db(), rows.items).await?;
    Ok(Page::new(items, page, rows.total))
}

/// The tasks of many topics (for DataLoader), a page per topic.
pub async fn pages_of_topics(
    engine: &Engine,
    topic_ids: &[Uuid],
    page: PageRequest,
) -> EngineResult<HashMap<Uuid, Page<Task>>> {
    let pages = crate::kernel::pagination::pages_per_parent(
        engine.db(),
        research_task::Entity::find(),
        research_task::Column::TopicId,
        topic_ids,
        &[research_task::Column::CreatedAt, research_task::Column::Id],
        page,
    )
    .await?;
    crate::kernel::pagination::load_pages(
        pages,
        |row| row.id,
        |task: &Task| task.id,
        |rows| with_context(engine.db(), rows),
    )
    .await
}

/// How many of a group's tasks are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub open: i64,
    pub claimed: i64,
    pub submitted: i64,
    pub accepted: i64,
    pub cancelled: i64,
}

/// The task counts of many groups (for DataLoader), in one statement: tasks joined with their
/// instances, counted per group and state by the database.
pub async fn counts_by_state(
    engine: &Engine,
    group_ids: &[Uuid],
) -> EngineResult<HashMap<Uuid, TaskCounts>> {
    use sea_orm::FromQueryResult;
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    #[derive(FromQueryResult)]
    struct Counted {
        group_id: Uuid,
        state: String,
        tasks: i64,
    }
    let query = Query::select()
        .column((research_task::Entity, research_task::Column::GroupId))
        .column((workflow_instance::Entity, workflow_instance::Column::State))
        .expr_as(
            Func::count(Expr::col((
                research_task::Entity,
                research_task::Column::Id,
            ))),
            "tasks",
        )
        .from(research_task::Entity)
        .inner_join(
            workflow_instance::Entity,
            Expr::col((
                workflow_instance::Entity,
                workflow_instance::Column::SubjectId,
            ))
            .equals((research_task::Entity, research_task::Column::Id)),
        )
        .and_where(
            Expr::col((research_task::Entity, research_task::Column::GroupId))
                .is_in(group_ids.iter().copied()),
        )
        .group_by_col((research_task::Entity, research_task::Column::GroupId))
        .group_by_col((workflow_instance::Entity, workflow_instance::Column::State))
        .to_owned();
    let db = engine.db();
    let rows = Counted::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    let mut counts: HashMap<Uuid, TaskCounts> = HashMap::new();
    for row in rows {
        let entry = counts.entry(row.group_id).or_default();
        let slot = match row.state.as_str() {
            "open" => &mut entry.open,
            "claimed" => &mut entry.claimed,
            "submitted" => &mut entry.submitted,
            "accepted" => &mut entry.accepted,
            "cancelled" => &mut entry.cancelled,
            // A state a forum's own definition adds is not counted here.
            _ => continue,
        };
        *slot += row.tasks;
    }
    Ok(counts)
}
