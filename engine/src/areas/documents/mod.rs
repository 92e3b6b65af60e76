//! Documents of a group or a forum (terms of reference, work plans, reports, expert papers,
//! resolutions) and their numbered, immutable versions. A document's text changes only by an
//! amendment whose adoption creates the next version; any two versions can be diffed.

pub mod diff;
pub mod translations;

use crate::areas::forums::ForumSettings;
use crate::areas::forums::Zones;
use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history;
use crate::kernel::pagination::{Page, PageRequest, page_of, pages_per_parent};
use crate::types::{LanguageTag, MAX_NAME_CHARS, SingleLine, TimeZone, check_single_line};
use crate::workflow::guards::{self, GuardContext, GuardSubject};
use chrono::{DateTime, Utc};
use diff::Diff;
use govflow_entities::{annual_report, document, document_version, forum, working_group};
use govflow_migration::TERMS_OF_REFERENCE_INDEX;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// The kind of an annual report's document (also a kind anyone may give a document of their own).
pub const ANNUAL_REPORT: &str = "annual_report";

/// The kinds of document a forum keeps.
pub const DOCUMENT_KINDS: [&str; 8] = [
    "terms_of_reference",
    "work_plan",
    "report",
    "annual_report",
    "expert_paper",
    "resolution",
    "note",
    "other",
];

/// A document, with the zone its dates are shown in and the number of its current version.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: Uuid,
    pub forum_id: Uuid,
    /// `None` for a forum's own document.
    pub group_id: Option<Uuid>,
    pub kind: String,
    pub title: String,
    pub symbol: Option<String>,
    pub original_language: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Its group's zone, else its forum's.
    pub time_zone: TimeZone,
    /// The number of the latest adopted version.
    pub current_version: Option<i32>,
}

impl Document {
    /// The version a question about "a version, by default the current one" is about.
    pub fn version_or_current(&self, number: Option<i32>) -> i32 {
        number.or(self.current_version).unwrap_or(1)
    }
}

/// One numbered, immutable version of a document.
#[derive(Debug, Clone)]
pub struct Version {
    pub document_id: Uuid,
    pub number: i32,
    pub text: String,
    /// `proposed`, `adopted` or `superseded`.
    pub status: String,
    pub author_id: Option<Uuid>,
    /// The amendment whose adoption created it.
    pub amendment_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<document_version::Model> for Version {
    fn from(row: document_version::Model) -> Version {
        Version {
            document_id: row.document_id,
            number: row.number,
            text: row.text,
            status: row.status,
            author_id: row.author_id,
            amendment_id: row.amendment_id,
            created_at: row.created_at,
        }
    }
}

/// Documents as the API shows them: with their zones and current versions, for a whole page in
/// three statements.
async fn with_context<C: ConnectionTrait>(
    db: &C,
    rows: Vec<document::Model>,
) -> EngineResult<Vec<Document>> {
    let zones = Zones::load(
        db,
        rows.iter().map(|row| (row.group_id, Some(row.forum_id))),
    )
    .await?;
    let current = current_numbers(db, rows.iter().map(|row| row.id).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|row| Document {
            time_zone: zones.zone(row.group_id, Some(row.forum_id)),
            current_version: current.get(&row.id).copied(),
            id: row.id,
            forum_id: row.forum_id,
            group_id: row.group_id,
            kind: row.kind,
            title: row.title,
            symbol: row.symbol,
            original_language: row.original_language,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
        .collect())
}

async fn one_with_context<C: ConnectionTrait>(
    db: &C,
    row: document::Model,
) -> EngineResult<Document> {
    let id = row.id;
    with_context(db, vec![row])
        .await?
        .pop()
        .ok_or_else(|| EngineError::not_found("document", id))
}

pub struct NewDocument {
    /// The forum of a forum's own document; for a group's document, the group's forum (optional).
    pub forum_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub kind: String,
    pub title: String,
    pub symbol: Option<String>,
    pub original_language: String,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct DocumentFilter {
    pub forum_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub kind: Option<String>,
}

pub fn scope_of(doc: &document::Model) -> SubjectScope {
    SubjectScope {
        forum_id: Some(doc.forum_id),
        group_id: doc.group_id,
        ..SubjectScope::default()
    }
}

/// Parses a document text: not blank, and within the forum's size limit.
pub fn parse_text(field: &str, text: &str, settings: &ForumSettings) -> EngineResult<String> {
    if text.trim().is_empty() {
        return Err(EngineError::invalid(field, "must not be empty"));
    }
    let limit = usize::try_from(settings.max_document_bytes).unwrap_or(usize::MAX);
    if text.len() > limit {
        return Err(EngineError::invalid(
            field,
            format!(
                "is {} bytes long; the forum allows at most {limit}",
                text.len()
            ),
        ));
    }
    Ok(text.to_owned())
}

fn parse_kind(raw: &str) -> EngineResult<String> {
    if DOCUMENT_KINDS.contains(&raw) {
        Ok(raw.to_owned())
    } else {
        Err(EngineError::invalid(
            "kind",
            format!("`{raw}` is not one of {}", DOCUMENT_KINDS.join(", ")),
        ))
    }
}

fn parse_symbol(raw: Option<&str>) -> EngineResult<Option<String>> {
    let Some(symbol) = raw.map(str::trim).filter(|symbol| !symbol.is_empty()) else {
        return Ok(None);
    };
    check_single_line("symbol", symbol)?;
    if symbol.len() <= 100 && !symbol.chars().any(char::is_whitespace) {
        Ok(Some(symbol.to_owned()))
    } else {
        Err(EngineError::invalid(
            "symbol",
            format!(
                "`{symbol}` must be at most 100 characters without spaces (e.g. E/C.16/2024/7)"
            ),
        ))
    }
}

pub async fn forum_of<C: ConnectionTrait>(db: &C, forum_id: Uuid) -> EngineResult<forum::Model> {
    forum::Entity::find_by_id(forum_id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("forum", forum_id))
}

/// The zone a document's dates are shown in: its group's, else its forum's.
pub async fn zone_of<C: ConnectionTrait>(db: &C, doc: &document::Model) -> EngineResult<TimeZone> {
    Zones::of_place(db, doc.group_id, Some(doc.forum_id)).await
}

pub async fn create_document(
    engine: &Engine,
    actor: &Actor,
    input: NewDocument,
) -> EngineResult<Document> {
    let kind = parse_kind(input.kind.trim())?;
    let title = SingleLine::parse("title", &input.title, MAX_NAME_CHARS * 2)?.into_string();
    let symbol = parse_symbol(input.symbol.as_deref())?;
    let language = LanguageTag::parse("originalLanguage", input.original_language.trim())?;
    let txn = engine.begin_write().await?;
    let (forum_id, group) = match (input.group_id, input.forum_id) {
        (Some(group_id), forum_id) => {
            let group = working_group::Entity::find_by_id(group_id)
                .one(&txn)
                .await?
                .ok_or_else(|| EngineError::not_found("working group", group_id))?;
            if forum_id.is_some_and(|forum_id| forum_id != group.forum_id) {
                return Err(EngineError::invalid("forumId", "is not the group's forum"));
            }
            (group.forum_id, Some(group))
        }
        (None, Some(forum_id)) => (forum_of(&txn, forum_id).await?.id, None),
        (None, None) => {
            return Err(EngineError::invalid(
                "groupId",
                "give a groupId or a forumId",
            ));
        }
    };
    let group_id = group.as_ref().map(|group| group.id);
    let forum = forum_of(&txn, forum_id).await?;
    let settings = ForumSettings::of(&forum);
    let text = parse_text("text", &input.text, &settings)?;
    let scope = SubjectScope {
        forum_id: Some(forum_id),
        group_id,
        ..SubjectScope::default()
    };
    if !actor.holds("chair", &scope) {
        return Err(EngineError::Forbidden(
            "creating a document needs the role chair of the group (a forum's own documents: forum_coordinator)".into(),
        ));
    }
    if group_id.is_some() {
        guards::check_all(
            engine.subject_kinds(),
            &["group_active".to_owned()],
            &GuardContext {
                txn: &txn,
                acting: Acting::User(actor),
                now: engine.now(),
                input: &serde_json::Value::Null,
                subjects: &[GuardSubject {
                    subject_id: None,
                    scope: scope.clone(),
                }],
            },
        )
        .await?;
    }
    if let Some(symbol) = &symbol {
        let taken = document::Entity::find()
            .filter(document::Column::ForumId.eq(forum_id))
            .filter(document::Column::Symbol.eq(symbol.clone()))
            .count(&txn)
            .await?
            > 0;
        if taken {
            return Err(symbol_taken(symbol));
        }
    }
    // A group's terms of reference are one document, amended over time. The unique index
    // `ux_document_group_terms_of_reference` is what holds under concurrency (on PostgreSQL two
    // creations can both pass this check); the check is here for the plain case.
    if kind == "terms_of_reference"
        && let Some(group) = &group
    {
        let existing = document::Entity::find()
            .filter(document::Column::GroupId.eq(group.id))
            .filter(document::Column::Kind.eq("terms_of_reference"))
            .count(&txn)
            .await?;
        if existing > 0 {
            return Err(terms_of_reference_taken(group));
        }
    }
    let now = engine.now();
    let row = document::Model {
        id: Uuid::now_v7(),
        forum_id,
        group_id,
        kind,
        title,
        symbol,
        original_language: language.as_str().to_owned(),
        created_by: Some(actor.user_id),
        created_at: now,
        updated_at: now,
    };
    document::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await
        .map_err(|err| match (unique_index_hit(&err), &group, &row.symbol) {
            (Some(UniqueIndex::TermsOfReference), Some(group), _) => {
                terms_of_reference_taken(group)
            }
            (Some(UniqueIndex::Symbol), _, Some(symbol)) => symbol_taken(symbol),
            _ => EngineError::from(err),
        })?;
    insert_version(
        &txn,
        row.id,
        1,
        text,
        "adopted",
        Some(actor.user_id),
        None,
        now,
    )
    .await?;
    history::record_write(
        &txn,
        row.id,
        "document",
        "create_document",
        Acting::User(actor),
        json!({ "kind": row.kind, "title": row.title, "version": 1 }),
        now,
    )
    .await?;
    let document = one_with_context(&txn, row).await?;
    txn.commit().await?;
    Ok(document)
}

/// The draft terms of reference of a proposed group: its document, with the draft as version 1,
/// `proposed` until the group is approved ([`adopt_proposed_terms`]).
pub async fn propose_terms_of_reference(
    txn: &DatabaseTransaction,
    forum: &forum::Model,
    group: &working_group::Model,
    text: &str,
    author_id: Uuid,
    at: DateTime<Utc>,
) -> EngineResult<document::Model> {
    let settings = ForumSettings::of(forum);
    let text = parse_text("termsOfReference", text, &settings)?;
    let row = document::Model {
        id: Uuid::now_v7(),
        forum_id: forum.id,
        group_id: Some(group.id),
        kind: "terms_of_reference".into(),
        title: format!("Terms of reference of {}", group.name),
        symbol: None,
        original_language: settings
            .official_languages
            .first()
            .cloned()
            .unwrap_or_else(|| "en".into()),
        created_by: Some(author_id),
        created_at: at,
        updated_at: at,
    };
    document::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(txn)
        .await?;
    insert_version(txn, row.id, 1, text, "proposed", Some(author_id), None, at).await?;
    Ok(row)
}

/// Makes a group's proposed terms of reference (version 1) its adopted, current text.
pub async fn adopt_proposed_terms(txn: &DatabaseTransaction, group_id: Uuid) -> EngineResult<()> {
    let terms = document::Entity::find()
        .filter(document::Column::GroupId.eq(group_id))
        .filter(document::Column::Kind.eq("terms_of_reference"))
        .one(txn)
        .await?;
    let Some(terms) = terms else { return Ok(()) };
    document_version::Entity::update_many()
        .col_expr(
            document_version::Column::Status,
            sea_orm::sea_query::Expr::value("adopted"),
        )
        .filter(document_version::Column::DocumentId.eq(terms.id))
        .filter(document_version::Column::Status.eq("proposed"))
        .exec(txn)
        .await?;
    Ok(())
}

fn terms_of_reference_taken(group: &working_group::Model) -> EngineError {
    EngineError::Conflict(format!(
        "the group \"{}\" already has terms of reference: amend them instead",
        group.name
    ))
}

fn symbol_taken(symbol: &str) -> EngineError {
    EngineError::Conflict(format!(
        "the forum already has a document with symbol `{symbol}`"
    ))
}

/// The unique indexes of the document table that a creation can hit.
enum UniqueIndex {
    TermsOfReference,
    Symbol,
}

/// Which unique index an insert into the document table violated. PostgreSQL's message names the
/// index; SQLite's names the index's columns (`document.group_id` is the only column of the
/// terms-of-reference index, `document.symbol` belongs to the symbol index).
fn unique_index_hit(err: &DbErr) -> Option<UniqueIndex> {
    let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() else {
        return None;
    };
    if message.contains(TERMS_OF_REFERENCE_INDEX) || message.contains("document.group_id") {
        Some(UniqueIndex::TermsOfReference)
    } else if message.contains("symbol") {
        Some(UniqueIndex::Symbol)
    } else {
        None
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_version(
    txn: &DatabaseTransaction,
    document_id: Uuid,
    number: i32,
    text: String,
    status: &str,
    author_id: Option<Uuid>,
    amendment_id: Option<Uuid>,
    at: chrono::DateTime<chrono::Utc>,
) -> EngineResult<document_version::Model> {
    let row = document_version::Model {
        id: Uuid::now_v7(),
        document_id,
        number,
        text,
        status: status.to_owned(),
        author_id,
        amendment_id,
        created_at: at,
    };
    document_version::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(txn)
        .await?;
    Ok(row)
}

pub async fn get_document_in<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> EngineResult<document::Model> {
    document::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("document", id))
}

pub async fn get_document(engine: &Engine, id: Uuid) -> EngineResult<Document> {
    let row = get_document_in(engine.db(), id).await?;
    one_with_context(engine.db(), row).await
}

/// A document `actor` may read (an unpublished annual report's is private: NOT_FOUND).
pub async fn get_document_for(engine: &Engine, actor: &Actor, id: Uuid) -> EngineResult<Document> {
    let row = get_document_in(engine.db(), id).await?;
    check_readable(engine.db(), actor, &row).await?;
    one_with_context(engine.db(), row).await
}

/// The annual report whose document this is, if it is one.
pub async fn report_of<C: ConnectionTrait>(
    db: &C,
    doc: &document::Model,
) -> EngineResult<Option<annual_report::Model>> {
    if doc.kind != ANNUAL_REPORT {
        return Ok(None);
    }
    Ok(annual_report::Entity::find()
        .filter(annual_report::Column::DocumentId.eq(doc.id))
        .one(db)
        .await?)
}

/// An annual report's document is as private as its report: until the report is published,
/// only the group's chair, experts and coordinators know it exists.
pub async fn check_readable<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    doc: &document::Model,
) -> EngineResult<()> {
    match report_of(db, doc).await? {
        Some(report) if report.published_at.is_none() && !actor.is_insider(&scope_of(doc)) => {
            Err(EngineError::not_found("document", doc.id))
        }
        _ => Ok(()),
    }
}

/// [`check_readable`] as a condition on the document table, for lists.
fn readable_condition(actor: &Actor) -> Condition {
    let unpublished = sea_orm::sea_query::Query::select()
        .column(annual_report::Column::DocumentId)
        .from(annual_report::Entity)
        .and_where(annual_report::Column::PublishedAt.is_null())
        .to_owned();
    crate::workflow::subjects::public_or_insiders(
        actor,
        document::Column::Id.not_in_subquery(unpublished),
        (document::Column::GroupId, document::Column::ForumId),
    )
}

pub async fn by_ids(engine: &Engine, ids: &[Uuid]) -> EngineResult<Vec<Document>> {
    let rows = document::Entity::find()
        .filter(document::Column::Id.is_in(ids.iter().copied()))
        .all(engine.db())
        .await?;
    with_context(engine.db(), rows).await
}

pub async fn list_documents(
    engine: &Engine,
    actor: &Actor,
    filter: &DocumentFilter,
    page: PageRequest,
) -> EngineResult<Page<Document>> {
    let mut condition = Condition::all().add(readable_condition(actor));
    if let Some(forum_id) = filter.forum_id {
        condition = condition.add(document::Column::ForumId.eq(forum_id));
    }
    if let Some(group_id) = filter.group_id {
        condition = condition.add(document::Column::GroupId.eq(group_id));
    }
    if let Some(kind) = &filter.kind {
        condition = condition.add(document::Column::Kind.eq(kind.clone()));
    }
    let query = document::Entity::find()
        .filter(condition)
        .order_by_asc(document::Column::Title)
        .order_by_asc(document::Column::Id);
    let rows = page_of(engine.db(), query, page).await?;
    let items = with_context(engine.db(), rows.items).await?;
    Ok(Page::new(items, page, rows.total))
}

/// One page of the versions of each of many documents (for DataLoader), by number.
pub async fn pages_of_versions(
    engine: &Engine,
    document_ids: &[Uuid],
    page: PageRequest,
) -> EngineResult<HashMap<Uuid, Page<Version>>> {
    let pages = pages_per_parent(
        engine.db(),
        document_version::Entity::find(),
        document_version::Column::DocumentId,
        document_ids,
        &[document_version::Column::Number],
        page,
    )
    .await?;
    Ok(pages
        .into_iter()
        .map(|(document_id, page)| (document_id, page.map(Version::from)))
        .collect())
}

/// Versions by (document, number), for many at once (for DataLoader).
pub async fn versions_numbered(
    engine: &Engine,
    keys: &[(Uuid, i32)],
) -> EngineResult<Vec<Version>> {
    let documents: Vec<Uuid> = keys.iter().map(|(document, _)| *document).collect();
    let numbers: Vec<i32> = keys.iter().map(|(_, number)| *number).collect();
    // One statement for all: the pairs asked for are among the rows of these documents with
    // these numbers, and the few others are dropped here.
    Ok(document_version::Entity::find()
        .filter(document_version::Column::DocumentId.is_in(documents))
        .filter(document_version::Column::Number.is_in(numbers))
        .all(engine.db())
        .await?
        .into_iter()
        .filter(|row| keys.contains(&(row.document_id, row.number)))
        .map(Version::from)
        .collect())
}

pub async fn version_in<C: ConnectionTrait>(
    db: &C,
    document_id: Uuid,
    number: i32,
) -> EngineResult<document_version::Model> {
    document_version::Entity::find()
        .filter(document_version::Column::DocumentId.eq(document_id))
        .filter(document_version::Column::Number.eq(number))
        .one(db)
        .await?
        .ok_or_else(|| EngineError::NotFound(format!("the document has no version {number}")))
}

/// The latest adopted version: the document's current text.
pub async fn current_version<C: ConnectionTrait>(
    db: &C,
    document_id: Uuid,
) -> EngineResult<document_version::Model> {
    document_version::Entity::find()
        .filter(document_version::Column::DocumentId.eq(document_id))
        .filter(document_version::Column::Status.eq("adopted"))
        .order_by_desc(document_version::Column::Number)
        .one(db)
        .await?
        .ok_or_else(|| {
            EngineError::NotFound(format!("document {document_id} has no adopted version"))
        })
}

/// The number of a document's current (adopted) version, without its text.
pub async fn current_number<C: ConnectionTrait>(db: &C, document_id: Uuid) -> EngineResult<i32> {
    current_numbers(db, vec![document_id])
        .await?
        .get(&document_id)
        .copied()
        .ok_or_else(|| {
            EngineError::NotFound(format!("document {document_id} has no adopted version"))
        })
}

/// The number of the current (adopted) version of each of many documents, in one statement and
/// without their texts.
pub async fn current_numbers<C: ConnectionTrait>(
    db: &C,
    document_ids: Vec<Uuid>,
) -> EngineResult<HashMap<Uuid, i32>> {
    let rows: Vec<(Uuid, Option<i32>)> = document_version::Entity::find()
        .select_only()
        .column(document_version::Column::DocumentId)
        .column_as(document_version::Column::Number.max(), "number")
        .filter(document_version::Column::DocumentId.is_in(document_ids))
        .filter(document_version::Column::Status.eq("adopted"))
        .group_by(document_version::Column::DocumentId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, number)| Some((id, number?)))
        .collect())
}

/// The diff between two versions of a document.
pub async fn diff_versions(
    engine: &Engine,
    document_id: Uuid,
    from: i32,
    to: i32,
    deadline: std::time::Instant,
) -> EngineResult<Diff> {
    get_document(engine, document_id).await?;
    let old = version_in(engine.db(), document_id, from).await?;
    let new = version_in(engine.db(), document_id, to).await?;
    diff::diff_bounded(
        old.text,
        new.text,
        format!("version {from}"),
        format!("version {to}"),
        deadline,
    )
    .await
}
