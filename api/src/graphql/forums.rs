//! Forums, their settings and their member states.

use crate::graphql::connection::{Conn, child_connection, connection, page_request};
use crate::graphql::errors::EngineResultExt;
use crate::graphql::groups::WorkingGroup;
use crate::graphql::loaders::{ForumId, GroupsOf, MemberStatesOf};
use crate::graphql::{actor, engine, loader, parse_id};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, FixedOffset};
use govflow_engine::entities::{forum, member_state};
use govflow_engine::forums::{self as area, ForumSettings as Settings, SettingsPatch};
use govflow_engine::member_states;

pub struct Forum(pub forum::Model);

#[Object]
impl Forum {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The optimistic-lock counter, for `updateForum(expectedVersion:)`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn settings(&self) -> ForumSettings {
        ForumSettings::from(Settings::of(&self.0))
    }
    async fn time_zone(&self) -> String {
        Settings::of(&self.0).time_zone
    }
    /// When the forum was created, with the offset of the forum's zone.
    async fn created_at(&self) -> DateTime<FixedOffset> {
        govflow_engine::time::local(Settings::of(&self.0).zone(), self.0.created_at)
    }
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn member_states(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<MemberState>> {
        let states = loader(ctx)
            .load_one(MemberStatesOf(self.0.id))
            .await?
            .unwrap_or_default();
        child_connection(&states, first, after, MemberState)
    }
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn groups(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<WorkingGroup>> {
        let all = loader(ctx)
            .load_one(GroupsOf(self.0.id))
            .await?
            .unwrap_or_default();
        child_connection(&all, first, after, WorkingGroup)
    }
}

#[derive(SimpleObject)]
pub struct ForumSettings {
    pub time_zone: String,
    pub official_languages: Vec<String>,
    /// `consensus` or `majority`.
    pub decision_rule: String,
    pub quorum: f64,
    pub claim_limit: i32,
    pub claim_lease_days: i32,
    pub min_consultation_days: i32,
    pub report_lead_days: i32,
    pub summit_series: String,
    pub max_document_bytes: i64,
}

impl From<Settings> for ForumSettings {
    fn from(settings: Settings) -> Self {
        ForumSettings {
            time_zone: settings.time_zone,
            official_languages: settings.official_languages,
            decision_rule: settings.decision_rule.as_str().to_owned(),
            quorum: settings.quorum,
            claim_limit: settings.claim_limit,
            claim_lease_days: settings.claim_lease_days,
            min_consultation_days: settings.min_consultation_days,
            report_lead_days: settings.report_lead_days,
            summit_series: settings.summit_series,
            max_document_bytes: settings.max_document_bytes,
        }
    }
}

#[derive(InputObject, Default)]
pub struct ForumSettingsInput {
    pub time_zone: Option<String>,
    pub official_languages: Option<Vec<String>>,
    pub decision_rule: Option<String>,
    pub quorum: Option<f64>,
    pub claim_limit: Option<i32>,
    pub claim_lease_days: Option<i32>,
    pub min_consultation_days: Option<i32>,
    pub report_lead_days: Option<i32>,
    pub summit_series: Option<String>,
    pub max_document_bytes: Option<i64>,
}

impl From<ForumSettingsInput> for SettingsPatch {
    fn from(input: ForumSettingsInput) -> Self {
        SettingsPatch {
            time_zone: input.time_zone,
            official_languages: input.official_languages,
            decision_rule: input.decision_rule,
            quorum: input.quorum,
            claim_limit: input.claim_limit,
            claim_lease_days: input.claim_lease_days,
            min_consultation_days: input.min_consultation_days,
            report_lead_days: input.report_lead_days,
            summit_series: input.summit_series,
            max_document_bytes: input.max_document_bytes,
        }
    }
}

pub struct MemberState(pub member_state::Model);

#[Object]
impl MemberState {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Only members vote; others adhere or observe.
    async fn is_member(&self) -> bool {
        self.0.is_member
    }
    async fn forum(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Forum>> {
        Ok(loader(ctx)
            .load_one(ForumId(self.0.forum_id))
            .await?
            .map(Forum))
    }
}

#[derive(InputObject)]
pub struct CreateForumInput {
    pub name: String,
    pub settings: Option<ForumSettingsInput>,
}

#[derive(InputObject)]
pub struct UpdateForumInput {
    pub name: Option<String>,
    pub settings: Option<ForumSettingsInput>,
}

#[derive(InputObject)]
pub struct CreateMemberStateInput {
    pub forum_id: ID,
    pub name: String,
    pub code: String,
    #[graphql(default = true)]
    pub is_member: bool,
}

#[derive(InputObject)]
pub struct UpdateMemberStateInput {
    pub name: Option<String>,
    pub code: Option<String>,
    pub is_member: Option<bool>,
}

#[derive(Default)]
pub struct ForumsQuery;

#[Object]
impl ForumsQuery {
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn forums(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Forum>> {
        actor(ctx)?;
        let page = area::list_forums(engine(ctx), page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, Forum))
    }

    async fn forum(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Forum> {
        actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Forum(area::get_forum(engine(ctx), id).await.gql()?))
    }

    async fn member_state(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<MemberState> {
        actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(MemberState(
            member_states::get_member_state(engine(ctx), id)
                .await
                .gql()?,
        ))
    }
}

#[derive(Default)]
pub struct ForumsMutation;

#[Object]
impl ForumsMutation {
    /// Creates a forum (admin).
    async fn create_forum(
        &self,
        ctx: &Context<'_>,
        input: CreateForumInput,
    ) -> async_graphql::Result<Forum> {
        let actor = actor(ctx)?;
        let forum = area::create_forum(
            engine(ctx),
            actor,
            area::NewForum {
                name: input.name,
                settings: input.settings.unwrap_or_default().into(),
            },
        )
        .await
        .gql()?;
        Ok(Forum(forum))
    }

    /// Renames a forum or changes its settings (admin, forum coordinator).
    async fn update_forum(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateForumInput,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Forum> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let forum = area::update_forum(
            engine(ctx),
            actor,
            id,
            area::ForumUpdate {
                name: input.name,
                settings: input.settings.map(Into::into),
            },
            expected_version,
        )
        .await
        .gql()?;
        Ok(Forum(forum))
    }

    /// Adds a member state to a forum (admin, forum coordinator).
    async fn create_member_state(
        &self,
        ctx: &Context<'_>,
        input: CreateMemberStateInput,
    ) -> async_graphql::Result<MemberState> {
        let actor = actor(ctx)?;
        let forum_id = parse_id("forumId", &input.forum_id)?;
        let state = member_states::create_member_state(
            engine(ctx),
            actor,
            member_states::NewMemberState {
                forum_id,
                name: input.name,
                code: input.code,
                is_member: input.is_member,
            },
        )
        .await
        .gql()?;
        Ok(MemberState(state))
    }

    async fn update_member_state(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateMemberStateInput,
    ) -> async_graphql::Result<MemberState> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let state = member_states::update_member_state(
            engine(ctx),
            actor,
            id,
            member_states::MemberStateUpdate {
                name: input.name,
                code: input.code,
                is_member: input.is_member,
            },
        )
        .await
        .gql()?;
        Ok(MemberState(state))
    }
}
