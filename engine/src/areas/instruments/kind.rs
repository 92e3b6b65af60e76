//! Instruments as workflow subjects (`subject = "instrument"`): their scope (the forum, the
//! proposing member state or group), the meeting `place_on_agenda` takes, and what `adopt` writes
//! (the adoption's effective instant).

use crate::areas::forums::Zones;
use crate::areas::meetings::agenda;
use crate::kernel::error::{EngineError, EngineResult};
use crate::workflow::subjects::{AfterTransition, SubjectInfo, SubjectKind, TransitionCall};
use async_trait::async_trait;
use govflow_entities::{forum, instrument};
use sea_orm::{ActiveValue::Set, DatabaseExecutor, EntityTrait, IntoActiveModel};
use serde_json::json;
use uuid::Uuid;

pub struct InstrumentKind;

#[async_trait]
impl SubjectKind for InstrumentKind {
    fn name(&self) -> &'static str {
        "instrument"
    }

    fn table(&self) -> &'static str {
        "instrument"
    }

    async fn info(
        &self,
        db: &DatabaseExecutor<'_>,
        instrument_id: Uuid,
    ) -> EngineResult<SubjectInfo> {
        let row = super::row_in(db, instrument_id).await?;
        let forum = forum::Entity::find_by_id(row.forum_id)
            .one(db)
            .await?
            .ok_or_else(|| EngineError::not_found("forum", row.forum_id))?;
        Ok(SubjectInfo {
            kind: "instrument".into(),
            scope: super::instrument_scope(&row),
            time_zone: Zones::of_place(db, None, Some(row.forum_id)).await?,
            fields: json!({
                "id": row.id.to_string(),
                "title": row.title,
                "name": row.title,
                "kind": row.kind,
                "symbol": row.symbol,
            }),
            forum: json!({ "id": forum.id.to_string(), "name": forum.name }),
        })
    }

    async fn check_input(&self, call: &TransitionCall<'_>) -> EngineResult<()> {
        if call.transition.name == "place_on_agenda" {
            agenda::meeting_for(call.txn, call.input, forum_of(call)?).await?;
        }
        Ok(())
    }

    async fn after_transition(&self, call: &TransitionCall<'_>) -> EngineResult<AfterTransition> {
        agenda::follow_transition(call, forum_of(call)?).await?;
        if call.transition.name == "adopt" {
            let now = call.engine.now();
            let mut row = super::row_in(call.txn, call.instance.subject_id)
                .await?
                .into_active_model();
            row.adopted_at = Set(Some(now));
            row.updated_at = Set(now);
            instrument::Entity::update(row).exec(call.txn).await?;
            return Ok(AfterTransition::Changed);
        }
        Ok(AfterTransition::Unchanged)
    }
}

fn forum_of(call: &TransitionCall<'_>) -> EngineResult<Uuid> {
    call.subject
        .scope
        .forum_id
        .ok_or_else(|| EngineError::Internal("an instrument without a forum".into()))
}
