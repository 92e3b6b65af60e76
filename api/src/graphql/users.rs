//! Users and their memberships.

use crate::graphql::connection::{Conn, child_connection, connection, page_request};
use crate::graphql::errors::EngineResultExt;
use crate::graphql::forums::{Forum, MemberState};
use crate::graphql::groups::WorkingGroup;
use crate::graphql::loaders::{
    ForumId, GroupId, MemberStateId, MembershipsIn, MembershipsOfUser, UserId,
};
use crate::graphql::{actor, engine, loader, parse_id, parse_ids};
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use govflow_engine::memberships::{self, Membership as DomainMembership};
use govflow_engine::pagination::Page;
use govflow_engine::users::{self, User as DomainUser};
use uuid::Uuid;

pub struct User(pub DomainUser);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The address, for the user themself, administrators and the coordinators of a forum or
    /// group the user belongs to; `null` for everyone else.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        let viewer = actor(ctx)?;
        if viewer.user_id == self.0.id || viewer.is_admin {
            return Ok(Some(&self.0.email));
        }
        let rows = loader(ctx)
            .load_one(MembershipsOfUser(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(memberships::email_readable(viewer, self.0.id, &rows).then_some(self.0.email.as_str()))
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn is_admin(&self) -> bool {
        self.0.is_admin
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Membership>> {
        let rows = loader(ctx)
            .load_one(MembershipsOfUser(self.0.id))
            .await?
            .unwrap_or_default();
        child_connection(&rows, first, after, Membership)
    }
}

/// One page of the roles held in a group, forum or member state.
pub async fn memberships_in(
    ctx: &Context<'_>,
    scope_id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Conn<Membership>> {
    let request = page_request(first, after)?;
    let page = loader(ctx)
        .load_one(MembershipsIn(scope_id, request))
        .await?
        .unwrap_or_else(|| Page::new(Vec::new(), request, 0));
    Ok(connection(page, Membership))
}

pub struct Membership(pub DomainMembership);

#[Object]
impl Membership {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn role(&self) -> &str {
        &self.0.role
    }
    /// `forum`, `group` or `member_state`.
    async fn scope_kind(&self) -> &str {
        &self.0.scope_kind
    }
    async fn scope_id(&self) -> ID {
        ID(self.0.scope_id.to_string())
    }
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loader(ctx)
            .load_one(UserId(self.0.user_id))
            .await?
            .map(User))
    }
    async fn forum(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Forum>> {
        match self.0.forum_id {
            Some(id) => Ok(loader(ctx).load_one(ForumId(id)).await?.map(Forum)),
            None => Ok(None),
        }
    }
    async fn group(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<WorkingGroup>> {
        if self.0.scope_kind != "group" {
            return Ok(None);
        }
        Ok(loader(ctx)
            .load_one(GroupId(self.0.scope_id))
            .await?
            .map(WorkingGroup))
    }
    async fn member_state(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<MemberState>> {
        if self.0.scope_kind != "member_state" {
            return Ok(None);
        }
        Ok(loader(ctx)
            .load_one(MemberStateId(self.0.scope_id))
            .await?
            .map(MemberState))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub name: String,
    #[graphql(default)]
    pub admin: bool,
}

#[derive(InputObject)]
pub struct UpdateUserInput {
    pub email: Option<String>,
    pub name: Option<String>,
    pub admin: Option<bool>,
}

/// Exactly one of `forumId`, `groupId` or `memberStateId`.
#[derive(InputObject)]
pub struct AddMembershipInput {
    pub user_id: ID,
    /// coordinator or observer (forum); coordinator, chair, expert or observer (group);
    /// representative (member state).
    pub role: String,
    pub forum_id: Option<ID>,
    pub group_id: Option<ID>,
    pub member_state_id: Option<ID>,
}

#[derive(Default)]
pub struct UsersQuery;

#[Object]
impl UsersQuery {
    /// The caller.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        // The caller was read with the request (user and roles in one statement).
        Ok(User(users::User::from(actor(ctx)?)))
    }

    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<User> {
        actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(User(users::get_user(engine(ctx), id).await.gql()?))
    }

    /// Every user (admin).
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<User>> {
        let actor = actor(ctx)?;
        let page = users::list_users(engine(ctx), actor, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, User))
    }
}

#[derive(Default)]
pub struct UsersMutation;

#[Object]
impl UsersMutation {
    /// Creates a user (admin).
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> async_graphql::Result<User> {
        let actor = actor(ctx)?;
        let user = users::create_user(
            engine(ctx),
            actor,
            users::NewUser {
                email: input.email,
                name: input.name,
                is_admin: input.admin,
            },
        )
        .await
        .gql()?;
        Ok(User(user))
    }

    /// Edits a user (admin; a user may edit their own name and e-mail).
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateUserInput,
    ) -> async_graphql::Result<User> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let user = users::update_user(
            engine(ctx),
            actor,
            id,
            users::UserUpdate {
                email: input.email,
                name: input.name,
                is_admin: input.admin,
            },
        )
        .await
        .gql()?;
        Ok(User(user))
    }

    /// Grants a role (group: the group's coordinators; forum or member state: forum coordinators).
    async fn add_membership(
        &self,
        ctx: &Context<'_>,
        input: AddMembershipInput,
    ) -> async_graphql::Result<Membership> {
        let actor = actor(ctx)?;
        let row = memberships::add_membership(
            engine(ctx),
            actor,
            memberships::NewMembership {
                user_id: parse_id("userId", &input.user_id)?,
                role: input.role,
                forum_id: parse_ids("forumId", input.forum_id.as_ref())?,
                group_id: parse_ids("groupId", input.group_id.as_ref())?,
                member_state_id: parse_ids("memberStateId", input.member_state_id.as_ref())?,
            },
        )
        .await
        .gql()?;
        Ok(Membership(row))
    }

    /// Revokes a role; returns the membership as it was.
    async fn remove_membership(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Membership> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let row = memberships::remove_membership(engine(ctx), actor, id)
            .await
            .gql()?;
        Ok(Membership(row))
    }
}
