//! The agenda of a meeting: the proposals (groups, instruments) the member states decide on, in
//! the order a forum coordinator sets. A proposal gets an item when it is placed on the agenda
//! (`place_on_agenda`); deferring or withdrawing it settles that item, and the vote's close records
//! the decision on it ([`super::decisions`]). An agenda holds at most [`MAX_AGENDA_ITEMS`].

use crate::kernel::actor::{Acting, Actor};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::pagination::by_parent;
use crate::types::parse_uuid_input;
use crate::workflow::executor::{Edit, check_expected_version, save_edit};
use crate::workflow::subjects::{self, TransitionCall};
use chrono::{DateTime, Utc};
use govflow_entities::{agenda_item, instrument, meeting, working_group};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// The most items one meeting's agenda holds.
pub const MAX_AGENDA_ITEMS: usize = 100;

/// One proposal on a meeting's agenda, with the decision on it once its vote closed.
#[derive(Debug, Clone)]
pub struct AgendaItem {
    pub id: Uuid,
    pub meeting_id: Uuid,
    pub subject_id: Uuid,
    /// `group` or `instrument`.
    pub subject_kind: String,
    pub position: i32,
    /// `pending`, `decided`, `deferred` or `withdrawn`.
    pub status: String,
    pub decision: Option<Decision>,
    pub created_at: DateTime<Utc>,
}

/// The decision that closed the vote on an agenda item: the tally and the rule it was read by.
#[derive(Debug, Clone)]
pub struct Decision {
    pub agenda_item_id: Uuid,
    pub meeting_id: Uuid,
    pub subject_id: Uuid,
    /// `passed`, `failed` or `no_quorum`.
    pub outcome: String,
    /// `consensus` or `majority`.
    pub rule: String,
    pub quorum: f64,
    /// The member states with `isMember` when the vote closed.
    pub member_count: i32,
    pub in_favour: i32,
    pub against: i32,
    pub abstain: i32,
    pub objections: i32,
    pub decided_at: DateTime<Utc>,
    /// The coordinator who closed the vote.
    pub decided_by: Option<Uuid>,
}

impl From<agenda_item::Model> for AgendaItem {
    fn from(row: agenda_item::Model) -> AgendaItem {
        let decision = match (&row.outcome, &row.rule, row.decided_at) {
            (Some(outcome), Some(rule), Some(decided_at)) => Some(Decision {
                agenda_item_id: row.id,
                meeting_id: row.meeting_id,
                subject_id: row.subject_id,
                outcome: outcome.clone(),
                rule: rule.clone(),
                quorum: row.quorum.unwrap_or_default(),
                member_count: row.member_count.unwrap_or_default(),
                in_favour: row.in_favour.unwrap_or_default(),
                against: row.against.unwrap_or_default(),
                abstain: row.abstain.unwrap_or_default(),
                objections: row.objections.unwrap_or_default(),
                decided_at,
                decided_by: row.decided_by,
            }),
            _ => None,
        };
        AgendaItem {
            id: row.id,
            meeting_id: row.meeting_id,
            subject_id: row.subject_id,
            subject_kind: row.subject_kind,
            position: row.position,
            status: row.status,
            decision,
            created_at: row.created_at,
        }
    }
}

/// The meeting a `place_on_agenda` names (`input.meetingId`): a planned meeting of the proposal's
/// forum, else INVALID_INPUT naming the field.
pub async fn meeting_for<C: ConnectionTrait>(
    db: &C,
    input: &serde_json::Value,
    forum_id: Uuid,
) -> EngineResult<meeting::Model> {
    let field = "input.meetingId";
    let raw = input.get("meetingId").and_then(serde_json::Value::as_str);
    let meeting_id = parse_uuid_input(field, raw)?;
    let not_planned = |why: String| EngineError::invalid(field, why);
    let found =
        subjects::row_with_instance::<meeting::Entity, _>(db, meeting::Column::Id, meeting_id)
            .await?;
    let Some((meeting, instance)) = found else {
        return Err(not_planned(format!("no meeting has the id {meeting_id}")));
    };
    if meeting.forum_id != forum_id {
        return Err(not_planned("names a meeting of another forum".into()));
    }
    if instance.state != "planned" {
        return Err(not_planned(format!(
            "names a meeting that is `{}`: proposals go on the agenda of a planned meeting",
            instance.state
        )));
    }
    Ok(meeting)
}

/// What a proposal's transition does to the agenda: `place_on_agenda` adds it at the end of the
/// meeting's agenda; `defer` and `withdraw` settle its pending item.
pub async fn follow_transition(call: &TransitionCall<'_>, forum_id: Uuid) -> EngineResult<()> {
    let subject_id = call.instance.subject_id;
    let now = call.engine.now();
    match call.transition.name.as_str() {
        "place_on_agenda" => {
            let meeting = meeting_for(call.txn, call.input, forum_id).await?;
            place(
                call.txn,
                &meeting,
                subject_id,
                &call.instance.subject_kind,
                now,
            )
            .await
        }
        "defer" => settle_pending(call.txn, subject_id, "deferred", now).await,
        "withdraw" => settle_pending(call.txn, subject_id, "withdrawn", now).await,
        _ => Ok(()),
    }
}

async fn place(
    txn: &DatabaseTransaction,
    meeting: &meeting::Model,
    subject_id: Uuid,
    subject_kind: &str,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    let positions: Vec<i32> = agenda_item::Entity::find()
        .select_only()
        .column(agenda_item::Column::Position)
        .filter(agenda_item::Column::MeetingId.eq(meeting.id))
        .into_tuple()
        .all(txn)
        .await?;
    if positions.len() >= MAX_AGENDA_ITEMS {
        return Err(EngineError::invalid(
            "input.meetingId",
            format!(
                "the agenda of \"{}\" is full ({MAX_AGENDA_ITEMS} items)",
                meeting.title
            ),
        ));
    }
    let row = agenda_item::Model {
        id: Uuid::now_v7(),
        meeting_id: meeting.id,
        subject_id,
        subject_kind: subject_kind.to_owned(),
        position: positions.into_iter().max().unwrap_or(0) + 1,
        status: "pending".into(),
        outcome: None,
        rule: None,
        quorum: None,
        member_count: None,
        in_favour: None,
        against: None,
        abstain: None,
        objections: None,
        decided_at: None,
        decided_by: None,
        created_at: now,
        updated_at: now,
    };
    agenda_item::Entity::insert(row.into_active_model())
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

async fn settle_pending(
    txn: &DatabaseTransaction,
    subject_id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    agenda_item::Entity::update_many()
        .col_expr(agenda_item::Column::Status, Expr::value(status.to_owned()))
        .col_expr(agenda_item::Column::UpdatedAt, Expr::value(now))
        .filter(agenda_item::Column::SubjectId.eq(subject_id))
        .filter(agenda_item::Column::Status.eq("pending"))
        .exec(txn)
        .await?;
    Ok(())
}

/// How many items of each meeting still wait for a decision.
pub(super) async fn pending_counts<C: ConnectionTrait>(
    db: &C,
    meeting_ids: &[Uuid],
) -> EngineResult<HashMap<Uuid, i64>> {
    let rows: Vec<(Uuid, i64)> = agenda_item::Entity::find()
        .select_only()
        .column(agenda_item::Column::MeetingId)
        .column_as(agenda_item::Column::Id.count(), "pending")
        .filter(agenda_item::Column::MeetingId.is_in(meeting_ids.iter().copied()))
        .filter(agenda_item::Column::Status.eq("pending"))
        .group_by(agenda_item::Column::MeetingId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The latest agenda item of each subject (the one its current place on an agenda is about).
pub(super) async fn latest_items<C: ConnectionTrait>(
    db: &C,
    subject_ids: &[Uuid],
) -> EngineResult<HashMap<Uuid, agenda_item::Model>> {
    let rows = agenda_item::Entity::find()
        .filter(agenda_item::Column::SubjectId.is_in(subject_ids.iter().copied()))
        .order_by_asc(agenda_item::Column::CreatedAt)
        .order_by_asc(agenda_item::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|row| (row.subject_id, row)).collect())
}

/// Who besides the forum's representatives and coordinators takes part in a meeting: the groups
/// whose chairs come (a proposed group, or the group proposing an instrument) and the future
/// chairs of proposed groups.
pub(super) async fn participants(
    txn: &DatabaseTransaction,
    meeting_id: Uuid,
) -> EngineResult<(Vec<Uuid>, Vec<Uuid>)> {
    let items = agenda_item::Entity::find()
        .filter(agenda_item::Column::MeetingId.eq(meeting_id))
        .filter(agenda_item::Column::Status.eq("pending"))
        .all(txn)
        .await?;
    let subject_ids = |kind: &str| -> Vec<Uuid> {
        items
            .iter()
            .filter(|item| item.subject_kind == kind)
            .map(|item| item.subject_id)
            .collect()
    };
    let groups = working_group::Entity::find()
        .filter(working_group::Column::Id.is_in(subject_ids("group")))
        .all(txn)
        .await?;
    let proposing: Vec<Uuid> = instrument::Entity::find()
        .filter(instrument::Column::Id.is_in(subject_ids("instrument")))
        .all(txn)
        .await?
        .into_iter()
        .filter_map(|row| row.proposing_group_id)
        .collect();
    let future_chairs = groups
        .iter()
        .filter_map(|group| group.proposed_chair_id)
        .collect();
    let group_ids: BTreeSet<Uuid> = groups
        .iter()
        .map(|group| group.id)
        .chain(proposing)
        .collect();
    Ok((group_ids.into_iter().collect(), future_chairs))
}

/// Sets the order of a meeting's agenda: `item_ids` must name each of its items once. A write to
/// the meeting: it bumps its version and appends a history row holding the new order.
pub async fn reorder_agenda(
    engine: &Engine,
    actor: &Actor,
    meeting_id: Uuid,
    item_ids: Vec<Uuid>,
    expected_version: Option<i32>,
) -> EngineResult<super::Meeting> {
    if item_ids.len() > MAX_AGENDA_ITEMS {
        return Err(EngineError::invalid(
            "itemIds",
            format!("an agenda holds at most {MAX_AGENDA_ITEMS} items"),
        ));
    }
    let txn = engine.begin_write().await?;
    let (current, instance) = super::row_and_instance(&txn, meeting_id).await?;
    if !actor.holds("forum_coordinator", &super::meeting_scope(&current)) {
        return Err(EngineError::Forbidden(
            "reordering an agenda needs the role forum_coordinator".into(),
        ));
    }
    check_expected_version(&instance, expected_version)?;
    if !["planned", "in_session", "postponed"].contains(&instance.state.as_str()) {
        return Err(EngineError::InvalidTransition(format!(
            "the agenda of a meeting that is `{}` is closed",
            instance.state
        )));
    }
    let items = agenda_item::Entity::find()
        .filter(agenda_item::Column::MeetingId.eq(meeting_id))
        .all(&txn)
        .await?;
    let existing: BTreeSet<Uuid> = items.iter().map(|item| item.id).collect();
    let given: BTreeSet<Uuid> = item_ids.iter().copied().collect();
    if given.len() != item_ids.len() || given != existing {
        return Err(EngineError::invalid(
            "itemIds",
            format!(
                "must name each of the meeting's {} agenda items exactly once",
                existing.len()
            ),
        ));
    }
    let now = engine.now();
    for (index, item_id) in item_ids.iter().enumerate() {
        let position = i32::try_from(index + 1).unwrap_or(i32::MAX);
        agenda_item::Entity::update_many()
            .col_expr(agenda_item::Column::Position, Expr::value(position))
            .col_expr(agenda_item::Column::UpdatedAt, Expr::value(now))
            .filter(agenda_item::Column::Id.eq(*item_id))
            .exec(&txn)
            .await?;
    }
    let mut changed = serde_json::Map::new();
    changed.insert(
        "agenda".into(),
        json!(item_ids.iter().map(Uuid::to_string).collect::<Vec<_>>()),
    );
    let mut row = current.into_active_model();
    row.updated_at = Set(now);
    let edit = Edit {
        subject_id: meeting_id,
        operation: "reorder_agenda",
        expected_version,
        reason: None,
        changed,
    };
    let saved = save_edit(engine, &txn, Acting::User(actor), edit, row).await?;
    txn.commit().await?;
    Ok(super::Meeting::new(saved.row, &saved.instance))
}

/// The agenda of each of many meetings, in order (for DataLoader); each holds at most
/// [`MAX_AGENDA_ITEMS`].
pub async fn items_of_meetings(
    engine: &Engine,
    meeting_ids: &[Uuid],
) -> EngineResult<HashMap<Uuid, Vec<AgendaItem>>> {
    let rows = agenda_item::Entity::find()
        .filter(agenda_item::Column::MeetingId.is_in(meeting_ids.iter().copied()))
        .order_by_asc(agenda_item::Column::Position)
        .order_by_asc(agenda_item::Column::Id)
        .all(engine.db())
        .await?;
    Ok(by_parent(rows, |row| row.meeting_id, Into::into))
}

pub async fn get_item(engine: &Engine, item_id: Uuid) -> EngineResult<AgendaItem> {
    Ok(item_in(engine.db(), item_id).await?.into())
}

pub(super) async fn item_in<C: ConnectionTrait>(
    db: &C,
    item_id: Uuid,
) -> EngineResult<agenda_item::Model> {
    agenda_item::Entity::find_by_id(item_id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("agenda item", item_id))
}

/// The agenda items of each of many subjects, oldest first (for DataLoader): where a proposal
/// has been on agendas, and what was decided.
pub async fn items_of_subjects(
    engine: &Engine,
    subject_ids: &[Uuid],
) -> EngineResult<HashMap<Uuid, Vec<AgendaItem>>> {
    let rows = agenda_item::Entity::find()
        .filter(agenda_item::Column::SubjectId.is_in(subject_ids.iter().copied()))
        .order_by_asc(agenda_item::Column::CreatedAt)
        .order_by_asc(agenda_item::Column::Id)
        .limit(u64::try_from(subject_ids.len() * MAX_AGENDA_ITEMS).unwrap_or(u64::MAX))
        .all(engine.db())
        .await?;
    Ok(by_parent(rows, |row| row.subject_id, Into::into))
}
