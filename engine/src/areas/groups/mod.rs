//! Working groups: the thematic groups of a forum. A group is a workflow subject (definition
//! `working_group`); `create_group` records a group that already exists through the creation
//! transition `establish`.

mod kind;
pub mod proposals;

pub use kind::GroupKind;

use crate::areas::forums::{ForumSettings, forum_scope};
use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::pagination::{Page, PageRequest, load_pages, page_of, pages_per_parent};
use crate::time::stored_zone;
use crate::types::{MAX_NAME_CHARS, MAX_TEXT_CHARS, RequiredText, SingleLine, TimeZone};
use crate::workflow::executor::{
    CreationRequest, Edit, authorize_creation, create_subject, save_edit,
};
use crate::workflow::subjects::{self, SubjectState};
use chrono::{DateTime, Utc};
use govflow_entities::{forum, member_state, workflow_instance, working_group};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// A working group with its workflow state.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: Uuid,
    pub forum_id: Uuid,
    pub name: String,
    pub theme: String,
    pub lead_member_state_id: Option<Uuid>,
    /// The zone the group's dates are shown and counted in.
    pub time_zone: TimeZone,
    pub effective_at: Option<DateTime<Utc>>,
    /// The user proposed to chair it; its chair once it is active.
    pub proposed_chair_id: Option<Uuid>,
    /// The representative who proposed it.
    pub proposed_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub workflow: SubjectState,
}

impl Group {
    pub(crate) fn new(row: working_group::Model, instance: &workflow_instance::Model) -> Group {
        let scope = group_scope(&row);
        let time_zone = stored_zone(&row.time_zone);
        Group {
            id: row.id,
            forum_id: row.forum_id,
            name: row.name,
            theme: row.theme,
            lead_member_state_id: row.lead_member_state_id,
            time_zone,
            effective_at: row.effective_at,
            proposed_chair_id: row.proposed_chair_id,
            proposed_by: row.proposed_by,
            created_at: row.created_at,
            workflow: SubjectState::new(instance, scope, time_zone),
        }
    }

    /// What role checks on the group look at.
    pub fn scope(&self) -> &SubjectScope {
        &self.workflow.scope
    }
}

pub struct NewGroup {
    pub forum_id: Uuid,
    pub name: String,
    pub theme: String,
    pub lead_member_state_id: Option<Uuid>,
    pub time_zone: Option<String>,
    /// When the group took effect, for a group recorded after the fact; not in the future.
    pub effective_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

pub struct GroupUpdate {
    pub name: Option<String>,
    pub theme: Option<String>,
    pub lead_member_state_id: Option<Uuid>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub forum_id: Option<Uuid>,
    pub state: Option<String>,
}

pub fn group_scope(row: &working_group::Model) -> SubjectScope {
    SubjectScope {
        forum_id: Some(row.forum_id),
        group_id: Some(row.id),
        member_state_id: row.lead_member_state_id,
        ..SubjectScope::default()
    }
}

async fn check_lead<C: ConnectionTrait>(
    db: &C,
    forum_id: Uuid,
    lead: Option<Uuid>,
) -> EngineResult<()> {
    let Some(lead) = lead else { return Ok(()) };
    match member_state::Entity::find_by_id(lead).one(db).await? {
        Some(state) if state.forum_id == forum_id => Ok(()),
        Some(_) => Err(EngineError::invalid(
            "leadMemberStateId",
            "names a member state of another forum",
        )),
        None => Err(EngineError::invalid(
            "leadMemberStateId",
            format!("no member state with id {lead}"),
        )),
    }
}

async fn name_taken<C: ConnectionTrait>(
    db: &C,
    forum_id: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> EngineResult<bool> {
    let mut query = working_group::Entity::find()
        .filter(working_group::Column::ForumId.eq(forum_id))
        .filter(working_group::Column::Name.eq(name));
    if let Some(id) = except {
        query = query.filter(working_group::Column::Id.ne(id));
    }
    Ok(query.count(db).await? > 0)
}

pub async fn create_group(engine: &Engine, actor: &Actor, input: NewGroup) -> EngineResult<Group> {
    let name = SingleLine::parse("name", &input.name, MAX_NAME_CHARS)?.into_string();
    let theme = RequiredText::parse("theme", &input.theme, MAX_TEXT_CHARS)?.into_string();
    let zone = input
        .time_zone
        .as_deref()
        .map(|zone| TimeZone::parse("timeZone", zone))
        .transpose()?;
    let now = engine.now();
    if let Some(effective) = input.effective_at
        && effective > now
    {
        return Err(EngineError::invalid(
            "effectiveAt",
            "must not be in the future",
        ));
    }
    let txn = engine.begin_write().await?;
    let forum = forum::Entity::find_by_id(input.forum_id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("forum", input.forum_id))?;
    let acting = Acting::User(actor);
    let creation = authorize_creation(
        engine,
        &txn,
        acting,
        CreationRequest {
            subject_kind: "group",
            transition: "establish",
            parent_scope: &forum_scope(forum.id),
            reason: input.reason.as_deref(),
            input: &serde_json::Value::Null,
        },
    )
    .await?;
    check_lead(&txn, forum.id, input.lead_member_state_id).await?;
    if name_taken(&txn, forum.id, &name, None).await? {
        return Err(EngineError::Conflict(format!(
            "the forum already has a group named `{name}`"
        )));
    }
    let zone = zone.unwrap_or_else(|| ForumSettings::of(&forum).zone());
    let row = working_group::Model {
        id: Uuid::now_v7(),
        forum_id: forum.id,
        name,
        theme,
        lead_member_state_id: input.lead_member_state_id,
        time_zone: zone.name().to_owned(),
        effective_at: Some(input.effective_at.unwrap_or(now)),
        proposed_chair_id: None,
        proposed_by: None,
        created_at: now,
        updated_at: now,
    };
    working_group::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    let instance = create_subject(engine, &txn, acting, &creation, row.id).await?;
    txn.commit().await?;
    Ok(Group::new(row, &instance))
}

pub async fn update_group(
    engine: &Engine,
    actor: &Actor,
    group_id: Uuid,
    update: GroupUpdate,
    expected_version: Option<i32>,
) -> EngineResult<Group> {
    let name = SingleLine::parse_optional("name", update.name.as_deref(), MAX_NAME_CHARS)?;
    let theme = update
        .theme
        .as_deref()
        .map(|theme| RequiredText::parse("theme", theme, MAX_TEXT_CHARS))
        .transpose()?
        .map(RequiredText::into_string);
    let zone = update
        .time_zone
        .as_deref()
        .map(|zone| TimeZone::parse("timeZone", zone))
        .transpose()?;
    let txn = engine.begin_write().await?;
    let current = get_row_in(&txn, group_id).await?;
    if !actor.holds("coordinator", &group_scope(&current)) {
        return Err(EngineError::Forbidden(
            "editing a group needs the role coordinator of the group or its forum".into(),
        ));
    }
    check_lead(&txn, current.forum_id, update.lead_member_state_id).await?;
    if let Some(name) = &name
        && name_taken(&txn, current.forum_id, name, Some(group_id)).await?
    {
        return Err(EngineError::Conflict(format!(
            "the forum already has a group named `{name}`"
        )));
    }
    let mut row = current.clone().into_active_model();
    let mut changed = serde_json::Map::new();
    if let Some(name) = name {
        changed.insert("name".into(), json!(name));
        row.name = Set(name);
    }
    if let Some(theme) = theme {
        changed.insert("theme".into(), json!(theme));
        row.theme = Set(theme);
    }
    if let Some(lead) = update.lead_member_state_id {
        changed.insert("leadMemberStateId".into(), json!(lead.to_string()));
        row.lead_member_state_id = Set(Some(lead));
    }
    if let Some(zone) = zone {
        changed.insert("timeZone".into(), json!(zone.name()));
        row.time_zone = Set(zone.name().to_owned());
    }
    row.updated_at = Set(engine.now());
    let edit = Edit {
        subject_id: group_id,
        operation: "update_group",
        expected_version,
        reason: None,
        changed,
    };
    let saved = save_edit(engine, &txn, Acting::User(actor), edit, row).await?;
    let (instance, row) = (saved.instance, saved.row);
    txn.commit().await?;
    Ok(Group::new(row, &instance))
}

pub async fn get_row_in<C: ConnectionTrait>(
    db: &C,
    group_id: Uuid,
) -> EngineResult<working_group::Model> {
    working_group::Entity::find_by_id(group_id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("working group", group_id))
}

async fn with_instances<C: ConnectionTrait>(
    db: &C,
    rows: Vec<working_group::Model>,
) -> EngineResult<Vec<Group>> {
    subjects::with_instances(db, rows, |row| row.id, Group::new).await
}

pub async fn get_group(engine: &Engine, group_id: Uuid) -> EngineResult<Group> {
    let (row, instance) = subjects::row_with_instance::<working_group::Entity, _>(
        engine.db(),
        working_group::Column::Id,
        group_id,
    )
    .await?
    .ok_or_else(|| EngineError::not_found("working group", group_id))?;
    Ok(Group::new(row, &instance))
}

pub async fn by_ids(engine: &Engine, ids: &[Uuid]) -> EngineResult<Vec<Group>> {
    let rows = working_group::Entity::find()
        .filter(working_group::Column::Id.is_in(ids.iter().copied()))
        .all(engine.db())
        .await?;
    with_instances(engine.db(), rows).await
}

fn filtered(filter: &GroupFilter) -> sea_orm::Select<working_group::Entity> {
    let mut condition = Condition::all();
    if let Some(forum_id) = filter.forum_id {
        condition = condition.add(working_group::Column::ForumId.eq(forum_id));
    }
    if let Some(state) = &filter.state {
        condition = condition.add(working_group::Column::Id.in_subquery(subjects::ids_where(
            "group",
            workflow_instance::Column::State.eq(state.clone()),
        )));
    }
    working_group::Entity::find()
        .filter(condition)
        .order_by_asc(working_group::Column::Name)
        .order_by_asc(working_group::Column::Id)
}

pub async fn list_groups(
    engine: &Engine,
    filter: &GroupFilter,
    page: PageRequest,
) -> EngineResult<Page<Group>> {
    let rows = page_of(engine.db(), filtered(filter), page).await?;
    let items = with_instances(engine.db(), rows.items).await?;
    Ok(Page::new(items, page, rows.total))
}

/// One page of the groups of each of many forums (for DataLoader), by name.
pub async fn pages_of_forums(
    engine: &Engine,
    forum_ids: &[Uuid],
    page: PageRequest,
) -> EngineResult<HashMap<Uuid, Page<Group>>> {
    let pages = pages_per_parent(
        engine.db(),
        working_group::Entity::find(),
        working_group::Column::ForumId,
        forum_ids,
        &[working_group::Column::Name, working_group::Column::Id],
        page,
    )
    .await?;
    load_pages(
        pages,
        |row| row.id,
        |group: &Group| group.id,
        |rows| with_instances(engine.db(), rows),
    )
    .await
}
