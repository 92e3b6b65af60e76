//! Calendar feeds (DECISIONS §14): ICS files of a group (its forum's meetings and its
//! deadlines) and of a user (their forums' meetings and the deadlines they are reminded of),
//! fetched by calendar clients with a per-user token in the URL instead of a header.
//!
//! The token is shown once, when it is made (`rotateFeedToken`), and only its SHA-256 is
//! kept; rotating it revokes every URL of the old one. A token that is malformed, unknown or
//! revoked finds nothing, and a group the token's owner may not read is not found either, so a
//! feed never shows another user's calendar.
//!
//! Each event carries its zone (`DTSTART;TZID=Asia/Kolkata:…`) with a `VTIMEZONE` built from the
//! zone database for the years shown, so that clients compute the same instants the engine
//! stored; UIDs are the rows' ids, stable across moves.

use crate::kernel::actor::{Acting, Actor};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::time::{resolve, stored_zone};
use crate::types::TimeZone;
use crate::workflow::subjects;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone as _, Utc};
use govflow_entities::{calendar_feed, deadline, deadline_occurrence, meeting, working_group};
use icalendar::{Calendar, CalendarDateTime, Component, EventLike, EventStatus};
use rand::Rng;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// A feed shows from this long ago …
const PAST_DAYS: i64 = 180;
/// … to this far ahead.
const FUTURE_DAYS: i64 = 3 * 366;
/// The most meetings and occurrences one feed holds.
const MAX_MEETINGS: u64 = 500;
const MAX_OCCURRENCES: u64 = 2000;

fn hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// A new feed token for the caller, replacing (and so revoking) the old one.
pub async fn rotate_feed_token(engine: &Engine, actor: &Actor) -> EngineResult<String> {
    let bytes: [u8; 32] = rand::rng().random();
    let token: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let now = engine.now();
    let txn = engine.begin_write().await?;
    let row = calendar_feed::Model {
        id: Uuid::now_v7(),
        user_id: actor.user_id,
        token_hash: hash(&token),
        created_at: now,
        updated_at: now,
    };
    calendar_feed::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(calendar_feed::Column::UserId)
                .update_columns([
                    calendar_feed::Column::TokenHash,
                    calendar_feed::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    crate::kernel::history::record_write(
        &txn,
        actor.user_id,
        "user",
        "rotate_feed_token",
        Acting::User(actor),
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(token)
}

/// The user a token belongs to; `None` for anything else (the caller answers 404). The trends'
/// CSV export takes the same token.
pub async fn owner(engine: &Engine, token: &str) -> EngineResult<Option<Actor>> {
    let well_formed = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Ok(None);
    }
    let row = calendar_feed::Entity::find()
        .filter(calendar_feed::Column::TokenHash.eq(hash(&token.to_ascii_lowercase())))
        .one(engine.db())
        .await?;
    match row {
        Some(row) => Actor::load(engine, row.user_id).await,
        None => Ok(None),
    }
}

/// The ICS of a group, for the holder of `token`; `None` when the token or the group is not
/// theirs to see.
pub async fn group_feed(
    engine: &Engine,
    token: &str,
    group_id: Uuid,
) -> EngineResult<Option<String>> {
    let Some(actor) = owner(engine, token).await? else {
        return Ok(None);
    };
    let readable = {
        let txn = sea_orm::TransactionTrait::begin(engine.db()).await?;
        let read = subjects::readable_subject(engine, &txn, Acting::User(&actor), group_id).await;
        txn.rollback().await?;
        read
    };
    let group = match readable {
        Ok((instance, _)) if instance.subject_kind == "group" => {
            working_group::Entity::find_by_id(group_id)
                .one(engine.db())
                .await?
        }
        Ok(_) | Err(EngineError::NotFound(_)) => None,
        Err(other) => return Err(other),
    };
    let Some(group) = group else {
        return Ok(None);
    };
    let deadlines = deadline::Entity::find()
        .filter(deadline::Column::GroupId.eq(group.id))
        .all(engine.db())
        .await?;
    let feed = Feed::gather(engine, &[group.forum_id], deadlines).await?;
    Ok(Some(feed.render(&group.name)))
}

/// The ICS of the holder of `token`: their forums' meetings and the deadlines they are
/// reminded of.
pub async fn my_feed(engine: &Engine, token: &str) -> EngineResult<Option<String>> {
    let Some(actor) = owner(engine, token).await? else {
        return Ok(None);
    };
    let forums: BTreeSet<Uuid> = actor
        .grants
        .iter()
        .filter_map(|grant| grant.forum_id)
        .collect();
    let groups: Vec<Uuid> = actor
        .grants
        .iter()
        .filter(|grant| grant.scope_kind == "group")
        .map(|grant| grant.scope_id)
        .collect();
    let coordinated: Vec<Uuid> = actor
        .grants
        .iter()
        .filter(|grant| grant.role == "coordinator")
        .filter_map(|grant| grant.forum_id)
        .collect();
    let deadlines = deadline::Entity::find()
        .filter(
            Condition::any()
                .add(deadline::Column::GroupId.is_in(groups))
                .add(
                    Condition::all()
                        .add(deadline::Column::ForumId.is_in(coordinated))
                        .add(deadline::Column::GroupId.is_null()),
                ),
        )
        .all(engine.db())
        .await?;
    let forums: Vec<Uuid> = forums.into_iter().collect();
    let feed = Feed::gather(engine, &forums, deadlines).await?;
    Ok(Some(feed.render(&format!("govflow: {}", actor.name))))
}

/// What one feed shows.
struct Feed {
    meetings: Vec<(meeting::Model, String)>,
    occurrences: Vec<(deadline_occurrence::Model, deadline::Model)>,
}

impl Feed {
    async fn gather(
        engine: &Engine,
        forum_ids: &[Uuid],
        deadlines: Vec<deadline::Model>,
    ) -> EngineResult<Feed> {
        let now = engine.now();
        let (from, to) = (
            now - Duration::days(PAST_DAYS),
            now + Duration::days(FUTURE_DAYS),
        );
        let meetings = meeting::Entity::find()
            .filter(meeting::Column::ForumId.is_in(forum_ids.iter().copied()))
            .filter(meeting::Column::StartsAt.between(from, to))
            .order_by_asc(meeting::Column::StartsAt)
            .limit(MAX_MEETINGS)
            .all(engine.db())
            .await?;
        let states =
            subjects::instances_of(engine.db(), meetings.iter().map(|row| row.id).collect())
                .await?;
        let meetings = meetings
            .into_iter()
            .map(|row| {
                let state = states
                    .get(&row.id)
                    .map(|instance| instance.state.clone())
                    .unwrap_or_default();
                (row, state)
            })
            .collect();
        let ids: Vec<Uuid> = deadlines.iter().map(|row| row.id).collect();
        let by_id: BTreeMap<Uuid, deadline::Model> =
            deadlines.into_iter().map(|row| (row.id, row)).collect();
        let shown = Query::select()
            .column(deadline_occurrence::Column::Id)
            .from(deadline_occurrence::Entity)
            .and_where(deadline_occurrence::Column::DeadlineId.is_in(ids))
            .to_owned();
        let occurrences = deadline_occurrence::Entity::find()
            .filter(deadline_occurrence::Column::Id.in_subquery(shown))
            .filter(deadline_occurrence::Column::DueAt.between(from, to))
            .order_by_asc(deadline_occurrence::Column::DueAt)
            .limit(MAX_OCCURRENCES)
            .all(engine.db())
            .await?
            .into_iter()
            .filter_map(|row| {
                let deadline = by_id.get(&row.deadline_id)?.clone();
                Some((row, deadline))
            })
            .collect();
        Ok(Feed {
            meetings,
            occurrences,
        })
    }

    fn render(self, name: &str) -> String {
        let mut calendar = Calendar::new();
        calendar.name(name);
        let mut zones: BTreeMap<&'static str, (i32, i32)> = BTreeMap::new();
        let mut note_zone = |zone: TimeZone, at: DateTime<Utc>| {
            let year = at.year();
            let span = zones.entry(zone.name()).or_insert((year, year));
            span.0 = span.0.min(year);
            span.1 = span.1.max(year);
        };
        let mut events: Vec<icalendar::Event> = Vec::new();
        for (row, state) in &self.meetings {
            let zone = stored_zone(&row.time_zone);
            note_zone(zone, row.starts_at);
            let mut event = icalendar::Event::new();
            event
                .uid(&format!("meeting-{}@govflow", row.id))
                .summary(&row.title)
                .starts(when(zone, row.starts_at))
                .ends(when(zone, row.ends_at))
                .timestamp(row.updated_at);
            if let Some(place) = &row.place {
                event.location(place);
            }
            event.status(match state.as_str() {
                "cancelled" => EventStatus::Cancelled,
                "postponed" => EventStatus::Tentative,
                _ => EventStatus::Confirmed,
            });
            events.push(event.done());
        }
        for (row, deadline) in &self.occurrences {
            let zone = stored_zone(&deadline.time_zone);
            note_zone(zone, row.due_at);
            let mut event = icalendar::Event::new();
            event
                .uid(&format!("occurrence-{}@govflow", row.id))
                .summary(&format!("Deadline: {}", deadline.title))
                .description(&format!("{} ({})", deadline.rule, row.state))
                .starts(when(zone, row.due_at))
                .timestamp(row.updated_at);
            event.status(
                if row.state == "cancelled" || deadline.state == "cancelled" {
                    EventStatus::Cancelled
                } else {
                    EventStatus::Confirmed
                },
            );
            events.push(event.done());
        }
        for event in events {
            calendar.push(event);
        }
        // The crate writes components it parsed with a UID and DTSTAMP of their own, which a
        // VTIMEZONE must not have, so the zones are written as text, before the events.
        let zones: String = zones
            .into_iter()
            .filter_map(|(zone, (first, last))| vtimezone(zone, first - 1, last + 1))
            .collect();
        let text = calendar.done().to_string();
        let at = text
            .find("BEGIN:VEVENT")
            .or_else(|| text.find("END:VCALENDAR"))
            .unwrap_or(text.len());
        format!("{}{zones}{}", &text[..at], &text[at..])
    }
}

/// An instant as a wall time of its zone (`TZID`), or in UTC when the wall time would be read
/// back as another instant (the later of an ambiguous pair).
fn when(zone: TimeZone, instant: DateTime<Utc>) -> CalendarDateTime {
    let wall = instant.with_timezone(&zone.tz()).naive_local();
    if resolve(zone, wall) == instant {
        CalendarDateTime::WithTimezone {
            date_time: wall,
            tzid: zone.name().to_owned(),
        }
    } else {
        CalendarDateTime::Utc(instant)
    }
}

/// A `VTIMEZONE` for `zone` from `first` to `last` (years): its offset at the start, then each
/// change of offset, found by stepping a day at a time and narrowing to the minute.
fn vtimezone(name: &str, first: i32, last: i32) -> Option<String> {
    let zone = TimeZone::parse("timeZone", name).ok()?;
    let tz = zone.tz();
    let start = Utc.from_utc_datetime(&NaiveDate::from_ymd_opt(first, 1, 1)?.and_hms_opt(0, 0, 0)?);
    let end =
        Utc.from_utc_datetime(&NaiveDate::from_ymd_opt(last + 1, 1, 1)?.and_hms_opt(0, 0, 0)?);
    let offset_at = |at: DateTime<Utc>| at.with_timezone(&tz).offset().fix().local_minus_utc();
    let abbreviation = |at: DateTime<Utc>| at.with_timezone(&tz).format("%Z").to_string();
    let mut text = format!("BEGIN:VTIMEZONE\r\nTZID:{name}\r\n");
    let initial = offset_at(start);
    text.push_str(&observance(
        "STANDARD",
        (start + Duration::seconds(i64::from(initial))).naive_utc(),
        initial,
        initial,
        &abbreviation(start),
    ));
    let mut day = start;
    while day < end {
        let next = day + Duration::days(1);
        if offset_at(next) != offset_at(day) {
            // Narrow to the first second of the new offset.
            let (mut low, mut high) = (day, next);
            while high - low > Duration::seconds(1) {
                let middle = low + (high - low) / 2;
                if offset_at(middle) == offset_at(low) {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            let (from, to) = (offset_at(low), offset_at(high));
            // DTSTART is the onset as a wall time of the offset before it.
            let onset = (high + Duration::seconds(i64::from(from))).naive_utc();
            let kind = if to > from { "DAYLIGHT" } else { "STANDARD" };
            text.push_str(&observance(kind, onset, from, to, &abbreviation(high)));
        }
        day = next;
    }
    text.push_str("END:VTIMEZONE\r\n");
    Some(text)
}

fn observance(kind: &str, onset: NaiveDateTime, from: i32, to: i32, name: &str) -> String {
    let offset = |seconds: i32| {
        let sign = if seconds < 0 { '-' } else { '+' };
        let minutes = seconds.unsigned_abs() / 60;
        format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
    };
    format!(
        "BEGIN:{kind}\r\nDTSTART:{}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\nTZNAME:{name}\r\nEND:{kind}\r\n",
        onset.format("%Y%m%dT%H%M%S"),
        offset(from),
        offset(to),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vtimezone_lists_each_change_of_offset_at_its_wall_time() {
        let text = vtimezone("Europe/London", 2026, 2026).unwrap();
        // Clocks go forward at 01:00 GMT on 29 March and back at 02:00 BST on 25 October.
        assert!(text.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T010000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100"), "{text}");
        assert!(text.contains("BEGIN:STANDARD\r\nDTSTART:20261025T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000"), "{text}");
        let kolkata = vtimezone("Asia/Kolkata", 2017, 2017).unwrap();
        assert_eq!(kolkata.matches("TZOFFSETTO:+0530").count(), 1, "{kolkata}");
        assert!(!kolkata.contains("DAYLIGHT"));
    }

    #[test]
    fn a_later_ambiguous_instant_is_written_in_utc() {
        let london = TimeZone::parse("timeZone", "Europe/London").unwrap();
        let earlier = Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap();
        let later = Utc.with_ymd_and_hms(2026, 10, 25, 1, 30, 0).unwrap();
        assert!(matches!(
            when(london, earlier),
            CalendarDateTime::WithTimezone { .. }
        ));
        assert_eq!(when(london, later), CalendarDateTime::Utc(later));
    }
}
