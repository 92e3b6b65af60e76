//! Amendments: the chair's proposed changes, the consultation of the experts, and adoption.

use crate::graphql::connection::{Conn, child_connection, connection, page_request};
use crate::graphql::diff::Diff;
use crate::graphql::documents::Document;
use crate::graphql::errors::EngineResultExt;
use crate::graphql::groups::WorkingGroup;
use crate::graphql::loaders::{AmendmentId, DocumentId, GroupId, ResponsesTo, UserId};
use crate::graphql::users::User;
use crate::graphql::workflow::{self, Subject, SubjectFields};
use crate::graphql::{actor, diff_deadline, engine, loader, parse_id, parse_ids};
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, FixedOffset, Utc};
use govflow_engine::amendments::{
    self as area, AmendmentFilter, AmendmentUpdate, NewAmendment, Response, ResponseKind,
};
use govflow_engine::types::TimeZone;
use govflow_engine::workflow::subjects::{SubjectState, SubjectView};

use serde_json::json;
use uuid::Uuid;

#[derive(Clone)]
pub struct Amendment(pub area::Amendment);

impl Subject for Amendment {
    fn subject_state(&self) -> &SubjectState {
        &self.0.workflow
    }
}

impl Amendment {
    /// The amendment a transition handed back, if that is what it is.
    pub(crate) fn from_view(view: &SubjectView) -> Option<Amendment> {
        view.downcast_ref::<area::Amendment>()
            .map(|amendment| Amendment(amendment.clone()))
    }

    fn local(&self, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
        instant.with_timezone(&self.0.time_zone.tz()).fixed_offset()
    }

    async fn responses_of_kind(
        &self,
        ctx: &Context<'_>,
        kind: Option<ResponseKind>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<AmendmentResponse>> {
        let all: Vec<_> = loader(ctx)
            .load_one(ResponsesTo(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|response| kind.is_none_or(|kind| response.kind == kind))
            .collect();
        let zone = self.0.time_zone;
        child_connection(&all, first, after, |row| AmendmentResponse { row, zone })
    }
}

#[Object]
impl Amendment {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    #[graphql(flatten)]
    async fn workflow(&self) -> SubjectFields {
        self.fields()
    }
    async fn document(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Document>> {
        Ok(loader(ctx)
            .load_one(DocumentId(self.0.document_id))
            .await?
            .map(Document))
    }
    async fn group(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<WorkingGroup>> {
        match self.0.group_id {
            Some(id) => Ok(loader(ctx).load_one(GroupId(id)).await?.map(WorkingGroup)),
            None => Ok(None),
        }
    }
    /// The document version the proposed text was written against.
    async fn base_version(&self) -> i32 {
        self.0.base_version
    }
    /// The full proposed text.
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// Bumped by each edit or rebase; responses record the revision they were about.
    async fn text_revision(&self) -> i32 {
        self.0.text_revision
    }
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
    }
    async fn opened_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.opened_at.map(|at| self.local(at))
    }
    /// When the consultation window closes, in the group's zone.
    async fn closes_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.closes_at.map(|at| self.local(at))
    }
    /// The document version its adoption created.
    async fn adopted_version(&self) -> Option<i32> {
        self.0.adopted_version
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.local(self.0.created_at)
    }
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.created_by {
            Some(id) => Ok(loader(ctx).load_one(UserId(id)).await?.map(User)),
            None => Ok(None),
        }
    }
    /// Every comment, endorsement and objection, oldest first.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn responses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<AmendmentResponse>> {
        self.responses_of_kind(ctx, None, first, after).await
    }
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<AmendmentResponse>> {
        self.responses_of_kind(ctx, Some(ResponseKind::Comment), first, after)
            .await
    }
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn endorsements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<AmendmentResponse>> {
        self.responses_of_kind(ctx, Some(ResponseKind::Endorsement), first, after)
            .await
    }
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn objections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<AmendmentResponse>> {
        self.responses_of_kind(ctx, Some(ResponseKind::Objection), first, after)
            .await
    }
    /// The proposed text against its base version.
    #[graphql(complexity = 50)]
    async fn diff(&self, ctx: &Context<'_>) -> async_graphql::Result<Diff> {
        let deadline = diff_deadline(ctx)?;
        Ok(area::diff_with_base(engine(ctx), &self.0, deadline)
            .await
            .gql()?
            .into())
    }
}

/// A comment, endorsement or objection, its instant shown in the amendment's zone.
pub struct AmendmentResponse {
    pub row: Response,
    pub zone: TimeZone,
}

#[Object]
impl AmendmentResponse {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    /// `comment`, `endorsement` or `objection`.
    async fn kind(&self) -> &str {
        self.row.kind.as_str()
    }
    async fn text(&self) -> &str {
        &self.row.text
    }
    /// The amendment's text revision the response was about.
    async fn text_revision(&self) -> i32 {
        self.row.text_revision
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        govflow_engine::time::local(self.zone, self.row.created_at)
    }
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loader(ctx)
            .load_one(UserId(self.row.author_id))
            .await?
            .map(User))
    }
}

#[derive(InputObject)]
pub struct CreateAmendmentInput {
    /// The group whose document is amended (absent for a forum's own document).
    pub group_id: Option<ID>,
    pub document_id: ID,
    /// Defaults to "Amendment to <document title>".
    pub title: Option<String>,
    /// The full proposed text.
    pub text: String,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateAmendmentInput {
    pub title: Option<String>,
    pub text: Option<String>,
}

#[derive(Default)]
pub struct AmendmentsQuery;

#[Object]
impl AmendmentsQuery {
    /// An amendment; a draft only for the group's chair, experts and coordinators.
    async fn amendment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Amendment> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Amendment(
            area::get_amendment(engine(ctx), actor, id).await.gql()?,
        ))
    }

    /// Amendments of a group or a document, optionally in one state, oldest first.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn amendments(
        &self,
        ctx: &Context<'_>,
        group_id: Option<ID>,
        document_id: Option<ID>,
        state: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Amendment>> {
        let actor = actor(ctx)?;
        let filter = AmendmentFilter {
            group_id: parse_ids("groupId", group_id.as_ref())?,
            document_id: parse_ids("documentId", document_id.as_ref())?,
            state,
        };
        let page = area::list_amendments(engine(ctx), actor, &filter, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, Amendment))
    }
}

/// Takes a transition of an amendment and returns the amendment as it now is.
async fn take(
    ctx: &Context<'_>,
    id: &ID,
    name: &str,
    reason: Option<String>,
    expected_version: Option<i32>,
    input: serde_json::Value,
) -> async_graphql::Result<Amendment> {
    let done = workflow::take(ctx, id, name, reason, expected_version, input).await?;
    if let Some(amendment) = done.view.as_ref().and_then(Amendment::from_view) {
        return Ok(amendment);
    }
    Ok(Amendment(
        area::get_amendment(engine(ctx), actor(ctx)?, done.instance.subject_id)
            .await
            .gql()?,
    ))
}

async fn respond(
    ctx: &Context<'_>,
    id: &ID,
    kind: ResponseKind,
    text: &str,
) -> async_graphql::Result<AmendmentResponse> {
    let actor = actor(ctx)?;
    let id: Uuid = parse_id("id", id)?;
    let row = area::respond(engine(ctx), actor, id, kind, text)
        .await
        .gql()?;
    let zone = loader(ctx)
        .load_one(AmendmentId(id))
        .await?
        .map(|amendment| amendment.time_zone)
        .unwrap_or_else(TimeZone::utc);
    Ok(AmendmentResponse { row, zone })
}

#[derive(Default)]
pub struct AmendmentsMutation;

#[Object]
impl AmendmentsMutation {
    /// Drafts an amendment against the document's current version (the group's chair).
    async fn create_amendment(
        &self,
        ctx: &Context<'_>,
        input: CreateAmendmentInput,
    ) -> async_graphql::Result<Amendment> {
        let actor = actor(ctx)?;
        let amendment = area::create_amendment(
            engine(ctx),
            actor,
            NewAmendment {
                group_id: parse_ids("groupId", input.group_id.as_ref())?,
                document_id: parse_id("documentId", &input.document_id)?,
                title: input.title,
                text: input.text,
                reason: input.reason,
            },
        )
        .await
        .gql()?;
        Ok(Amendment(amendment))
    }

    /// Edits a draft's title or text; bumps `version` (and `textRevision` when the text changes).
    async fn update_amendment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateAmendmentInput,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Amendment> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let amendment = area::update_amendment(
            engine(ctx),
            actor,
            id,
            AmendmentUpdate {
                title: input.title,
                text: input.text,
            },
            expected_version,
        )
        .await
        .gql()?;
        Ok(Amendment(amendment))
    }

    /// Opens the experts' consultation until `closesAt` (at least the forum's minimum window).
    async fn open_consultation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        closes_at: DateTime<FixedOffset>,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Amendment> {
        let input = json!({ "closesAt": closes_at.to_rfc3339() });
        take(
            ctx,
            &id,
            "open_consultation",
            reason,
            expected_version,
            input,
        )
        .await
    }

    /// Moves the amendment onto the document's current version, optionally with a new text;
    /// it goes back to draft, and earlier responses stay on the record.
    async fn rebase_amendment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        text: Option<String>,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Amendment> {
        let input = json!({ "text": text });
        take(ctx, &id, "rebase", reason, expected_version, input).await
    }

    /// Adopts the amendment after its window closed: the document's next version.
    async fn adopt_amendment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Amendment> {
        take(
            ctx,
            &id,
            "adopt",
            reason,
            expected_version,
            serde_json::Value::Null,
        )
        .await
    }

    async fn withdraw_amendment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Amendment> {
        take(
            ctx,
            &id,
            "withdraw",
            reason,
            expected_version,
            serde_json::Value::Null,
        )
        .await
    }

    /// An expert's comment while the consultation is open.
    async fn comment_on_amendment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        text: String,
    ) -> async_graphql::Result<AmendmentResponse> {
        respond(ctx, &id, ResponseKind::Comment, &text).await
    }

    async fn endorse_amendment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        text: String,
    ) -> async_graphql::Result<AmendmentResponse> {
        respond(ctx, &id, ResponseKind::Endorsement, &text).await
    }

    /// An expert's objection: the chair is told, and it stays on the record of the version.
    async fn object_to_amendment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        text: String,
    ) -> async_graphql::Result<AmendmentResponse> {
        respond(ctx, &id, ResponseKind::Objection, &text).await
    }
}
