//! DataLoaders: every child and every list of children is fetched in one query per kind per
//! request, whatever the number of parents, so that no query runs N+1 statements.

use crate::graphql::errors::from_engine;
use async_graphql::dataloader::Loader;
use govflow_engine::amendments::{self, Amendment};
use govflow_engine::entities::{
    amendment_response, app_user, document, document_version, forum, history_entry, member_state,
    membership,
};
use govflow_engine::groups::Group;
use govflow_engine::translations::{self, Translation};
use govflow_engine::{
    Engine, documents, forums, groups, history, member_states, memberships, users,
};
use std::collections::HashMap;
use std::hash::Hash;
use uuid::Uuid;

pub struct EngineLoader(pub Engine);

#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ForumId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MemberStateId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct UserId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct GroupId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MemberStatesOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct GroupsOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MembershipsOfUser(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MembershipsIn(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct HistoryOf(pub Uuid);

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

fn ids<K: Copy>(keys: &[K], id: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|key| id(*key)).collect()
}

type LoadResult<K, V> = Result<HashMap<K, V>, async_graphql::Error>;

impl Loader<ForumId> for EngineLoader {
    type Value = forum::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ForumId]) -> LoadResult<ForumId, Self::Value> {
        let rows = forums::forums_by_ids(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |row| ForumId(row.id)))
    }
}

impl Loader<MemberStateId> for EngineLoader {
    type Value = member_state::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MemberStateId]) -> LoadResult<MemberStateId, Self::Value> {
        let rows = member_states::by_ids(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |row| MemberStateId(row.id)))
    }
}

impl Loader<UserId> for EngineLoader {
    type Value = app_user::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[UserId]) -> LoadResult<UserId, Self::Value> {
        let rows = users::by_ids(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |row| UserId(row.id)))
    }
}

impl Loader<GroupId> for EngineLoader {
    type Value = Group;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[GroupId]) -> LoadResult<GroupId, Self::Value> {
        let rows = groups::by_ids(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |group| GroupId(group.row.id)))
    }
}

impl Loader<MemberStatesOf> for EngineLoader {
    type Value = Vec<member_state::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MemberStatesOf]) -> LoadResult<MemberStatesOf, Self::Value> {
        let rows = member_states::of_forums(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |row| MemberStatesOf(row.forum_id)))
    }
}

impl Loader<GroupsOf> for EngineLoader {
    type Value = Vec<Group>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[GroupsOf]) -> LoadResult<GroupsOf, Self::Value> {
        let rows = groups::of_forums(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |group| GroupsOf(group.row.forum_id)))
    }
}

impl Loader<MembershipsOfUser> for EngineLoader {
    type Value = Vec<membership::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MembershipsOfUser]) -> LoadResult<MembershipsOfUser, Self::Value> {
        let rows = memberships::of_users(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |row| MembershipsOfUser(row.user_id)))
    }
}

impl Loader<MembershipsIn> for EngineLoader {
    type Value = Vec<membership::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MembershipsIn]) -> LoadResult<MembershipsIn, Self::Value> {
        let rows = memberships::in_scopes(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |row| MembershipsIn(row.scope_id)))
    }
}

impl Loader<HistoryOf> for EngineLoader {
    type Value = Vec<history_entry::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[HistoryOf]) -> LoadResult<HistoryOf, Self::Value> {
        let rows = history::of_subjects(self.0.db(), &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |row| HistoryOf(row.subject_id)))
    }
}

#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct DocumentId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct VersionsOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct TranslationsOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct AmendmentsOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct AmendmentId(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ResponsesTo(pub Uuid);

impl Loader<DocumentId> for EngineLoader {
    type Value = document::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[DocumentId]) -> LoadResult<DocumentId, Self::Value> {
        let rows = documents::by_ids(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |row| DocumentId(row.id)))
    }
}

impl Loader<VersionsOf> for EngineLoader {
    type Value = Vec<document_version::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[VersionsOf]) -> LoadResult<VersionsOf, Self::Value> {
        let rows = documents::versions_of(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |row| VersionsOf(row.document_id)))
    }
}

impl Loader<TranslationsOf> for EngineLoader {
    type Value = Vec<Translation>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[TranslationsOf]) -> LoadResult<TranslationsOf, Self::Value> {
        let rows = translations::of_documents(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |row| {
            TranslationsOf(row.row.document_id)
        }))
    }
}

impl Loader<AmendmentsOf> for EngineLoader {
    type Value = Vec<Amendment>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[AmendmentsOf]) -> LoadResult<AmendmentsOf, Self::Value> {
        let rows = amendments::of_documents(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |row| AmendmentsOf(row.row.document_id)))
    }
}

impl Loader<AmendmentId> for EngineLoader {
    type Value = Amendment;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[AmendmentId]) -> LoadResult<AmendmentId, Self::Value> {
        let rows = amendments::by_ids(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(keyed(rows, |row| AmendmentId(row.row.id)))
    }
}

impl Loader<ResponsesTo> for EngineLoader {
    type Value = Vec<amendment_response::Model>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ResponsesTo]) -> LoadResult<ResponsesTo, Self::Value> {
        let rows = amendments::responses_of(&self.0, &ids(keys, |k| k.0))
            .await
            .map_err(from_engine)?;
        Ok(grouped(keys, rows, |row| ResponsesTo(row.amendment_id)))
    }
}
