//! Documents, their versions, translations and diffs.

use crate::graphql::amendments::{Amendment, AmendmentResponse};
use crate::graphql::connection::{Conn, child_connection, connection, page_request};
use crate::graphql::diff::Diff;
use crate::graphql::errors::{EngineResultExt, coded};
use crate::graphql::forums::Forum;
use crate::graphql::groups::WorkingGroup;
use crate::graphql::loaders::{
    AmendmentId, AmendmentsOf, DocumentId, ForumId, GroupId, ResponsesTo, TranslationsOf, UserId,
    VersionNumbered, VersionsOf,
};
use crate::graphql::users::User;
use crate::graphql::{actor, diff_deadline, engine, loader, parse_id, parse_ids};
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, FixedOffset, Utc};
use govflow_engine::amendments::ResponseKind;
use govflow_engine::documents::{
    self as area, Document as DomainDocument, DocumentFilter, NewDocument, Version,
};
use govflow_engine::pagination::Page;
use govflow_engine::time;
use govflow_engine::translations::{self, Translation as DomainTranslation};
use govflow_engine::types::TimeZone;

pub struct Document(pub DomainDocument);

impl Document {
    fn local(&self, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
        time::local(self.0.time_zone, instant)
    }

    async fn all_translations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<DomainTranslation>> {
        Ok(loader(ctx)
            .load_one(TranslationsOf(self.0.id))
            .await?
            .unwrap_or_default())
    }

    async fn numbered(
        &self,
        ctx: &Context<'_>,
        number: i32,
    ) -> async_graphql::Result<Option<DocumentVersion>> {
        let zone = self.0.time_zone;
        Ok(loader(ctx)
            .load_one(VersionNumbered(self.0.id, number))
            .await?
            .map(|version| DocumentVersion(version, zone)))
    }
}

#[Object]
impl Document {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// `terms_of_reference`, `work_plan`, `report`, `annual_report`, `expert_paper`,
    /// `resolution`, `note` or `other`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The document symbol (e.g. `E/C.16/2024/7`), unique within the forum.
    async fn symbol(&self) -> Option<&str> {
        self.0.symbol.as_deref()
    }
    async fn original_language(&self) -> &str {
        &self.0.original_language
    }
    /// The IANA zone of the document's group (or forum).
    async fn time_zone(&self) -> &str {
        self.0.time_zone.name()
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.local(self.0.created_at)
    }
    async fn forum(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Forum>> {
        Ok(loader(ctx)
            .load_one(ForumId(self.0.forum_id))
            .await?
            .map(Forum))
    }
    /// `null` for a forum's own document.
    async fn group(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<WorkingGroup>> {
        match self.0.group_id {
            Some(id) => Ok(loader(ctx).load_one(GroupId(id)).await?.map(WorkingGroup)),
            None => Ok(None),
        }
    }
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn versions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<DocumentVersion>> {
        let request = page_request(first, after)?;
        let page = loader(ctx)
            .load_one(VersionsOf(self.0.id, request))
            .await?
            .unwrap_or_else(|| Page::new(Vec::new(), request, 0));
        let zone = self.0.time_zone;
        Ok(connection(page, |version| DocumentVersion(version, zone)))
    }
    async fn version(
        &self,
        ctx: &Context<'_>,
        number: i32,
    ) -> async_graphql::Result<Option<DocumentVersion>> {
        self.numbered(ctx, number).await
    }
    /// The latest adopted version.
    async fn current_version(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<DocumentVersion>> {
        match self.0.current_version {
            Some(number) => self.numbered(ctx, number).await,
            None => Ok(None),
        }
    }
    /// Translations, of one version when `versionNumber` is given.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn translations(
        &self,
        ctx: &Context<'_>,
        version_number: Option<i32>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Translation>> {
        let all: Vec<_> = self
            .all_translations(ctx)
            .await?
            .into_iter()
            .filter(|translation| {
                version_number.is_none_or(|number| translation.version_number == number)
            })
            .collect();
        child_connection(&all, first, after, Translation)
    }
    /// The forum's official languages with no published translation of the version (default:
    /// the current one).
    async fn missing_languages(
        &self,
        ctx: &Context<'_>,
        version_number: Option<i32>,
    ) -> async_graphql::Result<Vec<String>> {
        let translations = self.all_translations(ctx).await?;
        let forum = loader(ctx)
            .load_one(ForumId(self.0.forum_id))
            .await?
            .ok_or_else(|| coded("NOT_FOUND", "the document's forum no longer exists"))?;
        Ok(translations::missing_languages(
            &forum.settings,
            &self.0,
            version_number,
            &translations,
        ))
    }
    /// The diff between two versions.
    #[graphql(complexity = 50)]
    async fn diff(&self, ctx: &Context<'_>, from: i32, to: i32) -> async_graphql::Result<Diff> {
        let deadline = diff_deadline(ctx)?;
        Ok(
            area::diff_versions(engine(ctx), self.0.id, from, to, deadline)
                .await
                .gql()?
                .into(),
        )
    }
    /// The document's amendments the caller may see, optionally in one state.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn amendments(
        &self,
        ctx: &Context<'_>,
        state: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Amendment>> {
        actor(ctx)?;
        let request = page_request(first, after)?;
        let page = loader(ctx)
            .load_one(AmendmentsOf(self.0.id, state, request))
            .await?
            .unwrap_or_else(|| Page::new(Vec::new(), request, 0));
        Ok(connection(page, Amendment))
    }
}

fn local(zone: TimeZone, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
    time::local(zone, instant)
}

pub struct DocumentVersion(pub Version, pub TimeZone);

#[Object]
impl DocumentVersion {
    async fn number(&self) -> i32 {
        self.0.number
    }
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// `proposed`, `adopted` or `superseded`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn created_at(&self) -> DateTime<FixedOffset> {
        local(self.1, self.0.created_at)
    }
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.author_id {
            Some(id) => Ok(loader(ctx).load_one(UserId(id)).await?.map(User)),
            None => Ok(None),
        }
    }
    /// The amendment whose adoption created this version.
    async fn amendment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Amendment>> {
        match self.0.amendment_id {
            Some(id) => Ok(loader(ctx).load_one(AmendmentId(id)).await?.map(Amendment)),
            None => Ok(None),
        }
    }
    /// The objections raised in the consultation that led to this version: its record.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn objections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<AmendmentResponse>> {
        let objections: Vec<_> = match self.0.amendment_id {
            Some(id) => loader(ctx)
                .load_one(ResponsesTo(id))
                .await?
                .unwrap_or_default()
                .into_iter()
                .filter(|response| response.kind == ResponseKind::Objection)
                .collect(),
            None => Vec::new(),
        };
        let zone = self.1;
        child_connection(&objections, first, after, |row| AmendmentResponse {
            row,
            zone,
        })
    }
}

pub struct Translation(pub DomainTranslation);

#[Object]
impl Translation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn version_number(&self) -> i32 {
        self.0.version_number
    }
    async fn language(&self) -> &str {
        &self.0.language
    }
    /// `requested`, `in_progress` or `published`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// Whether a newer version of the document has been adopted since.
    async fn outdated(&self) -> bool {
        self.0.outdated
    }
    async fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }
    /// When it was published, in the zone of the document's group (or forum).
    async fn published_at(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<DateTime<FixedOffset>>> {
        let Some(published_at) = self.0.published_at else {
            return Ok(None);
        };
        let zone = loader(ctx)
            .load_one(DocumentId(self.0.document_id))
            .await?
            .map(|document| document.time_zone)
            .unwrap_or_else(TimeZone::utc);
        Ok(Some(local(zone, published_at)))
    }
    async fn requested_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.requested_by {
            Some(id) => Ok(loader(ctx).load_one(UserId(id)).await?.map(User)),
            None => Ok(None),
        }
    }
}

#[derive(InputObject)]
pub struct CreateDocumentInput {
    /// The group the document belongs to; or `forumId` for a forum's own document.
    pub group_id: Option<ID>,
    pub forum_id: Option<ID>,
    pub kind: String,
    pub title: String,
    pub symbol: Option<String>,
    /// BCP-47 tag, e.g. `en`.
    #[graphql(default = "en")]
    pub original_language: String,
    /// The text of version 1.
    pub text: String,
}

#[derive(Default)]
pub struct DocumentsQuery;

#[Object]
impl DocumentsQuery {
    async fn document(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Document> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Document(
            area::get_document_for(engine(ctx), actor, id).await.gql()?,
        ))
    }

    #[graphql(complexity = "crate::graphql::connection::page_cost(first, child_complexity)")]
    async fn documents(
        &self,
        ctx: &Context<'_>,
        group_id: Option<ID>,
        forum_id: Option<ID>,
        kind: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Document>> {
        let actor = actor(ctx)?;
        let filter = DocumentFilter {
            forum_id: parse_ids("forumId", forum_id.as_ref())?,
            group_id: parse_ids("groupId", group_id.as_ref())?,
            kind,
        };
        let page = area::list_documents(engine(ctx), actor, &filter, page_request(first, after)?)
            .await
            .gql()?;
        Ok(connection(page, Document))
    }
}

#[derive(Default)]
pub struct DocumentsMutation;

#[Object]
impl DocumentsMutation {
    /// Creates a document with its version 1 (the group's chair; a forum's own: forum coordinators).
    async fn create_document(
        &self,
        ctx: &Context<'_>,
        input: CreateDocumentInput,
    ) -> async_graphql::Result<Document> {
        let actor = actor(ctx)?;
        let document = area::create_document(
            engine(ctx),
            actor,
            NewDocument {
                forum_id: parse_ids("forumId", input.forum_id.as_ref())?,
                group_id: parse_ids("groupId", input.group_id.as_ref())?,
                kind: input.kind,
                title: input.title,
                symbol: input.symbol,
                original_language: input.original_language,
                text: input.text,
            },
        )
        .await
        .gql()?;
        Ok(Document(document))
    }

    /// Requests a translation of a version (default: the current one).
    async fn request_translation(
        &self,
        ctx: &Context<'_>,
        document_id: ID,
        language: String,
        version_number: Option<i32>,
    ) -> async_graphql::Result<Translation> {
        let actor = actor(ctx)?;
        let document_id = parse_id("documentId", &document_id)?;
        let translation = translations::request_translation(
            engine(ctx),
            actor,
            document_id,
            version_number,
            &language,
        )
        .await
        .gql()?;
        Ok(Translation(translation))
    }

    /// Marks a requested translation as in progress.
    async fn start_translation(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Translation> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Translation(
            translations::start_translation(engine(ctx), actor, id)
                .await
                .gql()?,
        ))
    }

    /// Publishes a translation's text.
    async fn publish_translation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        text: String,
    ) -> async_graphql::Result<Translation> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Translation(
            translations::publish_translation(engine(ctx), actor, id, &text)
                .await
                .gql()?,
        ))
    }
}
