//! Research tasks and work plans: `tasks`, `task`, `claimableTasks`, `myTasks`, `workPlan`,
//! `outcomes`, and
//! the mutations `createTopic`, `createTask`, `updateTask`, `claimTask`, `releaseTask`,
//! `assignTask`, `declineTask`, `submitTask`, `acceptTask`, `returnTask`, `cancelTask`.

use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::documents::Document;
use crate::graphql::errors::EngineResultExt;
use crate::graphql::groups::WorkingGroup;
use crate::graphql::loaders::{DocumentId, GroupId, TaskId, TasksOfTopic, UserId};
use crate::graphql::users::User;
use crate::graphql::workflow::{Subject, SubjectFields, take};
use crate::graphql::{actor, engine, loader, parse_id, parse_ids};
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, FixedOffset, Utc};
use govflow_engine::pagination::Page;
use govflow_engine::tasks::{
    self as area, NewTask, NewTopic, Task as DomainTask, TaskFilter, TaskUpdate,
    Topic as DomainTopic,
};
use govflow_engine::time;
use govflow_engine::workflow::subjects::SubjectState;
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Task(pub DomainTask);

impl Task {
    fn local(&self, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
        time::local(self.0.time_zone, instant)
    }
}

impl Subject for Task {
    fn subject_state(&self) -> &SubjectState {
        &self.0.workflow
    }
}

#[Object]
impl Task {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn group(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<WorkingGroup>> {
        Ok(loader(ctx)
            .load_one(GroupId(self.0.group_id))
            .await?
            .map(WorkingGroup))
    }
    async fn topic_id(&self) -> Option<ID> {
        self.0.topic_id.map(|id| ID(id.to_string()))
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The expert holding the claim (or assigned it), while claimed or submitted, and the one
    /// who delivered an accepted task.
    async fn claimant(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.claimant_id {
            Some(id) => Ok(loader(ctx).load_one(UserId(id)).await?.map(User)),
            None => Ok(None),
        }
    }
    /// Whether the chair assigned it (the claimant may then decline).
    async fn assigned(&self) -> bool {
        self.0.assigned
    }
    /// The deliverable's text, once submitted.
    async fn deliverable_text(&self) -> Option<&str> {
        self.0.deliverable_text.as_deref()
    }
    /// The document delivered, once submitted, with `deliverableVersion`.
    async fn deliverable_document(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Document>> {
        match self.0.deliverable_document_id {
            Some(id) => Ok(loader(ctx).load_one(DocumentId(id)).await?.map(Document)),
            None => Ok(None),
        }
    }
    async fn deliverable_version(&self) -> Option<i32> {
        self.0.deliverable_version
    }
    async fn submitted_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.submitted_at.map(|at| self.local(at))
    }
    async fn accepted_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.accepted_at.map(|at| self.local(at))
    }
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.local(self.0.created_at)
    }
    #[graphql(flatten)]
    async fn workflow(&self) -> SubjectFields {
        self.fields()
    }
}

/// A topic of a group's work plan, with its tasks.
#[derive(Clone)]
pub struct Topic(pub DomainTopic);

#[Object]
impl Topic {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// 1-based place in the work plan.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// Its tasks, by creation.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Task>> {
        let request = page_request(first, after)?;
        let page = loader(ctx)
            .load_one(TasksOfTopic(self.0.id, request))
            .await?
            .unwrap_or_else(|| Page::new(Vec::new(), request, 0));
        Ok(connection(page, Task))
    }
}

/// A work plan holds at most this many topics: what the complexity of `workPlan` counts.
const PLAN_COST: usize = area::MAX_TOPICS as usize;

#[derive(Default)]
pub struct TasksQuery;

#[Object]
impl TasksQuery {
    /// Tasks, optionally of one group, topic and state, by creation.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        group_id: Option<ID>,
        topic_id: Option<ID>,
        state: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Task>> {
        actor(ctx)?;
        let filter = TaskFilter {
            group_id: parse_ids("groupId", group_id.as_ref())?,
            topic_id: parse_ids("topicId", topic_id.as_ref())?,
            state,
            ..TaskFilter::default()
        };
        let page = area::list_tasks(engine(ctx), &filter, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, Task))
    }

    async fn task(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Task> {
        actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Task(loader(ctx).load_one(TaskId(id)).await?.ok_or_else(
            || {
                crate::graphql::errors::from_engine(govflow_engine::EngineError::not_found(
                    "task", id,
                ))
            },
        )?))
    }

    /// The open tasks of the groups the caller is an expert of.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn claimable_tasks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Task>> {
        let actor = actor(ctx)?;
        let page = area::claimable_tasks(engine(ctx), actor, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, Task))
    }

    /// The tasks the caller holds or delivered, optionally in one state.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn my_tasks(
        &self,
        ctx: &Context<'_>,
        state: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Task>> {
        let actor = actor(ctx)?;
        let page = area::my_tasks(engine(ctx), actor, state, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, Task))
    }

    /// The tasks of a group accepted in `year` (its calendar), by topic: its outcomes.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn outcomes(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        year: i32,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Task>> {
        actor(ctx)?;
        let group_id = parse_id("groupId", &group_id)?;
        let page = area::outcomes(engine(ctx), group_id, year, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, Task))
    }

    /// A group's work plan: its topics in order (at most 100), each with its tasks.
    #[graphql(complexity = "PLAN_COST * child_complexity + 1")]
    async fn work_plan(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
    ) -> async_graphql::Result<Vec<Topic>> {
        actor(ctx)?;
        let group_id = parse_id("groupId", &group_id)?;
        Ok(area::work_plan(engine(ctx), group_id)
            .await
            .gql()?
            .into_iter()
            .map(Topic)
            .collect())
    }
}

#[derive(InputObject)]
pub struct CreateTopicInput {
    group_id: ID,
    title: String,
}

#[derive(InputObject)]
pub struct CreateTaskInput {
    group_id: ID,
    topic_id: Option<ID>,
    title: String,
    description: Option<String>,
    /// When it is due, a local date-time of the group (`2027-03-31T17:00`): a deadline on the
    /// task, met when it is accepted, reminding the coordinators by the default plan.
    due_at: Option<String>,
    reason: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateTaskInput {
    title: Option<String>,
    /// Blank clears it.
    description: Option<String>,
    topic_id: Option<ID>,
    expected_version: Option<i32>,
    reason: Option<String>,
}

#[derive(Default)]
pub struct TasksMutation;

impl TasksMutation {
    /// Takes `name` on the task and answers it as it now is.
    async fn step(
        ctx: &Context<'_>,
        id: &ID,
        name: &str,
        reason: Option<String>,
        expected_version: Option<i32>,
        input: Value,
    ) -> async_graphql::Result<Task> {
        let task_id = take(ctx, id, name, reason, expected_version, input)
            .await?
            .instance
            .subject_id;
        Ok(Task(area::get_task(engine(ctx), task_id).await.gql()?))
    }
}

#[Object]
impl TasksMutation {
    /// Adds a topic at the end of a group's work plan (the group's chair).
    async fn create_topic(
        &self,
        ctx: &Context<'_>,
        input: CreateTopicInput,
    ) -> async_graphql::Result<Topic> {
        let actor = actor(ctx)?;
        let new = NewTopic {
            group_id: parse_id("groupId", &input.group_id)?,
            title: input.title,
        };
        Ok(Topic(
            area::create_topic(engine(ctx), actor, new).await.gql()?,
        ))
    }

    /// Creates an open task (the group's chair, in an active group).
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        input: CreateTaskInput,
    ) -> async_graphql::Result<Task> {
        let actor = actor(ctx)?;
        let new = NewTask {
            group_id: parse_id("groupId", &input.group_id)?,
            topic_id: parse_ids("topicId", input.topic_id.as_ref())?,
            title: input.title,
            description: input.description,
            due: input.due_at,
            reason: input.reason,
        };
        Ok(Task(
            area::create_task(engine(ctx), actor, new).await.gql()?,
        ))
    }

    async fn update_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateTaskInput,
    ) -> async_graphql::Result<Task> {
        let actor = actor(ctx)?;
        let task_id = parse_id("id", &id)?;
        let update = TaskUpdate {
            title: input.title,
            description: input.description,
            topic_id: parse_ids("topicId", input.topic_id.as_ref())?,
            expected_version: input.expected_version,
            reason: input.reason,
        };
        Ok(Task(
            area::update_task(engine(ctx), actor, task_id, update)
                .await
                .gql()?,
        ))
    }

    /// Claims an open task (an expert of its group, within the forum's claim limit); one of
    /// many simultaneous claims wins, the others are ALREADY_CLAIMED.
    async fn claim_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Task> {
        Self::step(ctx, &id, "claim", reason, expected_version, json!(null)).await
    }

    /// Gives up a claim (the claimant, or the chair).
    async fn release_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Task> {
        Self::step(ctx, &id, "release", reason, expected_version, json!(null)).await
    }

    /// Assigns an open task to an expert of its group (the chair).
    async fn assign_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expert_id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Task> {
        let input = json!({ "expertId": expert_id.as_str() });
        Self::step(ctx, &id, "assign", reason, expected_version, input).await
    }

    /// Declines an assigned task (its claimant).
    async fn decline_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Task> {
        Self::step(ctx, &id, "decline", reason, expected_version, json!(null)).await
    }

    /// Delivers a claimed task (its claimant): a text, or a version of a document of the group.
    #[allow(clippy::too_many_arguments)]
    async fn submit_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        text: Option<String>,
        document_id: Option<ID>,
        version: Option<i32>,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Task> {
        let input = json!({
            "text": text,
            "documentId": document_id.map(|id| id.0),
            "version": version,
        });
        Self::step(ctx, &id, "submit", reason, expected_version, input).await
    }

    /// Accepts a delivered task (the chair): one of the group's outcomes.
    async fn accept_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Task> {
        Self::step(ctx, &id, "accept", reason, expected_version, json!(null)).await
    }

    /// Returns a delivered task to its claimant with comments (the chair); a new lease starts.
    async fn return_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Task> {
        Self::step(
            ctx,
            &id,
            "return",
            Some(reason),
            expected_version,
            json!(null),
        )
        .await
    }

    /// Cancels an open or claimed task (the chair).
    async fn cancel_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Task> {
        Self::step(ctx, &id, "cancel", reason, expected_version, json!(null)).await
    }
}
