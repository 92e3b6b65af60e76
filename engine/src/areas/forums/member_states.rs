//! The member states of a forum, and whether each is a full member (only members vote).

use crate::areas::forums::forum_scope;
use crate::kernel::actor::{Acting, Actor};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history;
use crate::kernel::pagination::{Page, PageRequest, pages_per_parent};
use crate::types::{MAX_NAME_CHARS, SingleLine};
use chrono::{DateTime, Utc};
use govflow_entities::{forum, member_state};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// A member state of a forum.
#[derive(Debug, Clone)]
pub struct MemberState {
    pub id: Uuid,
    pub forum_id: Uuid,
    pub name: String,
    pub code: String,
    /// Only full members vote.
    pub is_member: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<member_state::Model> for MemberState {
    fn from(row: member_state::Model) -> MemberState {
        MemberState {
            id: row.id,
            forum_id: row.forum_id,
            name: row.name,
            code: row.code,
            is_member: row.is_member,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub struct NewMemberState {
    pub forum_id: Uuid,
    pub name: String,
    pub code: String,
    pub is_member: bool,
}

pub struct MemberStateUpdate {
    pub name: Option<String>,
    pub code: Option<String>,
    pub is_member: Option<bool>,
}

/// A short code such as `KOR` or `EE`: 2-10 letters, digits or dashes, stored upper-case.
fn parse_code(raw: &str) -> EngineResult<String> {
    let code = raw.trim().to_uppercase();
    let valid = (2..=10).contains(&code.len())
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(code)
    } else {
        Err(EngineError::invalid(
            "code",
            format!("`{raw}` must be 2-10 letters, digits or dashes (e.g. `KOR`)"),
        ))
    }
}

fn require_forum_coordinator(actor: &Actor, forum_id: Uuid) -> EngineResult<()> {
    if actor.holds("forum_coordinator", &forum_scope(forum_id)) {
        Ok(())
    } else {
        Err(EngineError::Forbidden(
            "managing member states needs the role admin or forum_coordinator".into(),
        ))
    }
}

async fn ensure_unique<C: ConnectionTrait>(
    db: &C,
    forum_id: Uuid,
    name: &str,
    code: &str,
    except: Option<Uuid>,
) -> EngineResult<()> {
    let same = |column: member_state::Column, value: &str| {
        let mut query = member_state::Entity::find()
            .filter(member_state::Column::ForumId.eq(forum_id))
            .filter(column.eq(value));
        if let Some(id) = except {
            query = query.filter(member_state::Column::Id.ne(id));
        }
        query
    };
    if same(member_state::Column::Name, name).count(db).await? > 0 {
        return Err(EngineError::Conflict(format!(
            "the forum already has a member state named `{name}`"
        )));
    }
    if same(member_state::Column::Code, code).count(db).await? > 0 {
        return Err(EngineError::Conflict(format!(
            "the forum already has a member state with code `{code}`"
        )));
    }
    Ok(())
}

pub async fn create_member_state(
    engine: &Engine,
    actor: &Actor,
    input: NewMemberState,
) -> EngineResult<MemberState> {
    let name = SingleLine::parse("name", &input.name, MAX_NAME_CHARS)?.into_string();
    let code = parse_code(&input.code)?;
    let txn = engine.begin_write().await?;
    if forum::Entity::find_by_id(input.forum_id)
        .one(&txn)
        .await?
        .is_none()
    {
        return Err(EngineError::not_found("forum", input.forum_id));
    }
    require_forum_coordinator(actor, input.forum_id)?;
    ensure_unique(&txn, input.forum_id, &name, &code, None).await?;
    let now = engine.now();
    let row = member_state::Model {
        id: Uuid::now_v7(),
        forum_id: input.forum_id,
        name,
        code,
        is_member: input.is_member,
        created_at: now,
        updated_at: now,
    };
    member_state::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    record(&txn, actor, &row, "create_member_state", now).await?;
    txn.commit().await?;
    Ok(row.into())
}

pub async fn update_member_state(
    engine: &Engine,
    actor: &Actor,
    id: Uuid,
    update: MemberStateUpdate,
) -> EngineResult<MemberState> {
    let name = SingleLine::parse_optional("name", update.name.as_deref(), MAX_NAME_CHARS)?;
    let code = update.code.as_deref().map(parse_code).transpose()?;
    let txn = engine.begin_write().await?;
    let current = member_state::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("member state", id))?;
    require_forum_coordinator(actor, current.forum_id)?;
    let name = name.unwrap_or_else(|| current.name.clone());
    let code = code.unwrap_or_else(|| current.code.clone());
    ensure_unique(&txn, current.forum_id, &name, &code, Some(id)).await?;
    let now = engine.now();
    let mut row = current.into_active_model();
    row.name = Set(name);
    row.code = Set(code);
    if let Some(is_member) = update.is_member {
        row.is_member = Set(is_member);
    }
    row.updated_at = Set(now);
    let updated = member_state::Entity::update(row).exec(&txn).await?;
    record(&txn, actor, &updated, "update_member_state", now).await?;
    txn.commit().await?;
    Ok(updated.into())
}

async fn record<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    row: &member_state::Model,
    operation: &str,
    at: DateTime<Utc>,
) -> EngineResult<()> {
    history::record_write(
        db,
        row.id,
        "member_state",
        operation,
        Acting::User(actor),
        json!({ "name": row.name, "code": row.code, "isMember": row.is_member }),
        at,
    )
    .await?;
    Ok(())
}

pub async fn get_member_state(engine: &Engine, id: Uuid) -> EngineResult<MemberState> {
    member_state::Entity::find_by_id(id)
        .one(engine.db())
        .await?
        .map(MemberState::from)
        .ok_or_else(|| EngineError::not_found("member state", id))
}

/// One page of the member states of each of many forums, by name.
pub async fn pages_of_forums(
    engine: &Engine,
    forum_ids: &[Uuid],
    page: PageRequest,
) -> EngineResult<HashMap<Uuid, Page<MemberState>>> {
    let pages = pages_per_parent(
        engine.db(),
        member_state::Entity::find(),
        member_state::Column::ForumId,
        forum_ids,
        &[member_state::Column::Name, member_state::Column::Id],
        page,
    )
    .await?;
    Ok(pages
        .into_iter()
        .map(|(forum_id, page)| (forum_id, page.map(MemberState::from)))
        .collect())
}

pub async fn by_ids(engine: &Engine, ids: &[Uuid]) -> EngineResult<Vec<MemberState>> {
    Ok(member_state::Entity::find()
        .filter(member_state::Column::Id.is_in(ids.iter().copied()))
        .all(engine.db())
        .await?
        .into_iter()
        .map(MemberState::from)
        .collect())
}
