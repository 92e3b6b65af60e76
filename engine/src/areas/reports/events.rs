//! The report deadline comes by itself: activating a group (or recording an established one)
//! gives it the recurring deadline "annual report due `reportLeadDays` before the next meeting of
//! the forum's `summitSeries`", met by `publish`, under the default reminder plan; it follows the
//! summit when that moves (a `before_event` rule), and concluding the group cancels it.

use super::PUBLISH;
use crate::areas::deadlines::{self, NewDeadline};
use crate::areas::forums::ForumSettings;
use crate::kernel::actor::Acting;
use crate::kernel::engine::Engine;
use crate::kernel::error::EngineResult;
use crate::kernel::events::{Event, Subscriber, TransitionTaken};
use async_trait::async_trait;
use govflow_entities::{deadline, forum, working_group};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter};

/// The title of a group's report deadline.
pub const DEADLINE_TITLE: &str = "Annual report";

/// The subscriber the registry installs.
pub struct ReportEvents;

#[async_trait]
impl Subscriber for ReportEvents {
    async fn on_event(
        &self,
        engine: &Engine,
        txn: &DatabaseTransaction,
        event: &Event,
    ) -> EngineResult<()> {
        let Event::TransitionTaken(taken) = event else {
            return Ok(());
        };
        if taken.subject_kind != "group" {
            return Ok(());
        }
        match taken.transition.as_str() {
            "establish" | "activate" => add_report_deadline(engine, txn, taken).await,
            "conclude" => {
                deadlines::cancel_waiting_for(
                    engine,
                    txn,
                    taken.subject_id,
                    PUBLISH,
                    Acting::System {
                        on_behalf_of: taken.by,
                    },
                    "the group concluded",
                )
                .await
            }
            _ => Ok(()),
        }
    }
}

async fn add_report_deadline(
    engine: &Engine,
    txn: &DatabaseTransaction,
    taken: &TransitionTaken,
) -> EngineResult<()> {
    let existing = deadline::Entity::find()
        .filter(deadline::Column::SubjectId.eq(taken.subject_id))
        .filter(deadline::Column::MetBy.eq(PUBLISH))
        .filter(deadline::Column::State.eq("active"))
        .count(txn)
        .await?;
    if existing > 0 {
        return Ok(());
    }
    let Some(group) = working_group::Entity::find_by_id(taken.subject_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let Some(forum) = forum::Entity::find_by_id(group.forum_id).one(txn).await? else {
        return Ok(());
    };
    let settings = ForumSettings::of(&forum);
    let rule = format!(
        "before_event \"{}\" {}d",
        settings.summit_series,
        settings.report_lead_days.max(0)
    );
    let acting = Acting::System {
        on_behalf_of: taken.by,
    };
    deadlines::set_in(
        engine,
        txn,
        acting,
        NewDeadline {
            subject_id: group.id,
            title: DEADLINE_TITLE.into(),
            rule,
            met_by: Some(PUBLISH.into()),
            ..NewDeadline::default()
        },
    )
    .await?;
    Ok(())
}
