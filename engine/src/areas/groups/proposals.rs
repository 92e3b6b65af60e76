//! Proposals of working groups: a member state's representative proposes a group with a theme, a
//! proposed chair, co-sponsoring member states and draft terms of reference (version 1 of the
//! group's terms, `proposed`); the meeting's decision approves it, and its activation makes the
//! draft its adopted terms, the proposed chair its chair, and starts its mandate. Co-sponsors are
//! kept for instruments too.

use super::{Group, name_taken};
use crate::areas::documents;
use crate::areas::forums::ForumSettings;
use crate::areas::people::memberships;
use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::pagination::by_parent;
use crate::types::{MAX_NAME_CHARS, MAX_TEXT_CHARS, RequiredText, SingleLine, TimeZone};
use crate::workflow::executor::{CreationRequest, authorize_creation, create_subject};
use crate::workflow::subjects::TransitionCall;
use chrono::{DateTime, Utc};
use govflow_entities::{app_user, co_sponsor, forum, member_state, working_group};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// The most co-sponsors one proposal lists.
pub const MAX_CO_SPONSORS: usize = 100;

pub struct NewProposal {
    /// The proposing (lead) member state, which the caller must represent.
    pub lead_member_state_id: Uuid,
    pub name: String,
    pub theme: String,
    /// The user proposed to chair the group.
    pub proposed_chair_id: Option<Uuid>,
    pub co_sponsor_ids: Vec<Uuid>,
    /// The draft terms of reference: version 1 of the group's terms, `proposed`.
    pub terms_of_reference: String,
    /// Defaults to the forum's zone.
    pub time_zone: Option<String>,
    pub reason: Option<String>,
}

/// Proposes a group (creation transition `propose`, checked on the lead member state: its
/// representatives may). The group starts in `draft`.
pub async fn propose_group(
    engine: &Engine,
    actor: &Actor,
    input: NewProposal,
) -> EngineResult<Group> {
    let name = SingleLine::parse("name", &input.name, MAX_NAME_CHARS)?.into_string();
    let theme = RequiredText::parse("theme", &input.theme, MAX_TEXT_CHARS)?.into_string();
    let zone = input
        .time_zone
        .as_deref()
        .map(|zone| TimeZone::parse("timeZone", zone))
        .transpose()?;
    if input.co_sponsor_ids.len() > MAX_CO_SPONSORS {
        return Err(EngineError::invalid(
            "coSponsorIds",
            format!("lists at most {MAX_CO_SPONSORS} member states"),
        ));
    }
    let txn = engine.begin_write().await?;
    let lead = member_state::Entity::find_by_id(input.lead_member_state_id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("member state", input.lead_member_state_id))?;
    let forum = forum::Entity::find_by_id(lead.forum_id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("forum", lead.forum_id))?;
    let acting = Acting::User(actor);
    let creation = authorize_creation(
        engine,
        &txn,
        acting,
        CreationRequest {
            subject_kind: "group",
            transition: "propose",
            parent_scope: &SubjectScope {
                forum_id: Some(forum.id),
                member_state_id: Some(lead.id),
                ..SubjectScope::default()
            },
            reason: input.reason.as_deref(),
            input: &serde_json::Value::Null,
        },
    )
    .await?;
    if let Some(chair) = input.proposed_chair_id
        && app_user::Entity::find_by_id(chair)
            .one(&txn)
            .await?
            .is_none()
    {
        return Err(EngineError::invalid(
            "proposedChairId",
            format!("no user has the id {chair}"),
        ));
    }
    if name_taken(&txn, forum.id, &name, None).await? {
        return Err(EngineError::Conflict(format!(
            "the forum already has a group named `{name}`"
        )));
    }
    let now = engine.now();
    let row = working_group::Model {
        id: Uuid::now_v7(),
        forum_id: forum.id,
        name,
        theme,
        lead_member_state_id: Some(lead.id),
        time_zone: zone
            .unwrap_or_else(|| ForumSettings::of(&forum).zone())
            .name()
            .to_owned(),
        effective_at: None,
        proposed_chair_id: input.proposed_chair_id,
        proposed_by: Some(actor.user_id),
        created_at: now,
        updated_at: now,
    };
    working_group::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    add_co_sponsors(&txn, row.id, &lead, &input.co_sponsor_ids, now).await?;
    documents::propose_terms_of_reference(
        &txn,
        &forum,
        &row,
        &input.terms_of_reference,
        actor.user_id,
        now,
    )
    .await?;
    let instance = create_subject(engine, &txn, acting, &creation, row.id).await?;
    txn.commit().await?;
    Ok(Group::new(row, &instance))
}

/// Records the co-sponsors of a proposal: member states of the lead's forum, each once, not the
/// lead itself.
pub async fn add_co_sponsors(
    txn: &DatabaseTransaction,
    subject_id: Uuid,
    lead: &member_state::Model,
    ids: &[Uuid],
    at: DateTime<Utc>,
) -> EngineResult<()> {
    let wanted: BTreeSet<Uuid> = ids.iter().copied().collect();
    if wanted.len() != ids.len() {
        return Err(EngineError::invalid(
            "coSponsorIds",
            "names a member state twice",
        ));
    }
    if wanted.contains(&lead.id) {
        return Err(EngineError::invalid(
            "coSponsorIds",
            "names the proposing member state itself",
        ));
    }
    let found = member_state::Entity::find()
        .filter(member_state::Column::Id.is_in(wanted.iter().copied()))
        .all(txn)
        .await?;
    for id in &wanted {
        match found.iter().find(|state| state.id == *id) {
            None => {
                return Err(EngineError::invalid(
                    "coSponsorIds",
                    format!("no member state has the id {id}"),
                ));
            }
            Some(state) if state.forum_id != lead.forum_id => {
                return Err(EngineError::invalid(
                    "coSponsorIds",
                    format!("{} is a member state of another forum", state.name),
                ));
            }
            Some(_) => {}
        }
    }
    for id in wanted {
        let row = co_sponsor::ActiveModel {
            id: Set(Uuid::now_v7()),
            subject_id: Set(subject_id),
            member_state_id: Set(id),
            created_at: Set(at),
        };
        co_sponsor::Entity::insert(row)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// The co-sponsoring member states of each of many proposals (for DataLoader), in the order
/// they were recorded; at most [`MAX_CO_SPONSORS`] each.
pub async fn co_sponsors_of(
    engine: &Engine,
    subject_ids: &[Uuid],
) -> EngineResult<HashMap<Uuid, Vec<Uuid>>> {
    let rows = co_sponsor::Entity::find()
        .filter(co_sponsor::Column::SubjectId.is_in(subject_ids.iter().copied()))
        .order_by_asc(co_sponsor::Column::Id)
        .all(engine.db())
        .await?;
    Ok(by_parent(
        rows,
        |row| row.subject_id,
        |row| row.member_state_id,
    ))
}

/// `activate`: the draft terms of reference become the adopted version 1, the proposed chair
/// becomes chair, and the mandate starts now (a group recorded with `establish` keeps its own).
pub(super) async fn activate(call: &TransitionCall<'_>) -> EngineResult<()> {
    let group = super::get_row_in(call.txn, call.instance.subject_id).await?;
    let now = call.engine.now();
    documents::adopt_proposed_terms(call.txn, group.id).await?;
    if let Some(chair) = group.proposed_chair_id {
        memberships::grant_in_group(call.txn, chair, "chair", group.id, group.forum_id, now)
            .await?;
    }
    if group.effective_at.is_none() {
        let mut row = group.into_active_model();
        row.effective_at = Set(Some(now));
        row.updated_at = Set(now);
        working_group::Entity::update(row).exec(call.txn).await?;
    }
    Ok(())
}
