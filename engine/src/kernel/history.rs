//! The history of every subject: each transition, and each other write (recorded with from = to
//! and the operation's name), with who, when and why. Rows are only ever appended.

use crate::kernel::actor::Acting;
use crate::kernel::engine::Engine;
use crate::kernel::error::EngineResult;
use crate::kernel::pagination::{Page, PageRequest, pages_per_parent};
use chrono::{DateTime, Utc};
use govflow_entities::history_entry;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use std::collections::HashMap;
use uuid::Uuid;

/// One row to append.
pub struct NewEntry<'a> {
    pub subject_id: Uuid,
    pub subject_kind: &'a str,
    pub transition: &'a str,
    pub from_state: &'a str,
    pub to_state: &'a str,
    pub acting: Acting<'a>,
    pub reason: Option<&'a str>,
    pub definition_hash: Option<&'a str>,
    pub detail: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

pub async fn append<C: ConnectionTrait>(db: &C, entry: NewEntry<'_>) -> EngineResult<Uuid> {
    let id = Uuid::now_v7();
    let row = history_entry::ActiveModel {
        id: Set(id),
        subject_id: Set(entry.subject_id),
        subject_kind: Set(entry.subject_kind.to_owned()),
        transition: Set(entry.transition.to_owned()),
        from_state: Set(entry.from_state.to_owned()),
        to_state: Set(entry.to_state.to_owned()),
        actor_kind: Set(entry.acting.kind().to_owned()),
        actor_user_id: Set(entry.acting.user_id()),
        reason: Set(entry.reason.map(str::to_owned)),
        definition_hash: Set(entry.definition_hash.map(str::to_owned)),
        detail: Set(entry.detail.map(|detail| detail.to_string())),
        at: Set(entry.at),
    };
    history_entry::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(id)
}

/// Appends the row of a write to a record that is not a workflow subject (a forum, a user, a
/// document): it has no states and runs under no definition.
pub async fn record_write<C: ConnectionTrait>(
    db: &C,
    subject_id: Uuid,
    subject_kind: &str,
    operation: &str,
    acting: Acting<'_>,
    detail: serde_json::Value,
    at: DateTime<Utc>,
) -> EngineResult<Uuid> {
    append(
        db,
        NewEntry {
            subject_id,
            subject_kind,
            transition: operation,
            from_state: "",
            to_state: "",
            acting,
            reason: None,
            definition_hash: None,
            detail: Some(detail),
            at,
        },
    )
    .await
}

/// One change of a subject, as its history shows it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub id: Uuid,
    pub subject_id: Uuid,
    /// The transition, or the operation for other writes (`update_group`, `add_membership`).
    pub transition: String,
    /// Empty for the creation of the subject.
    pub from_state: String,
    pub to_state: String,
    /// `user` or `system`.
    pub actor_kind: String,
    /// The acting user; for `system`, the user whose action caused it, if any.
    pub actor_user_id: Option<Uuid>,
    pub reason: Option<String>,
    /// The content hash of the definition the subject ran under.
    pub definition_hash: Option<String>,
    /// What a write that is not a transition changed.
    pub detail: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

impl From<history_entry::Model> for HistoryEntry {
    fn from(row: history_entry::Model) -> HistoryEntry {
        HistoryEntry {
            id: row.id,
            subject_id: row.subject_id,
            transition: row.transition,
            from_state: row.from_state,
            to_state: row.to_state,
            actor_kind: row.actor_kind,
            actor_user_id: row.actor_user_id,
            reason: row.reason,
            definition_hash: row.definition_hash,
            detail: row
                .detail
                .as_deref()
                .and_then(|detail| serde_json::from_str(detail).ok()),
            at: row.at,
        }
    }
}

/// One page of the history of each of many subjects (for DataLoader), oldest first.
pub async fn pages_of_subjects(
    engine: &Engine,
    subject_ids: &[Uuid],
    page: PageRequest,
) -> EngineResult<HashMap<Uuid, Page<HistoryEntry>>> {
    let pages = pages_per_parent(
        engine.db(),
        history_entry::Entity::find(),
        history_entry::Column::SubjectId,
        subject_ids,
        &[history_entry::Column::At, history_entry::Column::Id],
        page,
    )
    .await?;
    Ok(pages
        .into_iter()
        .map(|(subject_id, page)| (subject_id, page.map(HistoryEntry::from)))
        .collect())
}
