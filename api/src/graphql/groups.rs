//! Working groups: queries, `createGroup` (the creation transition `establish`) and `updateGroup`.

use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::errors::EngineResultExt;
use crate::graphql::forums::{Forum, MemberState};
use crate::graphql::loaders::{ChairOf, ForumId, MemberStateId, TaskCountsOf, UserId};
use crate::graphql::meetings::{AgendaItem, Decision};
use crate::graphql::proposals;
use crate::graphql::users::{Membership, User, memberships_in};
use crate::graphql::workflow::{Subject, SubjectFields};
use crate::graphql::{actor, engine, loader, parse_id, parse_ids};
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, FixedOffset, Utc};
use govflow_engine::groups::{self as area, Group, GroupFilter};
use govflow_engine::time;
use govflow_engine::workflow::subjects::SubjectState;

#[derive(Clone)]
pub struct WorkingGroup(pub Group);

/// How many of a group's research tasks are in each state.
#[derive(async_graphql::SimpleObject)]
pub struct TaskCounts {
    open: i64,
    claimed: i64,
    submitted: i64,
    accepted: i64,
    cancelled: i64,
}

impl WorkingGroup {
    fn local(&self, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
        time::local(self.0.time_zone, instant)
    }
}

impl Subject for WorkingGroup {
    fn subject_state(&self) -> &SubjectState {
        &self.0.workflow
    }
}

#[Object]
impl WorkingGroup {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn theme(&self) -> &str {
        &self.0.theme
    }
    /// The IANA zone the group's dates are shown in.
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
    }
    /// When the group took effect, in the group's zone.
    async fn effective_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.effective_at.map(|at| self.local(at))
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.local(self.0.created_at)
    }
    async fn forum(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Forum>> {
        Ok(loader(ctx)
            .load_one(ForumId(self.0.forum_id))
            .await?
            .map(Forum))
    }
    async fn lead_member_state(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<MemberState>> {
        match self.0.lead_member_state_id {
            Some(id) => Ok(loader(ctx)
                .load_one(MemberStateId(id))
                .await?
                .map(MemberState)),
            None => Ok(None),
        }
    }
    /// Who holds which role in the group.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Membership>> {
        memberships_in(ctx, self.0.id, first, after).await
    }
    /// The user proposed to chair it (its chair once active).
    async fn proposed_chair(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user(ctx, self.0.proposed_chair_id).await
    }
    /// Its chair (the first, if several hold the role).
    async fn chair(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let chair = loader(ctx).load_one(ChairOf(self.0.id)).await?;
        user(ctx, chair).await
    }
    /// How many of its research tasks are in each state.
    async fn task_counts(&self, ctx: &Context<'_>) -> async_graphql::Result<TaskCounts> {
        let counts = loader(ctx)
            .load_one(TaskCountsOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(TaskCounts {
            open: counts.open,
            claimed: counts.claimed,
            submitted: counts.submitted,
            accepted: counts.accepted,
            cancelled: counts.cancelled,
        })
    }
    /// The representative who proposed it.
    async fn proposed_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user(ctx, self.0.proposed_by).await
    }
    /// The member states co-sponsoring its proposal.
    #[graphql(complexity = "100 * child_complexity + 1")]
    async fn co_sponsors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MemberState>> {
        proposals::co_sponsors(ctx, self.0.id).await
    }
    /// The agendas its proposal has been on, oldest first, with the decisions taken.
    #[graphql(complexity = "100 * child_complexity + 1")]
    async fn agenda_items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AgendaItem>> {
        proposals::agenda_items(ctx, self.0.id, self.0.time_zone).await
    }
    /// The decisions that created or renewed its mandate: meeting, number, date, rule, tally.
    #[graphql(complexity = "100 * child_complexity + 1")]
    async fn mandate_provenance(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Decision>> {
        let items = proposals::agenda_items(ctx, self.0.id, self.0.time_zone).await?;
        Ok(items
            .into_iter()
            .filter_map(|item| {
                let decision = item.0.decision?;
                (decision.outcome == "passed").then_some(Decision(decision, item.1))
            })
            .collect())
    }
    #[graphql(flatten)]
    async fn workflow(&self) -> SubjectFields {
        self.fields()
    }
}

async fn user(ctx: &Context<'_>, id: Option<uuid::Uuid>) -> async_graphql::Result<Option<User>> {
    match id {
        Some(id) => Ok(loader(ctx).load_one(UserId(id)).await?.map(User)),
        None => Ok(None),
    }
}

#[derive(InputObject)]
pub struct CreateGroupInput {
    pub forum_id: ID,
    pub name: String,
    pub theme: String,
    pub lead_member_state_id: Option<ID>,
    /// IANA zone; defaults to the forum's.
    pub time_zone: Option<String>,
    /// For a group that already existed before it was recorded here.
    pub effective_at: Option<DateTime<FixedOffset>>,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateGroupInput {
    pub name: Option<String>,
    pub theme: Option<String>,
    pub lead_member_state_id: Option<ID>,
    pub time_zone: Option<String>,
}

#[derive(Default)]
pub struct GroupsQuery;

#[Object]
impl GroupsQuery {
    async fn group(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WorkingGroup> {
        actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(WorkingGroup(area::get_group(engine(ctx), id).await.gql()?))
    }

    /// Groups, optionally of one forum and in one state, by name.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn groups(
        &self,
        ctx: &Context<'_>,
        forum_id: Option<ID>,
        state: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<WorkingGroup>> {
        actor(ctx)?;
        let filter = GroupFilter {
            forum_id: parse_ids("forumId", forum_id.as_ref())?,
            state,
        };
        let page = area::list_groups(engine(ctx), &filter, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, WorkingGroup))
    }
}

#[derive(Default)]
pub struct GroupsMutation;

#[Object]
impl GroupsMutation {
    /// Records a group that exists (transition `establish`; forum coordinators).
    async fn create_group(
        &self,
        ctx: &Context<'_>,
        input: CreateGroupInput,
    ) -> async_graphql::Result<WorkingGroup> {
        let actor = actor(ctx)?;
        let group = area::create_group(
            engine(ctx),
            actor,
            area::NewGroup {
                forum_id: parse_id("forumId", &input.forum_id)?,
                name: input.name,
                theme: input.theme,
                lead_member_state_id: parse_ids(
                    "leadMemberStateId",
                    input.lead_member_state_id.as_ref(),
                )?,
                time_zone: input.time_zone,
                effective_at: input.effective_at.map(|at| at.with_timezone(&Utc)),
                reason: input.reason,
            },
        )
        .await
        .gql()?;
        Ok(WorkingGroup(group))
    }

    /// Edits a group's own fields (its coordinators); bumps `version`.
    async fn update_group(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateGroupInput,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<WorkingGroup> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let group = area::update_group(
            engine(ctx),
            actor,
            id,
            area::GroupUpdate {
                name: input.name,
                theme: input.theme,
                lead_member_state_id: parse_ids(
                    "leadMemberStateId",
                    input.lead_member_state_id.as_ref(),
                )?,
                time_zone: input.time_zone,
            },
            expected_version,
        )
        .await
        .gql()?;
        Ok(WorkingGroup(group))
    }
}
