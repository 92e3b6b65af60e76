//! Instruments of a forum (seed 003: the OECD Recommendation on Digital Government Strategies): a
//! recommendation or resolution proposed by a member state's representative or by the chair of a
//! group, decided through a meeting's agenda like a group's proposal, or recorded as adopted
//! before govflow; abrogated with a reason. Member and non-member states adhere to an adopted
//! instrument from a date.

mod kind;

pub use kind::InstrumentKind;

use crate::areas::forums::Zones;
use crate::areas::groups::proposals::{MAX_CO_SPONSORS, add_co_sponsors};
use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history::{self, NewEntry};
use crate::kernel::pagination::{Page, PageRequest, page_of, pages_per_parent};
use crate::time::local_date;
use crate::types::{MAX_NAME_CHARS, SingleLine, TimeZone, check_single_line};
use crate::workflow::executor::{CreationRequest, authorize_creation, create_subject};
use crate::workflow::subjects::{self, SubjectState};
use chrono::{DateTime, NaiveDate, Utc};
use govflow_entities::{
    adherence, forum, instrument, member_state, workflow_instance, working_group,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// The kinds of instrument a forum adopts.
pub const INSTRUMENT_KINDS: [&str; 4] = ["recommendation", "resolution", "declaration", "decision"];
/// The longest instrument text kept inline.
const MAX_INSTRUMENT_BYTES: usize = 1024 * 1024;

/// An instrument with its workflow state.
#[derive(Debug, Clone)]
pub struct Instrument {
    pub id: Uuid,
    pub forum_id: Uuid,
    pub kind: String,
    pub title: String,
    pub symbol: Option<String>,
    pub text: Option<String>,
    pub proposing_member_state_id: Option<Uuid>,
    pub proposing_group_id: Option<Uuid>,
    /// The effective instant of its adoption: what "within three years of adoption" counts from.
    pub adopted_at: Option<DateTime<Utc>>,
    pub time_zone: TimeZone,
    pub created_at: DateTime<Utc>,
    pub workflow: SubjectState,
}

impl Instrument {
    fn new(row: instrument::Model, instance: &workflow_instance::Model, zone: TimeZone) -> Self {
        Instrument {
            workflow: SubjectState::new(instance, instrument_scope(&row), zone),
            id: row.id,
            forum_id: row.forum_id,
            kind: row.kind,
            title: row.title,
            symbol: row.symbol,
            text: row.text,
            proposing_member_state_id: row.proposing_member_state_id,
            proposing_group_id: row.proposing_group_id,
            adopted_at: row.adopted_at,
            time_zone: zone,
            created_at: row.created_at,
        }
    }
}

/// A state's adherence to an instrument.
#[derive(Debug, Clone)]
pub struct Adherence {
    pub instrument_id: Uuid,
    pub member_state_id: Uuid,
    pub adhered_on: NaiveDate,
    pub recorded_by: Option<Uuid>,
}

impl From<adherence::Model> for Adherence {
    fn from(row: adherence::Model) -> Adherence {
        Adherence {
            instrument_id: row.instrument_id,
            member_state_id: row.member_state_id,
            adhered_on: row.adhered_on,
            recorded_by: row.recorded_by,
        }
    }
}

pub fn instrument_scope(row: &instrument::Model) -> SubjectScope {
    SubjectScope {
        forum_id: Some(row.forum_id),
        member_state_id: row.proposing_member_state_id,
        proposing_group_id: row.proposing_group_id,
        ..SubjectScope::default()
    }
}

/// What an instrument says of itself, proposed or recorded.
pub struct InstrumentText {
    pub forum_id: Uuid,
    pub kind: String,
    pub title: String,
    pub symbol: Option<String>,
    pub text: Option<String>,
}

pub struct NewInstrument {
    pub about: InstrumentText,
    /// Proposed by a member state (its representatives may) ...
    pub proposing_member_state_id: Option<Uuid>,
    /// ... or by a group (its chairs may); exactly one of the two.
    pub proposing_group_id: Option<Uuid>,
    pub co_sponsor_ids: Vec<Uuid>,
    pub reason: Option<String>,
}

struct Parsed {
    kind: String,
    title: String,
    symbol: Option<String>,
    text: Option<String>,
}

fn parse_about(about: &InstrumentText) -> EngineResult<Parsed> {
    let kind = about.kind.trim();
    if !INSTRUMENT_KINDS.contains(&kind) {
        return Err(EngineError::invalid(
            "kind",
            format!("`{kind}` is not one of {}", INSTRUMENT_KINDS.join(", ")),
        ));
    }
    let title = SingleLine::parse("title", &about.title, MAX_NAME_CHARS * 2)?.into_string();
    let symbol = match about.symbol.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(symbol) => {
            check_single_line("symbol", symbol)?;
            if symbol.len() > 100 {
                return Err(EngineError::invalid(
                    "symbol",
                    "is longer than 100 characters",
                ));
            }
            Some(symbol.to_owned())
        }
    };
    let text = match about.text.as_deref() {
        None => None,
        Some(text) if text.trim().is_empty() => None,
        Some(text) if text.len() > MAX_INSTRUMENT_BYTES => {
            return Err(EngineError::invalid(
                "text",
                format!(
                    "is {} bytes long; at most {MAX_INSTRUMENT_BYTES}",
                    text.len()
                ),
            ));
        }
        Some(text) => Some(text.to_owned()),
    };
    Ok(Parsed {
        kind: kind.to_owned(),
        title,
        symbol,
        text,
    })
}

fn new_row(forum_id: Uuid, parsed: Parsed, actor: &Actor, now: DateTime<Utc>) -> instrument::Model {
    instrument::Model {
        id: Uuid::now_v7(),
        forum_id,
        kind: parsed.kind,
        title: parsed.title,
        symbol: parsed.symbol,
        text: parsed.text,
        proposing_member_state_id: None,
        proposing_group_id: None,
        adopted_at: None,
        created_by: Some(actor.user_id),
        created_at: now,
        updated_at: now,
    }
}

async fn forum_in<C: ConnectionTrait>(db: &C, forum_id: Uuid) -> EngineResult<forum::Model> {
    forum::Entity::find_by_id(forum_id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("forum", forum_id))
}

/// Proposes an instrument (creation transition `propose`): by a member state's representative or
/// by the chair of a group of the forum. It starts in `draft`.
pub async fn propose_instrument(
    engine: &Engine,
    actor: &Actor,
    input: NewInstrument,
) -> EngineResult<Instrument> {
    let parsed = parse_about(&input.about)?;
    if input.co_sponsor_ids.len() > MAX_CO_SPONSORS {
        return Err(EngineError::invalid(
            "coSponsorIds",
            format!("lists at most {MAX_CO_SPONSORS} member states"),
        ));
    }
    let txn = engine.begin_write().await?;
    let forum = forum_in(&txn, input.about.forum_id).await?;
    let mut scope = SubjectScope {
        forum_id: Some(forum.id),
        ..SubjectScope::default()
    };
    // The proposer is the parent the role is checked on: the member state (its representatives)
    // or the group (its chairs), never a coordinator standing in for either.
    let lead = match (input.proposing_member_state_id, input.proposing_group_id) {
        (Some(state_id), None) => {
            let state = member_state::Entity::find_by_id(state_id)
                .one(&txn)
                .await?
                .ok_or_else(|| EngineError::not_found("member state", state_id))?;
            if state.forum_id != forum.id {
                return Err(EngineError::invalid(
                    "proposingMemberStateId",
                    "names a member state of another forum",
                ));
            }
            scope.member_state_id = Some(state.id);
            if !actor.holds("representative", &scope) {
                return Err(EngineError::Forbidden(format!(
                    "proposing an instrument for {} needs the role representative of it",
                    state.name
                )));
            }
            Some(state)
        }
        (None, Some(group_id)) => {
            let group = working_group::Entity::find_by_id(group_id)
                .one(&txn)
                .await?
                .ok_or_else(|| EngineError::not_found("working group", group_id))?;
            if group.forum_id != forum.id {
                return Err(EngineError::invalid(
                    "proposingGroupId",
                    "names a group of another forum",
                ));
            }
            scope.group_id = Some(group.id);
            scope.proposing_group_id = Some(group.id);
            if !actor.holds("chair", &scope) {
                return Err(EngineError::Forbidden(
                    "proposing an instrument for a group needs the role chair of that group".into(),
                ));
            }
            None
        }
        _ => {
            return Err(EngineError::invalid(
                "proposingMemberStateId",
                "give exactly one of proposingMemberStateId or proposingGroupId",
            ));
        }
    };
    let acting = Acting::User(actor);
    let creation = authorize_creation(
        engine,
        &txn,
        acting,
        CreationRequest {
            subject_kind: "instrument",
            transition: "propose",
            parent_scope: &scope,
            reason: input.reason.as_deref(),
            input: &serde_json::Value::Null,
        },
    )
    .await?;
    let now = engine.now();
    let mut row = new_row(forum.id, parsed, actor, now);
    row.proposing_member_state_id = input.proposing_member_state_id;
    row.proposing_group_id = input.proposing_group_id;
    instrument::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    if let Some(lead) = &lead {
        add_co_sponsors(&txn, row.id, lead, &input.co_sponsor_ids, now).await?;
    } else if !input.co_sponsor_ids.is_empty() {
        return Err(EngineError::invalid(
            "coSponsorIds",
            "co-sponsors join a member state's proposal, not a group's",
        ));
    }
    let instance = create_subject(engine, &txn, acting, &creation, row.id).await?;
    let zone = Zones::of_place(&txn, None, Some(forum.id)).await?;
    txn.commit().await?;
    Ok(Instrument::new(row, &instance, zone))
}

/// Records an instrument adopted before govflow (creation transition `record`; admin and forum
/// coordinators), with the instant of its adoption, not in the future.
pub async fn record_instrument(
    engine: &Engine,
    actor: &Actor,
    about: InstrumentText,
    adopted_at: DateTime<Utc>,
    reason: Option<String>,
) -> EngineResult<Instrument> {
    let parsed = parse_about(&about)?;
    if adopted_at > engine.now() {
        return Err(EngineError::invalid(
            "adoptedAt",
            "must not be in the future",
        ));
    }
    let txn = engine.begin_write().await?;
    let forum = forum_in(&txn, about.forum_id).await?;
    let acting = Acting::User(actor);
    let input = json!({ "adoptedAt": adopted_at.to_rfc3339() });
    let creation = authorize_creation(
        engine,
        &txn,
        acting,
        CreationRequest {
            subject_kind: "instrument",
            transition: "record",
            parent_scope: &SubjectScope {
                forum_id: Some(forum.id),
                ..SubjectScope::default()
            },
            reason: reason.as_deref(),
            input: &input,
        },
    )
    .await?;
    let now = engine.now();
    let mut row = new_row(forum.id, parsed, actor, now);
    row.adopted_at = Some(adopted_at);
    instrument::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    let instance = create_subject(engine, &txn, acting, &creation, row.id).await?;
    let zone = Zones::of_place(&txn, None, Some(forum.id)).await?;
    txn.commit().await?;
    Ok(Instrument::new(row, &instance, zone))
}

/// Records that a state (member or not) adheres to an adopted instrument from a date (forum
/// coordinators). The adherence is a row of its own: the instrument's history gains a row, its
/// version stays.
pub async fn adhere_to_instrument(
    engine: &Engine,
    actor: &Actor,
    instrument_id: Uuid,
    member_state_id: Uuid,
    adhered_on: NaiveDate,
) -> EngineResult<Adherence> {
    let txn = engine.begin_write().await?;
    let (row, instance) = row_and_instance(&txn, instrument_id).await?;
    let state = member_state::Entity::find_by_id(member_state_id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::invalid("memberStateId", "names no member state"))?;
    if state.forum_id != row.forum_id {
        return Err(EngineError::invalid(
            "memberStateId",
            "names a member state of another forum",
        ));
    }
    if !actor.holds("forum_coordinator", &instrument_scope(&row)) {
        return Err(EngineError::Forbidden(
            "recording an adherence needs the role forum_coordinator".into(),
        ));
    }
    let zone = Zones::of_place(&txn, None, Some(row.forum_id)).await?;
    if adhered_on > local_date(zone, engine.now()) {
        return Err(EngineError::invalid(
            "adheredOn",
            "must not be in the future",
        ));
    }
    if instance.state != "adopted" {
        return Err(crate::workflow::guards::refuse(
            "instrument_adopted",
            format!(
                "states adhere to an adopted instrument; this one is `{}`",
                instance.state
            ),
        ));
    }
    if let Some(adopted) = row.adopted_at
        && adhered_on < local_date(zone, adopted)
    {
        return Err(EngineError::invalid(
            "adheredOn",
            "is before the instrument's adoption",
        ));
    }
    let exists = adherence::Entity::find()
        .filter(adherence::Column::InstrumentId.eq(row.id))
        .filter(adherence::Column::MemberStateId.eq(state.id))
        .one(&txn)
        .await?
        .is_some();
    if exists {
        return Err(EngineError::Conflict(format!(
            "{} already adheres to this instrument",
            state.name
        )));
    }
    let now = engine.now();
    let adherence_row = adherence::Model {
        id: Uuid::now_v7(),
        instrument_id: row.id,
        member_state_id: state.id,
        adhered_on,
        recorded_by: Some(actor.user_id),
        created_at: now,
    };
    adherence::Entity::insert(adherence_row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    history::append(
        &txn,
        NewEntry {
            subject_id: row.id,
            subject_kind: "instrument",
            transition: "adhere",
            from_state: &instance.state,
            to_state: &instance.state,
            acting: Acting::User(actor),
            reason: None,
            definition_hash: Some(&instance.definition_hash),
            detail: Some(json!({
                "memberStateId": state.id.to_string(),
                "memberState": state.name,
                "adheredOn": adhered_on.to_string(),
            })),
            at: now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(adherence_row.into())
}

pub(crate) async fn row_in<C: ConnectionTrait>(
    db: &C,
    instrument_id: Uuid,
) -> EngineResult<instrument::Model> {
    instrument::Entity::find_by_id(instrument_id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("instrument", instrument_id))
}

async fn row_and_instance<C: ConnectionTrait>(
    db: &C,
    instrument_id: Uuid,
) -> EngineResult<(instrument::Model, workflow_instance::Model)> {
    subjects::row_with_instance::<instrument::Entity, _>(db, instrument::Column::Id, instrument_id)
        .await?
        .ok_or_else(|| EngineError::not_found("instrument", instrument_id))
}

async fn with_context<C: ConnectionTrait>(
    db: &C,
    rows: Vec<instrument::Model>,
) -> EngineResult<Vec<Instrument>> {
    let zones = Zones::load(db, rows.iter().map(|row| (None, Some(row.forum_id)))).await?;
    subjects::with_instances(
        db,
        rows,
        |row| row.id,
        |row, instance| {
            let zone = zones.zone(None, Some(row.forum_id));
            Instrument::new(row, instance, zone)
        },
    )
    .await
}

pub async fn get_instrument(engine: &Engine, instrument_id: Uuid) -> EngineResult<Instrument> {
    let row = row_in(engine.db(), instrument_id).await?;
    with_context(engine.db(), vec![row])
        .await?
        .pop()
        .ok_or_else(|| EngineError::not_found("instrument", instrument_id))
}

pub async fn by_ids(engine: &Engine, ids: &[Uuid]) -> EngineResult<Vec<Instrument>> {
    let rows = instrument::Entity::find()
        .filter(instrument::Column::Id.is_in(ids.iter().copied()))
        .all(engine.db())
        .await?;
    with_context(engine.db(), rows).await
}

#[derive(Debug, Clone, Default)]
pub struct InstrumentFilter {
    pub forum_id: Option<Uuid>,
    pub state: Option<String>,
}

/// Instruments by title, optionally of one forum and in one state.
pub async fn list_instruments(
    engine: &Engine,
    filter: &InstrumentFilter,
    page: PageRequest,
) -> EngineResult<Page<Instrument>> {
    let mut condition = Condition::all();
    if let Some(forum_id) = filter.forum_id {
        condition = condition.add(instrument::Column::ForumId.eq(forum_id));
    }
    if let Some(state) = &filter.state {
        condition = condition.add(instrument::Column::Id.in_subquery(subjects::ids_where(
            "instrument",
            workflow_instance::Column::State.eq(state.clone()),
        )));
    }
    let query = instrument::Entity::find()
        .filter(condition)
        .order_by_asc(instrument::Column::Title)
        .order_by_asc(instrument::Column::Id);
    let rows = page_of(engine.db(), query, page).await?;
    let items = with_context(engine.db(), rows.items).await?;
    Ok(Page::new(items, page, rows.total))
}

/// One page of the adherents of each of many instruments (for DataLoader), by date.
pub async fn pages_of_adherents(
    engine: &Engine,
    instrument_ids: &[Uuid],
    page: PageRequest,
) -> EngineResult<HashMap<Uuid, Page<Adherence>>> {
    let pages = pages_per_parent(
        engine.db(),
        adherence::Entity::find(),
        adherence::Column::InstrumentId,
        instrument_ids,
        &[adherence::Column::AdheredOn, adherence::Column::Id],
        page,
    )
    .await?;
    Ok(pages
        .into_iter()
        .map(|(id, page)| (id, page.map(Adherence::from)))
        .collect())
}
