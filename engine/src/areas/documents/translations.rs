//! Translations of document versions: requested, in progress, published. A translation of an
//! older version is outdated as soon as a newer version is adopted; a document's missing
//! languages are the forum's official languages it has no published translation in yet.

use crate::areas::documents::{self, Document, forum_of};
use crate::areas::forums::ForumSettings;
use crate::kernel::actor::{Acting, Actor};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history;
use crate::types::LanguageTag;
use chrono::{DateTime, Utc};
use govflow_entities::{document, translation};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use serde_json::json;
use std::collections::BTreeSet;
use uuid::Uuid;

/// A translation, with whether a newer version of its document has been adopted since.
#[derive(Debug, Clone)]
pub struct Translation {
    pub id: Uuid,
    pub document_id: Uuid,
    pub version_number: i32,
    /// A BCP-47 tag.
    pub language: String,
    /// `requested`, `in_progress` or `published`.
    pub status: String,
    pub text: Option<String>,
    pub requested_by: Option<Uuid>,
    pub translator_id: Option<Uuid>,
    pub published_at: Option<DateTime<Utc>>,
    pub outdated: bool,
}

impl Translation {
    /// The translation `row`, given the number of its document's current version.
    fn new(row: translation::Model, current: Option<i32>) -> Translation {
        Translation {
            outdated: current.is_some_and(|current| row.version_number < current),
            id: row.id,
            document_id: row.document_id,
            version_number: row.version_number,
            language: row.language,
            status: row.status,
            text: row.text,
            requested_by: row.requested_by,
            translator_id: row.translator_id,
            published_at: row.published_at,
        }
    }
}

fn require_translator_role(actor: &Actor, doc: &document::Model) -> EngineResult<()> {
    let scope = documents::scope_of(doc);
    if actor.holds("chair", &scope) || actor.holds("coordinator", &scope) {
        Ok(())
    } else {
        Err(EngineError::Forbidden(
            "translations are requested and published by the group's chair and coordinators".into(),
        ))
    }
}

async fn record(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    row: &translation::Model,
    operation: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> EngineResult<()> {
    history::record_write(
        txn,
        row.document_id,
        "document",
        operation,
        Acting::User(actor),
        json!({
            "translationId": row.id.to_string(),
            "version": row.version_number,
            "language": row.language,
            "status": row.status,
        }),
        at,
    )
    .await?;
    Ok(())
}

/// Requests a translation of a version (default: the current one) into a language.
pub async fn request_translation(
    engine: &Engine,
    actor: &Actor,
    document_id: Uuid,
    version_number: Option<i32>,
    language: &str,
) -> EngineResult<Translation> {
    let language = LanguageTag::parse("language", language.trim())?;
    let txn = engine.begin_write().await?;
    let doc = documents::get_document_in(&txn, document_id).await?;
    documents::check_readable(&txn, actor, &doc).await?;
    let current = documents::current_number(&txn, document_id).await?;
    let version_number = match version_number {
        Some(number) => {
            documents::version_in(&txn, document_id, number)
                .await?
                .number
        }
        None => current,
    };
    require_translator_role(actor, &doc)?;
    if language
        .as_str()
        .eq_ignore_ascii_case(&doc.original_language)
    {
        return Err(EngineError::invalid(
            "language",
            format!(
                "`{}` is the document's original language",
                language.as_str()
            ),
        ));
    }
    let exists = translation::Entity::find()
        .filter(translation::Column::DocumentId.eq(document_id))
        .filter(translation::Column::VersionNumber.eq(version_number))
        .filter(translation::Column::Language.eq(language.as_str()))
        .count(&txn)
        .await?
        > 0;
    if exists {
        return Err(EngineError::Conflict(format!(
            "a `{}` translation of version {} already exists",
            language.as_str(),
            version_number
        )));
    }
    let now = engine.now();
    let row = translation::Model {
        id: Uuid::now_v7(),
        document_id,
        version_number,
        language: language.as_str().to_owned(),
        status: "requested".into(),
        text: None,
        requested_by: Some(actor.user_id),
        translator_id: None,
        created_at: now,
        updated_at: now,
        published_at: None,
    };
    translation::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(&txn)
        .await?;
    record(&txn, actor, &row, "request_translation", now).await?;
    txn.commit().await?;
    Ok(Translation::new(row, Some(current)))
}

async fn advance(
    engine: &Engine,
    actor: &Actor,
    translation_id: Uuid,
    to: &str,
    text: Option<&str>,
) -> EngineResult<Translation> {
    let txn = engine.begin_write().await?;
    let current = translation::Entity::find_by_id(translation_id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("translation", translation_id))?;
    let doc = documents::get_document_in(&txn, current.document_id).await?;
    let text = match text {
        Some(text) => {
            let settings = ForumSettings::of(&forum_of(&txn, doc.forum_id).await?);
            Some(documents::parse_text("text", text, &settings)?)
        }
        None => None,
    };
    require_translator_role(actor, &doc)?;
    let allowed_from: &[&str] = match to {
        "in_progress" => &["requested"],
        _ => &["requested", "in_progress"],
    };
    if !allowed_from.contains(&current.status.as_str()) {
        return Err(EngineError::InvalidTransition(format!(
            "the translation is `{}`; it can become `{to}` only from {}",
            current.status,
            allowed_from.join(" or ")
        )));
    }
    let now = engine.now();
    let mut row = current.into_active_model();
    row.status = Set(to.to_owned());
    row.updated_at = Set(now);
    if to == "in_progress" {
        row.translator_id = Set(Some(actor.user_id));
    }
    if let Some(text) = text {
        row.text = Set(Some(text));
        row.published_at = Set(Some(now));
    }
    let row = translation::Entity::update(row).exec(&txn).await?;
    let operation = if to == "published" {
        "publish_translation"
    } else {
        "start_translation"
    };
    record(&txn, actor, &row, operation, now).await?;
    let current = documents::current_number(&txn, row.document_id).await?;
    txn.commit().await?;
    Ok(Translation::new(row, Some(current)))
}

/// Marks a requested translation as being worked on.
pub async fn start_translation(
    engine: &Engine,
    actor: &Actor,
    translation_id: Uuid,
) -> EngineResult<Translation> {
    advance(engine, actor, translation_id, "in_progress", None).await
}

/// Publishes a translation's text.
pub async fn publish_translation(
    engine: &Engine,
    actor: &Actor,
    translation_id: Uuid,
    text: &str,
) -> EngineResult<Translation> {
    advance(engine, actor, translation_id, "published", Some(text)).await
}

/// The translations of many documents at once (for DataLoader), with `outdated` set. A document
/// has one per language and version at most, so the list stays short.
pub async fn of_documents(
    engine: &Engine,
    document_ids: &[Uuid],
) -> EngineResult<Vec<Translation>> {
    let rows = translation::Entity::find()
        .filter(translation::Column::DocumentId.is_in(document_ids.iter().copied()))
        .order_by_asc(translation::Column::VersionNumber)
        .order_by_asc(translation::Column::Language)
        .all(engine.db())
        .await?;
    let current = documents::current_numbers(engine.db(), document_ids.to_vec()).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let latest = current.get(&row.document_id).copied();
            Translation::new(row, latest)
        })
        .collect())
}

/// The forum's official languages a version has no published translation in (nor is written
/// in); `version_number` defaults to the current version.
pub fn missing_languages(
    settings: &ForumSettings,
    doc: &Document,
    version_number: Option<i32>,
    translations: &[Translation],
) -> Vec<String> {
    let version_number = doc.version_or_current(version_number);
    let published: BTreeSet<String> = translations
        .iter()
        .filter(|translation| {
            translation.version_number == version_number && translation.status == "published"
        })
        .map(|translation| translation.language.to_lowercase())
        .collect();
    settings
        .official_languages
        .iter()
        .filter(|language| !language.eq_ignore_ascii_case(&doc.original_language))
        .filter(|language| !published.contains(&language.to_lowercase()))
        .cloned()
        .collect()
}
