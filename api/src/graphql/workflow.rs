//! What every workflow subject shares (the `WorkflowSubject` interface, its history and available
//! transitions), the definitions, and the generic `transition` mutation.

use crate::graphql::amendments::Amendment;
use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::errors::{EngineResultExt, coded, from_engine};
use crate::graphql::groups::WorkingGroup;
use crate::graphql::instruments::Instrument;
use crate::graphql::loaders::{
    AvailableOn, GroupId, HistoryOf, InstrumentId, MeetingId, TaskId, UserId,
};
use crate::graphql::meetings::Meeting;
use crate::graphql::reports::AnnualReport;
use crate::graphql::tasks::Task;
use crate::graphql::users::User;
use crate::graphql::{actor, engine, loader, parse_id};
use async_graphql::{Context, ID, Interface, Json, Object, SimpleObject};
use chrono::{DateTime, FixedOffset};
use govflow_engine::EngineError;
use govflow_engine::history::HistoryEntry as DomainHistoryEntry;
use govflow_engine::pagination::Page;
use govflow_engine::types::TimeZone;
use govflow_engine::workflow::subjects::{SubjectState, SubjectView};
use govflow_engine::workflow::{self as area, Definition, TransitionRequest, Transitioned};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Interface)]
#[graphql(
    field(name = "id", ty = "ID"),
    field(name = "state", ty = "String"),
    field(name = "version", ty = "i32"),
    field(name = "available_transitions", ty = "Vec<AvailableTransition>"),
    field(
        name = "history",
        ty = "Conn<HistoryEntry>",
        arg(name = "first", ty = "Option<i32>"),
        arg(name = "after", ty = "Option<String>")
    )
)]
pub enum WorkflowSubject {
    WorkingGroup(WorkingGroup),
    Amendment(Amendment),
    Meeting(Meeting),
    Instrument(Instrument),
    Task(Task),
    AnnualReport(AnnualReport),
}

#[derive(SimpleObject)]
pub struct AvailableTransition {
    pub name: String,
    pub to: String,
    /// Whether the transition takes `input` (see the definition).
    pub needs_input: bool,
    pub reason_required: bool,
}

/// The fields every workflow subject shares, resolved here once for all subject types: each type
/// flattens them into its own (`#[graphql(flatten)]`) and implements [`Subject`] for the
/// interface.
pub struct SubjectFields(pub SubjectState);

#[Object]
impl SubjectFields {
    /// The workflow state (a name from the subject's definition).
    async fn state(&self) -> &str {
        &self.0.state
    }
    /// The optimistic-lock counter, for `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The transitions the caller may take now; for a page of subjects, each guard runs once.
    async fn available_transitions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<AvailableTransition>> {
        actor(ctx)?;
        let list = loader(ctx)
            .load_one(AvailableOn(self.0.clone()))
            .await?
            .unwrap_or_default();
        Ok(list
            .into_iter()
            .map(|transition| AvailableTransition {
                name: transition.name,
                to: transition.to,
                needs_input: transition.needs_input,
                reason_required: transition.reason_required,
            })
            .collect())
    }
    /// What happened to the subject, oldest first, its instants in the subject's zone.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<HistoryEntry>> {
        history_of(ctx, self.0.subject_id, self.0.time_zone, first, after).await
    }
}

/// A page of the history of a subject (or of a deadline), its instants in `zone`.
pub(crate) async fn history_of(
    ctx: &Context<'_>,
    subject_id: Uuid,
    zone: TimeZone,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Conn<HistoryEntry>> {
    let request = page_request(first, after)?;
    let page = loader(ctx)
        .load_one(HistoryOf(subject_id, request))
        .await?
        .unwrap_or_else(|| Page::new(Vec::new(), request, 0));
    Ok(connection(page, |entry| HistoryEntry(entry, zone)))
}

/// A GraphQL type that is a workflow subject: the `WorkflowSubject` interface resolves its
/// shared fields through this, from the subject's state.
pub(crate) trait Subject {
    fn subject_state(&self) -> &SubjectState;

    fn fields(&self) -> SubjectFields {
        SubjectFields(self.subject_state().clone())
    }

    async fn state(&self, _ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(self.subject_state().state.clone())
    }

    async fn version(&self, _ctx: &Context<'_>) -> async_graphql::Result<i32> {
        Ok(self.subject_state().version)
    }

    async fn available_transitions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<AvailableTransition>> {
        self.fields().available_transitions(ctx).await
    }

    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<HistoryEntry>> {
        self.fields().history(ctx, first, after).await
    }
}

#[derive(Clone)]
pub struct HistoryEntry(pub DomainHistoryEntry, pub TimeZone);

#[Object]
impl HistoryEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The transition, or the operation for other writes (`update_group`, `add_membership`).
    async fn transition(&self) -> &str {
        &self.0.transition
    }
    /// Empty for the creation of the subject.
    async fn from_state(&self) -> &str {
        &self.0.from_state
    }
    async fn to_state(&self) -> &str {
        &self.0.to_state
    }
    /// `user` or `system`.
    async fn actor_kind(&self) -> &str {
        &self.0.actor_kind
    }
    /// The acting user; for `system`, the user whose action caused it, if any.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.actor_user_id {
            Some(id) => Ok(loader(ctx).load_one(UserId(id)).await?.map(User)),
            None => Ok(None),
        }
    }
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// The content hash of the definition the subject ran under.
    async fn definition_version(&self) -> Option<&str> {
        self.0.definition_hash.as_deref()
    }
    /// What a write that is not a transition changed.
    async fn detail(&self) -> Option<Json<serde_json::Value>> {
        self.0.detail.clone().map(Json)
    }
    /// When, in the subject's zone.
    async fn at(&self) -> DateTime<FixedOffset> {
        self.0.at.with_timezone(&self.1.tz()).fixed_offset()
    }
}

pub struct WorkflowDefinition(pub Arc<Definition>);

#[derive(SimpleObject)]
pub struct WorkflowState {
    pub name: String,
    pub terminal: bool,
}

#[derive(SimpleObject)]
pub struct WorkflowTransition {
    pub name: String,
    /// Empty for a creation transition.
    pub from: Vec<String>,
    pub to: String,
    pub roles: Vec<String>,
    pub guards: Vec<String>,
    pub reason_required: bool,
    pub input: Vec<String>,
}

#[Object]
impl WorkflowDefinition {
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The kind of subject it runs (`group`, `amendment`, `task`...).
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// The content hash: the definition's version.
    async fn version(&self) -> &str {
        &self.0.hash
    }
    async fn initial(&self) -> &str {
        &self.0.initial
    }
    async fn states(&self) -> Vec<WorkflowState> {
        self.0
            .states
            .iter()
            .map(|state| WorkflowState {
                name: state.name.clone(),
                terminal: state.terminal,
            })
            .collect()
    }
    async fn transitions(&self) -> Vec<WorkflowTransition> {
        self.0
            .transitions
            .iter()
            .map(|transition| WorkflowTransition {
                name: transition.name.clone(),
                from: transition.from.clone(),
                to: transition.to.clone(),
                roles: transition.roles.clone(),
                guards: transition.guards.clone(),
                reason_required: transition.reason_required,
                input: transition.input.clone(),
            })
            .collect()
    }
    async fn source(&self) -> &str {
        &self.0.source
    }
}

/// A subject as a transition handed it back, as its GraphQL type: no statement needed.
fn subject_from_view(view: &SubjectView) -> Option<WorkflowSubject> {
    Amendment::from_view(view).map(WorkflowSubject::Amendment)
}

/// Loads a subject as its GraphQL type, from its kind (through the request's loaders, so a page
/// of agenda items costs one query per kind). An amendment the caller may not read is NOT_FOUND.
pub(crate) async fn subject_of(
    ctx: &Context<'_>,
    kind: &str,
    id: Uuid,
) -> async_graphql::Result<WorkflowSubject> {
    let missing = || from_engine(EngineError::not_found("workflow subject", id));
    match kind {
        "group" => Ok(WorkflowSubject::WorkingGroup(WorkingGroup(
            loader(ctx)
                .load_one(GroupId(id))
                .await?
                .ok_or_else(missing)?,
        ))),
        "meeting" => Ok(WorkflowSubject::Meeting(Meeting(
            loader(ctx)
                .load_one(MeetingId(id))
                .await?
                .ok_or_else(missing)?,
        ))),
        "instrument" => Ok(WorkflowSubject::Instrument(Instrument(
            loader(ctx)
                .load_one(InstrumentId(id))
                .await?
                .ok_or_else(missing)?,
        ))),
        "task" => Ok(WorkflowSubject::Task(Task(
            loader(ctx)
                .load_one(TaskId(id))
                .await?
                .ok_or_else(missing)?,
        ))),
        "annual_report" => Ok(WorkflowSubject::AnnualReport(AnnualReport(
            govflow_engine::reports::get_report(engine(ctx), actor(ctx)?, id)
                .await
                .gql()?,
        ))),
        "amendment" => Ok(WorkflowSubject::Amendment(Amendment(
            govflow_engine::amendments::get_amendment(engine(ctx), actor(ctx)?, id)
                .await
                .gql()?,
        ))),
        other => Err(coded(
            "INTERNAL",
            format!("subjects of kind `{other}` have no GraphQL type"),
        )),
    }
}

/// Takes a named transition on the subject `id` for a dedicated mutation, and returns what it
/// did for the caller to answer with the subject as its own type.
pub(crate) async fn take(
    ctx: &Context<'_>,
    id: &ID,
    name: &str,
    reason: Option<String>,
    expected_version: Option<i32>,
    input: serde_json::Value,
) -> async_graphql::Result<Transitioned> {
    let actor = actor(ctx)?;
    let subject_id = parse_id("id", id)?;
    area::transition(
        engine(ctx),
        actor,
        TransitionRequest {
            subject_id,
            name: name.to_owned(),
            reason,
            expected_version,
            input,
        },
    )
    .await
    .gql()
}

#[derive(Default)]
pub struct WorkflowQuery;

#[Object]
impl WorkflowQuery {
    /// The active workflow definitions.
    async fn workflow_definitions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<WorkflowDefinition>> {
        actor(ctx)?;
        Ok(engine(ctx)
            .active_definitions()
            .await
            .gql()?
            .iter()
            .cloned()
            .map(WorkflowDefinition)
            .collect())
    }

    /// Any workflow subject by id.
    async fn subject(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WorkflowSubject> {
        actor(ctx)?;
        let id = parse_id("id", &id)?;
        let kind = area::subjects::kind_of(engine(ctx), id).await.gql()?;
        subject_of(ctx, &kind, id).await
    }
}

#[derive(Default)]
pub struct WorkflowMutation;

#[Object]
impl WorkflowMutation {
    /// Takes a named transition on a subject. `expectedVersion` refuses the move with STALE_STATE
    /// when the subject changed since the caller read it.
    async fn transition(
        &self,
        ctx: &Context<'_>,
        subject_id: ID,
        name: String,
        reason: Option<String>,
        expected_version: Option<i32>,
        input: Option<Json<serde_json::Value>>,
    ) -> async_graphql::Result<WorkflowSubject> {
        let actor = actor(ctx)?;
        let subject_id = parse_id("subjectId", &subject_id)?;
        let done = area::transition(
            engine(ctx),
            actor,
            TransitionRequest {
                subject_id,
                name,
                reason,
                expected_version,
                input: input.map(|json| json.0).unwrap_or(serde_json::Value::Null),
            },
        )
        .await
        .gql()?;
        match done.view.as_ref().and_then(subject_from_view) {
            Some(subject) => Ok(subject),
            None => subject_of(ctx, &done.instance.subject_kind, subject_id).await,
        }
    }
}
