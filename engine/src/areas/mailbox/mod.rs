//! Reading the outbox: what was queued for whom, for the coordinators of the group or forum it
//! concerns and for the administrator.

use crate::areas::groups::Zones;
use crate::kernel::actor::{Actor, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::pagination::{Page, PageRequest};
use crate::notify::outbox::{self, OutboxFilter};
use crate::types::TimeZone;
use chrono::{DateTime, Utc};
use govflow_entities::outbox_message;

/// A queued, sent or dead e-mail, with the zone of what it is about (its group's, else its
/// forum's).
#[derive(Debug, Clone)]
pub struct Mail {
    pub id: uuid::Uuid,
    pub recipient_user_id: Option<uuid::Uuid>,
    pub recipient_email: String,
    pub subject_line: String,
    pub body: String,
    pub template: String,
    pub subject_id: Option<uuid::Uuid>,
    /// `pending`, `sending`, `sent` or `dead`.
    pub status: String,
    pub attempts: i32,
    /// Kept across retries, so that a receiver can drop a duplicate.
    pub message_id: String,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub time_zone: TimeZone,
}

impl Mail {
    fn new(row: outbox_message::Model, zones: &Zones) -> Mail {
        Mail {
            time_zone: zones.zone(row.group_id, row.forum_id),
            id: row.id,
            recipient_user_id: row.recipient_user_id,
            recipient_email: row.recipient_email,
            subject_line: row.subject_line,
            body: row.body,
            template: row.template,
            subject_id: row.subject_id,
            status: row.status,
            attempts: row.attempts,
            message_id: row.message_id,
            last_error: row.last_error,
            created_at: row.created_at,
            sent_at: row.sent_at,
        }
    }
}

/// The outbox as a person may read it: a group's messages for its coordinators, a forum's for the
/// forum's coordinators, everything for the administrator.
pub async fn visible_to(
    engine: &Engine,
    actor: &Actor,
    filter: &OutboxFilter,
    page: PageRequest,
) -> EngineResult<Page<Mail>> {
    let allowed = if let Some(group_id) = filter.group_id {
        let group = crate::areas::groups::get_group(engine, group_id).await?;
        actor.holds("coordinator", group.scope())
    } else if let Some(forum_id) = filter.forum_id {
        crate::areas::forums::get_forum(engine, forum_id).await?;
        actor.holds(
            "forum_coordinator",
            &SubjectScope {
                forum_id: Some(forum_id),
                ..SubjectScope::default()
            },
        )
    } else {
        actor.is_admin
    };
    if !allowed {
        return Err(EngineError::Forbidden(
            "reading the outbox needs the role coordinator of that group or forum (or admin)"
                .into(),
        ));
    }
    let page = outbox::list(engine.db(), filter, page).await?;
    let zones = Zones::load(
        engine.db(),
        page.items.iter().map(|row| (row.group_id, row.forum_id)),
    )
    .await?;
    Ok(page.map(|row| Mail::new(row, &zones)))
}
