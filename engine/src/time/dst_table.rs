//! Every daylight-saving change of 2026, 2027 and 2028 in seven zones, checked against the rule
//! of RFC 5545 §3.3.5 that `crate::time::resolve` applies: a wall time that exists once is that
//! instant, one inside a gap is read with the offset in force before the gap, and an ambiguous
//! one is the earlier of its two instants. The cron path is checked on the same days: a rule
//! firing at 01:30 and 02:30 gives each distinct instant once, in order. The expected instants
//! were computed from the IANA time zone database (release 2025b, the one chrono-tz embeds)
//! through an independent implementation, Python's `zoneinfo`, so the table tests the engine
//! rather than restating it.

use crate::time::cron::CronRule;
use crate::time::resolve;
use crate::time::rules::cron_occurrences;
use crate::types::TimeZone;
use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta, TimeZone as _,
    Timelike, Utc,
};
use std::collections::BTreeMap;

/// (zone, local wall time, the instant it names, what the wall time is on that day: "ordinary",
/// "gap" or "fold"). Each zone's rows are the local dates of its changes (the date the skipped or
/// repeated wall times belong to) at 01:30 and 02:30, plus a wall time inside the gap or fold
/// where neither of those is.
// One row per line, as a table reads; rustfmt would spread each row over six.
#[rustfmt::skip]
const CASES: &[(&str, &str, &str, &str)] = &[
    // London changes at 01:00 UTC, which is 01:00 local both ways: 01:30 falls in the March gap and
    // in the October repeated hour, while 02:30 is ordinary on both days.
    ("Europe/London", "2026-03-29 01:30", "2026-03-29T01:30:00Z", "gap"),
    ("Europe/London", "2026-03-29 02:30", "2026-03-29T01:30:00Z", "ordinary"),
    ("Europe/London", "2026-10-25 01:30", "2026-10-25T00:30:00Z", "fold"),
    ("Europe/London", "2026-10-25 02:30", "2026-10-25T02:30:00Z", "ordinary"),
    ("Europe/London", "2027-03-28 01:30", "2027-03-28T01:30:00Z", "gap"),
    ("Europe/London", "2027-03-28 02:30", "2027-03-28T01:30:00Z", "ordinary"),
    ("Europe/London", "2027-10-31 01:30", "2027-10-31T00:30:00Z", "fold"),
    ("Europe/London", "2027-10-31 02:30", "2027-10-31T02:30:00Z", "ordinary"),
    ("Europe/London", "2028-03-26 01:30", "2028-03-26T01:30:00Z", "gap"),
    ("Europe/London", "2028-03-26 02:30", "2028-03-26T01:30:00Z", "ordinary"),
    ("Europe/London", "2028-10-29 01:30", "2028-10-29T00:30:00Z", "fold"),
    ("Europe/London", "2028-10-29 02:30", "2028-10-29T02:30:00Z", "ordinary"),

    // New York changes at 02:00 local: 02:30 is in the March gap, 01:30 in the November repeated
    // hour.
    ("America/New_York", "2026-03-08 01:30", "2026-03-08T06:30:00Z", "ordinary"),
    ("America/New_York", "2026-03-08 02:30", "2026-03-08T07:30:00Z", "gap"),
    ("America/New_York", "2026-11-01 01:30", "2026-11-01T05:30:00Z", "fold"),
    ("America/New_York", "2026-11-01 02:30", "2026-11-01T07:30:00Z", "ordinary"),
    ("America/New_York", "2027-03-14 01:30", "2027-03-14T06:30:00Z", "ordinary"),
    ("America/New_York", "2027-03-14 02:30", "2027-03-14T07:30:00Z", "gap"),
    ("America/New_York", "2027-11-07 01:30", "2027-11-07T05:30:00Z", "fold"),
    ("America/New_York", "2027-11-07 02:30", "2027-11-07T07:30:00Z", "ordinary"),
    ("America/New_York", "2028-03-12 01:30", "2028-03-12T06:30:00Z", "ordinary"),
    ("America/New_York", "2028-03-12 02:30", "2028-03-12T07:30:00Z", "gap"),
    ("America/New_York", "2028-11-05 01:30", "2028-11-05T05:30:00Z", "fold"),
    ("America/New_York", "2028-11-05 02:30", "2028-11-05T07:30:00Z", "ordinary"),

    // Santiago changes at 24:00 on a Saturday, so 01:30 and 02:30 are ordinary. In April the
    // clock goes from 24:00 back to 23:00, repeating the Saturday's last hour (23:30 is the fold
    // row); in September it goes from 24:00 to 01:00, skipping the Sunday's first hour (00:30 is
    // the gap row).
    ("America/Santiago", "2026-04-04 01:30", "2026-04-04T04:30:00Z", "ordinary"),
    ("America/Santiago", "2026-04-04 02:30", "2026-04-04T05:30:00Z", "ordinary"),
    ("America/Santiago", "2026-04-04 23:30", "2026-04-05T02:30:00Z", "fold"),
    ("America/Santiago", "2026-09-06 00:30", "2026-09-06T04:30:00Z", "gap"),
    ("America/Santiago", "2026-09-06 01:30", "2026-09-06T04:30:00Z", "ordinary"),
    ("America/Santiago", "2026-09-06 02:30", "2026-09-06T05:30:00Z", "ordinary"),
    ("America/Santiago", "2027-04-03 01:30", "2027-04-03T04:30:00Z", "ordinary"),
    ("America/Santiago", "2027-04-03 02:30", "2027-04-03T05:30:00Z", "ordinary"),
    ("America/Santiago", "2027-04-03 23:30", "2027-04-04T02:30:00Z", "fold"),
    ("America/Santiago", "2027-09-05 00:30", "2027-09-05T04:30:00Z", "gap"),
    ("America/Santiago", "2027-09-05 01:30", "2027-09-05T04:30:00Z", "ordinary"),
    ("America/Santiago", "2027-09-05 02:30", "2027-09-05T05:30:00Z", "ordinary"),
    ("America/Santiago", "2028-04-01 01:30", "2028-04-01T04:30:00Z", "ordinary"),
    ("America/Santiago", "2028-04-01 02:30", "2028-04-01T05:30:00Z", "ordinary"),
    ("America/Santiago", "2028-04-01 23:30", "2028-04-02T02:30:00Z", "fold"),
    ("America/Santiago", "2028-09-03 00:30", "2028-09-03T04:30:00Z", "gap"),
    ("America/Santiago", "2028-09-03 01:30", "2028-09-03T04:30:00Z", "ordinary"),
    ("America/Santiago", "2028-09-03 02:30", "2028-09-03T05:30:00Z", "ordinary"),

    // Kolkata has kept one offset all year since 1945: on the US and EU change days (second Sunday
    // of March, last Sundays of March and October, first Sunday of November) nothing may shift.
    ("Asia/Kolkata", "2026-03-08 01:30", "2026-03-07T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2026-03-08 02:30", "2026-03-07T21:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2026-03-29 01:30", "2026-03-28T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2026-03-29 02:30", "2026-03-28T21:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2026-10-25 01:30", "2026-10-24T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2026-10-25 02:30", "2026-10-24T21:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2026-11-01 01:30", "2026-10-31T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2026-11-01 02:30", "2026-10-31T21:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2027-03-14 01:30", "2027-03-13T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2027-03-14 02:30", "2027-03-13T21:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2027-03-28 01:30", "2027-03-27T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2027-03-28 02:30", "2027-03-27T21:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2027-10-31 01:30", "2027-10-30T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2027-10-31 02:30", "2027-10-30T21:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2027-11-07 01:30", "2027-11-06T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2027-11-07 02:30", "2027-11-06T21:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2028-03-12 01:30", "2028-03-11T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2028-03-12 02:30", "2028-03-11T21:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2028-03-26 01:30", "2028-03-25T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2028-03-26 02:30", "2028-03-25T21:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2028-10-29 01:30", "2028-10-28T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2028-10-29 02:30", "2028-10-28T21:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2028-11-05 01:30", "2028-11-04T20:00:00Z", "ordinary"),
    ("Asia/Kolkata", "2028-11-05 02:30", "2028-11-04T21:00:00Z", "ordinary"),

    // Seoul has had no daylight saving since 1988: the same change days must give plain instants.
    ("Asia/Seoul", "2026-03-08 01:30", "2026-03-07T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2026-03-08 02:30", "2026-03-07T17:30:00Z", "ordinary"),
    ("Asia/Seoul", "2026-03-29 01:30", "2026-03-28T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2026-03-29 02:30", "2026-03-28T17:30:00Z", "ordinary"),
    ("Asia/Seoul", "2026-10-25 01:30", "2026-10-24T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2026-10-25 02:30", "2026-10-24T17:30:00Z", "ordinary"),
    ("Asia/Seoul", "2026-11-01 01:30", "2026-10-31T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2026-11-01 02:30", "2026-10-31T17:30:00Z", "ordinary"),
    ("Asia/Seoul", "2027-03-14 01:30", "2027-03-13T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2027-03-14 02:30", "2027-03-13T17:30:00Z", "ordinary"),
    ("Asia/Seoul", "2027-03-28 01:30", "2027-03-27T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2027-03-28 02:30", "2027-03-27T17:30:00Z", "ordinary"),
    ("Asia/Seoul", "2027-10-31 01:30", "2027-10-30T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2027-10-31 02:30", "2027-10-30T17:30:00Z", "ordinary"),
    ("Asia/Seoul", "2027-11-07 01:30", "2027-11-06T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2027-11-07 02:30", "2027-11-06T17:30:00Z", "ordinary"),
    ("Asia/Seoul", "2028-03-12 01:30", "2028-03-11T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2028-03-12 02:30", "2028-03-11T17:30:00Z", "ordinary"),
    ("Asia/Seoul", "2028-03-26 01:30", "2028-03-25T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2028-03-26 02:30", "2028-03-25T17:30:00Z", "ordinary"),
    ("Asia/Seoul", "2028-10-29 01:30", "2028-10-28T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2028-10-29 02:30", "2028-10-28T17:30:00Z", "ordinary"),
    ("Asia/Seoul", "2028-11-05 01:30", "2028-11-04T16:30:00Z", "ordinary"),
    ("Asia/Seoul", "2028-11-05 02:30", "2028-11-04T17:30:00Z", "ordinary"),

    // Lord Howe moves by 30 minutes at 02:00 local. In April 02:00 becomes 01:30, so 01:30 starts
    // the repeated half hour (01:45 is inside it); in October 02:00 becomes 02:30, so only
    // 02:00-02:30 is skipped, 01:30 and 02:30 are ordinary, and 02:15 is the gap row.
    ("Australia/Lord_Howe", "2026-04-05 01:30", "2026-04-04T14:30:00Z", "fold"),
    ("Australia/Lord_Howe", "2026-04-05 01:45", "2026-04-04T14:45:00Z", "fold"),
    ("Australia/Lord_Howe", "2026-04-05 02:30", "2026-04-04T16:00:00Z", "ordinary"),
    ("Australia/Lord_Howe", "2026-10-04 01:30", "2026-10-03T15:00:00Z", "ordinary"),
    ("Australia/Lord_Howe", "2026-10-04 02:15", "2026-10-03T15:45:00Z", "gap"),
    ("Australia/Lord_Howe", "2026-10-04 02:30", "2026-10-03T15:30:00Z", "ordinary"),
    ("Australia/Lord_Howe", "2027-04-04 01:30", "2027-04-03T14:30:00Z", "fold"),
    ("Australia/Lord_Howe", "2027-04-04 01:45", "2027-04-03T14:45:00Z", "fold"),
    ("Australia/Lord_Howe", "2027-04-04 02:30", "2027-04-03T16:00:00Z", "ordinary"),
    ("Australia/Lord_Howe", "2027-10-03 01:30", "2027-10-02T15:00:00Z", "ordinary"),
    ("Australia/Lord_Howe", "2027-10-03 02:15", "2027-10-02T15:45:00Z", "gap"),
    ("Australia/Lord_Howe", "2027-10-03 02:30", "2027-10-02T15:30:00Z", "ordinary"),
    ("Australia/Lord_Howe", "2028-04-02 01:30", "2028-04-01T14:30:00Z", "fold"),
    ("Australia/Lord_Howe", "2028-04-02 01:45", "2028-04-01T14:45:00Z", "fold"),
    ("Australia/Lord_Howe", "2028-04-02 02:30", "2028-04-01T16:00:00Z", "ordinary"),
    ("Australia/Lord_Howe", "2028-10-01 01:30", "2028-09-30T15:00:00Z", "ordinary"),
    ("Australia/Lord_Howe", "2028-10-01 02:15", "2028-09-30T15:45:00Z", "gap"),
    ("Australia/Lord_Howe", "2028-10-01 02:30", "2028-09-30T15:30:00Z", "ordinary"),

    // Chatham (+12:45/+13:45) changes at 02:45 standard time, so 01:30 and 02:30 are ordinary;
    // 03:15 is in the middle of the hour 02:45-03:45 that is repeated in April and skipped in
    // September.
    ("Pacific/Chatham", "2026-04-05 01:30", "2026-04-04T11:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2026-04-05 02:30", "2026-04-04T12:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2026-04-05 03:15", "2026-04-04T13:30:00Z", "fold"),
    ("Pacific/Chatham", "2026-09-27 01:30", "2026-09-26T12:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2026-09-27 02:30", "2026-09-26T13:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2026-09-27 03:15", "2026-09-26T14:30:00Z", "gap"),
    ("Pacific/Chatham", "2027-04-04 01:30", "2027-04-03T11:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2027-04-04 02:30", "2027-04-03T12:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2027-04-04 03:15", "2027-04-03T13:30:00Z", "fold"),
    ("Pacific/Chatham", "2027-09-26 01:30", "2027-09-25T12:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2027-09-26 02:30", "2027-09-25T13:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2027-09-26 03:15", "2027-09-25T14:30:00Z", "gap"),
    ("Pacific/Chatham", "2028-04-02 01:30", "2028-04-01T11:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2028-04-02 02:30", "2028-04-01T12:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2028-04-02 03:15", "2028-04-01T13:30:00Z", "fold"),
    ("Pacific/Chatham", "2028-09-24 01:30", "2028-09-23T12:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2028-09-24 02:30", "2028-09-23T13:45:00Z", "ordinary"),
    ("Pacific/Chatham", "2028-09-24 03:15", "2028-09-23T14:30:00Z", "gap"),
];

/// Zones that change their offset twice a year; each must have a gap and a fold every year.
const DST_ZONES: &[&str] = &[
    "Europe/London",
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
];

/// Zones with one offset all year: every row is ordinary.
const FIXED_ZONES: &[&str] = &["Asia/Kolkata", "Asia/Seoul"];

const YEARS: [i32; 3] = [2026, 2027, 2028];

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

fn shown(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[test]
fn every_change_of_2026_to_2028_resolves_as_rfc_5545_says() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|&(name, local, expected, what)| {
            let got = resolve(zone(name), wall(local));
            (got != utc(expected)).then(|| {
                format!(
                    "{name} {local} ({what}): expected {expected}, got {}",
                    shown(got)
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows disagree:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn cron_fires_once_per_distinct_instant_on_each_change_day() {
    // The 01:30 and 02:30 rows of one day are what `30 1,2 D M *` names that day; in a gap both
    // can resolve to one instant, which must then fire once.
    let mut days: BTreeMap<(&str, NaiveDate), Vec<DateTime<Utc>>> = BTreeMap::new();
    for &(name, local, expected, _) in CASES {
        let at = wall(local);
        if at.minute() == 30 && matches!(at.hour(), 1 | 2) {
            days.entry((name, at.date()))
                .or_default()
                .push(utc(expected));
        }
    }
    let mut failures = Vec::new();
    for ((name, day), mut expected) in days {
        if expected.len() != 2 {
            failures.push(format!(
                "{name} {day}: the table lacks its 01:30 or 02:30 row"
            ));
            continue;
        }
        expected.sort();
        expected.dedup();
        let cron =
            CronRule::parse("rule", &format!("30 1,2 {} {} *", day.day(), day.month())).unwrap();
        // Start a day early, in both wall time and instant, so that no offset can place the
        // start after the first occurrence; the rule fires on no other day until next year.
        let after_wall = day.pred_opt().unwrap().and_hms_opt(0, 0, 0).unwrap();
        let after = Utc.from_utc_datetime(&after_wall) - TimeDelta::days(1);
        let got: Vec<(NaiveDateTime, DateTime<Utc>)> =
            cron_occurrences(&cron, zone(name), after_wall, after)
                .take_while(|(at, _)| at.date() <= day)
                .collect();
        let instants: Vec<DateTime<Utc>> = got.iter().map(|&(_, instant)| instant).collect();
        if got.iter().any(|(at, _)| at.date() != day) || instants != expected {
            let show = |list: &[DateTime<Utc>]| {
                list.iter()
                    .map(|&instant| shown(instant))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            failures.push(format!(
                "{name} {day}: expected [{}], got [{}] from wall times {:?}",
                show(&expected),
                show(&instants),
                got.iter().map(|(at, _)| at.to_string()).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} change days disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_covers_every_zone_year_and_kind() {
    for &(name, local, expected, what) in CASES {
        assert!(
            DST_ZONES.contains(&name) || FIXED_ZONES.contains(&name),
            "{name} is in neither zone list"
        );
        assert!(
            matches!(what, "ordinary" | "gap" | "fold"),
            "{name} {local}: unknown kind {what}"
        );
        // Parsing here too makes a malformed row fail on its own, not in the middle of a run.
        wall(local);
        utc(expected);
    }
    for &name in DST_ZONES.iter().chain(FIXED_ZONES) {
        for year in YEARS {
            let kinds: Vec<&str> = CASES
                .iter()
                .filter(|&&(zone, local, _, _)| zone == name && wall(local).year() == year)
                .map(|&(_, _, _, what)| what)
                .collect();
            assert!(!kinds.is_empty(), "{name} has no row in {year}");
            if DST_ZONES.contains(&name) {
                assert!(kinds.contains(&"gap"), "{name} has no gap row in {year}");
                assert!(kinds.contains(&"fold"), "{name} has no fold row in {year}");
            } else {
                assert!(
                    kinds.iter().all(|&what| what == "ordinary"),
                    "{name} has a gap or fold row in {year}"
                );
            }
        }
    }
}
