//! Amendments as workflow subjects (`subject = "amendment"`): drafts readable only inside the
//! group, the consultation window and the rebase text their transitions take, the writes that
//! follow them (adoption writes the document's next version), and the guards
//! `consultation_closed` and `base_is_current`.

use super::{
    as_stored, closes_at_of, forum_of, local, may_read, readable_by, row_in, zone_in, zones_of,
};
use crate::areas::documents;
use crate::areas::forums::ForumSettings;
use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::error::{EngineError, EngineResult};
use crate::time::stored_zone;
use crate::workflow::guards::{Guard, GuardContext, GuardFuture, refuse, subject_ids};
use crate::workflow::subjects::{
    self, AfterTransition, SubjectInfo, SubjectKind, SubjectView, TransitionCall, moved_instance,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use govflow_entities::{
    amendment, document, document_version, forum, workflow_instance, working_group,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseExecutor, DatabaseTransaction, EntityTrait,
    FromQueryResult, QueryFilter, QueryResult, QueryTrait,
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

    /// One statement: the amendment with its document, forum and group.
    async fn info(&self, db: &DatabaseExecutor<'_>, id: Uuid) -> EngineResult<SubjectInfo> {
        subjects::info_in_one_statement(self, db, id, "amendment").await
    }

    fn info_query(&self, id: Uuid) -> Option<SelectStatement> {
        Some(context_query(id))
    }

    fn info_from_row(&self, row: &QueryResult) -> EngineResult<SubjectInfo> {
        Ok(Context::from_query_result(row, "")?.into_info())
    }

    /// Drafts are private to the group's chair, experts and coordinators.
    fn readable(
        &self,
        actor: &Actor,
        instance: &workflow_instance::Model,
        subject: &SubjectInfo,
    ) -> bool {
        may_read(actor, &instance.state, &subject.scope)
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

    async fn after_transition(&self, call: &TransitionCall<'_>) -> EngineResult<AfterTransition> {
        let now = call.at;
        let id = call.instance.subject_id;
        // One UPDATE, computed by the database from the row as it is: nothing is read first.
        let update = amendment::Entity::update_many()
            .col_expr(amendment::Column::UpdatedAt, Expr::value(now))
            .filter(amendment::Column::Id.eq(id));
        let update = match call.transition.name.as_str() {
            "open_consultation" => update
                .col_expr(amendment::Column::OpenedAt, Expr::value(now))
                .col_expr(
                    amendment::Column::ClosesAt,
                    Expr::value(closes_at_of(call.input)?),
                ),
            "rebase" => {
                let update = update
                    .col_expr(
                        amendment::Column::BaseVersion,
                        Expr::cust(
                            "(SELECT MAX(document_version.number) FROM document_version \
                             WHERE document_version.document_id = amendment.document_id \
                             AND document_version.status = 'adopted')",
                        ),
                    )
                    .col_expr(
                        amendment::Column::OpenedAt,
                        Expr::value(None::<DateTime<Utc>>),
                    )
                    .col_expr(
                        amendment::Column::ClosesAt,
                        Expr::value(None::<DateTime<Utc>>),
                    );
                match call.input.get("text").and_then(serde_json::Value::as_str) {
                    // A new text is a new revision only when it differs from the one it replaces.
                    Some(text) => update
                        .col_expr(
                            amendment::Column::TextRevision,
                            Expr::case(
                                Expr::col(amendment::Column::Text).eq(text),
                                Expr::col(amendment::Column::TextRevision),
                            )
                            .finally(Expr::col(amendment::Column::TextRevision).add(1))
                            .into(),
                        )
                        .col_expr(amendment::Column::Text, Expr::value(text)),
                    None => update,
                }
            }
            "adopt" => {
                let number = adopt(call, id, now).await?;
                update
                    .col_expr(amendment::Column::AdoptedVersion, Expr::value(number))
                    .col_expr(amendment::Column::AdoptedAt, Expr::value(now))
            }
            _ => update,
        };
        // RETURNING hands back the row as the UPDATE left it, so that the caller's answer is built
        // from it rather than read again after COMMIT.
        let mut statement = update.into_query();
        statement.returning_all();
        let row =
            amendment::Model::find_by_statement(call.txn.get_database_backend().build(&statement))
                .one(call.txn)
                .await?
                .ok_or_else(|| EngineError::not_found("amendment", id))?;
        let instance = moved_instance(call.instance, &call.transition.to, now);
        let amendment = as_stored(row, instance, call.subject.time_zone);
        Ok(match call.acting {
            Acting::User(actor) if readable_by(actor, &amendment) => {
                AfterTransition::Rewritten(SubjectView::new(amendment))
            }
            _ => AfterTransition::Changed,
        })
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

/// Adoption writes the document's next version from the amendment's text; returns its number.
async fn adopt(call: &TransitionCall<'_>, id: Uuid, now: DateTime<Utc>) -> EngineResult<i32> {
    let row = row_in(call.txn, id).await?;
    let number = documents::current_number(call.txn, row.document_id).await? + 1;
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
        row.text,
        "adopted",
        call.acting.user_id(),
        Some(row.id),
        now,
    )
    .await
    .map_err(|err| match err {
        // Another amendment of the document was adopted in the same instant and took the
        // version number first.
        EngineError::Conflict(_) => EngineError::Conflict(format!(
            "version {number} of the document was adopted by another amendment at the same time: rebase this one"
        )),
        other => other,
    })?;
    Ok(number)
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

/// The statement [`AmendmentKind::info`] runs: the amendment with its document, forum and group.
/// Public so that a benchmark's floor runs exactly the same SQL.
pub fn context_query(id: Uuid) -> SelectStatement {
    Query::select()
        .columns([
            (amendment::Entity, amendment::Column::Id),
            (amendment::Entity, amendment::Column::Title),
            (amendment::Entity, amendment::Column::BaseVersion),
            (amendment::Entity, amendment::Column::AdoptedVersion),
            (amendment::Entity, amendment::Column::ClosesAt),
            (amendment::Entity, amendment::Column::ForumId),
            (amendment::Entity, amendment::Column::GroupId),
        ])
        .expr_as(
            Expr::col((document::Entity, document::Column::Title)),
            "document_title",
        )
        .expr_as(
            Expr::col((document::Entity, document::Column::Kind)),
            "document_kind",
        )
        .expr_as(
            Expr::col((forum::Entity, forum::Column::Name)),
            "forum_name",
        )
        .expr_as(
            Expr::col((forum::Entity, forum::Column::Settings)),
            "forum_settings",
        )
        .expr_as(
            Expr::col((working_group::Entity, working_group::Column::Name)),
            "group_name",
        )
        .expr_as(
            Expr::col((working_group::Entity, working_group::Column::TimeZone)),
            "group_zone",
        )
        .from(amendment::Entity)
        .inner_join(
            document::Entity,
            Expr::col((document::Entity, document::Column::Id))
                .equals((amendment::Entity, amendment::Column::DocumentId)),
        )
        .inner_join(
            forum::Entity,
            Expr::col((forum::Entity, forum::Column::Id))
                .equals((amendment::Entity, amendment::Column::ForumId)),
        )
        .left_join(
            working_group::Entity,
            Expr::col((working_group::Entity, working_group::Column::Id))
                .equals((amendment::Entity, amendment::Column::GroupId)),
        )
        .and_where(Expr::col((amendment::Entity, amendment::Column::Id)).eq(id))
        .to_owned()
}

/// What an amendment's notices and checks need, read in one statement.
#[derive(Debug, FromQueryResult)]
struct Context {
    id: Uuid,
    title: String,
    base_version: i32,
    adopted_version: Option<i32>,
    closes_at: Option<DateTime<Utc>>,
    forum_id: Uuid,
    group_id: Option<Uuid>,
    document_title: String,
    document_kind: String,
    forum_name: String,
    forum_settings: String,
    group_name: Option<String>,
    group_zone: Option<String>,
}

impl Context {
    /// The scope, zone and template fields a transition and its notices need.
    fn into_info(self) -> SubjectInfo {
        let zone = match &self.group_zone {
            Some(zone) => stored_zone(zone),
            None => ForumSettings::stored(self.forum_id, &self.forum_settings).zone(),
        };
        SubjectInfo {
            kind: "amendment".into(),
            scope: SubjectScope {
                forum_id: Some(self.forum_id),
                group_id: self.group_id,
                ..SubjectScope::default()
            },
            time_zone: zone,
            fields: json!({
                "id": self.id.to_string(),
                "title": self.title,
                "document_title": self.document_title,
                "document_kind": self.document_kind.replace('_', " "),
                "base_version": self.base_version,
                "adopted_version": self.adopted_version,
                "closes_at": self.closes_at.map(|at| local(zone, at)),
                "group_name": self.group_name.unwrap_or_else(|| self.forum_name.clone()),
            }),
            forum: json!({ "id": self.forum_id.to_string(), "name": self.forum_name }),
        }
    }
}
