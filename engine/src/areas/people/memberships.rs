//! Memberships: the roles users hold in a forum, a group or a member state. Who may grant them
//! follows the scope: the group's coordinators for a group, the forum's coordinators (and the
//! administrator) for a forum or one of its member states.

use crate::kernel::actor::{Acting, Actor, ScopeKind, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history::{self, NewEntry};
use crate::kernel::pagination::{Page, PageRequest, pages_per_parent};
use crate::workflow::subjects;
use chrono::{DateTime, Utc};
use govflow_entities::{app_user, forum, member_state, membership, working_group};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// A role a user holds in a forum, a group or a member state.
#[derive(Debug, Clone)]
pub struct Membership {
    pub id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    /// `forum`, `group` or `member_state`.
    pub scope_kind: String,
    pub scope_id: Uuid,
    /// The forum the scope belongs to.
    pub forum_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<membership::Model> for Membership {
    fn from(row: membership::Model) -> Membership {
        Membership {
            id: row.id,
            user_id: row.user_id,
            role: row.role,
            scope_kind: row.scope_kind,
            scope_id: row.scope_id,
            forum_id: row.forum_id,
            created_at: row.created_at,
        }
    }
}

pub struct NewMembership {
    pub user_id: Uuid,
    pub role: String,
    pub forum_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub member_state_id: Option<Uuid>,
}

/// A membership's scope, parsed: exactly one of forum, group or member state.
struct Scope {
    kind: ScopeKind,
    id: Uuid,
    forum_id: Uuid,
    /// The scope as a role check sees it: who may grant roles here.
    granting: SubjectScope,
    granting_role: &'static str,
}

fn parse_role(role: &str, kind: ScopeKind) -> EngineResult<String> {
    let allowed: &[&str] = match kind {
        ScopeKind::Forum => &["coordinator", "observer"],
        ScopeKind::Group => &["coordinator", "chair", "expert", "observer"],
        ScopeKind::MemberState => &["representative"],
    };
    if allowed.contains(&role) {
        Ok(role.to_owned())
    } else {
        Err(EngineError::invalid(
            "role",
            format!(
                "`{role}` cannot be held in a {}: use one of {}",
                kind.as_str().replace('_', " "),
                allowed.join(", ")
            ),
        ))
    }
}

async fn resolve_scope(txn: &DatabaseTransaction, input: &NewMembership) -> EngineResult<Scope> {
    let given = [input.forum_id, input.group_id, input.member_state_id]
        .iter()
        .filter(|id| id.is_some())
        .count();
    if given != 1 {
        return Err(EngineError::invalid(
            "scope",
            "give exactly one of forumId, groupId or memberStateId",
        ));
    }
    if let Some(forum_id) = input.forum_id {
        forum::Entity::find_by_id(forum_id)
            .one(txn)
            .await?
            .ok_or_else(|| EngineError::not_found("forum", forum_id))?;
        return Ok(Scope {
            kind: ScopeKind::Forum,
            id: forum_id,
            forum_id,
            granting: SubjectScope {
                forum_id: Some(forum_id),
                ..SubjectScope::default()
            },
            granting_role: "forum_coordinator",
        });
    }
    if let Some(group_id) = input.group_id {
        let group = working_group::Entity::find_by_id(group_id)
            .one(txn)
            .await?
            .ok_or_else(|| EngineError::not_found("working group", group_id))?;
        return Ok(Scope {
            kind: ScopeKind::Group,
            id: group_id,
            forum_id: group.forum_id,
            granting: SubjectScope {
                forum_id: Some(group.forum_id),
                group_id: Some(group_id),
                ..SubjectScope::default()
            },
            granting_role: "coordinator",
        });
    }
    let state_id = input.member_state_id.unwrap_or_default();
    let state = member_state::Entity::find_by_id(state_id)
        .one(txn)
        .await?
        .ok_or_else(|| EngineError::not_found("member state", state_id))?;
    Ok(Scope {
        kind: ScopeKind::MemberState,
        id: state_id,
        forum_id: state.forum_id,
        granting: SubjectScope {
            forum_id: Some(state.forum_id),
            ..SubjectScope::default()
        },
        granting_role: "forum_coordinator",
    })
}

pub async fn add_membership(
    engine: &Engine,
    actor: &Actor,
    input: NewMembership,
) -> EngineResult<Membership> {
    let txn = engine.begin_write().await?;
    let scope = resolve_scope(&txn, &input).await?;
    let role = parse_role(input.role.trim(), scope.kind)?;
    if app_user::Entity::find_by_id(input.user_id)
        .one(&txn)
        .await?
        .is_none()
    {
        return Err(EngineError::not_found("user", input.user_id));
    }
    if !actor.holds(scope.granting_role, &scope.granting) {
        return Err(EngineError::Forbidden(format!(
            "granting roles in this {} needs the role {}",
            scope.kind.as_str().replace('_', " "),
            scope.granting_role
        )));
    }
    let exists = membership::Entity::find()
        .filter(membership::Column::UserId.eq(input.user_id))
        .filter(membership::Column::Role.eq(role.clone()))
        .filter(membership::Column::ScopeId.eq(scope.id))
        .count(&txn)
        .await?
        > 0;
    if exists {
        return Err(EngineError::Conflict(format!(
            "the user already holds `{role}` there"
        )));
    }
    let now = engine.now();
    let row = membership::Model {
        id: Uuid::now_v7(),
        user_id: input.user_id,
        role,
        scope_kind: scope.kind.as_str().to_owned(),
        scope_id: scope.id,
        forum_id: Some(scope.forum_id),
        created_at: now,
    };
    membership::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    record(&txn, actor, &row, "add_membership", now).await?;
    txn.commit().await?;
    Ok(row.into())
}

/// Grants `role` in a group as part of another write (a group's activation makes its proposed
/// chair its chair), unless the user already holds it there.
pub async fn grant_in_group(
    txn: &DatabaseTransaction,
    user_id: Uuid,
    role: &str,
    group_id: Uuid,
    forum_id: Uuid,
    at: DateTime<Utc>,
) -> EngineResult<()> {
    let exists = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::Role.eq(role))
        .filter(membership::Column::ScopeId.eq(group_id))
        .count(txn)
        .await?
        > 0;
    if exists {
        return Ok(());
    }
    let row = membership::Model {
        id: Uuid::now_v7(),
        user_id,
        role: role.to_owned(),
        scope_kind: ScopeKind::Group.as_str().to_owned(),
        scope_id: group_id,
        forum_id: Some(forum_id),
        created_at: at,
    };
    membership::Entity::insert(row.into_active_model())
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

pub async fn remove_membership(
    engine: &Engine,
    actor: &Actor,
    membership_id: Uuid,
) -> EngineResult<Membership> {
    let txn = engine.begin_write().await?;
    let row = membership::Entity::find_by_id(membership_id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("membership", membership_id))?;
    let input = NewMembership {
        user_id: row.user_id,
        role: row.role.clone(),
        forum_id: (row.scope_kind == "forum").then_some(row.scope_id),
        group_id: (row.scope_kind == "group").then_some(row.scope_id),
        member_state_id: (row.scope_kind == "member_state").then_some(row.scope_id),
    };
    let scope = resolve_scope(&txn, &input).await?;
    if !actor.holds(scope.granting_role, &scope.granting) {
        return Err(EngineError::Forbidden(format!(
            "removing roles in this {} needs the role {}",
            scope.kind.as_str().replace('_', " "),
            scope.granting_role
        )));
    }
    membership::Entity::delete_by_id(membership_id)
        .exec(&txn)
        .await?;
    record(&txn, actor, &row, "remove_membership", engine.now()).await?;
    txn.commit().await?;
    Ok(row.into())
}

async fn record<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    row: &membership::Model,
    operation: &str,
    at: DateTime<Utc>,
) -> EngineResult<()> {
    // The entry is filed under the scope, so a group's history shows who joined and left it; on
    // a workflow subject a write that is not a transition keeps its state (from = to).
    let state = if row.scope_kind == "group" {
        subjects::state_of(db, row.scope_id).await?
    } else {
        String::new()
    };
    history::append(
        db,
        NewEntry {
            subject_id: row.scope_id,
            subject_kind: &row.scope_kind,
            transition: operation,
            from_state: &state,
            to_state: &state,
            acting: Acting::User(actor),
            reason: None,
            definition_hash: None,
            detail: Some(json!({ "userId": row.user_id.to_string(), "role": row.role })),
            at,
        },
    )
    .await?;
    Ok(())
}

/// All the memberships of many users at once (for DataLoader): a person holds a few roles, and
/// whether their address may be shown depends on all of them.
pub async fn of_users(engine: &Engine, user_ids: &[Uuid]) -> EngineResult<Vec<Membership>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.is_in(user_ids.iter().copied()))
        .order_by_asc(membership::Column::CreatedAt)
        .order_by_asc(membership::Column::Id)
        .all(engine.db())
        .await?
        .into_iter()
        .map(Membership::from)
        .collect())
}

/// The chair of each of many groups (for DataLoader): the earliest chair membership of each.
pub async fn chairs_of(engine: &Engine, group_ids: &[Uuid]) -> EngineResult<HashMap<Uuid, Uuid>> {
    let mut chairs = HashMap::new();
    for row in membership::Entity::find()
        .filter(membership::Column::ScopeId.is_in(group_ids.iter().copied()))
        .filter(membership::Column::Role.eq("chair"))
        .order_by_asc(membership::Column::CreatedAt)
        .order_by_asc(membership::Column::Id)
        .all(engine.db())
        .await?
    {
        chairs.entry(row.scope_id).or_insert(row.user_id);
    }
    Ok(chairs)
}

/// One page of the memberships held in each of many scopes (groups, forums, member states).
pub async fn pages_in_scopes(
    engine: &Engine,
    scope_ids: &[Uuid],
    page: PageRequest,
) -> EngineResult<HashMap<Uuid, Page<Membership>>> {
    let pages = pages_per_parent(
        engine.db(),
        membership::Entity::find(),
        membership::Column::ScopeId,
        scope_ids,
        &[membership::Column::CreatedAt, membership::Column::Id],
        page,
    )
    .await?;
    Ok(pages
        .into_iter()
        .map(|(scope_id, page)| (scope_id, page.map(Membership::from)))
        .collect())
}

/// Whether `viewer` may read the e-mail address of `user_id`, who holds `memberships`: the user
/// themself, an administrator, or a coordinator of a forum or group the user belongs to (a forum's
/// coordinators coordinate its groups, so they see the addresses of its groups' members). Everyone
/// else sees the name only: an address is how people are reached, and a directory of them is what
/// spammers and impostors look for.
pub fn email_readable(viewer: &Actor, user_id: Uuid, memberships: &[Membership]) -> bool {
    if viewer.user_id == user_id || viewer.is_admin {
        return true;
    }
    let places: Vec<Uuid> = memberships
        .iter()
        .flat_map(|row| [Some(row.scope_id), row.forum_id])
        .flatten()
        .collect();
    viewer
        .grants
        .iter()
        .any(|grant| grant.role == "coordinator" && places.contains(&grant.scope_id))
}
