//! Reading the outbox: what was queued for whom, for the coordinators of the group or forum it
//! concerns and for the administrator.

use crate::kernel::actor::{Actor, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::pagination::{Page, PageRequest};
use crate::notify::outbox::{self, OutboxFilter};
use govflow_entities::outbox_message;

/// The outbox as a person may read it: a group's messages for its coordinators, a forum's for the
/// forum's coordinators, everything for the administrator.
pub async fn visible_to(
    engine: &Engine,
    actor: &Actor,
    filter: &OutboxFilter,
    page: PageRequest,
) -> EngineResult<Page<outbox_message::Model>> {
    let allowed = if let Some(group_id) = filter.group_id {
        let group = crate::areas::groups::get_group(engine, group_id).await?;
        actor.holds(
            "coordinator",
            &crate::areas::groups::group_scope(&group.row),
        )
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
    outbox::list(engine.db(), filter, page).await
}
