//! The multi-year trends through the public surface: a group in Seoul works through 2027 and
//! 2028 (tasks claimed and accepted at known instants, one cancelled, an amendment adopted after
//! an objection, deadlines met, met late and missed, moved along by the clock and the
//! scheduler), and `groupTrends` shows, year by year, exactly that. A second group in New York
//! and a deadline of the forum itself show that each counts in its own zone and that
//! `forumTrends` adds them up; both CSV routes give the same numbers; bad requests are refused.

use chrono::{DateTime, Utc};
use govflow_engine::deadlines::scheduler::run_due;
use govflow_tests::{TestApp, TestUser, error_code};
use serde_json::{Value, json};

const GROUP_TRENDS: &str = "query($id: ID!, $from: Int!, $to: Int!) { groupTrends(groupId: $id, fromYear: $from, toYear: $to) { year tasksOpened tasksAccepted tasksCancelled medianDaysClaimToAcceptance occurrencesMet occurrencesMetLate occurrencesMissed amendmentsAdopted objectionsFiled reportsPublished reportsPublishedOnTime } }";
const FORUM_TRENDS: &str = "query($id: ID!, $from: Int!, $to: Int!) { forumTrends(forumId: $id, fromYear: $from, toYear: $to) { year tasksOpened tasksAccepted tasksCancelled medianDaysClaimToAcceptance occurrencesMet occurrencesMetLate occurrencesMissed amendmentsAdopted objectionsFiled reportsPublished reportsPublishedOnTime } }";

/// The fields of a row, in the CSV's order, with their CSV names.
const FIELDS: [(&str, &str); 12] = [
    ("year", "year"),
    ("tasksOpened", "tasks_opened"),
    ("tasksAccepted", "tasks_accepted"),
    ("tasksCancelled", "tasks_cancelled"),
    (
        "medianDaysClaimToAcceptance",
        "median_days_claim_to_acceptance",
    ),
    ("occurrencesMet", "occurrences_met"),
    ("occurrencesMetLate", "occurrences_met_late"),
    ("occurrencesMissed", "occurrences_missed"),
    ("amendmentsAdopted", "amendments_adopted"),
    ("objectionsFiled", "objections_filed"),
    ("reportsPublished", "reports_published"),
    ("reportsPublishedOnTime", "reports_published_on_time"),
];

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// What a year should show, as `groupTrends` answers it.
#[derive(Default)]
struct Year {
    year: i32,
    opened: i64,
    accepted: i64,
    cancelled: i64,
    median: Option<f64>,
    met: i64,
    met_late: i64,
    missed: i64,
    adopted: i64,
    objections: i64,
}

impl Year {
    fn json(&self) -> Value {
        json!({
            "year": self.year,
            "tasksOpened": self.opened,
            "tasksAccepted": self.accepted,
            "tasksCancelled": self.cancelled,
            "medianDaysClaimToAcceptance": self.median,
            "occurrencesMet": self.met,
            "occurrencesMetLate": self.met_late,
            "occurrencesMissed": self.missed,
            "amendmentsAdopted": self.adopted,
            "objectionsFiled": self.objections,
            // The annual report workflow is not exercised here.
            "reportsPublished": 0,
            "reportsPublishedOnTime": 0,
        })
    }
}

/// A year in which nothing happened.
fn quiet(year: i32) -> Year {
    Year {
        year,
        ..Year::default()
    }
}

/// A group with its chair and one expert.
struct Team {
    group: String,
    chair: TestUser,
    expert: TestUser,
}

struct World {
    app: TestApp,
    forum: String,
    seoul: Team,
    new_york: Team,
}

impl World {
    async fn start() -> World {
        let app = TestApp::spawn().await;
        // The harness's forums count in Asia/Seoul.
        let (forum, _) = app.forum("Digital Nations").await;
        let seoul = app.group(&forum, "Data Governance").await;
        let data = app
            .ok(
                "mutation($input: CreateGroupInput!) { createGroup(input: $input) { id timeZone } }",
                json!({ "input": { "forumId": forum, "name": "Open Standards", "theme": "Standards", "timeZone": "America/New_York" } }),
                &app.admin,
            )
            .await;
        assert_eq!(data["createGroup"]["timeZone"], "America/New_York");
        let new_york = data["createGroup"]["id"].as_str().unwrap().to_owned();
        let mut teams = Vec::new();
        for (group, city) in [(seoul, "seoul"), (new_york, "newyork")] {
            let chair = app
                .create_user(&format!("chair@{city}.example"), &format!("Chair {city}"))
                .await;
            app.grant(&chair, "chair", "groupId", &group).await;
            let expert = app
                .create_user(&format!("expert@{city}.example"), &format!("Expert {city}"))
                .await;
            app.grant(&expert, "expert", "groupId", &group).await;
            teams.push(Team {
                group,
                chair,
                expert,
            });
        }
        let new_york = teams.pop().unwrap();
        let seoul = teams.pop().unwrap();
        World {
            app,
            forum,
            seoul,
            new_york,
        }
    }

    /// Moves the clock to `instant` and lets the scheduler catch up.
    async fn at(&self, instant: &str) {
        self.app.clock.set(utc(instant));
        run_due(&self.app.engine).await.unwrap();
    }

    async fn task(&self, team: &Team, title: &str) -> String {
        let data = self
            .app
            .ok(
                "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }",
                json!({ "input": { "groupId": team.group, "title": title } }),
                &team.chair,
            )
            .await;
        data["createTask"]["id"].as_str().unwrap().to_owned()
    }

    async fn step(&self, mutation: &str, task: &str, user: &TestUser) {
        let query = match mutation {
            "submitTask" => {
                "mutation($id: ID!) { submitTask(id: $id, text: \"Findings\") { state } }"
            }
            "cancelTask" => {
                "mutation($id: ID!) { cancelTask(id: $id, reason: \"Merged\") { state } }"
            }
            "claimTask" => "mutation($id: ID!) { claimTask(id: $id) { state } }",
            _ => "mutation($id: ID!) { acceptTask(id: $id) { state } }",
        };
        self.app.ok(query, json!({ "id": task }), user).await;
    }

    /// A task created and claimed at `claimed`, submitted at `submitted`, accepted at `accepted`.
    async fn delivered(
        &self,
        team: &Team,
        title: &str,
        claimed: &str,
        submitted: &str,
        accepted: &str,
    ) {
        self.at(claimed).await;
        let task = self.task(team, title).await;
        self.step("claimTask", &task, &team.expert).await;
        self.at(submitted).await;
        self.step("submitTask", &task, &team.expert).await;
        self.at(accepted).await;
        self.step("acceptTask", &task, &team.chair).await;
    }

    /// A one-off deadline `at` a local wall time of its subject, made by the administrator.
    async fn deadline(&self, subject: &str, title: &str, at: &str, grace_days: i32) -> String {
        let data = self
            .app
            .ok(
                "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { id } }",
                json!({ "input": { "subjectId": subject, "title": title, "rule": format!("at {at}"), "graceDays": grace_days } }),
                &self.app.admin,
            )
            .await;
        data["createDeadline"]["id"].as_str().unwrap().to_owned()
    }

    /// Marks the deadline's one occurrence met; returns the state it took.
    async fn mark_met(&self, deadline: &str) -> String {
        let read = self
            .app
            .ok(
                "query($id: ID!) { deadline(id: $id) { occurrences(first: 5) { nodes { id } } } }",
                json!({ "id": deadline }),
                &self.app.admin,
            )
            .await;
        let occurrence = read["deadline"]["occurrences"]["nodes"][0]["id"].clone();
        let met = self
            .app
            .ok(
                "mutation($id: ID!) { markOccurrenceMet(occurrenceId: $id, reason: \"Circulated\") { state } }",
                json!({ "id": occurrence }),
                &self.app.admin,
            )
            .await;
        met["markOccurrenceMet"]["state"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn occurrence_state(&self, deadline: &str) -> String {
        let read = self
            .app
            .ok(
                "query($id: ID!) { deadline(id: $id) { occurrences(first: 5) { nodes { state } } } }",
                json!({ "id": deadline }),
                &self.app.admin,
            )
            .await;
        read["deadline"]["occurrences"]["nodes"][0]["state"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn trends(&self, query: &str, id: &str, from: i32, to: i32, user: &TestUser) -> Value {
        let data = self
            .app
            .ok(query, json!({ "id": id, "from": from, "to": to }), user)
            .await;
        data.as_object().unwrap().values().next().unwrap().clone()
    }

    async fn get(&self, path: &str, bearer: Option<&str>) -> reqwest::Response {
        let mut request = self.app.client.get(format!("{}{path}", self.app.address));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }
}

/// The rows of a CSV export as GraphQL-shaped JSON, read back by the CSV's own header.
fn csv_rows(text: &str) -> Vec<Value> {
    let mut lines = text.split("\r\n").filter(|line| !line.is_empty());
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let expected: Vec<&str> = FIELDS.iter().map(|(_, csv)| *csv).collect();
    assert_eq!(header, expected);
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), FIELDS.len(), "{line}");
            let mut row = serde_json::Map::new();
            for ((field, _), cell) in FIELDS.iter().zip(cells) {
                let value = if cell.is_empty() {
                    Value::Null
                } else if *field == "medianDaysClaimToAcceptance" {
                    json!(cell.parse::<f64>().unwrap())
                } else {
                    json!(cell.parse::<i64>().unwrap())
                };
                row.insert((*field).to_owned(), value);
            }
            Value::Object(row)
        })
        .collect()
}

#[tokio::test]
async fn trends_count_each_year_in_the_groups_zone_and_add_up_per_forum() {
    let w = World::start().await;
    let app = &w.app;
    let reader = app.create_user("reader@example.org", "Reader").await;

    // Made while the clock still stands in 2026: deadlines of the Seoul group (18:00 is
    // 09:00 UTC), and one of the forum's own document, at 03:00 on New Year's Day in Seoul,
    // which is still 2027 in UTC.
    let report_a = w
        .deadline(&w.seoul.group, "Report A", "2027-07-01T09:00", 30)
        .await;
    let report_b = w
        .deadline(&w.seoul.group, "Report B", "2027-08-01T09:00", 30)
        .await;
    let report_c = w
        .deadline(&w.seoul.group, "Report C", "2028-02-01T09:00", 0)
        .await;
    let data = app
        .ok(
            "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { id } }",
            json!({ "input": { "forumId": w.forum, "kind": "work_plan", "title": "Forum work plan", "text": "Plan\n" } }),
            &app.admin,
        )
        .await;
    let forum_document = data["createDocument"]["id"].as_str().unwrap().to_owned();
    let forum_deadline = w
        .deadline(&forum_document, "Forum review", "2028-01-01T03:00", 0)
        .await;
    let document = app
        .document(&w.seoul.group, "work_plan", "Work plan", "Version one\n")
        .await;

    // 2027 in Seoul: three tasks accepted 2, 4 and 10 days after their claims (median 4);
    // each claim's lease is met by the submission (three more occurrences met in 2027).
    let s = &w.seoul;
    w.delivered(
        s,
        "Survey",
        "2027-02-01T00:00:00Z",
        "2027-02-02T00:00:00Z",
        "2027-02-03T00:00:00Z",
    )
    .await;
    w.delivered(
        s,
        "Comparison",
        "2027-03-01T00:00:00Z",
        "2027-03-04T00:00:00Z",
        "2027-03-05T00:00:00Z",
    )
    .await;
    w.delivered(
        s,
        "Case studies",
        "2027-04-01T00:00:00Z",
        "2027-04-10T00:00:00Z",
        "2027-04-11T00:00:00Z",
    )
    .await;
    // A fourth, claimed and then cancelled: its lease ends cancelled, which no figure counts.
    w.at("2027-05-01T00:00:00Z").await;
    let dropped = w.task(s, "Dropped").await;
    w.step("claimTask", &dropped, &s.expert).await;
    w.at("2027-05-02T00:00:00Z").await;
    w.step("cancelTask", &dropped, &s.chair).await;
    let leases = app
        .ok(
            "query($id: ID!) { deadlines(subjectId: $id, includeCancelled: true) { nodes { occurrences(first: 5) { nodes { state } } } } }",
            json!({ "id": dropped }),
            &s.chair,
        )
        .await;
    assert_eq!(
        leases["deadlines"]["nodes"][0]["occurrences"]["nodes"][0]["state"], "cancelled",
        "{leases}"
    );

    // An amendment consulted on for 14 days, objected to, and adopted.
    w.at("2027-06-01T00:00:00Z").await;
    let data = app
        .ok(
            "mutation($input: CreateAmendmentInput!) { createAmendment(input: $input) { id } }",
            json!({ "input": { "groupId": s.group, "documentId": document, "text": "Version two\n" } }),
            &s.chair,
        )
        .await;
    let amendment = data["createAmendment"]["id"].as_str().unwrap().to_owned();
    app.ok(
        "mutation($id: ID!) { openConsultation(id: $id, closesAt: \"2027-06-15T00:00:00Z\") { state } }",
        json!({ "id": amendment }),
        &s.chair,
    )
    .await;
    w.at("2027-06-02T00:00:00Z").await;
    app.ok(
        "mutation($id: ID!) { objectToAmendment(id: $id, text: \"Too soon\") { kind } }",
        json!({ "id": amendment }),
        &s.expert,
    )
    .await;
    w.at("2027-06-16T00:00:00Z").await;
    let adopted = app
        .ok(
            "mutation($id: ID!) { adoptAmendment(id: $id) { state } }",
            json!({ "id": amendment }),
            &s.chair,
        )
        .await;
    assert_eq!(adopted["adoptAmendment"]["state"], "adopted");

    // Report A met the day before, Report B the day after.
    w.at("2027-06-30T00:00:00Z").await;
    assert_eq!(w.mark_met(&report_a).await, "met");
    w.at("2027-08-02T00:00:00Z").await;
    assert_eq!(w.mark_met(&report_b).await, "met_late");

    // 2027-12-31T20:00Z is 05:00 on New Year's Day in Seoul, 15:00 on New Year's Eve in New
    // York. A Seoul task claimed then is accepted 12 hours later, a New York one 6 hours later.
    w.at("2027-12-31T20:00:00Z").await;
    assert_eq!(w.occurrence_state(&forum_deadline).await, "missed");
    let seoul_task = w.task(s, "New year").await;
    w.step("claimTask", &seoul_task, &s.expert).await;
    let n = &w.new_york;
    let new_york_task = w.task(n, "Year end").await;
    w.step("claimTask", &new_york_task, &n.expert).await;
    w.at("2028-01-01T01:00:00Z").await;
    w.step("submitTask", &seoul_task, &s.expert).await;
    w.step("submitTask", &new_york_task, &n.expert).await;
    w.at("2028-01-01T02:00:00Z").await;
    w.step("acceptTask", &new_york_task, &n.chair).await;
    w.at("2028-01-01T08:00:00Z").await;
    w.step("acceptTask", &seoul_task, &s.chair).await;

    // Report C runs out without grace; a last task takes 6 days.
    w.at("2028-02-02T00:00:00Z").await;
    assert_eq!(w.occurrence_state(&report_c).await, "missed");
    w.delivered(
        s,
        "Spring review",
        "2028-03-01T00:00:00Z",
        "2028-03-06T00:00:00Z",
        "2028-03-07T00:00:00Z",
    )
    .await;

    let seoul_years = [
        quiet(2026),
        Year {
            year: 2027,
            opened: 4,
            accepted: 3,
            cancelled: 1,
            median: Some(4.0),
            // Report A and the three leases.
            met: 4,
            met_late: 1,
            adopted: 1,
            objections: 1,
            ..Year::default()
        },
        Year {
            year: 2028,
            opened: 2,
            accepted: 2,
            // 0.5 and 6 days.
            median: Some(3.25),
            // The two leases (the one of the New Year's task falls due on 31 January).
            met: 2,
            missed: 1,
            ..Year::default()
        },
        quiet(2029),
    ];
    let seoul = w.trends(GROUP_TRENDS, &s.group, 2026, 2029, &reader).await;
    let expected: Vec<Value> = seoul_years.iter().map(Year::json).collect();
    assert_eq!(seoul, json!(expected));

    // In New York the same instants fall in 2027, except the lease, due on 30 January 2028.
    let new_york = w.trends(GROUP_TRENDS, &n.group, 2027, 2028, &reader).await;
    let expected = json!([
        Year {
            year: 2027,
            opened: 1,
            accepted: 1,
            median: Some(0.25),
            ..Year::default()
        }
        .json(),
        Year {
            year: 2028,
            met: 1,
            ..Year::default()
        }
        .json(),
    ]);
    assert_eq!(new_york, expected);

    // The forum adds them up; its own deadline counts in its zone (Seoul): missed in 2028. The
    // median is over all the forum's tasks: 0.25, 2, 4 and 10 days in 2027.
    let forum = w.trends(FORUM_TRENDS, &w.forum, 2027, 2028, &reader).await;
    let forum_years = [
        Year {
            year: 2027,
            opened: 5,
            accepted: 4,
            cancelled: 1,
            median: Some(3.0),
            met: 4,
            met_late: 1,
            adopted: 1,
            objections: 1,
            ..Year::default()
        },
        Year {
            year: 2028,
            opened: 2,
            accepted: 2,
            median: Some(3.25),
            met: 3,
            missed: 2,
            ..Year::default()
        },
    ];
    let expected: Vec<Value> = forum_years.iter().map(Year::json).collect();
    assert_eq!(forum, json!(expected));

    // The CSV exports, by feed token and by Bearer token, give the same numbers.
    let feed = app
        .ok("mutation { rotateFeedToken { token } }", json!({}), &reader)
        .await;
    let token = feed["rotateFeedToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_token = w
        .get(
            &format!(
                "/export/{token}/trends.csv?groupId={}&fromYear=2026&toYear=2029",
                s.group
            ),
            None,
        )
        .await;
    assert_eq!(by_token.status(), 200);
    assert_eq!(
        by_token.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = by_token.headers()["content-disposition"].to_str().unwrap();
    assert_eq!(
        disposition,
        format!(
            "attachment; filename=\"trends-group-{}-2026-2029.csv\"",
            s.group
        )
    );
    assert_eq!(
        csv_rows(&by_token.text().await.unwrap()),
        seoul.as_array().unwrap().clone()
    );
    let by_bearer = w
        .get(
            &format!(
                "/export/trends.csv?forumId={}&fromYear=2027&toYear=2028",
                w.forum
            ),
            Some(&reader.token),
        )
        .await;
    assert_eq!(by_bearer.status(), 200);
    assert_eq!(
        csv_rows(&by_bearer.text().await.unwrap()),
        forum.as_array().unwrap().clone()
    );
}

#[tokio::test]
async fn bad_spans_ids_and_tokens_are_refused() {
    let w = World::start().await;
    let app = &w.app;
    let reader = app.create_user("reader@example.org", "Reader").await;
    let group = w.seoul.group.clone();
    for (id, from, to, code) in [
        (group.clone(), 2028, 2027, "INVALID_INPUT"),
        (group.clone(), 2000, 2059, "INVALID_INPUT"),
        (group.clone(), 1800, 1801, "INVALID_INPUT"),
        ("not-a-uuid".to_owned(), 2027, 2028, "INVALID_INPUT"),
        (uuid::Uuid::now_v7().to_string(), 2027, 2028, "NOT_FOUND"),
    ] {
        let refused = app
            .gql(
                GROUP_TRENDS,
                json!({ "id": id, "from": from, "to": to }),
                Some(&reader),
            )
            .await;
        assert_eq!(error_code(&refused), code, "{id} {from}..{to}: {refused}");
    }
    let unknown_forum = app
        .gql(
            FORUM_TRENDS,
            json!({ "id": uuid::Uuid::now_v7().to_string(), "from": 2027, "to": 2028 }),
            Some(&reader),
        )
        .await;
    assert_eq!(error_code(&unknown_forum), "NOT_FOUND", "{unknown_forum}");
    let anonymous = app
        .gql(
            GROUP_TRENDS,
            json!({ "id": group, "from": 2027, "to": 2028 }),
            None,
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    // The longest span is answered, a row per year.
    let fifty = w.trends(GROUP_TRENDS, &group, 2000, 2049, &reader).await;
    assert_eq!(fifty.as_array().unwrap().len(), 50);

    let feed = app
        .ok("mutation { rotateFeedToken { token } }", json!({}), &reader)
        .await;
    let token = feed["rotateFeedToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = format!("groupId={group}&fromYear=2027&toYear=2028");
    assert_eq!(
        w.get(&format!("/export/{token}/trends.csv?{query}"), None)
            .await
            .status(),
        200
    );
    let forged = "0".repeat(64);
    for (path, bearer, status) in [
        (format!("/export/{forged}/trends.csv?{query}"), None, 404),
        (format!("/export/short/trends.csv?{query}"), None, 404),
        (format!("/export/trends.csv?{query}"), None, 401),
        (
            format!("/export/trends.csv?{query}"),
            Some("not.a.token"),
            401,
        ),
        (
            format!("/export/trends.csv?{query}&forumId={}", w.forum),
            Some(reader.token.as_str()),
            400,
        ),
        (
            format!("/export/{token}/trends.csv?groupId={group}&fromYear=2027"),
            None,
            400,
        ),
        (
            format!("/export/{token}/trends.csv?groupId=abc&fromYear=2027&toYear=2028"),
            None,
            400,
        ),
        (
            format!("/export/{token}/trends.csv?groupId={group}&fromYear=2028&toYear=2027"),
            None,
            400,
        ),
        (
            format!(
                "/export/{token}/trends.csv?groupId={}&fromYear=2027&toYear=2028",
                uuid::Uuid::now_v7()
            ),
            None,
            404,
        ),
    ] {
        let response = w.get(&path, bearer).await;
        assert_eq!(response.status(), status, "{path}");
        if status == 400 {
            let text = response.text().await.unwrap();
            assert!(
                ["groupId", "forumId", "fromYear", "toYear"]
                    .iter()
                    .any(|name| text.contains(name)),
                "{path}: {text}"
            );
        }
    }
    // A rotated token no longer exports.
    app.ok("mutation { rotateFeedToken { token } }", json!({}), &reader)
        .await;
    assert_eq!(
        w.get(&format!("/export/{token}/trends.csv?{query}"), None)
            .await
            .status(),
        404
    );
}
