//! Deadlines through the public surface: made and read over GraphQL, refused when the rule or
//! the caller is wrong, reminders through the scheduler and the mailer to the SMTP server once
//! each, two servers sharing one database sending each of a thousand reminders once, and the
//! calendar feeds parsed back to the instants the engine stored.

use chrono::{DateTime, Duration, Utc};
use govflow_engine::deadlines::scheduler::{TEMPLATE, run_due};
use govflow_engine::entities::{deadline_reminder, outbox_message};
use govflow_engine::time::resolve;
use govflow_engine::types::TimeZone;
use govflow_tests::{TestApp, TestUser, error_code, error_message};
use icalendar::{CalendarComponent, CalendarDateTime, Component, DatePerhapsTime};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const CREATE: &str = "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { id rule ruleKind timeZone graceDays state version usesDefaultReminders reminders { offset roles } } }";
const DEADLINE: &str = "query($id: ID!) { deadline(id: $id) { id title state occurrences(first: 10) { totalCount nodes { id anchor dueAt state reminders { offset roles dueAt state late } } } history(first: 10) { nodes { transition toState } } } }";

struct Group {
    app: TestApp,
    forum: String,
    group: String,
    coordinator: TestUser,
    chair: TestUser,
}

impl Group {
    async fn start() -> Group {
        let app = TestApp::spawn().await;
        let (forum, _) = app.forum("Digital Nations").await;
        let group = app.group(&forum, "Data Governance").await;
        let coordinator = app
            .create_user("coordinator@example.org", "Coordinator")
            .await;
        app.grant(&coordinator, "coordinator", "groupId", &group)
            .await;
        let chair = app.create_user("chair@example.org", "Chair").await;
        app.grant(&chair, "chair", "groupId", &group).await;
        Group {
            app,
            forum,
            group,
            coordinator,
            chair,
        }
    }

    async fn create(&self, input: Value, user: &TestUser) -> Value {
        let mut input = input;
        input["subjectId"] = json!(self.group);
        input["title"] = input
            .get("title")
            .cloned()
            .unwrap_or(json!("Annual report"));
        self.app
            .gql(CREATE, json!({ "input": input }), Some(user))
            .await
    }

    async fn deadline(&self, id: &str, user: &TestUser) -> Value {
        self.app.ok(DEADLINE, json!({ "id": id }), user).await["deadline"].clone()
    }

    /// Moves the engine's clock and lets this server's scheduler catch up.
    async fn at(&self, instant: &str) {
        self.app.clock.set(utc(instant));
        run_due(&self.app.engine).await.unwrap();
    }
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn coordinators_manage_deadlines_and_anyone_signed_in_reads_them() {
    let g = Group::start().await;
    let made = g
        .create(json!({ "rule": "cron  0 9 13 * fri" }), &g.coordinator)
        .await;
    let deadline = &made["data"]["createDeadline"];
    assert_eq!(deadline["rule"], "cron 0 9 13 * fri", "{made}");
    assert_eq!(deadline["ruleKind"], "cron");
    assert_eq!(deadline["timeZone"], "Asia/Seoul");
    assert_eq!(deadline["graceDays"], 30);
    assert_eq!(deadline["usesDefaultReminders"], true);
    assert_eq!(
        deadline["reminders"][5],
        json!({ "offset": "+7d", "roles": ["chair"] })
    );
    let id = deadline["id"].as_str().unwrap().to_owned();

    // The chair reads it but may not manage it.
    let refused = g
        .create(json!({ "rule": "cron 0 9 * * 1" }), &g.chair)
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let refused = g
        .app
        .gql(
            "mutation($id: ID!) { cancelDeadline(id: $id) { state } }",
            json!({ "id": id }),
            Some(&g.chair),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");

    // Anyone signed in reads it, its occurrences in the group's zone (Fridays and the 13th).
    let reader = g.app.create_user("reader@example.org", "Reader").await;
    let read = g.deadline(&id, &reader).await;
    let dues: Vec<&str> = read["occurrences"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["dueAt"].as_str().unwrap())
        .collect();
    assert_eq!(
        dues,
        [
            "2026-03-06T09:00:00+09:00",
            "2026-03-13T09:00:00+09:00",
            "2026-03-20T09:00:00+09:00",
            "2026-03-27T09:00:00+09:00",
            "2026-04-03T09:00:00+09:00"
        ]
    );
    let listed = g
        .app
        .ok(
            "query($g: ID!, $from: DateTime, $to: DateTime) { deadlines(groupId: $g, from: $from, to: $to) { totalCount nodes { id } } }",
            json!({ "g": g.group, "from": "2026-03-12T00:00:00Z", "to": "2026-03-14T00:00:00Z" }),
            &reader,
        )
        .await;
    assert_eq!(listed["deadlines"]["nodes"][0]["id"], json!(id));
    let none = g
        .app
        .ok(
            "query($g: ID!) { deadlines(groupId: $g, from: \"2027-01-01T00:00:00Z\") { totalCount } }",
            json!({ "g": g.group }),
            &reader,
        )
        .await;
    assert_eq!(none["deadlines"]["totalCount"], 0);

    // The coordinator is reminded of it; the reader, in no group, is not.
    let upcoming = "query { myUpcomingDeadlines(days: 11) { totalCount nodes { deadline { title } occurrence { dueAt } } } }";
    let mine = g.app.ok(upcoming, json!({}), &g.coordinator).await;
    assert_eq!(mine["myUpcomingDeadlines"]["totalCount"], 2, "{mine}");
    let theirs = g.app.ok(upcoming, json!({}), &reader).await;
    assert_eq!(theirs["myUpcomingDeadlines"]["totalCount"], 0);

    // Cancelled: its occurrences go with it, and it is shown only when asked for.
    let cancelled = g
        .app
        .ok(
            "mutation($id: ID!) { cancelDeadline(id: $id, reason: \"Merged into the work plan\", expectedVersion: 1) { state version } }",
            json!({ "id": id }),
            &g.coordinator,
        )
        .await;
    assert_eq!(
        cancelled["cancelDeadline"],
        json!({ "state": "cancelled", "version": 2 })
    );
    let read = g.deadline(&id, &reader).await;
    assert!(
        read["occurrences"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|node| node["state"] == "cancelled")
    );
    let history: Vec<&str> = read["history"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["transition"].as_str().unwrap())
        .collect();
    assert_eq!(&history[..2], ["create", "cancel"]);
}

#[tokio::test]
async fn bad_rules_ids_and_pages_are_refused_with_the_reason() {
    let g = Group::start().await;
    for (rule, says) in [
        ("cron 0 0 9 13 * 5", "a cron rule has 5 fields"),
        ("cron 60 * * * *", "minute `60` is out of range 0–59"),
        ("cron 0 0 31 apr *", "names no day that exists"),
        ("weekly", "is not a kind of rule"),
        ("at 2026-03-01T09:00", "has already passed"),
        (
            "before_event \"Ministerial Summit\" 1mo",
            "days (d) or hours (h)",
        ),
    ] {
        let refused = g.create(json!({ "rule": rule }), &g.coordinator).await;
        assert_eq!(error_code(&refused), "INVALID_INPUT", "{rule}: {refused}");
        let message = error_message(&refused);
        assert!(
            message.contains("`rule`") && message.contains(says),
            "{rule}: {message}"
        );
    }
    let refused = g
        .create(
            json!({ "rule": "cron 0 9 * * 1", "reminders": [{ "offset": "-1d", "roles": ["mayor"] }] }),
            &g.coordinator,
        )
        .await;
    assert_eq!(error_code(&refused), "INVALID_INPUT");
    assert!(
        error_message(&refused).contains("reminders[0].roles"),
        "{refused}"
    );
    let refused = g
        .create(
            json!({ "rule": "cron 0 9 * * 1", "onMissed": "explode" }),
            &g.coordinator,
        )
        .await;
    assert!(
        error_message(&refused).contains("no transition `explode`"),
        "{refused}"
    );

    let preview = "query($rule: String!, $zone: String, $count: Int) { previewRule(rule: $rule, zone: $zone, count: $count) }";
    for (variables, field) in [
        (
            json!({ "rule": "cron 0 9 * * 1", "zone": "Mars/Olympus", "count": 3 }),
            "`zone`",
        ),
        (
            json!({ "rule": "cron 0 9 * * 1", "zone": null, "count": 3 }),
            "`zone`",
        ),
        (
            json!({ "rule": "cron 0 9 * * 1", "zone": "UTC", "count": 500 }),
            "`count`",
        ),
        (
            json!({ "rule": "after_transition record 3y", "zone": "UTC", "count": 3 }),
            "`subjectId`",
        ),
    ] {
        let refused = g
            .app
            .gql(preview, variables.clone(), Some(&g.coordinator))
            .await;
        assert_eq!(
            error_code(&refused),
            "INVALID_INPUT",
            "{variables}: {refused}"
        );
        assert!(error_message(&refused).contains(field), "{refused}");
    }
    for (query, variables) in [
        (
            "query($id: ID!) { deadline(id: $id) { id } }",
            json!({ "id": "not-a-uuid" }),
        ),
        (
            "query { myUpcomingDeadlines(days: 5000) { totalCount } }",
            json!({}),
        ),
        (
            "query($g: ID!) { deadlines(groupId: $g, first: 100000) { totalCount } }",
            json!({ "g": g.group }),
        ),
        (
            "query($g: ID!) { deadlines(groupId: $g, after: \"99999999999999\") { totalCount } }",
            json!({ "g": g.group }),
        ),
        ("query { deadlines { totalCount } }", json!({})),
    ] {
        let refused = g.app.gql(query, variables, Some(&g.coordinator)).await;
        assert_eq!(error_code(&refused), "INVALID_INPUT", "{query}: {refused}");
    }
    let unknown = g
        .app
        .gql(
            "query($id: ID!) { deadline(id: $id) { id } }",
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
            Some(&g.coordinator),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let unknown = g
        .app
        .gql(
            "mutation($id: ID!) { markOccurrenceMet(occurrenceId: $id, reason: \"done\") { state } }",
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
            Some(&g.coordinator),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let anonymous = g
        .app
        .gql(
            "query { myUpcomingDeadlines { totalCount } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    // Nested lists multiply: a page of deadlines, each with a page of occurrences, each with its
    // reminders, is refused before it runs.
    let nested = g
        .app
        .gql(
            "query($g: ID!) { deadlines(groupId: $g, first: 100) { nodes { occurrences(first: 100) { nodes { reminders { offset dueAt state late sentAt } } } } } }",
            json!({ "g": g.group }),
            Some(&g.coordinator),
        )
        .await;
    assert_eq!(error_code(&nested), "QUERY_TOO_COMPLEX", "{nested}");
}

#[tokio::test]
async fn preview_shows_the_cron_rule_on_every_13th_and_every_friday() {
    let g = Group::start().await;
    let data = g
        .app
        .ok(
            "query { previewRule(rule: \"cron 0 9 13 * 5\", zone: \"Asia/Seoul\", count: 7) }",
            json!({}),
            &g.coordinator,
        )
        .await;
    assert_eq!(
        data["previewRule"],
        json!([
            "2026-03-06T09:00:00+09:00",
            "2026-03-13T09:00:00+09:00",
            "2026-03-20T09:00:00+09:00",
            "2026-03-27T09:00:00+09:00",
            "2026-04-03T09:00:00+09:00",
            "2026-04-10T09:00:00+09:00",
            "2026-04-13T09:00:00+09:00"
        ])
    );
    // 02:30 on New York's spring-forward day reads as 03:30 EDT; 01:30 on the day clocks go
    // back is the first of the two, once.
    let data = g
        .app
        .ok(
            "query { gap: previewRule(rule: \"cron 30 2 8 3 *\", zone: \"America/New_York\", count: 1) fold: previewRule(rule: \"cron 30 1 1 11 *\", zone: \"America/New_York\", count: 1) }",
            json!({}),
            &g.coordinator,
        )
        .await;
    assert_eq!(data["gap"], json!(["2026-03-08T03:30:00-04:00"]));
    assert_eq!(data["fold"], json!(["2026-11-01T01:30:00-04:00"]));

    // A rule counted from a meeting needs the subject, and is shown in the subject's zone.
    g.app
        .ok(
            "mutation($f: ID!) { scheduleMeeting(input: { forumId: $f, series: \"Ministerial Summit\", timeZone: \"Europe/Paris\", startsAt: \"2026-06-01T07:00:00Z\", endsAt: \"2026-06-01T15:00:00Z\" }) { id } }",
            json!({ "f": g.forum }),
            &g.app.admin,
        )
        .await;
    let data = g
        .app
        .ok(
            "query($g: ID!) { previewRule(rule: \"before_event \\\"Ministerial Summit\\\" 30d\", subjectId: $g, count: 3) }",
            json!({ "g": g.group }),
            &g.coordinator,
        )
        .await;
    assert_eq!(data["previewRule"], json!(["2026-05-02T16:00:00+09:00"]));
}

#[tokio::test]
async fn reminders_reach_the_mail_server_once_and_meeting_the_occurrence_stops_the_rest() {
    let g = Group::start().await;
    let made = g
        .create(
            json!({
                "rule": "at 2026-03-12T18:00",
                "reminders": [
                    { "offset": "-2d", "roles": ["coordinator"] },
                    { "offset": "+1d", "roles": ["coordinator"] },
                    { "offset": "+7d", "roles": ["chair"] }
                ]
            }),
            &g.coordinator,
        )
        .await;
    let id = made["data"]["createDeadline"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        made["data"]["createDeadline"]["usesDefaultReminders"],
        false
    );
    // 18:00 in Seoul is 09:00 UTC; two days before, the coordinator hears of it.
    g.at("2026-03-10T09:00:00Z").await;
    g.at("2026-03-10T10:00:00Z").await;
    let report = g.app.drain_mail().await;
    assert_eq!(report.sent, 1);
    let received = g.app.smtp.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["coordinator@example.org"]);
    let subject = received[0].header("Subject").unwrap();
    assert!(subject.contains("Reminder: Annual report"), "{subject}");
    assert!(
        received[0]
            .text_body()
            .contains("2026-03-12 18:00 +09:00 (Asia/Seoul)")
    );

    // Met the day before: the overdue and escalation reminders never go.
    let read = g.deadline(&id, &g.coordinator).await;
    let occurrence = read["occurrences"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let met = g
        .app
        .ok(
            "mutation($id: ID!) { markOccurrenceMet(occurrenceId: $id, reason: \"Report circulated\") { state metReason metBy { id } } }",
            json!({ "id": occurrence }),
            &g.coordinator,
        )
        .await;
    assert_eq!(met["markOccurrenceMet"]["state"], "met");
    assert_eq!(
        met["markOccurrenceMet"]["metBy"]["id"],
        json!(g.coordinator.id.to_string())
    );
    let again = g
        .app
        .gql(
            "mutation($id: ID!) { markOccurrenceMet(occurrenceId: $id, reason: \"Again\") { state } }",
            json!({ "id": occurrence }),
            Some(&g.coordinator),
        )
        .await;
    assert_eq!(error_code(&again), "INVALID_TRANSITION", "{again}");
    g.at("2026-03-20T10:00:00Z").await;
    g.app.drain_mail().await;
    assert_eq!(g.app.smtp.received().len(), 1);
    let read = g.deadline(&id, &g.coordinator).await;
    let states: Vec<(&str, &str)> = read["occurrences"]["nodes"][0]["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["offset"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [("-2d", "sent"), ("+1d", "cancelled"), ("+7d", "cancelled")]
    );
    let _ = &g.forum;
}

#[tokio::test]
async fn two_servers_on_one_database_send_each_of_a_thousand_reminders_once() {
    let g = Group::start().await;
    let peer = g.app.spawn_peer(None).await;
    // 50 deadlines of 20 reminders each, all to the coordinator.
    let plan: Vec<Value> = (1..=20)
        .map(|hour| json!({ "offset": format!("-{hour}h"), "roles": ["coordinator"] }))
        .collect();
    for day in 0..50 {
        let due = utc("2026-04-01T00:00:00Z") + Duration::hours(day);
        let wall = due.with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap());
        let made = g
            .create(
                json!({ "rule": format!("at {}", wall.format("%Y-%m-%dT%H:%M")), "reminders": plan }),
                &g.coordinator,
            )
            .await;
        assert!(made.get("errors").is_none(), "{made}");
    }
    let db = g.app.engine.db();
    let pending = deadline_reminder::Entity::find()
        .filter(deadline_reminder::Column::State.eq("pending"))
        .count(db)
        .await
        .unwrap();
    assert_eq!(pending, 1000);
    // Both servers (and their own background loops) go after the same due rows at once.
    g.app.clock.set(utc("2026-04-05T00:00:00Z"));
    g.app.engine.wake_scheduler();
    peer.engine.wake_scheduler();
    let (one, two) = tokio::join!(run_due(&g.app.engine), run_due(&peer.engine));
    one.unwrap();
    two.unwrap();
    // Rows a background loop has claimed are skipped by the others until it commits: wait for
    // every reminder to be settled by someone.
    for _ in 0..100 {
        let pending = deadline_reminder::Entity::find()
            .filter(deadline_reminder::Column::State.eq("pending"))
            .count(db)
            .await
            .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        run_due(&g.app.engine).await.unwrap();
    }
    let rows = outbox_message::Entity::find()
        .filter(outbox_message::Column::Template.eq(TEMPLATE))
        .all(db)
        .await
        .unwrap();
    let keys: BTreeSet<&str> = rows.iter().map(|row| row.dedup_key.as_str()).collect();
    assert_eq!((rows.len(), keys.len()), (1000, 1000));
    // Every claim wrote its messages once: the two engines together queued exactly 1000.
    let queued =
        g.app.engine.metrics().reminders_sent.get() + peer.engine.metrics().reminders_sent.get();
    assert_eq!(queued, 1000);
    let sent = deadline_reminder::Entity::find()
        .filter(deadline_reminder::Column::State.eq("sent"))
        .count(db)
        .await
        .unwrap();
    assert_eq!(sent, 1000);
}

/// The lecture series of seed 002: seven sessions of the GDLN Distance Learning Series from
/// 8 June 2017, at 12:30 India time.
#[tokio::test]
async fn calendar_feeds_show_meetings_and_deadlines_at_their_instants() {
    let g = Group::start().await;
    g.app.clock.set(utc("2017-06-01T00:00:00Z"));
    let kolkata = TimeZone::parse("zone", "Asia/Kolkata").unwrap();
    let mut sessions = Vec::new();
    for week in 0..7 {
        let starts = utc("2017-06-08T07:00:00Z") + Duration::weeks(week);
        let data = g
            .app
            .ok(
                "mutation($input: ScheduleMeetingInput!) { scheduleMeeting(input: $input) { id startsAt } }",
                json!({ "input": {
                    "forumId": g.forum, "series": "GDLN Distance Learning Series",
                    "timeZone": "Asia/Kolkata",
                    "startsAt": starts.to_rfc3339(), "endsAt": (starts + Duration::minutes(90)).to_rfc3339()
                } }),
                &g.app.admin,
            )
            .await;
        assert_eq!(
            data["scheduleMeeting"]["startsAt"],
            format!("{}T12:30:00+05:30", starts.format("%Y-%m-%d"))
        );
        sessions.push(starts);
    }
    let made = g
        .create(json!({ "rule": "at 2017-07-31T17:00" }), &g.coordinator)
        .await;
    assert!(made.get("errors").is_none(), "{made}");

    let token = |user: &TestUser| {
        let app = &g.app;
        let user = user.clone();
        async move {
            app.ok(
                "mutation { rotateFeedToken { token mePath groupPathPrefix } }",
                json!({}),
                &user,
            )
            .await["rotateFeedToken"]
                .clone()
        }
    };
    let feed = token(&g.coordinator).await;
    let get = |path: String| {
        let client = g.app.client.clone();
        let address = g.app.address.clone();
        async move { client.get(format!("{address}{path}")).send().await.unwrap() }
    };
    let me = get(feed["mePath"].as_str().unwrap().to_owned()).await;
    assert_eq!(me.status(), 200);
    assert_eq!(me.headers()["content-type"], "text/calendar; charset=utf-8");
    let text = me.text().await.unwrap();
    assert!(
        text.contains("BEGIN:VTIMEZONE\r\nTZID:Asia/Kolkata"),
        "{text}"
    );
    assert!(
        text.contains("DTSTART;TZID=Asia/Kolkata:20170608T123000"),
        "{text}"
    );
    let events = parse_events(&text);
    let lectures: Vec<DateTime<Utc>> = events
        .iter()
        .filter(|(summary, _)| summary.contains("GDLN"))
        .map(|(_, at)| *at)
        .collect();
    assert_eq!(lectures, sessions);
    let deadlines: Vec<&(String, DateTime<Utc>)> = events
        .iter()
        .filter(|(summary, _)| summary == "Deadline: Annual report")
        .collect();
    assert_eq!(deadlines.len(), 1);
    // 17:00 in Seoul.
    assert_eq!(deadlines[0].1, utc("2017-07-31T08:00:00Z"));
    assert_eq!(
        resolve(
            kolkata,
            sessions[0]
                .with_timezone(&chrono_offset(5, 30))
                .naive_local()
        ),
        sessions[0]
    );

    let group_path = format!(
        "{}{}.ics",
        feed["groupPathPrefix"].as_str().unwrap(),
        g.group
    );
    let group_feed = get(group_path.clone()).await;
    assert_eq!(group_feed.status(), 200);
    assert_eq!(parse_events(&group_feed.text().await.unwrap()).len(), 8);

    // Rotated: the old URLs are gone. Wrong and malformed tokens, and other file names, find
    // nothing either.
    let fresh = token(&g.coordinator).await;
    assert_ne!(fresh["token"], feed["token"]);
    assert_eq!(
        get(feed["mePath"].as_str().unwrap().to_owned())
            .await
            .status(),
        404
    );
    assert_eq!(get(group_path).await.status(), 404);
    assert_eq!(
        get(fresh["mePath"].as_str().unwrap().to_owned())
            .await
            .status(),
        200
    );
    let forged = format!("/calendar/{}/me.ics", "0".repeat(64));
    assert_eq!(get(forged).await.status(), 404);
    assert_eq!(get("/calendar/short/me.ics".into()).await.status(), 404);
    let current = fresh["token"].as_str().unwrap();
    assert_eq!(
        get(format!("/calendar/{current}/group/{}.json", g.group))
            .await
            .status(),
        400
    );
    assert_eq!(
        get(format!(
            "/calendar/{current}/group/{}.ics",
            uuid::Uuid::now_v7()
        ))
        .await
        .status(),
        404
    );
    // Another user's token shows their calendar, never this one's deadlines.
    let reader = g.app.create_user("reader@example.org", "Reader").await;
    let theirs = token(&reader).await;
    let text = get(theirs["mePath"].as_str().unwrap().to_owned())
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains("Annual report"), "{text}");
}

fn chrono_offset(hours: i32, minutes: i32) -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(hours * 3600 + minutes * 60).unwrap()
}

/// (summary, start instant) of each event of an ICS text, read back with the `icalendar`
/// parser; a start with a TZID is resolved in that zone.
fn parse_events(text: &str) -> Vec<(String, DateTime<Utc>)> {
    let calendar: icalendar::Calendar = text.parse().unwrap();
    calendar
        .components
        .iter()
        .filter_map(CalendarComponent::as_event)
        .map(|event| {
            let start = match event.get_start().unwrap() {
                DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { date_time, tzid }) => {
                    resolve(TimeZone::parse("tzid", &tzid).unwrap(), date_time)
                }
                DatePerhapsTime::DateTime(CalendarDateTime::Utc(at)) => at,
                other => panic!("unexpected start {other:?}"),
            };
            (event.get_summary().unwrap().to_owned(), start)
        })
        .collect()
}
