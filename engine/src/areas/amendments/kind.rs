//! Amendments as workflow subjects (`subject = "amendment"`): drafts readable only inside the
//! group, the consultation window and the rebase text their transitions take, the writes that
//! follow them (adoption writes the document's next version), and the guards
//! `consultation_closed` and `base_is_current`.

use super::{closes_at_of, forum_of, local, may_read, row_in, scope_of, zone_in, zones_of};
use crate::areas::documents;
use crate::areas::forums::ForumSettings;
use crate::kernel::actor::{Actor, SubjectScope};
use crate::kernel::error::{EngineError, EngineResult};
use crate::workflow::guards::{Guard, GuardContext, GuardFuture, refuse, subject_ids};
use crate::workflow::subjects::{SubjectInfo, SubjectKind, TransitionCall};
use async_trait::async_trait;
use govflow_entities::{amendment, document_version, workflow_instance};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseExecutor, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

pub struct AmendmentKind;

#[async_trait]
impl SubjectKind for AmendmentKind {
    fn name(&self) -> &'static str {
        "amendment"
    }

    fn table(&self) -> &'static str {
        "amendment"
    }

    async fn info(&self, db: &DatabaseExecutor<'_>, id: Uuid) -> EngineResult<SubjectInfo> {
        let row = row_in(db, id).await?;
        let doc = documents::get_document_in(db, row.document_id).await?;
        let zone = documents::zone_of(db, &doc).await?;
        let forum = forum_of(db, row.forum_id).await?;
        let group_name = match row.group_id {
            Some(group_id) => crate::areas::groups::get_row_in(db, group_id).await?.name,
            None => forum.name.clone(),
        };
        Ok(SubjectInfo {
            kind: "amendment".into(),
            scope: scope_of(&row),
            time_zone: zone,
            fields: json!({
                "id": row.id.to_string(),
                "title": row.title,
                "document_title": doc.title,
                "document_kind": doc.kind.replace('_', " "),
                "base_version": row.base_version,
                "adopted_version": row.adopted_version,
                "closes_at": row.closes_at.map(|at| local(zone, at)),
                "group_name": group_name,
            }),
            forum: json!({ "id": forum.id.to_string(), "name": forum.name }),
        })
    }

    /// Drafts are private to the group's chair, experts and coordinators.
    async fn readable(
        &self,
        db: &DatabaseExecutor<'_>,
        actor: &Actor,
        instance: &workflow_instance::Model,
    ) -> EngineResult<bool> {
        // A scope only ever adds roles: when the rule already passes without one, the amendment's
        // row (for its group) need not be read, so amendments past `draft` cost no query.
        if may_read(actor, &instance.state, &SubjectScope::default()) {
            return Ok(true);
        }
        let row = row_in(db, instance.subject_id).await?;
        Ok(may_read(actor, &instance.state, &scope_of(&row)))
    }

    /// The consultation window must be long enough, and a rebase's new text must be a text.
    async fn check_input(&self, call: &TransitionCall<'_>) -> EngineResult<()> {
        match call.transition.name.as_str() {
            "open_consultation" => {
                let closes_at = closes_at_of(call.input)?;
                let row = row_in(call.txn, call.instance.subject_id).await?;
                let settings = ForumSettings::of(&forum_of(call.txn, row.forum_id).await?);
                let days = u32::try_from(settings.min_consultation_days).unwrap_or(0);
                // Days are counted in the group's calendar and keep the wall time.
                let earliest =
                    crate::time::add_days(call.subject.time_zone, call.engine.now(), days);
                if closes_at < earliest {
                    return Err(EngineError::invalid(
                        "closesAt",
                        format!(
                            "the consultation must stay open at least {days} days: it may close at {} at the earliest",
                            local(call.subject.time_zone, earliest)
                        ),
                    ));
                }
                Ok(())
            }
            "rebase" => {
                if let Some(text) = call.input.get("text").filter(|text| !text.is_null()) {
                    let text = text
                        .as_str()
                        .ok_or_else(|| EngineError::invalid("text", "must be a string"))?;
                    let row = row_in(call.txn, call.instance.subject_id).await?;
                    let settings = ForumSettings::of(&forum_of(call.txn, row.forum_id).await?);
                    documents::parse_text("text", text, &settings)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn after_transition(&self, call: &TransitionCall<'_>) -> EngineResult<bool> {
        let now = call.engine.now();
        let row = row_in(call.txn, call.instance.subject_id).await?;
        let mut update = row.clone().into_active_model();
        update.updated_at = Set(now);
        match call.transition.name.as_str() {
            "open_consultation" => {
                update.opened_at = Set(Some(now));
                update.closes_at = Set(Some(closes_at_of(call.input)?));
            }
            "rebase" => {
                let current = documents::current_version(call.txn, row.document_id).await?;
                update.base_version = Set(current.number);
                update.opened_at = Set(None);
                update.closes_at = Set(None);
                let new_text = call.input.get("text").and_then(serde_json::Value::as_str);
                if let Some(text) = new_text.filter(|text| *text != row.text) {
                    update.text = Set(text.to_owned());
                    update.text_revision = Set(row.text_revision + 1);
                }
            }
            "adopt" => {
                let current = documents::current_version(call.txn, row.document_id).await?;
                let number = current.number + 1;
                document_version::Entity::update_many()
                    .col_expr(document_version::Column::Status, Expr::value("superseded"))
                    .filter(document_version::Column::DocumentId.eq(row.document_id))
                    .filter(document_version::Column::Status.eq("adopted"))
                    .exec(call.txn)
                    .await?;
                documents::insert_version(
                    call.txn,
                    row.document_id,
                    number,
                    row.text.clone(),
                    "adopted",
                    call.acting.user_id(),
                    Some(row.id),
                    now,
                )
                .await
                .map_err(|err| match err {
                    // Another amendment of the document was adopted in the same instant and took
                    // the version number first.
                    EngineError::Conflict(_) => EngineError::Conflict(format!(
                        "version {number} of the document was adopted by another amendment at the same time: rebase this one"
                    )),
                    other => other,
                })?;
                update.adopted_version = Set(Some(number));
            }
            _ => {}
        }
        amendment::Entity::update(update).exec(call.txn).await?;
        Ok(true)
    }

    fn guards(&self) -> Vec<Guard> {
        vec![
            Guard {
                name: "consultation_closed",
                check: consultation_closed,
            },
            Guard {
                name: "base_is_current",
                check: base_is_current,
            },
        ]
    }
}

/// Adoption waits for the consultation window to close.
fn consultation_closed<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async move {
        let ids = subject_ids(context, "consultation_closed")?;
        let rows = rows_by_id(context.txn, ids.clone()).await?;
        let zones = zones_of(context.txn, &rows.values().cloned().collect::<Vec<_>>()).await?;
        Ok(ids
            .iter()
            .map(|id| {
                let row = rows
                    .get(id)
                    .ok_or_else(|| EngineError::not_found("amendment", *id))?;
                match row.closes_at {
                    Some(closes_at) if context.now >= closes_at => Ok(()),
                    Some(closes_at) => {
                        let zone = zone_in(&zones, row);
                        Err(refuse(
                            "consultation_closed",
                            format!(
                                "the consultation is open until {}; adopt after it closes",
                                local(zone, closes_at)
                            ),
                        ))
                    }
                    None => Err(refuse(
                        "consultation_closed",
                        "no consultation window was set",
                    )),
                }
            })
            .collect())
    })
}

/// An amendment is adopted only if no other was adopted since its base (refuses with CONFLICT).
fn base_is_current<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async move {
        let ids = subject_ids(context, "base_is_current")?;
        let rows = rows_by_id(context.txn, ids.clone()).await?;
        let document_ids = rows.values().map(|row| row.document_id).collect();
        let current = documents::current_numbers(context.txn, document_ids).await?;
        Ok(ids
            .iter()
            .map(|id| {
                let row = rows
                    .get(id)
                    .ok_or_else(|| EngineError::not_found("amendment", *id))?;
                let number = current.get(&row.document_id).copied().unwrap_or(0);
                if number == row.base_version {
                    Ok(())
                } else {
                    Err(EngineError::Conflict(format!(
                        "version {number} of the document was adopted since this amendment's base (version {}): rebase the amendment first",
                        row.base_version
                    )))
                }
            })
            .collect())
    })
}

async fn rows_by_id(
    txn: &DatabaseTransaction,
    ids: Vec<Uuid>,
) -> EngineResult<HashMap<Uuid, amendment::Model>> {
    Ok(amendment::Entity::find()
        .filter(amendment::Column::Id.is_in(ids))
        .all(txn)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}
