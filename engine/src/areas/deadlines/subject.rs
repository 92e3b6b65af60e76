//! What a deadline hangs on: a group, a document, an instrument or a meeting, with the scope its
//! coordinators and reminders are resolved in and the zone its rule counts in (the meeting's,
//! else the group's, else the forum's: DECISIONS §8). A subject the caller may not read is
//! NOT_FOUND, as everywhere.

use crate::areas::documents;
use crate::kernel::actor::{Acting, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::types::TimeZone;
use crate::workflow::subjects;
use govflow_entities::workflow_instance;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

/// The kinds of subject a deadline may be set on.
pub const KINDS: &[&str] = &["group", "document", "instrument", "meeting", "task"];

#[derive(Debug, Clone)]
pub struct DeadlineSubject {
    pub id: Uuid,
    pub kind: String,
    pub scope: SubjectScope,
    pub zone: TimeZone,
    /// The definition the subject runs under, for a workflow subject.
    pub definition_hash: Option<String>,
}

impl DeadlineSubject {
    pub fn forum_id(&self) -> Uuid {
        self.scope.forum_id.unwrap_or_default()
    }
}

/// The subject `id` as `acting` may see it.
pub async fn readable(
    engine: &Engine,
    txn: &DatabaseTransaction,
    acting: Acting<'_>,
    id: Uuid,
) -> EngineResult<DeadlineSubject> {
    let instance = workflow_instance::Entity::find()
        .filter(workflow_instance::Column::SubjectId.eq(id))
        .one(txn)
        .await?;
    match instance {
        Some(_) => {
            // Readable first: a draft the caller may not read is NOT_FOUND, whatever its kind.
            let (instance, info) = subjects::readable_subject(engine, txn, acting, id).await?;
            if !KINDS.contains(&instance.subject_kind.as_str()) {
                return Err(EngineError::invalid(
                    "subjectId",
                    format!(
                        "deadlines are set on a {}, not on a {}",
                        KINDS.join(", "),
                        instance.subject_kind
                    ),
                ));
            }
            Ok(DeadlineSubject {
                id,
                kind: instance.subject_kind,
                scope: info.scope,
                zone: info.time_zone,
                definition_hash: Some(instance.definition_hash),
            })
        }
        None => {
            let doc = documents::get_document_in(txn, id)
                .await
                .map_err(|_| subjects::not_found(id))?;
            if let Acting::User(actor) = acting {
                documents::check_readable(txn, actor, &doc)
                    .await
                    .map_err(|_| subjects::not_found(id))?;
            }
            Ok(DeadlineSubject {
                id,
                kind: "document".into(),
                scope: documents::scope_of(&doc),
                zone: documents::zone_of(txn, &doc).await?,
                definition_hash: None,
            })
        }
    }
}
