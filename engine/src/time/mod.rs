//! Time in a zone, one way for every area (DECISIONS §8): instants are stored in UTC and shown
//! with the offset of the subject's zone; wall times become instants as RFC 5545 §3.3.5 says (and
//! as calendar clients compute them from an ICS feed); offsets in days, months and years are
//! counted in the local calendar and keep the wall time.
//!
//! A wall time inside a daylight-saving gap is read with the offset in force before the gap, so
//! 02:30 in a 02:00→03:00 gap is 03:30 after it; an ambiguous wall time (in the hour repeated when
//! clocks go back) is its earlier instant, once. Nothing here ever falls back to "now".

pub mod cron;
pub mod rules;

#[cfg(test)]
mod dst_table;

use crate::types::TimeZone;
use chrono::offset::LocalResult;
use chrono::{
    DateTime, Datelike, Days, FixedOffset, Months, NaiveDate, NaiveDateTime, Offset, TimeDelta,
    TimeZone as _, Utc,
};

/// The zone a stored name names. Names were parsed when they were written, so one that no longer
/// parses (a zone withdrawn from the database of zones) is shown in UTC rather than failing.
pub fn stored_zone(name: &str) -> TimeZone {
    TimeZone::parse("timeZone", name).unwrap_or_else(|_| TimeZone::utc())
}

/// An instant with the offset its zone has then.
pub fn local(zone: TimeZone, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
    instant.with_timezone(&zone.tz()).fixed_offset()
}

/// The instant a wall time of `zone` names (RFC 5545 §3.3.5: a time in a gap takes the offset
/// before the gap; an ambiguous time is the earlier instant).
pub fn resolve(zone: TimeZone, wall: NaiveDateTime) -> DateTime<Utc> {
    let tz = zone.tz();
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(first, second) => {
            first.with_timezone(&Utc).min(second.with_timezone(&Utc))
        }
        LocalResult::None => {
            let offset = offset_before_gap(zone, wall);
            let seconds = i64::from(offset.local_minus_utc());
            Utc.from_utc_datetime(&(wall - TimeDelta::seconds(seconds)))
        }
    }
}

/// The UTC offset in force just before the gap that swallows `wall`. Gaps last an hour or so (a
/// whole day in the rarest case), so stepping back a quarter of an hour at a time finds the last
/// wall time that exists before it.
fn offset_before_gap(zone: TimeZone, wall: NaiveDateTime) -> FixedOffset {
    let tz = zone.tz();
    let step = TimeDelta::minutes(15);
    let mut probe = wall;
    for _ in 0..(4 * 50) {
        probe -= step;
        match tz.offset_from_local_datetime(&probe) {
            LocalResult::Single(offset) => return offset.fix(),
            LocalResult::Ambiguous(_, later) => return later.fix(),
            LocalResult::None => {}
        }
    }
    // No zone has a gap this long; reading the time as UTC is the least surprising fallback.
    Utc.fix()
}

/// `days` calendar days after `instant` in `zone`, at the same wall time.
pub fn add_days(zone: TimeZone, instant: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let wall = instant.with_timezone(&zone.tz()).naive_local();
    let moved = wall
        .checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDateTime::MAX);
    resolve(zone, moved)
}

/// `months` calendar months after `instant` in `zone`, at the same wall time; a day that the
/// target month lacks becomes its last day (2016-02-29 + 12 months = 2017-02-28).
pub fn add_months(zone: TimeZone, instant: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    let wall = instant.with_timezone(&zone.tz()).naive_local();
    let moved = wall
        .checked_add_months(Months::new(months))
        .unwrap_or(NaiveDateTime::MAX);
    resolve(zone, moved)
}

/// `instant` moved by calendar months and days in `zone` (keeping the wall time, clamping to the
/// month's end), then by exact hours; negative amounts move back.
pub fn shift(
    zone: TimeZone,
    instant: DateTime<Utc>,
    months: i64,
    days: i64,
    hours: i64,
) -> DateTime<Utc> {
    let mut wall = instant.with_timezone(&zone.tz()).naive_local();
    let month_count = Months::new(u32::try_from(months.unsigned_abs()).unwrap_or(u32::MAX));
    let day_count = Days::new(days.unsigned_abs());
    let edge = if months < 0 || days < 0 {
        NaiveDateTime::MIN
    } else {
        NaiveDateTime::MAX
    };
    if months != 0 || days != 0 {
        wall = if months >= 0 {
            wall.checked_add_months(month_count)
        } else {
            wall.checked_sub_months(month_count)
        }
        .and_then(|wall| {
            if days >= 0 {
                wall.checked_add_days(day_count)
            } else {
                wall.checked_sub_days(day_count)
            }
        })
        .unwrap_or(edge);
    }
    let moved = if months != 0 || days != 0 {
        resolve(zone, wall)
    } else {
        instant
    };
    moved
        .checked_add_signed(TimeDelta::hours(hours))
        .unwrap_or(moved)
}

/// The local calendar date of `instant` in `zone`.
pub fn local_date(zone: TimeZone, instant: DateTime<Utc>) -> NaiveDate {
    let local = instant.with_timezone(&zone.tz());
    NaiveDate::from_ymd_opt(local.year(), local.month(), local.day()).unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse("timeZone", name).unwrap()
    }

    fn wall(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// (zone, wall time, the instant it names): ordinary times, times in a spring-forward gap
    /// (the offset before the gap applies), and times in the repeated autumn hour (the earlier
    /// instant). Lord Howe shifts by 30 minutes.
    const WALL_TIMES: &[(&str, &str, &str)] = &[
        ("Europe/Berlin", "2026-03-29 01:30", "2026-03-29T00:30:00Z"),
        ("Europe/Berlin", "2026-03-29 02:00", "2026-03-29T01:00:00Z"),
        ("Europe/Berlin", "2026-03-29 02:30", "2026-03-29T01:30:00Z"),
        ("Europe/Berlin", "2026-03-29 03:00", "2026-03-29T01:00:00Z"),
        ("Europe/Berlin", "2026-10-25 01:30", "2026-10-24T23:30:00Z"),
        ("Europe/Berlin", "2026-10-25 02:30", "2026-10-25T00:30:00Z"),
        ("Europe/Berlin", "2026-10-25 03:00", "2026-10-25T02:00:00Z"),
        (
            "America/New_York",
            "2026-03-08 01:30",
            "2026-03-08T06:30:00Z",
        ),
        (
            "America/New_York",
            "2026-03-08 02:30",
            "2026-03-08T07:30:00Z",
        ),
        (
            "America/New_York",
            "2026-03-08 03:30",
            "2026-03-08T07:30:00Z",
        ),
        (
            "America/New_York",
            "2026-11-01 01:30",
            "2026-11-01T05:30:00Z",
        ),
        (
            "America/New_York",
            "2026-11-01 02:30",
            "2026-11-01T07:30:00Z",
        ),
        (
            "Australia/Lord_Howe",
            "2026-04-05 01:30",
            "2026-04-04T14:30:00Z",
        ),
        (
            "Australia/Lord_Howe",
            "2026-04-05 01:45",
            "2026-04-04T14:45:00Z",
        ),
        (
            "Australia/Lord_Howe",
            "2026-04-05 02:30",
            "2026-04-04T16:00:00Z",
        ),
        (
            "Australia/Lord_Howe",
            "2026-10-04 02:00",
            "2026-10-03T15:30:00Z",
        ),
        (
            "Australia/Lord_Howe",
            "2026-10-04 02:15",
            "2026-10-03T15:45:00Z",
        ),
        (
            "Australia/Lord_Howe",
            "2026-10-04 02:30",
            "2026-10-03T15:30:00Z",
        ),
    ];

    #[test]
    fn wall_times_resolve_as_rfc_5545_says() {
        for (name, local_time, expected) in WALL_TIMES {
            assert_eq!(
                resolve(zone(name), wall(local_time)),
                utc(expected),
                "{name} {local_time}"
            );
        }
    }

    /// (zone, start instant, days, expected instant): across each change of the year, in both
    /// directions, with starts whose wall time falls into the gap or the fold on the far side.
    const DAY_OFFSETS: &[(&str, &str, u32, &str)] = &[
        // Berlin 2026-03-15 02:30 local + 14 days = 2026-03-29 02:30, inside the gap.
        (
            "Europe/Berlin",
            "2026-03-15T01:30:00Z",
            14,
            "2026-03-29T01:30:00Z",
        ),
        (
            "Europe/Berlin",
            "2026-03-15T01:30:00Z",
            1,
            "2026-03-16T01:30:00Z",
        ),
        // A wall time keeps across the change: 01:30 CET → 01:30 CEST.
        (
            "Europe/Berlin",
            "2026-03-22T00:30:00Z",
            7,
            "2026-03-29T00:30:00Z",
        ),
        (
            "Europe/Berlin",
            "2026-03-22T00:30:00Z",
            8,
            "2026-03-29T23:30:00Z",
        ),
        // Into the fold: 02:30 CEST + 1 day = 02:30 the next day, which happens twice.
        (
            "Europe/Berlin",
            "2026-10-24T00:30:00Z",
            1,
            "2026-10-25T00:30:00Z",
        ),
        (
            "America/New_York",
            "2026-03-01T07:30:00Z",
            7,
            "2026-03-08T07:30:00Z",
        ),
        (
            "America/New_York",
            "2026-10-31T05:30:00Z",
            1,
            "2026-11-01T05:30:00Z",
        ),
        (
            "America/New_York",
            "2026-10-31T12:00:00Z",
            14,
            "2026-11-14T13:00:00Z",
        ),
        (
            "Australia/Lord_Howe",
            "2026-10-03T15:30:00Z",
            0,
            "2026-10-03T15:30:00Z",
        ),
        (
            "Australia/Lord_Howe",
            "2026-10-02T15:45:00Z",
            1,
            "2026-10-03T15:45:00Z",
        ),
        (
            "Australia/Lord_Howe",
            "2026-04-03T14:30:00Z",
            1,
            "2026-04-04T14:30:00Z",
        ),
    ];

    #[test]
    fn days_are_counted_in_the_local_calendar() {
        for (name, start, days, expected) in DAY_OFFSETS {
            assert_eq!(
                add_days(zone(name), utc(start), *days),
                utc(expected),
                "{name} {start} + {days} days"
            );
        }
    }

    #[test]
    fn a_day_added_never_falls_back_to_the_start() {
        // Every quarter hour of March to April 2026 in each zone: one day later is at least 23
        // hours later (a day can be short by the gap, never empty).
        for name in ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"] {
            let mut at = utc("2026-03-01T00:00:00Z");
            while at < utc("2026-04-30T00:00:00Z") {
                let next = add_days(zone(name), at, 1);
                let hours = (next - at).num_minutes() as f64 / 60.0;
                assert!((23.0..=25.0).contains(&hours), "{name} {at}: {hours} h");
                at += TimeDelta::minutes(15);
            }
        }
    }

    #[test]
    fn months_clamp_to_the_end_of_the_month() {
        let seoul = zone("Asia/Seoul");
        let leap_day = resolve(
            seoul,
            NaiveDate::from_ymd_opt(2016, 2, 29)
                .unwrap()
                .and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap()),
        );
        assert_eq!(add_months(seoul, leap_day, 12), utc("2017-02-28T00:00:00Z"));
        assert_eq!(local_date(seoul, add_months(seoul, leap_day, 36)).day(), 28);
    }

    #[test]
    fn local_shows_the_zone_offset() {
        let shown = local(zone("Asia/Seoul"), utc("2026-03-02T00:00:00Z"));
        assert_eq!(shown.to_rfc3339(), "2026-03-02T09:00:00+09:00");
    }
}
