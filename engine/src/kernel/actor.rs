//! Who is acting, and which roles they hold where.
//!
//! An [`Actor`] is resolved once per request from the user's memberships; role checks are then
//! pure functions of the actor and the [`SubjectScope`] of the thing acted on. The roles a
//! definition may name are the stored ones plus a few computed for one subject (see
//! `DECISIONS.md`, section 2).

use crate::kernel::engine::Engine;
use crate::kernel::error::EngineResult;
use chrono::{DateTime, Utc};
use govflow_entities::{app_user, membership};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};
use std::collections::BTreeSet;
use uuid::Uuid;

/// Roles stored as memberships (`admin` is a flag on the user).
pub const STORED_ROLES: [&str; 6] = [
    "admin",
    "coordinator",
    "chair",
    "expert",
    "representative",
    "observer",
];
/// Roles computed for one subject.
pub const COMPUTED_ROLES: [&str; 4] = ["forum_coordinator", "claimant", "proposer", "system"];

pub fn role_vocabulary() -> BTreeSet<String> {
    STORED_ROLES
        .iter()
        .chain(COMPUTED_ROLES.iter())
        .map(|role| (*role).to_owned())
        .collect()
}

/// Where a membership applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Forum,
    Group,
    MemberState,
}

impl ScopeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ScopeKind::Forum => "forum",
            ScopeKind::Group => "group",
            ScopeKind::MemberState => "member_state",
        }
    }
}

/// One role held in one scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: String,
    pub scope_kind: String,
    pub scope_id: Uuid,
    pub forum_id: Option<Uuid>,
}

/// What a role check needs to know about the subject acted on (or, for a creation, its parent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SubjectScope {
    pub forum_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    /// The member state the subject speaks for: the proposing or lead member state.
    pub member_state_id: Option<Uuid>,
    /// The group that proposed the subject, whose chair counts as `proposer`.
    pub proposing_group_id: Option<Uuid>,
    /// The expert holding a task's claim.
    pub claimant_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub grants: Vec<Grant>,
}

impl Actor {
    /// Loads a user and their memberships; `None` when no such user exists.
    pub async fn load(engine: &Engine, user_id: Uuid) -> EngineResult<Option<Actor>> {
        load_actor(engine.db(), user_id).await
    }

    fn has(&self, role: &str, scope_id: Option<Uuid>) -> bool {
        let Some(scope_id) = scope_id else {
            return false;
        };
        self.grants
            .iter()
            .any(|grant| grant.role == role && grant.scope_id == scope_id)
    }

    /// Whether the actor holds `role` for a subject of this scope. `admin` passes every stored
    /// role, but never counts as representative, proposer, claimant or system.
    pub fn holds(&self, role: &str, scope: &SubjectScope) -> bool {
        let admin = self.is_admin;
        match role {
            "admin" => admin,
            "coordinator" => {
                admin
                    || self.has("coordinator", scope.group_id)
                    || self.has("coordinator", scope.forum_id)
            }
            "forum_coordinator" => admin || self.has("coordinator", scope.forum_id),
            "chair" => match scope.group_id {
                Some(group) => admin || self.has("chair", Some(group)),
                // A forum's own subject has no chair: its coordinators act as one.
                None => admin || self.has("coordinator", scope.forum_id),
            },
            "expert" => admin || self.has("expert", scope.group_id),
            "observer" => {
                admin
                    || self.has("observer", scope.group_id)
                    || self.has("observer", scope.forum_id)
            }
            "representative" => match scope.member_state_id {
                Some(_) => self.has("representative", scope.member_state_id),
                None => self.grants.iter().any(|grant| {
                    grant.role == "representative"
                        && grant.forum_id.is_some()
                        && grant.forum_id == scope.forum_id
                }),
            },
            "proposer" => {
                self.has("representative", scope.member_state_id)
                    || self.has("chair", scope.proposing_group_id)
            }
            "claimant" => scope.claimant_id == Some(self.user_id),
            _ => false,
        }
    }

    /// Whether the actor works inside the subject's group: its chair, an expert or a
    /// coordinator (of the group or its forum), or an admin. They read the group's drafts.
    pub fn is_insider(&self, scope: &SubjectScope) -> bool {
        ["chair", "expert", "coordinator"]
            .iter()
            .any(|role| self.holds(role, scope))
    }

    /// The scopes (groups, forums, member states) in which the actor holds one of `roles`.
    pub fn scopes_holding(&self, roles: &[&str]) -> Vec<Uuid> {
        self.grants
            .iter()
            .filter(|grant| roles.contains(&grant.role.as_str()))
            .map(|grant| grant.scope_id)
            .collect()
    }

    pub fn holds_any(&self, roles: &[String], scope: &SubjectScope) -> bool {
        roles.iter().any(|role| self.holds(role, scope))
    }
}

/// One row of a user joined with one of their memberships (none for a user without roles).
#[derive(FromQueryResult)]
struct UserWithRole {
    id: Uuid,
    email: String,
    name: String,
    is_admin: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    role: Option<String>,
    scope_kind: Option<String>,
    scope_id: Option<Uuid>,
    forum_id: Option<Uuid>,
}

/// The statement [`Actor::load`] runs: the user joined with their memberships. Public so that
/// a benchmark's floor runs exactly the same SQL.
pub fn caller_query(user_id: Uuid) -> SelectStatement {
    Query::select()
        .columns([
            (app_user::Entity, app_user::Column::Id),
            (app_user::Entity, app_user::Column::Email),
            (app_user::Entity, app_user::Column::Name),
            (app_user::Entity, app_user::Column::IsAdmin),
            (app_user::Entity, app_user::Column::CreatedAt),
            (app_user::Entity, app_user::Column::UpdatedAt),
        ])
        .columns([
            (membership::Entity, membership::Column::Role),
            (membership::Entity, membership::Column::ScopeKind),
            (membership::Entity, membership::Column::ScopeId),
            (membership::Entity, membership::Column::ForumId),
        ])
        .from(app_user::Entity)
        .left_join(
            membership::Entity,
            Expr::col((membership::Entity, membership::Column::UserId))
                .equals((app_user::Entity, app_user::Column::Id)),
        )
        .and_where(Expr::col((app_user::Entity, app_user::Column::Id)).eq(user_id))
        .to_owned()
}

/// The user and their roles, in one statement: every request starts here, so it costs one
/// round trip, not one per table.
async fn load_actor<C: ConnectionTrait>(db: &C, user_id: Uuid) -> EngineResult<Option<Actor>> {
    let query = caller_query(user_id);
    let rows = UserWithRole::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let (id, email, name, is_admin, created_at, updated_at) = (
        first.id,
        first.email.clone(),
        first.name.clone(),
        first.is_admin,
        first.created_at,
        first.updated_at,
    );
    let grants = rows
        .into_iter()
        .filter_map(|row| {
            Some(Grant {
                role: row.role?,
                scope_kind: row.scope_kind?,
                scope_id: row.scope_id?,
                forum_id: row.forum_id,
            })
        })
        .collect();
    Ok(Some(Actor {
        user_id: id,
        email,
        name,
        is_admin,
        created_at,
        updated_at,
        grants,
    }))
}

/// Who a transition or write is attributed to.
#[derive(Debug, Clone, Copy)]
pub enum Acting<'a> {
    User(&'a Actor),
    /// The engine itself, with the user whose action caused it, if any.
    System {
        on_behalf_of: Option<Uuid>,
    },
}

impl Acting<'_> {
    pub fn holds_any(&self, roles: &[String], scope: &SubjectScope) -> bool {
        match self {
            Acting::User(actor) => actor.holds_any(roles, scope),
            Acting::System { .. } => roles.iter().any(|role| role == "system"),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Acting::User(_) => "user",
            Acting::System { .. } => "system",
        }
    }

    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Acting::User(actor) => Some(actor.user_id),
            Acting::System { on_behalf_of } => *on_behalf_of,
        }
    }
}
