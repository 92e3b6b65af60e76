//! DataLoaders: every child and every list of children is fetched in one query per kind per
//! request, whatever the number of parents, so that no query runs N+1 statements. Lists are
//! paged in SQL: a key names the parent and the page asked for, and parents asking for the same
//! page are loaded together.

use crate::graphql::errors::from_engine;
use async_graphql::dataloader::Loader;
use govflow_engine::agenda::{self, AgendaItem};
use govflow_engine::amendments::{self, Amendment, Response};
use govflow_engine::deadlines::{self, Occurrence, Reminder};
use govflow_engine::decisions::{self, Ballot};
use govflow_engine::documents::{Document, Version};
use govflow_engine::forums::Forum;
use govflow_engine::groups::Group;
use govflow_engine::history::{self, HistoryEntry};
use govflow_engine::instruments::{self, Adherence, Instrument};
use govflow_engine::meetings::{self, Meeting};
use govflow_engine::member_states::MemberState;
use govflow_engine::memberships::Membership;
use govflow_engine::pagination::{Page, PageRequest};
use govflow_engine::reports::{self, ReportComment};
use govflow_engine::tasks::{self, Task, TaskCounts};
use govflow_engine::translations::{self, Translation};
use govflow_engine::users::User;
use govflow_engine::workflow::executor::AvailableTransition;
use govflow_engine::workflow::subjects::SubjectState;
use govflow_engine::{
    Acting, Actor, Engine, EngineResult, documents, forums, groups, member_states, memberships,
    proposals, users, workflow,
};
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use uuid::Uuid;

/// The loaders of one request: the engine, and the caller, for lists filtered by what they may
/// read.
pub struct EngineLoader {
    pub engine: Engine,
    pub actor: Option<Arc<Actor>>,
}

impl EngineLoader {
    fn actor(&self) -> Result<&Actor, async_graphql::Error> {
        self.actor
            .as_deref()
            .ok_or_else(|| crate::graphql::errors::coded("UNAUTHENTICATED", "no caller"))
    }
}

#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ForumId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MemberStateId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct UserId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct GroupId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct DocumentId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct AmendmentId(pub Uuid);
/// A version of a document, by number.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct VersionNumbered(pub Uuid, pub i32);

/// Lists that stay short (a person's roles, a document's translations, an amendment's
/// responses), loaded whole.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MembershipsOfUser(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct TranslationsOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ResponsesTo(pub Uuid);

/// Pages of lists that grow.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MemberStatesOf(pub Uuid, pub PageRequest);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct GroupsOf(pub Uuid, pub PageRequest);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MembershipsIn(pub Uuid, pub PageRequest);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct HistoryOf(pub Uuid, pub PageRequest);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct VersionsOf(pub Uuid, pub PageRequest);
/// The amendments of a document the caller may read, optionally in one state.
#[derive(Clone, Hash, PartialEq, Eq)]
pub struct AmendmentsOf(pub Uuid, pub Option<String>, pub PageRequest);

#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CommentsOnReport(pub Uuid, pub PageRequest);

/// A group's chair, and how many of its tasks are in each state.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ChairOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct TaskCountsOf(pub Uuid);

/// The transitions the caller may take now on a subject.
#[derive(Clone, Hash, PartialEq, Eq)]
pub struct AvailableOn(pub SubjectState);

type LoadResult<K, V> = Result<HashMap<K, V>, async_graphql::Error>;

fn keyed<K: Hash + Eq, V>(rows: Vec<V>, key: impl Fn(&V) -> K) -> HashMap<K, V> {
    rows.into_iter().map(|row| (key(&row), row)).collect()
}

fn grouped<K: Hash + Eq + Copy, V>(
    keys: &[K],
    rows: Vec<V>,
    key: impl Fn(&V) -> K,
) -> HashMap<K, Vec<V>> {
    // Every requested parent gets an entry, so a parent with no children reads as empty.
    let mut map: HashMap<K, Vec<V>> = keys.iter().map(|key| (*key, Vec::new())).collect();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

fn ids<K>(keys: &[K], id: impl Fn(&K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(id).collect()
}

/// Loads pages for keys of (parent, page): one engine call per distinct page asked for.
async fn paged<K, T, F, Fut>(
    keys: &[K],
    split: impl Fn(&K) -> (Uuid, PageRequest),
    load: F,
) -> LoadResult<K, Page<T>>
where
    K: Clone + Hash + Eq,
    F: Fn(Vec<Uuid>, PageRequest) -> Fut,
    Fut: Future<Output = EngineResult<HashMap<Uuid, Page<T>>>>,
{
    let mut by_request: HashMap<PageRequest, Vec<Uuid>> = HashMap::new();
    for key in keys {
        let (parent, request) = split(key);
        by_request.entry(request).or_default().push(parent);
    }
    let mut pages: HashMap<(Uuid, PageRequest), Page<T>> = HashMap::new();
    for (request, parents) in by_request {
        for (parent, page) in load(parents, request).await.map_err(from_engine)? {
            pages.insert((parent, request), page);
        }
    }
    Ok(keys
        .iter()
        .filter_map(|key| pages.remove(&split(key)).map(|page| (key.clone(), page)))
        .collect())
}

impl Loader<ForumId> for EngineLoader {
    type Value = Forum;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ForumId]) -> LoadResult<ForumId, Forum> {
        let rows = forums::forums_by_ids(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |row| ForumId(row.id)))
    }
}

impl Loader<MemberStateId> for EngineLoader {
    type Value = MemberState;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MemberStateId]) -> LoadResult<MemberStateId, MemberState> {
        let rows = member_states::by_ids(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |row| MemberStateId(row.id)))
    }
}

impl Loader<UserId> for EngineLoader {
    type Value = User;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[UserId]) -> LoadResult<UserId, User> {
        let rows = users::by_ids(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |row| UserId(row.id)))
    }
}

impl Loader<GroupId> for EngineLoader {
    type Value = Group;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[GroupId]) -> LoadResult<GroupId, Group> {
        let rows = groups::by_ids(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |group| GroupId(group.id)))
    }
}

impl Loader<DocumentId> for EngineLoader {
    type Value = Document;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[DocumentId]) -> LoadResult<DocumentId, Document> {
        let rows = documents::by_ids(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |row| DocumentId(row.id)))
    }
}

impl Loader<AmendmentId> for EngineLoader {
    type Value = Amendment;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[AmendmentId]) -> LoadResult<AmendmentId, Amendment> {
        let rows = amendments::by_ids(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |row| AmendmentId(row.id)))
    }
}

impl Loader<VersionNumbered> for EngineLoader {
    type Value = Version;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[VersionNumbered]) -> LoadResult<VersionNumbered, Version> {
        let pairs: Vec<(Uuid, i32)> = keys.iter().map(|key| (key.0, key.1)).collect();
        let rows = documents::versions_numbered(&self.engine, &pairs)
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |row| {
            VersionNumbered(row.document_id, row.number)
        }))
    }
}

impl Loader<MembershipsOfUser> for EngineLoader {
    type Value = Vec<Membership>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MembershipsOfUser]) -> LoadResult<MembershipsOfUser, Self::Value> {
        let rows = memberships::of_users(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |row| MembershipsOfUser(row.user_id)))
    }
}

impl Loader<TranslationsOf> for EngineLoader {
    type Value = Vec<Translation>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[TranslationsOf]) -> LoadResult<TranslationsOf, Self::Value> {
        let rows = translations::of_documents(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |row| TranslationsOf(row.document_id)))
    }
}

impl Loader<ResponsesTo> for EngineLoader {
    type Value = Vec<Response>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ResponsesTo]) -> LoadResult<ResponsesTo, Self::Value> {
        let rows = amendments::responses_of(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |row| ResponsesTo(row.amendment_id)))
    }
}

impl Loader<MemberStatesOf> for EngineLoader {
    type Value = Page<MemberState>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MemberStatesOf]) -> LoadResult<MemberStatesOf, Self::Value> {
        paged(
            keys,
            |k| (k.0, k.1),
            |parents, page| async move {
                member_states::pages_of_forums(&self.engine, &parents, page).await
            },
        )
        .await
    }
}

impl Loader<GroupsOf> for EngineLoader {
    type Value = Page<Group>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[GroupsOf]) -> LoadResult<GroupsOf, Self::Value> {
        paged(
            keys,
            |k| (k.0, k.1),
            |parents, page| async move {
                groups::pages_of_forums(&self.engine, &parents, page).await
            },
        )
        .await
    }
}

impl Loader<MembershipsIn> for EngineLoader {
    type Value = Page<Membership>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MembershipsIn]) -> LoadResult<MembershipsIn, Self::Value> {
        paged(
            keys,
            |k| (k.0, k.1),
            |parents, page| async move {
                memberships::pages_in_scopes(&self.engine, &parents, page).await
            },
        )
        .await
    }
}

impl Loader<HistoryOf> for EngineLoader {
    type Value = Page<HistoryEntry>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[HistoryOf]) -> LoadResult<HistoryOf, Self::Value> {
        paged(
            keys,
            |k| (k.0, k.1),
            |parents, page| async move {
                history::pages_of_subjects(&self.engine, &parents, page).await
            },
        )
        .await
    }
}

impl Loader<VersionsOf> for EngineLoader {
    type Value = Page<Version>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[VersionsOf]) -> LoadResult<VersionsOf, Self::Value> {
        paged(
            keys,
            |k| (k.0, k.1),
            |parents, page| async move {
                documents::pages_of_versions(&self.engine, &parents, page).await
            },
        )
        .await
    }
}

impl Loader<AmendmentsOf> for EngineLoader {
    type Value = Page<Amendment>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[AmendmentsOf]) -> LoadResult<AmendmentsOf, Self::Value> {
        let actor = self.actor()?;
        // Siblings usually ask for the same state and page: one call per distinct pair.
        let mut by_filter: HashMap<(Option<String>, PageRequest), Vec<Uuid>> = HashMap::new();
        for AmendmentsOf(document, state, page) in keys {
            by_filter
                .entry((state.clone(), *page))
                .or_default()
                .push(*document);
        }
        let mut result = HashMap::new();
        for ((state, page), documents) in by_filter {
            let pages = amendments::pages_of_documents(
                &self.engine,
                actor,
                &documents,
                state.as_deref(),
                page,
            )
            .await
            .map_err(from_engine)?;
            for (document, found) in pages {
                result.insert(AmendmentsOf(document, state.clone(), page), found);
            }
        }
        Ok(result)
    }
}

impl Loader<AvailableOn> for EngineLoader {
    type Value = Vec<AvailableTransition>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[AvailableOn]) -> LoadResult<AvailableOn, Self::Value> {
        let actor = self.actor()?;
        let subjects: Vec<SubjectState> = keys.iter().map(|key| key.0.clone()).collect();
        let available =
            workflow::available_transitions(&self.engine, Acting::User(actor), &subjects)
                .await
                .map_err(from_engine)?;
        Ok(keys
            .iter()
            .map(|key| {
                let list = available
                    .get(&key.0.subject_id)
                    .cloned()
                    .unwrap_or_default();
                (key.clone(), list)
            })
            .collect())
    }
}

#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MeetingId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct InstrumentId(pub Uuid);
/// A meeting's agenda, in order (at most `MAX_AGENDA_ITEMS`).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct AgendaOf(pub Uuid);
/// The agenda items a proposal has had, oldest first.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct AgendaItemsOfSubject(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct BallotCountOf(pub Uuid);
/// An item's ballots, one per member state at most.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct BallotsOf(pub Uuid);
/// A proposal's co-sponsoring member states.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CoSponsorsOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct AdherentsOf(pub Uuid, pub PageRequest);
/// A deadline's occurrences, by due instant.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct OccurrencesOf(pub Uuid, pub PageRequest);
/// An occurrence's reminders (at most a plan's length).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct RemindersOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct TaskId(pub Uuid);
/// A topic's tasks, by creation.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct TasksOfTopic(pub Uuid, pub PageRequest);

impl Loader<MeetingId> for EngineLoader {
    type Value = Meeting;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MeetingId]) -> LoadResult<MeetingId, Meeting> {
        let rows = meetings::by_ids(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |meeting| MeetingId(meeting.id)))
    }
}

impl Loader<InstrumentId> for EngineLoader {
    type Value = Instrument;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[InstrumentId]) -> LoadResult<InstrumentId, Instrument> {
        let rows = instruments::by_ids(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |instrument| InstrumentId(instrument.id)))
    }
}

/// Re-keys a map of lists by parent to the loader's keys; a parent with none reads as empty.
fn lists<K: Hash + Eq + Copy, V>(
    keys: &[K],
    parent: impl Fn(&K) -> Uuid,
    mut found: HashMap<Uuid, Vec<V>>,
) -> HashMap<K, Vec<V>> {
    keys.iter()
        .map(|key| (*key, found.remove(&parent(key)).unwrap_or_default()))
        .collect()
}

impl Loader<AgendaOf> for EngineLoader {
    type Value = Vec<AgendaItem>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[AgendaOf]) -> LoadResult<AgendaOf, Self::Value> {
        let found = agenda::items_of_meetings(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(lists(keys, |k| k.0, found))
    }
}

impl Loader<AgendaItemsOfSubject> for EngineLoader {
    type Value = Vec<AgendaItem>;
    type Error = async_graphql::Error;
    async fn load(
        &self,
        keys: &[AgendaItemsOfSubject],
    ) -> LoadResult<AgendaItemsOfSubject, Self::Value> {
        let found = agenda::items_of_subjects(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(lists(keys, |k| k.0, found))
    }
}

impl Loader<BallotCountOf> for EngineLoader {
    type Value = i64;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[BallotCountOf]) -> LoadResult<BallotCountOf, i64> {
        let counts = decisions::ballot_counts(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keys
            .iter()
            .map(|key| (*key, counts.get(&key.0).copied().unwrap_or(0)))
            .collect())
    }
}

impl Loader<BallotsOf> for EngineLoader {
    type Value = Vec<Ballot>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[BallotsOf]) -> LoadResult<BallotsOf, Self::Value> {
        let found = decisions::ballots_of(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(lists(keys, |k| k.0, found))
    }
}

impl Loader<CoSponsorsOf> for EngineLoader {
    type Value = Vec<Uuid>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[CoSponsorsOf]) -> LoadResult<CoSponsorsOf, Self::Value> {
        let found = proposals::co_sponsors_of(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(lists(keys, |k| k.0, found))
    }
}

impl Loader<AdherentsOf> for EngineLoader {
    type Value = Page<Adherence>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[AdherentsOf]) -> LoadResult<AdherentsOf, Self::Value> {
        paged(
            keys,
            |k| (k.0, k.1),
            |parents, page| async move {
                instruments::pages_of_adherents(&self.engine, &parents, page).await
            },
        )
        .await
    }
}

impl Loader<OccurrencesOf> for EngineLoader {
    type Value = Page<Occurrence>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[OccurrencesOf]) -> LoadResult<OccurrencesOf, Self::Value> {
        paged(
            keys,
            |k| (k.0, k.1),
            |parents, page| async move {
                deadlines::pages_of_occurrences(&self.engine, &parents, page).await
            },
        )
        .await
    }
}

impl Loader<RemindersOf> for EngineLoader {
    type Value = Vec<Reminder>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[RemindersOf]) -> LoadResult<RemindersOf, Self::Value> {
        let found = deadlines::reminders_of(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(lists(keys, |k| k.0, found))
    }
}

impl Loader<TaskId> for EngineLoader {
    type Value = Task;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[TaskId]) -> LoadResult<TaskId, Task> {
        let rows = tasks::by_ids(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |task| TaskId(task.id)))
    }
}

impl Loader<TasksOfTopic> for EngineLoader {
    type Value = Page<Task>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[TasksOfTopic]) -> LoadResult<TasksOfTopic, Self::Value> {
        paged(
            keys,
            |k| (k.0, k.1),
            |parents, page| async move { tasks::pages_of_topics(&self.engine, &parents, page).await },
        )
        .await
    }
}

impl Loader<CommentsOnReport> for EngineLoader {
    type Value = Page<ReportComment>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[CommentsOnReport]) -> LoadResult<CommentsOnReport, Self::Value> {
        paged(
            keys,
            |k| (k.0, k.1),
            |parents, page| async move {
                reports::pages_of_comments(&self.engine, &parents, page).await
            },
        )
        .await
    }
}

impl Loader<ChairOf> for EngineLoader {
    type Value = Uuid;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ChairOf]) -> LoadResult<ChairOf, Uuid> {
        let chairs = memberships::chairs_of(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(chairs
            .into_iter()
            .map(|(group, user)| (ChairOf(group), user))
            .collect())
    }
}

impl Loader<TaskCountsOf> for EngineLoader {
    type Value = TaskCounts;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[TaskCountsOf]) -> LoadResult<TaskCountsOf, TaskCounts> {
        let counts = tasks::counts_by_state(&self.engine, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keys
            .iter()
            .map(|key| (*key, counts.get(&key.0).copied().unwrap_or_default()))
            .collect())
    }
}
