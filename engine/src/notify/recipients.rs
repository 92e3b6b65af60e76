//! Resolving a role named in a definition to the users who hold it for one subject, when a notice
//! is written. Recipients are resolved at that moment, so a membership added later does not
//! receive an old notice.

use crate::kernel::actor::SubjectScope;
use crate::kernel::error::EngineResult;
use govflow_entities::{app_user, member_state, membership};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    let wanted = [(role.to_owned(), scope.clone())];
    let mut found = holders_of_many(db, &wanted).await?;
    Ok(found.remove(&wanted[0]).unwrap_or_default())
}

/// The stored grants (role, scope id) that give a role, and the user named to hold it.
type Holding = (Vec<(&'static str, Uuid)>, Option<Uuid>);

/// The stored grants (role, scope id) that make a user hold `role` in `scope`, and a user who
/// holds it by being named (the claimant); `None` for the roles resolved otherwise (admin, and a
/// representative of any member state of the forum).
fn grants_for(role: &str, scope: &SubjectScope) -> Option<Holding> {
    let keys = |pairs: &[(&'static str, Option<Uuid>)]| -> Vec<(&'static str, Uuid)> {
        pairs
            .iter()
            .filter_map(|(role, id)| id.map(|id| (*role, id)))
            .collect()
    };
    let grants = match role {
        "coordinator" => keys(&[
            ("coordinator", scope.group_id),
            ("coordinator", scope.forum_id),
        ]),
        "forum_coordinator" => keys(&[("coordinator", scope.forum_id)]),
        "chair" => match scope.group_id {
            Some(group) => keys(&[("chair", Some(group))]),
            None => keys(&[("coordinator", scope.forum_id)]),
        },
        "expert" => keys(&[("expert", scope.group_id)]),
        "observer" => keys(&[("observer", scope.group_id), ("observer", scope.forum_id)]),
        "representative" if scope.member_state_id.is_some() => {
            keys(&[("representative", scope.member_state_id)])
        }
        "proposer" => keys(&[
            ("representative", scope.member_state_id),
            ("chair", scope.proposing_group_id),
        ]),
        "claimant" => return Some((Vec::new(), scope.claimant_id)),
        "admin" | "representative" => return None,
        _ => Vec::new(),
    };
    Some((grants, None))
}

/// The holders of many (role, scope) pairs (a scheduler's batch of reminders), each list once per
/// user and ordered by e-mail, in two statements for the common roles whatever the number of
/// pairs: the memberships that grant them, then the users.
pub async fn holders_of_many<C: ConnectionTrait>(
    db: &C,
    wanted: &[(String, SubjectScope)],
) -> EngineResult<HashMap<(String, SubjectScope), Vec<Recipient>>> {
    let mut found: HashMap<(String, SubjectScope), Vec<Recipient>> = HashMap::new();
    let mut plans = Vec::new();
    let mut by_role: BTreeMap<&'static str, BTreeSet<Uuid>> = BTreeMap::new();
    for (role, scope) in wanted {
        match grants_for(role, scope) {
            Some((grants, named)) => {
                for (grant_role, scope_id) in &grants {
                    by_role.entry(grant_role).or_default().insert(*scope_id);
                }
                plans.push(((role.clone(), scope.clone()), grants, named));
            }
            None => {
                let holders = other_holders(db, role, scope).await?;
                found.insert((role.clone(), scope.clone()), holders);
            }
        }
    }
    let mut granted: HashMap<(&str, Uuid), Vec<Uuid>> = HashMap::new();
    if !by_role.is_empty() {
        let any = by_role
            .iter()
            .fold(Condition::any(), |any, (role, scope_ids)| {
                any.add(
                    Condition::all()
                        .add(membership::Column::Role.eq(*role))
                        .add(membership::Column::ScopeId.is_in(scope_ids.iter().copied())),
                )
            });
        for row in membership::Entity::find().filter(any).all(db).await? {
            let role = by_role
                .keys()
                .find(|role| **role == row.role)
                .copied()
                .unwrap_or("");
            granted
                .entry((role, row.scope_id))
                .or_default()
                .push(row.user_id);
        }
    }
    let mut user_ids: BTreeSet<Uuid> = granted.values().flatten().copied().collect();
    user_ids.extend(plans.iter().filter_map(|(_, _, named)| *named));
    let users: HashMap<Uuid, Recipient> =
        users_by_id(db, &user_ids.into_iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|user| (user.user_id, user))
            .collect();
    for (key, grants, named) in plans {
        let mut ids: BTreeSet<Uuid> = grants
            .iter()
            .flat_map(|grant| granted.get(grant).into_iter().flatten().copied())
            .collect();
        ids.extend(named);
        let by_email: BTreeMap<String, Recipient> = ids
            .iter()
            .filter_map(|id| users.get(id))
            .map(|user| (user.email.to_lowercase(), user.clone()))
            .collect();
        found.insert(key, by_email.into_values().collect());
    }
    Ok(found)
}

/// The roles not granted by one membership of the scope: the administrators, and a
/// representative of any member state of the forum.
async fn other_holders<C: ConnectionTrait>(
    db: &C,
    role: &str,
    scope: &SubjectScope,
) -> EngineResult<Vec<Recipient>> {
    if role == "admin" {
        return users_where(db, app_user::Column::IsAdmin.eq(true)).await;
    }
    let Some(forum_id) = scope.forum_id else {
        return Ok(Vec::new());
    };
    let states: Vec<Uuid> = member_state::Entity::find()
        .filter(member_state::Column::ForumId.eq(forum_id))
        .all(db)
        .await?
        .into_iter()
        .map(|state| state.id)
        .collect();
    let user_ids: Vec<Uuid> = membership::Entity::find()
        .filter(membership::Column::Role.eq("representative"))
        .filter(membership::Column::ScopeId.is_in(states))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.user_id)
        .collect();
    users_by_id(db, &user_ids).await
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
