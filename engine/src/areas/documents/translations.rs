//! Translations of document versions: requested, in progress, published. A translation of an
//! older version is outdated as soon as a newer version is adopted; a document's missing
//! languages are the forum's official languages it has no published translation in yet.

use crate::areas::documents::{self, forum_of};
use crate::areas::forums::ForumSettings;
use crate::kernel::actor::{Acting, Actor};
use crate::kernel::db::begin_write;
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history;
use crate::types::LanguageTag;
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
    pub row: translation::Model,
    pub outdated: bool,
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
    let txn = begin_write(engine.db()).await?;
    let doc = documents::get_document_in(&txn, document_id).await?;
    let version = match version_number {
        Some(number) => documents::version_in(&txn, document_id, number).await?,
        None => documents::current_version(&txn, document_id).await?,
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
        .filter(translation::Column::VersionNumber.eq(version.number))
        .filter(translation::Column::Language.eq(language.as_str()))
        .count(&txn)
        .await?
        > 0;
    if exists {
        return Err(EngineError::Conflict(format!(
            "a `{}` translation of version {} already exists",
            language.as_str(),
            version.number
        )));
    }
    let now = engine.now();
    let row = translation::Model {
        id: Uuid::now_v7(),
        document_id,
        version_number: version.number,
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
    let current = documents::current_version(&txn, document_id).await?;
    txn.commit().await?;
    Ok(Translation {
        outdated: row.version_number < current.number,
        row,
    })
}

async fn advance(
    engine: &Engine,
    actor: &Actor,
    translation_id: Uuid,
    to: &str,
    text: Option<&str>,
) -> EngineResult<Translation> {
    let txn = begin_write(engine.db()).await?;
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
    let latest = documents::current_version(&txn, row.document_id).await?;
    txn.commit().await?;
    Ok(Translation {
        outdated: row.version_number < latest.number,
        row,
    })
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

/// The translations of many documents at once (for DataLoader), with `outdated` set.
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
    let versions = documents::versions_of(engine, document_ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let latest = versions
                .iter()
                .filter(|version| {
                    version.document_id == row.document_id && version.status == "adopted"
                })
                .map(|version| version.number)
                .max()
                .unwrap_or(row.version_number);
            Translation {
                outdated: row.version_number < latest,
                row,
            }
        })
        .collect())
}

/// The forum's official languages a version has no published translation in (nor is written in).
pub fn missing_languages(
    settings: &ForumSettings,
    doc: &document::Model,
    version_number: i32,
    translations: &[Translation],
) -> Vec<String> {
    let published: BTreeSet<String> = translations
        .iter()
        .filter(|translation| {
            translation.row.version_number == version_number
                && translation.row.status == "published"
        })
        .map(|translation| translation.row.language.to_lowercase())
        .collect();
    settings
        .official_languages
        .iter()
        .filter(|language| !language.eq_ignore_ascii_case(&doc.original_language))
        .filter(|language| !published.contains(&language.to_lowercase()))
        .cloned()
        .collect()
}
