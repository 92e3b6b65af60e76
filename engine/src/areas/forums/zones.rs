//! The zone in which something of a group or a forum (a document, an amendment, an e-mail) is
//! shown and counted: its group's, else its forum's, else UTC (DECISIONS §8). Loaded for a whole
//! page at once, in two statements.

use crate::areas::forums::ForumSettings;
use crate::kernel::error::EngineResult;
use crate::types::TimeZone;
use govflow_entities::{forum, workflow_instance, working_group};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use uuid::Uuid;

/// The zones of some groups and forums, by id.
#[derive(Debug, Default)]
pub struct Zones(HashMap<Uuid, TimeZone>);

impl Zones {
    /// The zones of the places named, each a group (if any) and a forum (if any).
    pub async fn load<C: ConnectionTrait>(
        db: &C,
        places: impl IntoIterator<Item = (Option<Uuid>, Option<Uuid>)>,
    ) -> EngineResult<Zones> {
        let places: Vec<(Option<Uuid>, Option<Uuid>)> = places.into_iter().collect();
        let mut zones = HashMap::new();
        let group_ids: Vec<Uuid> = places.iter().filter_map(|(group, _)| *group).collect();
        if !group_ids.is_empty() {
            for group in working_group::Entity::find()
                .filter(working_group::Column::Id.is_in(group_ids))
                .all(db)
                .await?
            {
                zones.insert(group.id, crate::time::stored_zone(&group.time_zone));
            }
        }
        // A forum's zone is needed only where no group's zone answers.
        let forum_ids: Vec<Uuid> = places
            .iter()
            .filter(|(group, _)| group.is_none_or(|group| !zones.contains_key(&group)))
            .filter_map(|(_, forum)| *forum)
            .collect();
        if !forum_ids.is_empty() {
            for forum in forum::Entity::find()
                .filter(forum::Column::Id.is_in(forum_ids))
                .all(db)
                .await?
            {
                zones.insert(forum.id, ForumSettings::of(&forum).zone());
            }
        }
        Ok(Zones(zones))
    }

    /// The zone of one place: for a single subject, read where it is needed.
    pub async fn of_place<C: ConnectionTrait>(
        db: &C,
        group_id: Option<Uuid>,
        forum_id: Option<Uuid>,
    ) -> EngineResult<TimeZone> {
        Ok(Zones::load(db, [(group_id, forum_id)])
            .await?
            .zone(group_id, forum_id))
    }

    /// The group's zone, else the forum's, else UTC.
    pub fn zone(&self, group_id: Option<Uuid>, forum_id: Option<Uuid>) -> TimeZone {
        group_id
            .and_then(|id| self.0.get(&id))
            .or_else(|| forum_id.and_then(|id| self.0.get(&id)))
            .copied()
            .unwrap_or_else(TimeZone::utc)
    }
}

/// A group's subjects (tasks, reports) with their workflow instances and their groups' zones,
/// in the order given: three statements for a whole page.
pub async fn with_instances_in_zones<C, R, T>(
    db: &C,
    rows: Vec<R>,
    place_of: impl Fn(&R) -> (Uuid, Uuid, Uuid),
    build: impl Fn(R, &workflow_instance::Model, TimeZone) -> T,
) -> EngineResult<Vec<T>>
where
    C: ConnectionTrait,
{
    let places = rows.iter().map(|row| {
        let (_, group_id, forum_id) = place_of(row);
        (Some(group_id), Some(forum_id))
    });
    let zones = Zones::load(db, places).await?;
    crate::workflow::subjects::with_instances(
        db,
        rows,
        |row| place_of(row).0,
        |row, instance| {
            let (_, group_id, forum_id) = place_of(&row);
            let zone = zones.zone(Some(group_id), Some(forum_id));
            build(row, instance, zone)
        },
    )
    .await
}
