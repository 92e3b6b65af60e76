//! Amendments: the chair's proposed changes to a document, run by the `amendment` workflow.
//!
//! The chair drafts the full proposed text against the current version, opens a consultation of
//! the group's experts for a window no shorter than the forum allows, and adopts it once the
//! window has closed; adoption creates the document's next version. While the window is open
//! the experts comment, endorse or object; their responses stay on the record with the text
//! revision they were about. If another amendment was adopted since this one's base, adoption
//! is refused until the chair rebases.

mod kind;

pub use kind::{AmendmentKind, context_query};

use crate::areas::documents::diff::{self, Diff};
use crate::areas::documents::{self, forum_of};
use crate::areas::forums::ForumSettings;
use crate::areas::forums::Zones;
use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history::{self, NewEntry};
use crate::kernel::pagination::{Page, PageRequest, load_pages, page_of, pages_per_parent};
use crate::types::{
    MAX_NAME_CHARS, MAX_TEXT_CHARS, RequiredText, SingleLine, TimeZone, parse_instant,
};
use crate::workflow::effects::{EffectContext, notify_role};
use crate::workflow::executor::{
    CreationRequest, Edit, authorize_creation, check_expected_version, create_subject, save_edit,
};
use crate::workflow::subjects::{self, SubjectState};
use chrono::{DateTime, Utc};
use govflow_entities::{amendment, amendment_response, workflow_instance};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// An amendment with its workflow state.
#[derive(Debug, Clone)]
pub struct Amendment {
    pub id: Uuid,
    pub document_id: Uuid,
    pub forum_id: Uuid,
    pub group_id: Option<Uuid>,
    pub title: String,
    /// The document version the proposed text was written against.
    pub base_version: i32,
    pub text: String,
    /// Bumped by every edit or rebase; responses record the revision they were about.
    pub text_revision: i32,
    pub opened_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub adopted_version: Option<i32>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The zone its instants are shown in: its group's, else its forum's.
    pub time_zone: TimeZone,
    pub workflow: SubjectState,
}

/// An amendment as this module works on it: its row and instance as stored.
#[derive(Debug, Clone)]
struct Loaded {
    row: amendment::Model,
    instance: workflow_instance::Model,
    time_zone: TimeZone,
}

impl From<Loaded> for Amendment {
    fn from(loaded: Loaded) -> Amendment {
        let Loaded {
            row,
            instance,
            time_zone,
        } = loaded;
        let workflow = SubjectState::new(&instance, scope_of(&row), time_zone);
        Amendment {
            id: row.id,
            document_id: row.document_id,
            forum_id: row.forum_id,
            group_id: row.group_id,
            title: row.title,
            base_version: row.base_version,
            text: row.text,
            text_revision: row.text_revision,
            opened_at: row.opened_at,
            closes_at: row.closes_at,
            adopted_version: row.adopted_version,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            time_zone,
            workflow,
        }
    }
}

/// An amendment from its row, its instance and its zone, as they stand.
fn as_stored(
    row: amendment::Model,
    instance: workflow_instance::Model,
    time_zone: TimeZone,
) -> Amendment {
    Amendment::from(Loaded {
        row,
        instance,
        time_zone,
    })
}

/// A response (comment, endorsement or objection) to an amendment.
#[derive(Debug, Clone)]
pub struct Response {
    pub id: Uuid,
    pub amendment_id: Uuid,
    pub author_id: Uuid,
    pub kind: ResponseKind,
    pub text: String,
    /// The amendment's text revision the response was about.
    pub text_revision: i32,
    pub created_at: DateTime<Utc>,
}

impl From<amendment_response::Model> for Response {
    fn from(row: amendment_response::Model) -> Response {
        Response {
            id: row.id,
            amendment_id: row.amendment_id,
            author_id: row.author_id,
            kind: ResponseKind::of_stored(&row.kind),
            text: row.text,
            text_revision: row.text_revision,
            created_at: row.created_at,
        }
    }
}

pub struct NewAmendment {
    /// The group named as parent; must be the document's group when given.
    pub group_id: Option<Uuid>,
    pub document_id: Uuid,
    pub title: Option<String>,
    pub text: String,
    pub reason: Option<String>,
}

pub struct AmendmentUpdate {
    pub title: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    Comment,
    Endorsement,
    Objection,
}

impl ResponseKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ResponseKind::Comment => "comment",
            ResponseKind::Endorsement => "endorsement",
            ResponseKind::Objection => "objection",
        }
    }

    /// The kind of a stored response; the database holds only the three names.
    fn of_stored(kind: &str) -> ResponseKind {
        match kind {
            "endorsement" => ResponseKind::Endorsement,
            "objection" => ResponseKind::Objection,
            _ => ResponseKind::Comment,
        }
    }

    fn operation(&self) -> &'static str {
        match self {
            ResponseKind::Comment => "comment_on_amendment",
            ResponseKind::Endorsement => "endorse_amendment",
            ResponseKind::Objection => "object_to_amendment",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AmendmentFilter {
    pub group_id: Option<Uuid>,
    pub document_id: Option<Uuid>,
    pub state: Option<String>,
}

pub fn scope_of(row: &amendment::Model) -> SubjectScope {
    SubjectScope {
        forum_id: Some(row.forum_id),
        group_id: row.group_id,
        ..SubjectScope::default()
    }
}

/// The one rule of who may see an amendment: anyone once it is past `draft`; a draft only the
/// group's chair, experts and coordinators (and admins, who pass every stored role).
fn may_read(actor: &Actor, state: &str, scope: &SubjectScope) -> bool {
    state != "draft" || actor.is_insider(scope)
}

/// Whether `actor` may see the amendment.
pub fn readable_by(actor: &Actor, amendment: &Amendment) -> bool {
    may_read(actor, &amendment.workflow.state, &amendment.workflow.scope)
}

/// [`may_read`] as a condition on the amendment table, so that lists are filtered and paged in
/// SQL: past `draft` for everyone; drafts for the chair, experts and coordinators of their group
/// and the coordinators of their forum; all for administrators.
fn readable_condition(actor: &Actor) -> Condition {
    let past_draft = subjects::ids_where("amendment", workflow_instance::Column::State.ne("draft"));
    subjects::public_or_insiders(
        actor,
        amendment::Column::Id.in_subquery(past_draft),
        (amendment::Column::GroupId, amendment::Column::ForumId),
    )
}

/// The amendments `actor` may read, in an optional state.
fn visible(actor: &Actor, state: Option<&str>) -> Condition {
    let mut condition = Condition::all().add(readable_condition(actor));
    if let Some(state) = state {
        condition = condition.add(amendment::Column::Id.in_subquery(subjects::ids_where(
            "amendment",
            workflow_instance::Column::State.eq(state),
        )));
    }
    condition
}

pub fn local(zone: TimeZone, instant: DateTime<Utc>) -> String {
    format!(
        "{} ({})",
        instant
            .with_timezone(&zone.tz())
            .format("%Y-%m-%d %H:%M %:z"),
        zone.name()
    )
}

async fn row_in<C: ConnectionTrait>(db: &C, id: Uuid) -> EngineResult<amendment::Model> {
    amendment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("amendment", id))
}

async fn zone_of<C: ConnectionTrait>(db: &C, row: &amendment::Model) -> EngineResult<TimeZone> {
    Zones::of_place(db, row.group_id, Some(row.forum_id)).await
}

/// The display zones of many amendments, in two statements.
async fn zones_of<C: ConnectionTrait>(db: &C, rows: &[amendment::Model]) -> EngineResult<Zones> {
    Zones::load(
        db,
        rows.iter().map(|row| (row.group_id, Some(row.forum_id))),
    )
    .await
}

/// An amendment's zone out of [`zones_of`]: its group's, else its forum's.
fn zone_in(zones: &Zones, row: &amendment::Model) -> TimeZone {
    zones.zone(row.group_id, Some(row.forum_id))
}

async fn with_instances<C: ConnectionTrait>(
    db: &C,
    rows: Vec<amendment::Model>,
) -> EngineResult<Vec<Loaded>> {
    let zones = zones_of(db, &rows).await?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut instances = subjects::instances_of(db, ids).await?;
    rows.into_iter()
        .map(|row| {
            let instance = subjects::take_instance(&mut instances, row.id)?;
            let time_zone = zone_in(&zones, &row);
            Ok(Loaded {
                row,
                instance,
                time_zone,
            })
        })
        .collect()
}

/// One amendment with its instance (one statement, joined) and its zone.
async fn load<C: ConnectionTrait>(db: &C, id: Uuid) -> EngineResult<Loaded> {
    let (row, instance) =
        subjects::row_with_instance::<amendment::Entity, _>(db, amendment::Column::Id, id)
            .await?
            .ok_or_else(|| EngineError::not_found("amendment", id))?;
    let time_zone = zone_of(db, &row).await?;
    Ok(Loaded {
        row,
        instance,
        time_zone,
    })
}

/// An amendment as `actor` may see it: a draft the actor may not read does not exist for them.
pub async fn get_amendment(engine: &Engine, actor: &Actor, id: Uuid) -> EngineResult<Amendment> {
    let amendment = Amendment::from(load(engine.db(), id).await?);
    if readable_by(actor, &amendment) {
        Ok(amendment)
    } else {
        Err(EngineError::not_found("amendment", id))
    }
}

pub async fn list_amendments(
    engine: &Engine,
    actor: &Actor,
    filter: &AmendmentFilter,
    page: PageRequest,
) -> EngineResult<Page<Amendment>> {
    let mut condition = visible(actor, filter.state.as_deref());
    if let Some(group_id) = filter.group_id {
        condition = condition.add(amendment::Column::GroupId.eq(group_id));
    }
    if let Some(document_id) = filter.document_id {
        condition = condition.add(amendment::Column::DocumentId.eq(document_id));
    }
    let query = amendment::Entity::find()
        .filter(condition)
        .order_by_asc(amendment::Column::CreatedAt)
        .order_by_asc(amendment::Column::Id);
    let rows = page_of(engine.db(), query, page).await?;
    let items = with_instances(engine.db(), rows.items).await?;
    Ok(Page::new(
        items.into_iter().map(Amendment::from).collect(),
        page,
        rows.total,
    ))
}

/// One page of the amendments `actor` may read of each of many documents (for DataLoader),
/// oldest first, optionally in one state.
pub async fn pages_of_documents(
    engine: &Engine,
    actor: &Actor,
    document_ids: &[Uuid],
    state: Option<&str>,
    page: PageRequest,
) -> EngineResult<HashMap<Uuid, Page<Amendment>>> {
    let pages = pages_per_parent(
        engine.db(),
        amendment::Entity::find().filter(visible(actor, state)),
        amendment::Column::DocumentId,
        document_ids,
        &[amendment::Column::CreatedAt, amendment::Column::Id],
        page,
    )
    .await?;
    load_pages(
        pages,
        |row| row.id,
        |amendment: &Amendment| amendment.id,
        |rows| async move {
            let loaded = with_instances(engine.db(), rows).await?;
            Ok(loaded.into_iter().map(Amendment::from).collect())
        },
    )
    .await
}

/// Amendments by id, whatever the caller may read: the caller filters with [`readable_by`].
pub async fn by_ids(engine: &Engine, ids: &[Uuid]) -> EngineResult<Vec<Amendment>> {
    let rows = amendment::Entity::find()
        .filter(amendment::Column::Id.is_in(ids.iter().copied()))
        .all(engine.db())
        .await?;
    Ok(with_instances(engine.db(), rows)
        .await?
        .into_iter()
        .map(Amendment::from)
        .collect())
}

/// The responses to many amendments at once, oldest first.
pub async fn responses_of(engine: &Engine, amendment_ids: &[Uuid]) -> EngineResult<Vec<Response>> {
    Ok(amendment_response::Entity::find()
        .filter(amendment_response::Column::AmendmentId.is_in(amendment_ids.iter().copied()))
        .order_by_asc(amendment_response::Column::CreatedAt)
        .order_by_asc(amendment_response::Column::Id)
        .all(engine.db())
        .await?
        .into_iter()
        .map(Response::from)
        .collect())
}

/// The amendment's proposed text against its base version.
pub async fn diff_with_base(
    engine: &Engine,
    amendment: &Amendment,
    deadline: std::time::Instant,
) -> EngineResult<Diff> {
    let base =
        documents::version_in(engine.db(), amendment.document_id, amendment.base_version).await?;
    diff::diff_bounded(
        base.text,
        amendment.text.clone(),
        format!("version {}", amendment.base_version),
        "proposed".to_owned(),
        deadline,
    )
    .await
}

fn parse_title(raw: Option<&str>, document_title: &str) -> EngineResult<String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(format!("Amendment to {document_title}")),
        Some(title) => Ok(SingleLine::parse("title", title, MAX_NAME_CHARS * 2)?.into_string()),
    }
}

pub async fn create_amendment(
    engine: &Engine,
    actor: &Actor,
    input: NewAmendment,
) -> EngineResult<Amendment> {
    let txn = engine.begin_write().await?;
    let doc = documents::get_document_in(&txn, input.document_id).await?;
    documents::check_readable(&txn, actor, &doc).await?;
    if documents::report_of(&txn, &doc).await?.is_some() {
        return Err(EngineError::invalid(
            "documentId",
            "an annual report's document changes through its report (updateAnnualReport)",
        ));
    }
    if let Some(group_id) = input.group_id {
        crate::areas::groups::get_row_in(&txn, group_id).await?;
        if doc.group_id != Some(group_id) {
            return Err(EngineError::invalid(
                "documentId",
                "names a document of another group",
            ));
        }
    }
    let settings = ForumSettings::of(&forum_of(&txn, doc.forum_id).await?);
    let text = documents::parse_text("text", &input.text, &settings)?;
    let title = parse_title(input.title.as_deref(), &doc.title)?;
    let acting = Acting::User(actor);
    let creation = authorize_creation(
        engine,
        &txn,
        acting,
        CreationRequest {
            subject_kind: "amendment",
            transition: "create",
            parent_scope: &documents::scope_of(&doc),
            reason: input.reason.as_deref(),
            input: &serde_json::Value::Null,
        },
    )
    .await?;
    let base = documents::current_version(&txn, doc.id).await?;
    if base.text == text {
        return Err(EngineError::invalid(
            "text",
            format!(
                "is the same as version {}: an amendment must change something",
                base.number
            ),
        ));
    }
    let now = engine.now();
    let row = amendment::Model {
        id: Uuid::now_v7(),
        document_id: doc.id,
        forum_id: doc.forum_id,
        group_id: doc.group_id,
        title,
        base_version: base.number,
        text,
        text_revision: 1,
        opened_at: None,
        closes_at: None,
        adopted_version: None,
        adopted_at: None,
        created_by: Some(actor.user_id),
        created_at: now,
        updated_at: now,
    };
    amendment::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    create_subject(engine, &txn, acting, &creation, row.id).await?;
    let amendment = load(&txn, row.id).await?;
    txn.commit().await?;
    Ok(amendment.into())
}

pub async fn update_amendment(
    engine: &Engine,
    actor: &Actor,
    id: Uuid,
    update: AmendmentUpdate,
    expected_version: Option<i32>,
) -> EngineResult<Amendment> {
    let txn = engine.begin_write().await?;
    let current = load(&txn, id).await?;
    if !may_read(actor, &current.instance.state, &scope_of(&current.row)) {
        return Err(EngineError::not_found("amendment", id));
    }
    let doc = documents::get_document_in(&txn, current.row.document_id).await?;
    let settings = ForumSettings::of(&forum_of(&txn, doc.forum_id).await?);
    let text = update
        .text
        .as_deref()
        .map(|text| documents::parse_text("text", text, &settings))
        .transpose()?;
    let title = SingleLine::parse_optional("title", update.title.as_deref(), MAX_NAME_CHARS * 2)?;
    if !actor.holds("chair", &scope_of(&current.row)) {
        return Err(EngineError::Forbidden(
            "editing an amendment needs the role chair".into(),
        ));
    }
    check_expected_version(&current.instance, expected_version)?;
    if current.instance.state != "draft" {
        return Err(EngineError::InvalidTransition(format!(
            "only a draft can be edited; this amendment is `{}` (rebase it to edit it again)",
            current.instance.state
        )));
    }
    let mut row = current.row.clone().into_active_model();
    let mut changed = serde_json::Map::new();
    if let Some(text) = text
        && text != current.row.text
    {
        changed.insert("textRevision".into(), json!(current.row.text_revision + 1));
        row.text = Set(text);
        row.text_revision = Set(current.row.text_revision + 1);
    }
    if let Some(title) = title {
        changed.insert("title".into(), json!(title));
        row.title = Set(title);
    }
    row.updated_at = Set(engine.now());
    let edit = Edit {
        subject_id: id,
        operation: "update_amendment",
        expected_version,
        reason: None,
        changed,
    };
    let saved = save_edit(engine, &txn, Acting::User(actor), edit, row).await?;
    let (instance, row) = (saved.instance, saved.row);
    txn.commit().await?;
    Ok(Amendment::from(Loaded {
        row,
        instance,
        time_zone: current.time_zone,
    }))
}

/// An expert's comment, endorsement or objection while the consultation is open.
pub async fn respond(
    engine: &Engine,
    actor: &Actor,
    id: Uuid,
    kind: ResponseKind,
    text: &str,
) -> EngineResult<Response> {
    let text = RequiredText::parse("text", text, MAX_TEXT_CHARS)?.into_string();
    let txn = engine.begin_write().await?;
    // The state is checked only once the instance row is ours: an adoption (or any transition)
    // under way commits first, and this response then sees the amendment as it left it.
    if subjects::lock_instance(&txn, id).await?.is_none() {
        return Err(EngineError::not_found("amendment", id));
    }
    let current = load(&txn, id).await?;
    if !may_read(actor, &current.instance.state, &scope_of(&current.row)) {
        return Err(EngineError::not_found("amendment", id));
    }
    let scope = scope_of(&current.row);
    if !actor.holds("expert", &scope) {
        return Err(EngineError::Forbidden(format!(
            "a {} on an amendment needs the role expert of its group",
            kind.as_str()
        )));
    }
    let now = engine.now();
    let zone = zone_of(&txn, &current.row).await?;
    if current.instance.state != "in_consultation" {
        return Err(EngineError::GuardFailed {
            guard: "consultation_open".into(),
            reason: format!(
                "the amendment is `{}`, not under consultation",
                current.instance.state
            ),
        });
    }
    if let Some(closes_at) = current.row.closes_at
        && now >= closes_at
    {
        return Err(EngineError::GuardFailed {
            guard: "consultation_open".into(),
            reason: format!("the consultation closed at {}", local(zone, closes_at)),
        });
    }
    let row = amendment_response::Model {
        id: Uuid::now_v7(),
        amendment_id: id,
        author_id: actor.user_id,
        kind: kind.as_str().to_owned(),
        text: text.clone(),
        text_revision: current.row.text_revision,
        created_at: now,
    };
    amendment_response::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    let state = current.instance.state.clone();
    let history_id = history::append(
        &txn,
        NewEntry {
            subject_id: id,
            subject_kind: "amendment",
            transition: kind.operation(),
            from_state: &state,
            to_state: &state,
            acting: Acting::User(actor),
            reason: None,
            definition_hash: Some(&current.instance.definition_hash),
            detail: Some(json!({ "responseId": row.id.to_string(), "kind": kind.as_str() })),
            at: now,
        },
    )
    .await?;
    if kind == ResponseKind::Objection {
        let subject = subjects::info(engine, &txn, "amendment", id).await?;
        notify_role(
            engine,
            "chair",
            "objection_filed",
            &EffectContext {
                txn: &txn,
                subject_id: id,
                subject: &subject,
                transition: kind.operation(),
                from_state: &state,
                to_state: &state,
                actor_name: &actor.name,
                reason: Some(&text),
                history_id,
                at: now,
            },
            &mut BTreeSet::new(),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(row.into())
}

fn closes_at_of(input: &serde_json::Value) -> EngineResult<DateTime<Utc>> {
    let raw = input
        .get("closesAt")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| EngineError::invalid("closesAt", "is required to open a consultation"))?;
    parse_instant("closesAt", raw)
}
