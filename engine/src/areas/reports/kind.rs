//! Annual reports as workflow subjects (`subject = "annual_report"`): drafts private to the
//! group's chair, experts and coordinators until published; `submit` storing the draft as the next
//! version of the report's document, `return` setting that version aside and `publish` adopting
//! it; the guard `implications_written`; and the deadline occurrence a report meets.

use super::draft;
use crate::areas::documents;
use crate::kernel::actor::{Actor, SubjectScope};
use crate::kernel::error::{EngineError, EngineResult};
use crate::time::stored_zone;
use crate::workflow::guards::{Guard, GuardContext, GuardFuture, refuse, subject_ids};
use crate::workflow::subjects::{
    AfterTransition, OccurrenceMet, SubjectInfo, SubjectKind, TransitionCall,
};
use async_trait::async_trait;
use govflow_entities::{annual_report, document_version, workflow_instance};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseExecutor, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

pub struct ReportKind;

pub(super) async fn row_in<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> EngineResult<annual_report::Model> {
    annual_report::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("annual report", id))
}

pub(super) fn scope_of(row: &annual_report::Model) -> SubjectScope {
    SubjectScope {
        forum_id: Some(row.forum_id),
        group_id: Some(row.group_id),
        ..SubjectScope::default()
    }
}

/// The one rule of who may see a report: anyone once published; before that the group's chair,
/// experts and coordinators (and admins, who pass every stored role).
pub(super) fn may_read(actor: &Actor, state: &str, scope: &SubjectScope) -> bool {
    state == "published" || actor.is_insider(scope)
}

#[async_trait]
impl SubjectKind for ReportKind {
    fn name(&self) -> &'static str {
        "annual_report"
    }

    fn table(&self) -> &'static str {
        "annual_report"
    }

    async fn info(&self, db: &DatabaseExecutor<'_>, id: Uuid) -> EngineResult<SubjectInfo> {
        let row = row_in(db, id).await?;
        let group = crate::areas::groups::get_row_in(db, row.group_id).await?;
        let forum = crate::areas::documents::forum_of(db, row.forum_id).await?;
        let zone = stored_zone(&group.time_zone);
        let day = |at: chrono::DateTime<chrono::Utc>| {
            at.with_timezone(&zone.tz()).format("%-d %B %Y").to_string()
        };
        Ok(SubjectInfo {
            kind: "annual_report".into(),
            scope: scope_of(&row),
            time_zone: zone,
            fields: json!({
                "id": row.id.to_string(),
                "title": format!("annual report {}", row.year),
                "year": row.year,
                "group_name": group.name,
                "period_start": day(row.period_start),
                "period_end": day(row.period_end),
                "submitted_version": row.submitted_version,
            }),
            forum: json!({ "id": forum.id.to_string(), "name": forum.name }),
        })
    }

    fn readable(
        &self,
        actor: &Actor,
        instance: &workflow_instance::Model,
        subject: &SubjectInfo,
    ) -> bool {
        may_read(actor, &instance.state, &subject.scope)
    }

    async fn after_transition(&self, call: &TransitionCall<'_>) -> EngineResult<AfterTransition> {
        let now = call.engine.now();
        let row = row_in(call.txn, call.instance.subject_id).await?;
        let update = annual_report::Entity::update_many()
            .col_expr(annual_report::Column::UpdatedAt, Expr::value(now))
            .filter(annual_report::Column::Id.eq(row.id));
        let update = match call.transition.name.as_str() {
            "submit" => {
                let number = next_number(call.txn, row.document_id).await?;
                documents::insert_version(
                    call.txn,
                    row.document_id,
                    number,
                    row.draft.clone(),
                    "proposed",
                    call.acting.user_id(),
                    None,
                    now,
                )
                .await?;
                update.col_expr(annual_report::Column::SubmittedVersion, Expr::value(number))
            }
            "return" => {
                // A returned submission stays on the record, set aside; the next submit stores
                // the next version.
                if let Some(number) = row.submitted_version {
                    set_status(call.txn, row.document_id, number, "superseded").await?;
                }
                update.col_expr(
                    annual_report::Column::SubmittedVersion,
                    Expr::value(None::<i32>),
                )
            }
            "publish" => {
                let number = row.submitted_version.ok_or_else(|| {
                    EngineError::Internal(format!(
                        "annual report {} is submitted without a stored version",
                        row.id
                    ))
                })?;
                document_version::Entity::update_many()
                    .col_expr(document_version::Column::Status, Expr::value("superseded"))
                    .filter(document_version::Column::DocumentId.eq(row.document_id))
                    .filter(document_version::Column::Status.eq("adopted"))
                    .exec(call.txn)
                    .await?;
                set_status(call.txn, row.document_id, number, "adopted").await?;
                update.col_expr(annual_report::Column::PublishedAt, Expr::value(now))
            }
            _ => update,
        };
        update.exec(call.txn).await?;
        Ok(AfterTransition::Changed)
    }

    fn guards(&self) -> Vec<Guard> {
        vec![Guard {
            name: "implications_written",
            check: implications_written,
        }]
    }

    /// A report meets the occurrence that closes its period; one whose period was given by
    /// hand meets none.
    async fn occurrence_met(
        &self,
        txn: &DatabaseTransaction,
        subject_id: Uuid,
    ) -> EngineResult<OccurrenceMet> {
        Ok(match row_in(txn, subject_id).await?.occurrence_id {
            Some(id) => OccurrenceMet::Named(id),
            None => OccurrenceMet::Nothing,
        })
    }
}

/// The number after the highest version the document has, whatever its status.
async fn next_number<C: ConnectionTrait>(db: &C, document_id: Uuid) -> EngineResult<i32> {
    let highest: Option<Option<i32>> = document_version::Entity::find()
        .select_only()
        .column_as(document_version::Column::Number.max(), "highest")
        .filter(document_version::Column::DocumentId.eq(document_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(highest.flatten().unwrap_or(0) + 1)
}

async fn set_status(
    txn: &DatabaseTransaction,
    document_id: Uuid,
    number: i32,
    status: &str,
) -> EngineResult<()> {
    document_version::Entity::update_many()
        .col_expr(document_version::Column::Status, Expr::value(status))
        .filter(document_version::Column::DocumentId.eq(document_id))
        .filter(document_version::Column::Number.eq(number))
        .exec(txn)
        .await?;
    Ok(())
}

/// The section `## Implications for member states` holds text of its own.
fn implications_written<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async move {
        let ids = subject_ids(context, "implications_written")?;
        let mut verdicts = Vec::with_capacity(ids.len());
        for id in ids {
            let row = row_in(context.txn, id).await?;
            verdicts.push(match draft::implications_missing(&row.draft) {
                None => Ok(()),
                Some(why) => Err(refuse("implications_written", why)),
            });
        }
        Ok(verdicts)
    })
}
