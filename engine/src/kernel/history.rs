//! The history of every subject: each transition, and each other write (recorded with from = to
//! and the operation's name), with who, when and why. Rows are only ever appended.

use crate::kernel::actor::Acting;
use crate::kernel::error::EngineResult;
use crate::kernel::pagination::{Page, PageRequest};
use chrono::{DateTime, Utc};
use govflow_entities::history_entry;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
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

/// A subject's history, oldest first.
pub async fn of_subject<C: ConnectionTrait>(
    db: &C,
    subject_id: Uuid,
    page: PageRequest,
) -> EngineResult<Page<history_entry::Model>> {
    let query = history_entry::Entity::find()
        .filter(history_entry::Column::SubjectId.eq(subject_id))
        .order_by_asc(history_entry::Column::At)
        .order_by_asc(history_entry::Column::Id);
    let total = query.clone().count(db).await?;
    let items = query.offset(page.offset).limit(page.limit).all(db).await?;
    Ok(Page::new(items, page, total))
}

/// The histories of many subjects at once (for DataLoader), oldest first.
pub async fn of_subjects<C: ConnectionTrait>(
    db: &C,
    subject_ids: &[Uuid],
) -> EngineResult<Vec<history_entry::Model>> {
    Ok(history_entry::Entity::find()
        .filter(history_entry::Column::SubjectId.is_in(subject_ids.iter().copied()))
        .order_by_asc(history_entry::Column::At)
        .order_by_asc(history_entry::Column::Id)
        .all(db)
        .await?)
}
