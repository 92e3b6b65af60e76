//! Forums, their settings and their member states.

use crate::graphql::connection::{Conn, connection, page_request};
use crate::graphql::errors::{EngineResultExt, coded};
use crate::graphql::groups::WorkingGroup;
use crate::graphql::loaders::{ForumId, GroupsOf, MemberStatesOf};
use crate::graphql::{actor, engine, loader, parse_id};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, FixedOffset};
use govflow_engine::forums::{
    self as area, Forum as DomainForum, ForumSettings as Settings, SettingsPatch,
};
use govflow_engine::member_states::{self, MemberState as DomainMemberState};
use govflow_engine::pagination::Page;
use serde::{Deserialize, Serialize};

pub struct Forum(pub DomainForum);

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
    async fn settings(&self) -> async_graphql::Result<ForumSettings> {
        ForumSettings::from_engine(&self.0.settings)
    }
    async fn time_zone(&self) -> &str {
        &self.0.settings.time_zone
    }
    /// When the forum was created, with the offset of the forum's zone.
    async fn created_at(&self) -> DateTime<FixedOffset> {
        govflow_engine::time::local(self.0.settings.zone(), self.0.created_at)
    }
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn member_states(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<MemberState>> {
        let request = page_request(first, after)?;
        let page = loader(ctx)
            .load_one(MemberStatesOf(self.0.id, request))
            .await?
            .unwrap_or_else(|| Page::new(Vec::new(), request, 0));
        Ok(connection(page, MemberState))
    }
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn groups(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<WorkingGroup>> {
        let request = page_request(first, after)?;
        let page = loader(ctx)
            .load_one(GroupsOf(self.0.id, request))
            .await?
            .unwrap_or_else(|| Page::new(Vec::new(), request, 0));
        Ok(connection(page, WorkingGroup))
    }
}

// The engine's settings, field for field: converted through their shared JSON shape, so that no
// list of fields is kept twice.
/// A forum's settings.
#[derive(SimpleObject, Deserialize)]
#[serde(rename_all = "camelCase")]
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

impl ForumSettings {
    fn from_engine(settings: &Settings) -> async_graphql::Result<ForumSettings> {
        let shown = serde_json::to_value(settings).and_then(serde_json::from_value);
        shown.map_err(|err| coded("INTERNAL", format!("forum settings: {err}")))
    }
}

/// Changes to a forum's settings; absent fields keep their value.
#[derive(InputObject, Default, Serialize)]
#[serde(rename_all = "camelCase")]
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

impl ForumSettingsInput {
    fn into_patch(self) -> async_graphql::Result<SettingsPatch> {
        let patch = serde_json::to_value(self).and_then(serde_json::from_value);
        patch.map_err(|err| coded("INVALID_INPUT", format!("invalid `settings`: {err}")))
    }
}

pub struct MemberState(pub DomainMemberState);

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
                settings: input.settings.unwrap_or_default().into_patch()?,
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
                settings: input
                    .settings
                    .map(ForumSettingsInput::into_patch)
                    .transpose()?,
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
