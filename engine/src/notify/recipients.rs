//! Resolving a role named in a definition to the users who hold it for one subject, when a notice
//! is written. Recipients are resolved at that moment, so a membership added later does not
//! receive an old notice.

use crate::kernel::actor::SubjectScope;
use crate::kernel::error::EngineResult;
use govflow_entities::{app_user, member_state, membership};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
}

/// The users holding `role` for a subject of `scope`, each once, ordered by e-mail.
pub async fn users_holding<C: ConnectionTrait>(
    db: &C,
    role: &str,
    scope: &SubjectScope,
) -> EngineResult<Vec<Recipient>> {
    let grants = |role: &str, scope_id: Option<Uuid>| {
        scope_id.map(|id| {
            Condition::all()
                .add(membership::Column::Role.eq(role))
                .add(membership::Column::ScopeId.eq(id))
        })
    };
    let mut conditions: Vec<Condition> = Vec::new();
    let mut admins = false;
    match role {
        "admin" => admins = true,
        "coordinator" => {
            conditions.extend(grants("coordinator", scope.group_id));
            conditions.extend(grants("coordinator", scope.forum_id));
        }
        "forum_coordinator" => conditions.extend(grants("coordinator", scope.forum_id)),
        "chair" => match scope.group_id {
            Some(group) => conditions.extend(grants("chair", Some(group))),
            None => conditions.extend(grants("coordinator", scope.forum_id)),
        },
        "expert" => conditions.extend(grants("expert", scope.group_id)),
        "observer" => {
            conditions.extend(grants("observer", scope.group_id));
            conditions.extend(grants("observer", scope.forum_id));
        }
        "representative" => match scope.member_state_id {
            Some(state) => conditions.extend(grants("representative", Some(state))),
            None => {
                if let Some(forum_id) = scope.forum_id {
                    let states: Vec<Uuid> = member_state::Entity::find()
                        .filter(member_state::Column::ForumId.eq(forum_id))
                        .all(db)
                        .await?
                        .into_iter()
                        .map(|state| state.id)
                        .collect();
                    conditions.push(
                        Condition::all()
                            .add(membership::Column::Role.eq("representative"))
                            .add(membership::Column::ScopeId.is_in(states)),
                    );
                }
            }
        },
        "proposer" => {
            conditions.extend(grants("representative", scope.member_state_id));
            conditions.extend(grants("chair", scope.proposing_group_id));
        }
        _ => {}
    }

    let mut user_ids: Vec<Uuid> = Vec::new();
    if !conditions.is_empty() {
        let any = conditions
            .into_iter()
            .fold(Condition::any(), |any, condition| any.add(condition));
        user_ids.extend(
            membership::Entity::find()
                .filter(any)
                .all(db)
                .await?
                .into_iter()
                .map(|row| row.user_id),
        );
    }
    if role == "claimant" {
        user_ids.extend(scope.claimant_id);
    }
    if admins {
        users_where(db, app_user::Column::IsAdmin.eq(true)).await
    } else {
        users_by_id(db, &user_ids).await
    }
}

/// The users named, each once, ordered by e-mail.
pub async fn users_by_id<C: ConnectionTrait>(
    db: &C,
    user_ids: &[Uuid],
) -> EngineResult<Vec<Recipient>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    users_where(db, app_user::Column::Id.is_in(user_ids.iter().copied())).await
}

async fn users_where<C: ConnectionTrait>(
    db: &C,
    condition: sea_orm::sea_query::SimpleExpr,
) -> EngineResult<Vec<Recipient>> {
    let query = app_user::Entity::find().filter(condition);
    let by_email: BTreeMap<String, Recipient> = query
        .all(db)
        .await?
        .into_iter()
        .map(|user| {
            (
                user.email_normalized.clone(),
                Recipient {
                    user_id: user.id,
                    email: user.email,
                    name: user.name,
                },
            )
        })
        .collect();
    Ok(by_email.into_values().collect())
}
