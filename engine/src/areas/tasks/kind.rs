//! Research tasks as workflow subjects (`subject = "task"`): who holds a claim, the lease each
//! claim runs under (a deadline: [`super::leases`]), what a submission carries, the guards
//! `within_claim_limit` and `was_assigned`, and ALREADY_CLAIMED for a claim on a held task.

use super::leases;
use crate::areas::forums::ForumSettings;
use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::error::{EngineError, EngineResult};
use crate::time::stored_zone;
use crate::types::{MAX_TEXT_CHARS, RequiredText, parse_uuid_input};
use crate::workflow::guards::{Guard, GuardContext, GuardFuture, refuse, subject_ids};
use crate::workflow::subjects::{self, AfterTransition, SubjectInfo, SubjectKind, TransitionCall};
use async_trait::async_trait;
use govflow_entities::{
    app_user, document_version, forum, membership, research_task, workflow_instance, working_group,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseExecutor, DatabaseTransaction, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryResult,
};
use serde_json::json;
use uuid::Uuid;

pub struct TaskKind;

pub(super) async fn row_in<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> EngineResult<research_task::Model> {
    research_task::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("task", id))
}

pub(super) fn scope_of(row: &research_task::Model) -> SubjectScope {
    SubjectScope {
        forum_id: Some(row.forum_id),
        group_id: Some(row.group_id),
        claimant_id: row.claimant_id,
        ..SubjectScope::default()
    }
}

#[async_trait]
impl SubjectKind for TaskKind {
    fn name(&self) -> &'static str {
        "task"
    }

    fn table(&self) -> &'static str {
        "research_task"
    }

    /// One statement: the task with its group, forum and claimant.
    async fn info(&self, db: &DatabaseExecutor<'_>, id: Uuid) -> EngineResult<SubjectInfo> {
        subjects::info_in_one_statement(self, db, id, "task").await
    }

    fn info_query(&self, id: Uuid) -> Option<SelectStatement> {
        Some(context_query(id))
    }

    fn info_from_row(&self, row: &QueryResult) -> EngineResult<SubjectInfo> {
        Ok(Context::from_query_result(row, "")?.into_info())
    }

    /// `assign` names an expert of the task's group; `submit` carries a deliverable: a text, or
    /// a version of one of the group's documents.
    async fn check_input(&self, call: &TransitionCall<'_>) -> EngineResult<()> {
        match call.transition.name.as_str() {
            "assign" => {
                expert_of_input(call).await?;
                Ok(())
            }
            "submit" => {
                deliverable_of(call).await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn after_transition(&self, call: &TransitionCall<'_>) -> EngineResult<AfterTransition> {
        let now = call.engine.now();
        let id = call.instance.subject_id;
        let update = research_task::Entity::update_many()
            .col_expr(research_task::Column::UpdatedAt, Expr::value(now))
            .filter(research_task::Column::Id.eq(id));
        let cleared = |update: sea_orm::UpdateMany<research_task::Entity>| {
            update
                .col_expr(research_task::Column::ClaimantId, Expr::value(None::<Uuid>))
                .col_expr(research_task::Column::Assigned, Expr::value(false))
        };
        let update = match call.transition.name.as_str() {
            "claim" => update
                .col_expr(
                    research_task::Column::ClaimantId,
                    Expr::value(call.acting.user_id()),
                )
                .col_expr(research_task::Column::Assigned, Expr::value(false))
                .col_expr(research_task::Column::ClaimedAt, Expr::value(now)),
            "assign" => update
                .col_expr(
                    research_task::Column::ClaimantId,
                    Expr::value(expert_of_input(call).await?),
                )
                .col_expr(research_task::Column::Assigned, Expr::value(true))
                .col_expr(research_task::Column::ClaimedAt, Expr::value(now)),
            "decline" | "release" | "expire" => cleared(update),
            "submit" => {
                let deliverable = deliverable_of(call).await?;
                update
                    .col_expr(
                        research_task::Column::DeliverableText,
                        Expr::value(deliverable.text),
                    )
                    .col_expr(
                        research_task::Column::DeliverableDocumentId,
                        Expr::value(deliverable.document_id),
                    )
                    .col_expr(
                        research_task::Column::DeliverableVersion,
                        Expr::value(deliverable.version),
                    )
                    .col_expr(research_task::Column::SubmittedAt, Expr::value(now))
            }
            "accept" => update.col_expr(research_task::Column::AcceptedAt, Expr::value(now)),
            "cancel" => update.col_expr(research_task::Column::CancelledAt, Expr::value(now)),
            _ => update,
        };
        update.exec(call.txn).await?;
        match call.transition.name.as_str() {
            "claim" | "assign" | "return" => leases::start(call, id).await?,
            "decline" | "release" | "cancel" => leases::end(call, id).await?,
            _ => {}
        }
        Ok(AfterTransition::Changed)
    }

    fn guards(&self) -> Vec<Guard> {
        vec![
            Guard {
                name: "within_claim_limit",
                check: within_claim_limit,
            },
            Guard {
                name: "was_assigned",
                check: was_assigned,
            },
        ]
    }

    /// A claim (or an assignment) of a task someone else holds is ALREADY_CLAIMED, naming them.
    async fn state_refusal(
        &self,
        txn: &DatabaseTransaction,
        acting: Acting<'_>,
        subject_id: Uuid,
        transition: &str,
        state: &str,
    ) -> EngineResult<Option<EngineError>> {
        if !matches!(transition, "claim" | "assign") || !matches!(state, "claimed" | "submitted") {
            return Ok(None);
        }
        let row = row_in(txn, subject_id).await?;
        let Some(claimant_id) = row.claimant_id else {
            return Ok(None);
        };
        if transition == "claim" && acting.user_id() == Some(claimant_id) {
            return Ok(None);
        }
        let name = app_user::Entity::find_by_id(claimant_id)
            .one(txn)
            .await?
            .map(|user| user.name)
            .unwrap_or_else(|| "another expert".into());
        Ok(Some(EngineError::AlreadyClaimed(format!(
            "the task is already claimed by {name} (user {claimant_id})"
        ))))
    }
}

/// The expert `assign` names: one of the task's group.
async fn expert_of_input(call: &TransitionCall<'_>) -> EngineResult<Uuid> {
    let raw = call
        .input
        .get("expertId")
        .and_then(serde_json::Value::as_str);
    let expert = parse_uuid_input("input.expertId", raw)?;
    let group_id = call.subject.scope.group_id.unwrap_or_default();
    let is_expert = membership::Entity::find()
        .filter(membership::Column::UserId.eq(expert))
        .filter(membership::Column::Role.eq("expert"))
        .filter(membership::Column::ScopeId.eq(group_id))
        .count(call.txn)
        .await?
        > 0;
    if !is_expert {
        return Err(EngineError::invalid(
            "input.expertId",
            "is not an expert of the task's group",
        ));
    }
    Ok(expert)
}

/// What a submission carries.
struct Deliverable {
    text: Option<String>,
    document_id: Option<Uuid>,
    version: Option<i32>,
}

async fn deliverable_of(call: &TransitionCall<'_>) -> EngineResult<Deliverable> {
    let text = match call.input.get("text").filter(|text| !text.is_null()) {
        Some(text) => {
            let text = text
                .as_str()
                .ok_or_else(|| EngineError::invalid("input.text", "must be a string"))?;
            Some(RequiredText::parse("input.text", text, MAX_TEXT_CHARS * 10)?.into_string())
        }
        None => None,
    };
    let document = call
        .input
        .get("documentId")
        .filter(|id| !id.is_null())
        .map(|id| parse_uuid_input("input.documentId", id.as_str()))
        .transpose()?;
    let version = match (document, call.input.get("version").and_then(|v| v.as_i64())) {
        (Some(document_id), Some(number)) => {
            let number = i32::try_from(number)
                .map_err(|_| EngineError::invalid("input.version", "is out of range"))?;
            let found = crate::areas::documents::get_document_in(call.txn, document_id)
                .await
                .map_err(|_| {
                    EngineError::invalid("input.documentId", "names no document of the group")
                })?;
            if found.group_id != call.subject.scope.group_id {
                return Err(EngineError::invalid(
                    "input.documentId",
                    "names no document of the group",
                ));
            }
            let exists = document_version::Entity::find()
                .filter(document_version::Column::DocumentId.eq(document_id))
                .filter(document_version::Column::Number.eq(number))
                .count(call.txn)
                .await?
                > 0;
            if !exists {
                return Err(EngineError::invalid(
                    "input.version",
                    format!("the document has no version {number}"),
                ));
            }
            Some(number)
        }
        (Some(_), None) => {
            return Err(EngineError::invalid(
                "input.version",
                "give the version of the document delivered",
            ));
        }
        (None, _) => None,
    };
    if text.is_none() && document.is_none() {
        return Err(EngineError::invalid(
            "input.text",
            "a submission carries a text or a document version",
        ));
    }
    Ok(Deliverable {
        text,
        document_id: document,
        version,
    })
}

/// An expert holds at most the forum's `claimLimit` tasks in `claimed` at once, across the
/// forum.
fn within_claim_limit<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async move {
        let Acting::User(actor) = context.acting else {
            return Ok(context.subjects.iter().map(|_| Ok(())).collect());
        };
        let mut verdicts = Vec::with_capacity(context.subjects.len());
        for subject in context.subjects {
            let Some(forum_id) = subject.scope.forum_id else {
                verdicts.push(Ok(()));
                continue;
            };
            verdicts.push(check_limit(context.txn, actor, forum_id).await?);
        }
        Ok(verdicts)
    })
}

async fn check_limit(
    txn: &DatabaseTransaction,
    actor: &Actor,
    forum_id: Uuid,
) -> EngineResult<EngineResult<()>> {
    let forum = forum::Entity::find_by_id(forum_id)
        .one(txn)
        .await?
        .ok_or_else(|| EngineError::not_found("forum", forum_id))?;
    let limit = ForumSettings::of(&forum).claim_limit;
    let claimed = subjects::ids_where("task", workflow_instance::Column::State.eq("claimed"));
    let held = research_task::Entity::find()
        .filter(research_task::Column::ForumId.eq(forum_id))
        .filter(research_task::Column::ClaimantId.eq(actor.user_id))
        .filter(research_task::Column::Id.in_subquery(claimed))
        .count(txn)
        .await?;
    if held >= u64::try_from(limit).unwrap_or(0) {
        return Ok(Err(refuse(
            "within_claim_limit",
            format!("you hold {held} claimed tasks in this forum; the limit is {limit}"),
        )));
    }
    Ok(Ok(()))
}

/// Only an assigned task may be declined (a claimed one is released).
fn was_assigned<'a>(context: &'a GuardContext<'a>) -> GuardFuture<'a> {
    Box::pin(async move {
        let ids = subject_ids(context, "was_assigned")?;
        let mut verdicts = Vec::with_capacity(ids.len());
        for id in ids {
            let row = row_in(context.txn, id).await?;
            verdicts.push(if row.assigned {
                Ok(())
            } else {
                Err(refuse(
                    "was_assigned",
                    "only an assigned task can be declined; release a claimed one",
                ))
            });
        }
        Ok(verdicts)
    })
}

/// The statement [`TaskKind::info`] runs: the task with its group's name and zone, its forum's
/// name and its claimant's name.
fn context_query(id: Uuid) -> SelectStatement {
    Query::select()
        .columns([
            (research_task::Entity, research_task::Column::Id),
            (research_task::Entity, research_task::Column::Title),
            (research_task::Entity, research_task::Column::ForumId),
            (research_task::Entity, research_task::Column::GroupId),
            (research_task::Entity, research_task::Column::ClaimantId),
        ])
        .expr_as(
            Expr::col((working_group::Entity, working_group::Column::Name)),
            "group_name",
        )
        .expr_as(
            Expr::col((working_group::Entity, working_group::Column::TimeZone)),
            "group_zone",
        )
        .expr_as(
            Expr::col((forum::Entity, forum::Column::Name)),
            "forum_name",
        )
        .expr_as(
            Expr::col((app_user::Entity, app_user::Column::Name)),
            "claimant_name",
        )
        .from(research_task::Entity)
        .inner_join(
            working_group::Entity,
            Expr::col((working_group::Entity, working_group::Column::Id))
                .equals((research_task::Entity, research_task::Column::GroupId)),
        )
        .inner_join(
            forum::Entity,
            Expr::col((forum::Entity, forum::Column::Id))
                .equals((research_task::Entity, research_task::Column::ForumId)),
        )
        .left_join(
            app_user::Entity,
            Expr::col((app_user::Entity, app_user::Column::Id))
                .equals((research_task::Entity, research_task::Column::ClaimantId)),
        )
        .and_where(Expr::col((research_task::Entity, research_task::Column::Id)).eq(id))
        .to_owned()
}

/// What a task's notices and checks need, read in one statement.
#[derive(Debug, FromQueryResult)]
struct Context {
    id: Uuid,
    title: String,
    forum_id: Uuid,
    group_id: Uuid,
    claimant_id: Option<Uuid>,
    group_name: String,
    group_zone: String,
    forum_name: String,
    claimant_name: Option<String>,
}

impl Context {
    fn into_info(self) -> SubjectInfo {
        SubjectInfo {
            kind: "task".into(),
            scope: SubjectScope {
                forum_id: Some(self.forum_id),
                group_id: Some(self.group_id),
                claimant_id: self.claimant_id,
                ..SubjectScope::default()
            },
            time_zone: stored_zone(&self.group_zone),
            fields: json!({
                "id": self.id.to_string(),
                "title": self.title,
                "group_name": self.group_name,
                "claimant": self.claimant_name,
            }),
            forum: json!({ "id": self.forum_id.to_string(), "name": self.forum_name }),
        }
    }
}
