//! The GraphQL schema: one Query and one Mutation, merged from per-area objects. Resolvers are
//! thin: they authenticate, call one engine function, and wrap the result.

pub mod amendments;
pub mod connection;
pub mod deadlines;
pub mod diff;
pub mod documents;
pub mod errors;
pub mod forums;
pub mod groups;
pub mod instruments;
pub mod limits;
pub mod loaders;
pub mod meetings;
pub mod order;
pub mod outbox;
pub mod parsed;
pub mod proposals;
pub mod reports;
pub mod tasks;
pub mod trends;
pub mod users;
pub mod workflow;

use crate::graphql::errors::coded;
use crate::settings::Limits;
use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{Context, EmptySubscription, ID, MergedObject, Schema};
use govflow_engine::{Actor, Engine};
use loaders::EngineLoader;
use parsed::ParsedDocuments;
use std::sync::Arc;
use uuid::Uuid;

#[derive(MergedObject, Default)]
pub struct Query(
    forums::ForumsQuery,
    groups::GroupsQuery,
    users::UsersQuery,
    workflow::WorkflowQuery,
    outbox::OutboxQuery,
    documents::DocumentsQuery,
    amendments::AmendmentsQuery,
    meetings::MeetingsQuery,
    instruments::InstrumentsQuery,
    deadlines::DeadlinesQuery,
    tasks::TasksQuery,
    trends::TrendsQuery,
    reports::ReportsQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    forums::ForumsMutation,
    groups::GroupsMutation,
    users::UsersMutation,
    workflow::WorkflowMutation,
    documents::DocumentsMutation,
    amendments::AmendmentsMutation,
    outbox::OutboxMutation,
    proposals::ProposalsMutation,
    meetings::MeetingsMutation,
    instruments::InstrumentsMutation,
    deadlines::DeadlinesMutation,
    tasks::TasksMutation,
    reports::ReportsMutation,
);

pub type GovflowSchema = Schema<Query, Mutation, EmptySubscription>;

/// When the request must be answered by; CPU-bound work (diffs) is cut off there.
pub struct RequestDeadline {
    at: std::time::Instant,
    /// Diffs this request has asked for so far: each is bounded, and so is their number.
    diffs: std::sync::atomic::AtomicUsize,
}

/// The most diffs one request may compute (aliases could otherwise ask for hundreds).
pub const MAX_DIFFS_PER_REQUEST: usize = 3;

impl RequestDeadline {
    pub fn new(at: std::time::Instant) -> RequestDeadline {
        RequestDeadline {
            at,
            diffs: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

/// Counts one diff against the request's allowance and returns when it must end.
pub fn diff_deadline(ctx: &Context<'_>) -> async_graphql::Result<std::time::Instant> {
    let fallback = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let Some(deadline) = ctx.data_opt::<RequestDeadline>() else {
        return Ok(fallback);
    };
    let taken = deadline
        .diffs
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if taken >= MAX_DIFFS_PER_REQUEST {
        return Err(coded(
            "QUERY_TOO_COMPLEX",
            format!("a request may compute at most {MAX_DIFFS_PER_REQUEST} diffs"),
        ));
    }
    Ok(deadline.at)
}

/// Who is asking, as resolved from the `Authorization` header before the query runs.
#[derive(Clone)]
pub enum Caller {
    Anonymous,
    Refused(String),
    User(Arc<Actor>),
}

/// The schema; `documents` is where its requests' documents are parsed, shared with the server
/// so that a request parsed before it runs is not parsed again.
pub fn build_schema(
    engine: Engine,
    limits: &Limits,
    introspection: bool,
    documents: &ParsedDocuments,
) -> GovflowSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(engine)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .extension(limits::ShapeLimit {
            documents: documents.clone(),
            max_aliases: limits.max_aliases,
            max_fields: limits.max_complexity,
        });
    if !introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The schema in SDL, as committed in `api/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .finish()
        .sdl()
}

pub type Loader = DataLoader<EngineLoader, HashMapCache>;

/// The per-request data a resolver may read. The loader caches what it loaded for the rest of a
/// query; a mutation changes what it would cache, so there every load reads afresh.
pub fn request_data(engine: &Engine, caller: Caller, mutation: bool) -> (Caller, Loader) {
    let actor = match &caller {
        Caller::User(actor) => Some(actor.clone()),
        _ => None,
    };
    let loader = DataLoader::with_cache(
        EngineLoader {
            engine: engine.clone(),
            actor,
        },
        tokio::spawn,
        HashMapCache::default(),
    );
    loader.enable_all_cache(!mutation);
    (caller, loader)
}

pub fn engine<'a>(ctx: &Context<'a>) -> &'a Engine {
    ctx.data_unchecked::<Engine>()
}

pub fn loader<'a>(ctx: &Context<'a>) -> &'a Loader {
    ctx.data_unchecked::<Loader>()
}

/// The authenticated actor, or UNAUTHENTICATED.
pub fn actor<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Actor> {
    match ctx.data_opt::<Caller>() {
        Some(Caller::User(actor)) => Ok(actor),
        Some(Caller::Refused(why)) => Err(coded("UNAUTHENTICATED", why.clone())),
        _ => Err(coded(
            "UNAUTHENTICATED",
            "this operation needs `Authorization: Bearer <token>`",
        )),
    }
}

pub fn parse_id(field: &str, id: &ID) -> async_graphql::Result<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| {
        coded(
            "INVALID_INPUT",
            format!("invalid `{field}`: `{}` is not an id", id.as_str()),
        )
    })
}

/// Parses a list of ids, refusing one longer than `max` before parsing any of it.
pub fn parse_id_list(field: &str, ids: &[ID], max: usize) -> async_graphql::Result<Vec<Uuid>> {
    if ids.len() > max {
        return Err(coded(
            "INVALID_INPUT",
            format!("invalid `{field}`: at most {max} ids"),
        ));
    }
    ids.iter().map(|id| parse_id(field, id)).collect()
}

pub fn parse_ids(field: &str, id: Option<&ID>) -> async_graphql::Result<Option<Uuid>> {
    id.map(|id| parse_id(field, id)).transpose()
}
