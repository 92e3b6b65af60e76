//! Annual reports through the public surface: a group reporting on two years (each period
//! starting where the last one ended, its draft generated from that period's outcomes), the
//! report deadline reminding, escalating and missed when nothing is published, the deadline
//! following the summit when it moves, a period ended by hand, who may read and act on a draft
//! (its id and its document's id are NOT_FOUND to others wherever they are given), and a
//! submission returned and submitted again as the document's next version.

use chrono::{DateTime, Utc};
use govflow_engine::deadlines::scheduler::{TEMPLATE, run_due};
use govflow_engine::entities::{deadline_occurrence, deadline_reminder, outbox_message};
use govflow_engine::reports::draft::IMPLICATIONS_PLACEHOLDER;
use govflow_tests::{TestApp, TestUser, error_code, error_message};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

/// The fields of a report every step reads back.
const FIELDS: &str = "id year state version period { start end } draft submittedVersion publishedAt occurrenceId group { name } document { id kind versions(first: 10) { totalCount nodes { number status text } } currentVersion { number status text } }";
const OCCURRENCES: &str = "query($id: ID!) { deadline(id: $id) { occurrences(first: 10) { nodes { id anchor dueAt state metAt reminders { offset roles dueAt state late } } } history(first: 50) { nodes { transition toState } } } }";
const IMPLICATIONS_HEADING: &str = "## Implications for member states";

/// A forum in Seoul's zone with one group, its chair, two experts, a coordinator of the group,
/// a coordinator of the forum and a signed-in user with no role in either.
struct Setup {
    app: TestApp,
    forum: String,
    group: String,
    chair: TestUser,
    experts: [TestUser; 2],
    secretary: TestUser,
    secretariat: TestUser,
    outsider: TestUser,
}

impl Setup {
    async fn new() -> Setup {
        Setup::build(None, None).await
    }

    /// With the forum's settings changed before the group is established.
    async fn with_settings(settings: Value) -> Setup {
        Setup::build(Some(settings), None).await
    }

    /// `settings` for the forum, and the instant the group was established (as a group that
    /// existed before it was recorded) if not now.
    async fn build(settings: Option<Value>, effective_at: Option<&str>) -> Setup {
        let app = TestApp::spawn().await;
        let (forum, _) = app.forum("Digital Nations").await;
        if let Some(settings) = settings {
            app.ok(
                "mutation($id: ID!, $settings: ForumSettingsInput!) { updateForum(id: $id, input: { settings: $settings }) { id } }",
                json!({ "id": forum, "settings": settings }),
                &app.admin,
            )
            .await;
        }
        let group = match effective_at {
            None => app.group(&forum, "Digital Governance").await,
            Some(at) => {
                let data = app
                    .ok(
                        "mutation($input: CreateGroupInput!) { createGroup(input: $input) { id state } }",
                        json!({ "input": { "forumId": forum, "name": "Digital Governance", "theme": "Digital governance", "effectiveAt": at } }),
                        &app.admin,
                    )
                    .await;
                assert_eq!(data["createGroup"]["state"], "active");
                data["createGroup"]["id"].as_str().unwrap().to_owned()
            }
        };
        let chair = app.create_user("chair@kr.example", "Chair Kim").await;
        app.grant(&chair, "chair", "groupId", &group).await;
        let tamm = app.create_user("expert@ee.example", "Expert Tamm").await;
        app.grant(&tamm, "expert", "groupId", &group).await;
        let silva = app.create_user("expert@uy.example", "Expert Silva").await;
        app.grant(&silva, "expert", "groupId", &group).await;
        let secretary = app
            .create_user("secretary@dn.example", "Group Secretary")
            .await;
        app.grant(&secretary, "coordinator", "groupId", &group)
            .await;
        let secretariat = app
            .create_user("secretariat@dn.example", "Forum Secretariat")
            .await;
        app.grant(&secretariat, "coordinator", "forumId", &forum)
            .await;
        let outsider = app
            .create_user("reader@elsewhere.example", "Outside Reader")
            .await;
        Setup {
            app,
            forum,
            group,
            chair,
            experts: [tamm, silva],
            secretary,
            secretariat,
            outsider,
        }
    }

    /// Moves the engine's clock and lets the deadline scheduler catch up: runs it until nothing
    /// due is left, waiting for rows the server's own scheduler loop may hold meanwhile.
    async fn at(&self, instant: &str) {
        let now = utc(instant);
        self.app.clock.set(now);
        let db = self.app.engine.db();
        for _ in 0..100 {
            run_due(&self.app.engine).await.unwrap();
            let reminders = deadline_reminder::Entity::find()
                .filter(deadline_reminder::Column::State.eq("pending"))
                .filter(deadline_reminder::Column::DueAt.lte(now))
                .count(db)
                .await
                .unwrap();
            let falling_due = deadline_occurrence::Entity::find()
                .filter(deadline_occurrence::Column::State.eq("scheduled"))
                .filter(deadline_occurrence::Column::DueAt.lt(now))
                .count(db)
                .await
                .unwrap();
            let missing = deadline_occurrence::Entity::find()
                .filter(deadline_occurrence::Column::State.eq("due"))
                .filter(deadline_occurrence::Column::GraceUntil.lt(now))
                .count(db)
                .await
                .unwrap();
            if reminders + falling_due + missing == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the scheduler did not catch up with {instant}");
    }

    /// Schedules a summit of the forum's default series in Seoul; returns (id, title).
    async fn summit(
        &self,
        series: &str,
        number: i32,
        starts: &str,
        ends: &str,
    ) -> (String, String) {
        let data = self
            .app
            .ok(
                "mutation($input: ScheduleMeetingInput!) { scheduleMeeting(input: $input) { id title state } }",
                json!({ "input": {
                    "forumId": self.forum, "series": series, "number": number, "place": "Seoul",
                    "timeZone": "Asia/Seoul", "startsAt": starts, "endsAt": ends,
                } }),
                &self.secretariat,
            )
            .await;
        assert_eq!(data["scheduleMeeting"]["state"], "planned");
        (
            data["scheduleMeeting"]["id"].as_str().unwrap().to_owned(),
            data["scheduleMeeting"]["title"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    /// The group's report deadline (the one met by `publish`).
    async fn report_deadline(&self) -> Value {
        let data = self
            .app
            .ok(
                "query($id: ID!) { deadlines(subjectId: $id) { nodes { id title rule metBy graceDays usesDefaultReminders state } } }",
                json!({ "id": self.group }),
                &self.outsider,
            )
            .await;
        let found: Vec<Value> = data["deadlines"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|deadline| deadline["metBy"] == "publish")
            .cloned()
            .collect();
        assert_eq!(found.len(), 1, "one report deadline: {data}");
        found[0].clone()
    }

    async fn occurrences(&self, deadline: &str) -> Vec<Value> {
        let data = self
            .app
            .ok(OCCURRENCES, json!({ "id": deadline }), &self.outsider)
            .await;
        data["deadline"]["occurrences"]["nodes"]
            .as_array()
            .unwrap()
            .clone()
    }

    async fn deadline_history(&self, deadline: &str) -> Vec<(String, String)> {
        let data = self
            .app
            .ok(OCCURRENCES, json!({ "id": deadline }), &self.outsider)
            .await;
        data["deadline"]["history"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| {
                (
                    node["transition"].as_str().unwrap().to_owned(),
                    node["toState"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    async fn topic(&self, title: &str) -> String {
        let data = self
            .app
            .ok(
                "mutation($g: ID!, $title: String!) { createTopic(input: { groupId: $g, title: $title }) { id } }",
                json!({ "g": self.group, "title": title }),
                &self.chair,
            )
            .await;
        data["createTopic"]["id"].as_str().unwrap().to_owned()
    }

    /// A task created under `topic`, claimed and delivered by `expert`, accepted by the chair,
    /// all at the clock's instant.
    async fn outcome(&self, topic: Option<&str>, title: &str, expert: &TestUser, text: &str) {
        let data = self
            .app
            .ok(
                "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }",
                json!({ "input": { "groupId": self.group, "topicId": topic, "title": title } }),
                &self.chair,
            )
            .await;
        let task = data["createTask"]["id"].as_str().unwrap().to_owned();
        self.app
            .ok(
                "mutation($id: ID!) { claimTask(id: $id) { state } }",
                json!({ "id": task }),
                expert,
            )
            .await;
        self.app
            .ok(
                "mutation($id: ID!, $text: String) { submitTask(id: $id, text: $text) { state } }",
                json!({ "id": task, "text": text }),
                expert,
            )
            .await;
        let data = self
            .app
            .ok(
                "mutation($id: ID!) { acceptTask(id: $id) { state } }",
                json!({ "id": task }),
                &self.chair,
            )
            .await;
        assert_eq!(data["acceptTask"]["state"], "accepted");
    }

    /// `draftAnnualReport` as `user`; the whole response.
    async fn draft(&self, period_end: Option<&str>, user: &TestUser) -> Value {
        self.app
            .gql(
                &format!("mutation($g: ID!, $end: String) {{ draftAnnualReport(groupId: $g, periodEnd: $end) {{ {FIELDS} }} }}"),
                json!({ "g": self.group, "end": period_end }),
                Some(user),
            )
            .await
    }

    /// Drafts the group's next report as its chair; returns the report.
    async fn drafted(&self) -> Value {
        let response = self.draft(None, &self.chair).await;
        assert!(response.get("errors").is_none(), "{response}");
        response["data"]["draftAnnualReport"].clone()
    }

    async fn update(&self, id: &str, draft: &str, version: Option<i64>, user: &TestUser) -> Value {
        self.app
            .gql(
                &format!("mutation($id: ID!, $draft: String!, $v: Int) {{ updateAnnualReport(id: $id, draft: $draft, expectedVersion: $v) {{ {FIELDS} }} }}"),
                json!({ "id": id, "draft": draft, "v": version }),
                Some(user),
            )
            .await
    }

    /// One of the report's transition mutations, as `user`; the whole response.
    async fn step(&self, mutation: &str, id: &str, user: &TestUser) -> Value {
        self.app
            .gql(
                &format!("mutation($id: ID!) {{ {mutation}(id: $id, reason: \"Step of the test\") {{ {FIELDS} }} }}"),
                json!({ "id": id }),
                Some(user),
            )
            .await
    }

    /// A step that must succeed; returns the report as it now is.
    async fn stepped(&self, mutation: &str, id: &str, user: &TestUser) -> Value {
        let response = self.step(mutation, id, user).await;
        assert!(
            response.get("errors").is_none(),
            "{mutation}: expected success, got {response}"
        );
        response["data"][mutation].clone()
    }

    async fn comment(&self, id: &str, text: &str, user: &TestUser) -> Value {
        self.app
            .gql(
                "mutation($id: ID!, $text: String!) { commentOnAnnualReport(id: $id, text: $text) { text author { name } } }",
                json!({ "id": id, "text": text }),
                Some(user),
            )
            .await
    }

    /// `annualReport(groupId, year)` as `user`, with its comments.
    async fn report(&self, year: i32, user: &TestUser) -> Value {
        let data = self
            .app
            .ok(
                &format!("query($g: ID!, $y: Int!) {{ annualReport(groupId: $g, year: $y) {{ {FIELDS} comments(first: 10) {{ totalCount nodes {{ text author {{ name }} }} }} }} }}"),
                json!({ "g": self.group, "y": year }),
                user,
            )
            .await;
        data["annualReport"].clone()
    }

    /// (year, state) of the reports `user` may list, latest first, and the total count.
    async fn listed(&self, user: &TestUser) -> (Vec<(i64, String)>, i64) {
        let data = self
            .app
            .ok(
                "query($g: ID!) { annualReports(groupId: $g, first: 10) { totalCount nodes { year state } } }",
                json!({ "g": self.group }),
                user,
            )
            .await;
        let nodes = data["annualReports"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| {
                (
                    node["year"].as_i64().unwrap(),
                    node["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (nodes, data["annualReports"]["totalCount"].as_i64().unwrap())
    }

    /// (recipient, subject line) of the report deadline's reminders queued so far, oldest first.
    async fn reminders_queued(&self) -> Vec<(String, String)> {
        let group = Uuid::parse_str(&self.group).unwrap();
        outbox_message::Entity::find()
            .filter(outbox_message::Column::Template.eq(TEMPLATE))
            .filter(outbox_message::Column::GroupId.eq(group))
            .order_by_asc(outbox_message::Column::CreatedAt)
            .order_by_asc(outbox_message::Column::RecipientEmail)
            .all(self.app.engine.db())
            .await
            .unwrap()
            .into_iter()
            .filter(|row| row.subject_line.contains("Annual report"))
            .map(|row| (row.recipient_email, row.subject_line))
            .collect()
    }
}

impl Setup {
    /// The recipients of the messages of one template about `subject`, sorted.
    async fn notified(&self, template: &str, subject: &str) -> Vec<String> {
        let subject = Uuid::parse_str(subject).unwrap();
        let mut found: Vec<String> = outbox_message::Entity::find()
            .filter(outbox_message::Column::Template.eq(template))
            .filter(outbox_message::Column::SubjectId.eq(subject))
            .all(self.app.engine.db())
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.recipient_email)
            .collect();
        found.sort();
        found
    }

    /// The transitions of a report's history, oldest first, as `user` sees them.
    async fn history(&self, id: &str, user: &TestUser) -> Vec<String> {
        let data = self
            .app
            .ok(
                "query($id: ID!) { subject(id: $id) { ... on AnnualReport { history(first: 50) { nodes { transition } } } } }",
                json!({ "id": id }),
                user,
            )
            .await;
        data["subject"]["history"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node["transition"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

/// The draft with its implications section holding `text` instead of what it held.
fn with_implications(draft: &str, text: &str) -> String {
    let at = draft
        .find(IMPLICATIONS_HEADING)
        .expect("the draft has the implications section");
    format!("{}{IMPLICATIONS_HEADING}\n\n{text}\n", &draft[..at])
}

/// The research topics of a draft, in order, each with its list items.
fn topics(draft: &str) -> Vec<(String, Vec<String>)> {
    let mut lines = draft.lines();
    lines
        .by_ref()
        .find(|line| line.trim() == "## Research topics and outcomes")
        .expect("the draft has its research section");
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for line in lines {
        if line.starts_with("## ") {
            break;
        }
        if let Some(title) = line.strip_prefix("### ") {
            found.push((title.trim().to_owned(), Vec::new()));
        } else if line.starts_with("- ") {
            found
                .last_mut()
                .expect("a task line under a topic")
                .1
                .push(line.trim_end().to_owned());
        }
    }
    found
}

/// The list items under a heading of a draft, up to the next heading.
fn items(draft: &str, heading: &str) -> Vec<String> {
    let mut lines = draft.lines();
    lines
        .by_ref()
        .find(|line| line.trim() == heading)
        .unwrap_or_else(|| panic!("the draft has `{heading}`:\n{draft}"));
    lines
        .take_while(|line| !line.starts_with('#'))
        .filter(|line| line.starts_with("- "))
        .map(|line| line.trim_end().to_owned())
        .collect()
}

/// The text of the implications section.
fn implications(draft: &str) -> String {
    let at = draft.find(IMPLICATIONS_HEADING).expect("the section");
    draft[at + IMPLICATIONS_HEADING.len()..].trim().to_owned()
}

fn lines(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// (offset, state) of an occurrence's reminders.
fn reminder_states(occurrence: &Value) -> Vec<(String, String)> {
    occurrence["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reminder| {
            (
                reminder["offset"].as_str().unwrap().to_owned(),
                reminder["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_group_reports_on_two_years_each_period_starting_where_the_last_one_ended() {
    let s = Setup::new().await;
    let app = &s.app;
    let (tamm, silva) = (&s.experts[0], &s.experts[1]);

    // The group's activation gave it the report deadline; the summit anchors its occurrence.
    let (summit9, summit9_title) = s
        .summit(
            "Ministerial Summit",
            9,
            "2026-11-10T10:00:00+09:00",
            "2026-11-11T18:00:00+09:00",
        )
        .await;
    let deadline = s.report_deadline().await;
    assert_eq!(deadline["title"], "Annual report");
    assert_eq!(deadline["rule"], "before_event \"Ministerial Summit\" 30d");
    assert_eq!(deadline["usesDefaultReminders"], true);
    assert_eq!(deadline["state"], "active");
    let deadline = id_of(&deadline);
    let occurrences = s.occurrences(&deadline).await;
    assert_eq!(occurrences.len(), 1, "{occurrences:?}");
    assert_eq!(occurrences[0]["anchor"], json!(summit9));
    assert_eq!(occurrences[0]["dueAt"], "2026-10-11T10:00:00+09:00");
    assert_eq!(occurrences[0]["state"], "scheduled");
    let first_occurrence = id_of(&occurrences[0]);

    // Year 1: the work plan amended after a consultation, and four outcomes accepted.
    let data = app
        .ok(
            "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { id } }",
            json!({ "input": { "groupId": s.group, "kind": "work_plan", "title": "Work plan", "text": "Work plan\n\nShare research topics.\n" } }),
            &s.chair,
        )
        .await;
    let work_plan = data["createDocument"]["id"].as_str().unwrap().to_owned();
    let identity = s.topic("Digital identity").await;
    let open_data = s.topic("Open data").await;
    let data = app
        .ok(
            "mutation($input: CreateAmendmentInput!) { createAmendment(input: $input) { id } }",
            json!({ "input": { "groupId": s.group, "documentId": work_plan, "title": "Summit timing", "text": "Work plan\n\nShare research topics.\nReport before each Ministerial Summit.\n" } }),
            &s.chair,
        )
        .await;
    let amendment = data["createAmendment"]["id"].as_str().unwrap().to_owned();
    app.ok(
        "mutation($id: ID!) { openConsultation(id: $id, closesAt: \"2026-03-16T09:00:00+09:00\") { state } }",
        json!({ "id": amendment }),
        &s.chair,
    )
    .await;
    s.at("2026-03-17T00:00:00Z").await;
    let adopted = app
        .ok(
            "mutation($id: ID!) { adoptAmendment(id: $id) { state adoptedVersion } }",
            json!({ "id": amendment }),
            &s.chair,
        )
        .await;
    assert_eq!(adopted["adoptAmendment"]["adoptedVersion"], 2);
    s.at("2026-04-02T00:00:00Z").await;
    s.outcome(
        Some(&identity),
        "eID comparison",
        tamm,
        "Comparison of eID schemes in five member states.\n\nAnnex: the method.",
    )
    .await;
    s.at("2026-05-20T00:00:00Z").await;
    s.outcome(
        Some(&open_data),
        "Open data portals review",
        silva,
        "Twelve national portals reviewed.",
    )
    .await;
    s.at("2026-06-15T00:00:00Z").await;
    s.outcome(
        Some(&identity),
        "Wallet pilots",
        silva,
        "Two wallet pilots evaluated.",
    )
    .await;
    s.at("2026-07-01T00:00:00Z").await;
    s.outcome(
        None,
        "Survey of AI use",
        tamm,
        "AI in public services surveyed.",
    )
    .await;

    // The first report: from the activation to the occurrence's due instant.
    s.at("2026-09-01T00:00:00Z").await;
    let report = s.drafted().await;
    let report_id = id_of(&report);
    assert_eq!(report["year"], 2026);
    assert_eq!(report["state"], "drafting");
    assert_eq!(
        report["period"],
        json!({ "start": "2026-03-02T09:00:00+09:00", "end": "2026-10-11T10:00:00+09:00" })
    );
    assert_eq!(report["occurrenceId"], json!(first_occurrence));
    assert_eq!(report["submittedVersion"], Value::Null);
    assert_eq!(report["group"]["name"], "Digital Governance");
    assert_eq!(report["document"]["kind"], "annual_report");
    assert_eq!(report["document"]["versions"]["totalCount"], 0);
    assert_eq!(report["document"]["currentVersion"], Value::Null);
    let draft = report["draft"].as_str().unwrap().to_owned();
    assert!(
        draft.starts_with("# Annual report 2026: Digital Governance"),
        "{draft}"
    );
    assert_eq!(
        topics(&draft),
        vec![
            (
                "Digital identity".to_owned(),
                lines(&[
                    "- **eID comparison** (Expert Tamm), accepted 2 April 2026. Comparison of eID schemes in five member states.",
                    "- **Wallet pilots** (Expert Silva), accepted 15 June 2026. Two wallet pilots evaluated.",
                ])
            ),
            (
                "Open data".to_owned(),
                lines(&[
                    "- **Open data portals review** (Expert Silva), accepted 20 May 2026. Twelve national portals reviewed.",
                ])
            ),
            (
                "Other work".to_owned(),
                lines(&[
                    "- **Survey of AI use** (Expert Tamm), accepted 1 July 2026. AI in public services surveyed.",
                ])
            ),
        ],
        "{draft}"
    );
    assert_eq!(
        items(&draft, "### Amendments adopted"),
        lines(&[
            "- Summit timing: version 2 of the work plan \"Work plan\", adopted 17 March 2026."
        ]),
        "{draft}"
    );
    assert_eq!(items(&draft, "### Meetings held"), lines(&["- None."]));
    assert_eq!(implications(&draft), IMPLICATIONS_PLACEHOLDER, "{draft}");

    // The placeholder alone is not the implications.
    let refused = s.step("submitAnnualReport", &report_id, &s.chair).await;
    assert_eq!(error_code(&refused), "GUARD_FAILED", "{refused}");
    assert!(
        error_message(&refused).contains("implications_written"),
        "{refused}"
    );

    // Edited in place, against the version read.
    let written = with_implications(
        &draft,
        "Member states should align their eID schemes before the summit.",
    );
    let version = report["version"].as_i64().unwrap();
    let stale = s
        .update(&report_id, &written, Some(version + 5), &s.chair)
        .await;
    assert_eq!(error_code(&stale), "STALE_STATE", "{stale}");
    let updated = s
        .update(&report_id, &written, Some(version), &s.chair)
        .await;
    assert!(updated.get("errors").is_none(), "{updated}");
    let updated = &updated["data"]["updateAnnualReport"];
    assert_eq!(updated["draft"], json!(written));
    assert_eq!(updated["version"], version + 1);
    assert_eq!(updated["state"], "drafting");

    // Reviewed by the experts.
    let reviewed = s
        .stepped("sendAnnualReportForReview", &report_id, &s.chair)
        .await;
    assert_eq!(reviewed["state"], "in_review");
    let comment = s
        .comment(&report_id, "Please give the pilots' costs.", tamm)
        .await;
    assert_eq!(
        comment["data"]["commentOnAnnualReport"],
        json!({ "text": "Please give the pilots' costs.", "author": { "name": "Expert Tamm" } }),
        "{comment}"
    );
    let read = s.report(2026, &s.chair).await;
    assert_eq!(read["comments"]["totalCount"], 1);
    assert_eq!(
        read["comments"]["nodes"][0],
        json!({ "text": "Please give the pilots' costs.", "author": { "name": "Expert Tamm" } })
    );

    // The first reminder goes out a month before the due instant.
    s.at("2026-09-11T01:01:00Z").await;
    let queued = s.reminders_queued().await;
    assert_eq!(queued.len(), 2, "{queued:?}");
    assert_eq!(
        queued.iter().map(|(to, _)| to.as_str()).collect::<Vec<_>>(),
        ["secretariat@dn.example", "secretary@dn.example"]
    );
    assert!(
        queued[0].1.contains("Reminder: Annual report"),
        "{queued:?}"
    );

    // Submitted: the draft becomes version 1 of the report's document, proposed.
    let submitted = s.stepped("submitAnnualReport", &report_id, &s.chair).await;
    assert_eq!(submitted["state"], "submitted");
    assert_eq!(submitted["submittedVersion"], 1);
    assert_eq!(
        submitted["document"]["versions"]["nodes"],
        json!([{ "number": 1, "status": "proposed", "text": written }])
    );
    assert_eq!(submitted["document"]["currentVersion"], Value::Null);

    // Published before the summit: the version is adopted and the occurrence met in time.
    s.at("2026-09-15T00:00:00Z").await;
    let published = s
        .stepped("publishAnnualReport", &report_id, &s.secretariat)
        .await;
    assert_eq!(published["state"], "published");
    assert_eq!(published["publishedAt"], "2026-09-15T09:00:00+09:00");
    assert_eq!(
        published["document"]["currentVersion"],
        json!({ "number": 1, "status": "adopted", "text": written })
    );
    assert_eq!(published["document"]["versions"]["totalCount"], 1);
    let occurrences = s.occurrences(&deadline).await;
    let met = occurrences
        .iter()
        .find(|occurrence| occurrence["id"] == json!(first_occurrence))
        .unwrap();
    assert_eq!(met["state"], "met");
    assert_eq!(met["metAt"], "2026-09-15T09:00:00+09:00");
    assert_eq!(
        reminder_states(met),
        pairs(&[
            ("-30d", "sent"),
            ("-7d", "cancelled"),
            ("-1d", "cancelled"),
            ("0d", "cancelled"),
            ("+1d", "cancelled"),
            ("+7d", "cancelled"),
        ])
    );
    // Past the due instant, nobody is reminded of it again.
    s.at("2026-10-20T00:00:00Z").await;
    assert_eq!(s.reminders_queued().await.len(), 2);

    // The summit is held and the next one scheduled: the deadline anchors on it.
    s.at("2026-11-10T01:01:00Z").await;
    app.ok(
        "mutation($id: ID!) { startMeeting(id: $id) { state } }",
        json!({ "id": summit9 }),
        &s.secretariat,
    )
    .await;
    let closed = app
        .ok(
            "mutation($id: ID!) { closeMeeting(id: $id) { state } }",
            json!({ "id": summit9 }),
            &s.secretariat,
        )
        .await;
    assert_eq!(closed["closeMeeting"]["state"], "held");
    let (summit10, _) = s
        .summit(
            "Ministerial Summit",
            10,
            "2027-11-09T10:00:00+09:00",
            "2027-11-10T18:00:00+09:00",
        )
        .await;
    s.at("2026-11-12T00:00:00Z").await;
    let occurrences = s.occurrences(&deadline).await;
    assert_eq!(occurrences.len(), 2, "{occurrences:?}");
    let second = occurrences
        .iter()
        .find(|occurrence| occurrence["anchor"] == json!(summit10))
        .expect("an occurrence anchored on the next summit");
    assert_eq!(second["dueAt"], "2027-10-10T10:00:00+09:00");
    assert_eq!(second["state"], "scheduled");
    let second_occurrence = id_of(second);

    // Year 2's outcomes, and one accepted after the second period has closed.
    s.at("2027-02-10T00:00:00Z").await;
    s.outcome(
        Some(&open_data),
        "Data spaces study",
        tamm,
        "Three data spaces compared.",
    )
    .await;
    s.at("2027-05-12T00:00:00Z").await;
    s.outcome(
        Some(&identity),
        "eID interoperability test",
        silva,
        "Cross-border test passed in two states.",
    )
    .await;
    s.at("2027-10-12T00:00:00Z").await;
    s.outcome(
        Some(&open_data),
        "Late study",
        tamm,
        "Delivered after the period.",
    )
    .await;

    // The second report starts where the first ended and lists only its own period's work.
    s.at("2027-10-13T00:00:00Z").await;
    let second_report = s.drafted().await;
    let second_id = id_of(&second_report);
    assert_eq!(second_report["year"], 2027);
    assert_eq!(
        second_report["period"],
        json!({ "start": "2026-10-11T10:00:00+09:00", "end": "2027-10-10T10:00:00+09:00" })
    );
    assert_eq!(second_report["occurrenceId"], json!(second_occurrence));
    let draft2 = second_report["draft"].as_str().unwrap().to_owned();
    assert!(
        draft2.starts_with("# Annual report 2027: Digital Governance"),
        "{draft2}"
    );
    assert_eq!(
        topics(&draft2),
        vec![
            (
                "Digital identity".to_owned(),
                lines(&[
                    "- **eID interoperability test** (Expert Silva), accepted 12 May 2027. Cross-border test passed in two states.",
                ])
            ),
            (
                "Open data".to_owned(),
                lines(&[
                    "- **Data spaces study** (Expert Tamm), accepted 10 February 2027. Three data spaces compared.",
                ])
            ),
        ],
        "{draft2}"
    );
    for absent in [
        "eID comparison",
        "Wallet pilots",
        "Open data portals review",
        "Survey of AI use",
        "Late study",
    ] {
        assert!(!draft2.contains(absent), "{absent} in:\n{draft2}");
    }
    assert_eq!(
        items(&draft2, "### Amendments adopted"),
        lines(&["- None."])
    );
    assert_eq!(
        items(&draft2, "### Meetings held"),
        vec![format!("- {summit9_title}, Seoul, 10 November 2026.")],
        "{draft2}"
    );
    assert!(
        items(&draft2, "### Deadlines")
            .contains(&"- Met: Annual report, due 11 October 2026.".to_owned()),
        "{draft2}"
    );

    // Published after its due instant: met late.
    let written2 = with_implications(&draft2, "Member states may join the data spaces.");
    let version = second_report["version"].as_i64().unwrap();
    let updated = s
        .update(&second_id, &written2, Some(version), &s.chair)
        .await;
    assert!(updated.get("errors").is_none(), "{updated}");
    s.stepped("submitAnnualReport", &second_id, &s.chair).await;
    let published = s
        .stepped("publishAnnualReport", &second_id, &s.secretariat)
        .await;
    assert_eq!(published["state"], "published");
    assert_eq!(
        published["document"]["currentVersion"],
        json!({ "number": 1, "status": "adopted", "text": written2 })
    );
    let occurrences = s.occurrences(&deadline).await;
    let late = occurrences
        .iter()
        .find(|occurrence| occurrence["id"] == json!(second_occurrence))
        .unwrap();
    assert_eq!(late["state"], "met_late");
    let first = occurrences
        .iter()
        .find(|occurrence| occurrence["id"] == json!(first_occurrence))
        .unwrap();
    assert_eq!(first["state"], "met");

    // The trends count both reports, the first published on time, the second late.
    let trends = s
        .app
        .ok(
            "query($g: ID!) { groupTrends(groupId: $g, fromYear: 2026, toYear: 2028) { reportsPublished reportsPublishedOnTime } }",
            json!({ "g": s.group }),
            &s.outsider,
        )
        .await;
    let column = |name: &str| -> i64 {
        trends["groupTrends"]
            .as_array()
            .unwrap()
            .iter()
            .map(|year| year[name].as_i64().unwrap())
            .sum()
    };
    assert_eq!(
        (column("reportsPublished"), column("reportsPublishedOnTime")),
        (2, 1)
    );

    // Anyone signed in reads both, latest first.
    let (listed, total) = s.listed(&s.outsider).await;
    assert_eq!(total, 2);
    assert_eq!(
        listed,
        vec![
            (2027, "published".to_owned()),
            (2026, "published".to_owned())
        ]
    );
    let first_report = s.report(2026, &s.outsider).await;
    assert_eq!(first_report["draft"], json!(written));
    assert_eq!(first_report["id"], json!(report_id));
    assert_eq!(
        s.history(&report_id, &s.outsider).await,
        [
            "draft",
            "update_annual_report",
            "send_for_review",
            "comment_on_annual_report",
            "submit",
            "publish"
        ]
    );
    // Who heard of each step of the first report.
    assert_eq!(
        s.notified("report_in_review", &report_id).await,
        ["expert@ee.example", "expert@uy.example"]
    );
    assert_eq!(
        s.notified("report_submitted", &report_id).await,
        ["secretariat@dn.example"]
    );
    assert_eq!(
        s.notified("report_published", &report_id).await,
        [
            "expert@ee.example",
            "expert@uy.example",
            "secretariat@dn.example",
            "secretary@dn.example"
        ]
    );
}

#[tokio::test]
async fn a_report_never_published_is_reminded_escalated_and_missed() {
    let s = Setup::new().await;
    s.summit(
        "Ministerial Summit",
        9,
        "2026-06-01T10:00:00+09:00",
        "2026-06-02T18:00:00+09:00",
    )
    .await;
    let deadline = id_of(&s.report_deadline().await);
    let occurrence = &s.occurrences(&deadline).await[0];
    // Due 30 days before the summit: 2 May, 10:00 in Seoul (01:00 UTC).
    assert_eq!(occurrence["dueAt"], "2026-05-02T10:00:00+09:00");
    let plan: Vec<(String, String)> = occurrence["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reminder| {
            (
                reminder["offset"].as_str().unwrap().to_owned(),
                reminder["dueAt"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        plan,
        pairs(&[
            ("-30d", "2026-04-02T10:00:00+09:00"),
            ("-7d", "2026-04-25T10:00:00+09:00"),
            ("-1d", "2026-05-01T10:00:00+09:00"),
            ("0d", "2026-05-02T10:00:00+09:00"),
            ("+1d", "2026-05-03T10:00:00+09:00"),
            ("+7d", "2026-05-09T10:00:00+09:00"),
        ])
    );

    // Nothing before the first reminder's time.
    s.at("2026-04-02T00:59:00Z").await;
    assert!(s.reminders_queued().await.is_empty());

    let coordinators = ["secretariat@dn.example", "secretary@dn.example"];
    let steps: [(&str, &[&str], &str, &str); 6] = [
        (
            "2026-04-02T01:01:00Z",
            &coordinators,
            "Reminder",
            "scheduled",
        ),
        (
            "2026-04-25T01:01:00Z",
            &coordinators,
            "Reminder",
            "scheduled",
        ),
        (
            "2026-05-01T01:01:00Z",
            &coordinators,
            "Reminder",
            "scheduled",
        ),
        ("2026-05-02T01:01:00Z", &coordinators, "", "due"),
        ("2026-05-03T01:01:00Z", &coordinators, "Overdue", "due"),
        // The escalation: a week overdue, the chair hears of it.
        (
            "2026-05-09T01:01:00Z",
            &["chair@kr.example"],
            "Overdue",
            "due",
        ),
    ];
    let mut seen = 0;
    for (instant, recipients, word, state) in steps {
        s.at(instant).await;
        let queued = s.reminders_queued().await;
        let mut new: Vec<(String, String)> = queued[seen..].to_vec();
        new.sort();
        assert_eq!(
            new.iter().map(|(to, _)| to.as_str()).collect::<Vec<_>>(),
            recipients,
            "at {instant}: {queued:?}"
        );
        for (_, subject) in &new {
            assert!(
                subject.contains(&format!("{word}: Annual report")),
                "at {instant}: {subject}"
            );
        }
        seen = queued.len();
        let occurrence = &s.occurrences(&deadline).await[0];
        assert_eq!(occurrence["state"], state, "at {instant}");
    }

    // Thirty days of grace later (at the summit's start) it is missed.
    s.at("2026-06-01T00:59:00Z").await;
    assert_eq!(s.occurrences(&deadline).await[0]["state"], "due");
    s.at("2026-06-01T01:01:00Z").await;
    let occurrence = &s.occurrences(&deadline).await[0];
    assert_eq!(occurrence["state"], "missed");
    assert!(
        reminder_states(occurrence)
            .iter()
            .all(|(_, state)| state == "sent"),
        "{occurrence}"
    );
    let history = s.deadline_history(&deadline).await;
    assert!(
        history.contains(&("miss".to_owned(), "missed".to_owned())),
        "{history:?}"
    );
    assert_eq!(s.reminders_queued().await.len(), 11);

    // The mail server receives each reminder once.
    s.app.drain_mail().await;
    let received: Vec<(Vec<String>, String)> = s
        .app
        .smtp
        .received()
        .iter()
        .map(|mail| (mail.to.clone(), mail.header("Subject").unwrap_or_default()))
        .filter(|(_, subject)| subject.contains("Annual report"))
        .collect();
    assert_eq!(received.len(), 11, "{received:?}");
    let to_chair: Vec<&(Vec<String>, String)> = received
        .iter()
        .filter(|(to, _)| to == &["chair@kr.example".to_owned()])
        .collect();
    assert_eq!(to_chair.len(), 1, "{received:?}");
    assert!(to_chair[0].1.contains("Overdue"), "{received:?}");
}

#[tokio::test]
async fn the_report_deadline_follows_the_summit_when_it_moves() {
    let s = Setup::with_settings(
        json!({ "reportLeadDays": 45, "summitSeries": "Digital Ministers Meeting" }),
    )
    .await;
    let (summit, _) = s
        .summit(
            "Digital Ministers Meeting",
            1,
            "2026-09-01T10:00:00+09:00",
            "2026-09-02T18:00:00+09:00",
        )
        .await;
    let deadline = s.report_deadline().await;
    assert_eq!(
        deadline["rule"],
        "before_event \"Digital Ministers Meeting\" 45d"
    );
    let deadline = id_of(&deadline);
    let occurrence = &s.occurrences(&deadline).await[0];
    assert_eq!(occurrence["anchor"], json!(summit));
    assert_eq!(occurrence["dueAt"], "2026-07-18T10:00:00+09:00");
    let occurrence_id = id_of(occurrence);

    let moved = s
        .app
        .ok(
            "mutation($id: ID!) { moveMeeting(id: $id, startsAt: \"2026-10-20T10:00:00+09:00\", endsAt: \"2026-10-21T18:00:00+09:00\", reason: \"Venue change\") { startsAt } }",
            json!({ "id": summit }),
            &s.secretariat,
        )
        .await;
    assert_eq!(
        moved["moveMeeting"]["startsAt"],
        "2026-10-20T10:00:00+09:00"
    );
    let occurrences = s.occurrences(&deadline).await;
    assert_eq!(occurrences.len(), 1, "{occurrences:?}");
    let occurrence = &occurrences[0];
    // The same occurrence, re-timed: 45 days before the new start, its reminders with it.
    assert_eq!(occurrence["id"], json!(occurrence_id));
    assert_eq!(occurrence["dueAt"], "2026-09-05T10:00:00+09:00");
    assert_eq!(occurrence["state"], "scheduled");
    let reminders: Vec<(String, String)> = occurrence["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reminder| {
            (
                reminder["offset"].as_str().unwrap().to_owned(),
                reminder["dueAt"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reminders[0],
        ("-30d".to_owned(), "2026-08-06T10:00:00+09:00".to_owned())
    );
    assert_eq!(
        reminders[5],
        ("+7d".to_owned(), "2026-09-12T10:00:00+09:00".to_owned())
    );

    // The first reminder goes out; then the summit comes forward, so that the week-before
    // reminder's new time has already passed.
    s.at("2026-08-06T01:01:00Z").await;
    s.at("2026-08-10T02:00:00Z").await;
    let moved = s
        .app
        .ok(
            "mutation($id: ID!) { moveMeeting(id: $id, startsAt: \"2026-10-01T10:00:00+09:00\", endsAt: \"2026-10-02T18:00:00+09:00\", reason: \"Earlier date\") { startsAt } }",
            json!({ "id": summit }),
            &s.secretariat,
        )
        .await;
    assert_eq!(
        moved["moveMeeting"]["startsAt"],
        "2026-10-01T10:00:00+09:00"
    );
    s.at("2026-08-10T02:00:00Z").await;
    let occurrence = &s.occurrences(&deadline).await[0];
    assert_eq!(occurrence["dueAt"], "2026-08-17T10:00:00+09:00");
    let reminders: Vec<(String, String, String, bool)> = occurrence["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reminder| {
            (
                reminder["offset"].as_str().unwrap().to_owned(),
                reminder["dueAt"].as_str().unwrap().to_owned(),
                reminder["state"].as_str().unwrap().to_owned(),
                reminder["late"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("-30d", "2026-08-06T10:00:00+09:00", "sent", false),
        ("-7d", "2026-08-10T10:00:00+09:00", "sent", true),
        ("-1d", "2026-08-16T10:00:00+09:00", "pending", false),
    ];
    for (offset, due, state, late) in expected {
        let found = reminders
            .iter()
            .find(|reminder| reminder.0 == offset)
            .unwrap_or_else(|| panic!("{offset} in {reminders:?}"));
        assert_eq!(
            (found.1.as_str(), found.2.as_str(), found.3),
            (due, state, late),
            "{offset}: {reminders:?}"
        );
    }
    let queued = s.reminders_queued().await;
    assert_eq!(
        queued.len(),
        4,
        "two reminders to two coordinators: {queued:?}"
    );

    // A report drafted now covers the period up to the moved due instant.
    let report = s.drafted().await;
    assert_eq!(report["period"]["end"], "2026-08-17T10:00:00+09:00");
    assert_eq!(report["occurrenceId"], json!(occurrence_id));
    assert_eq!(report["year"], 2026);
}

#[tokio::test]
async fn drafts_are_private_to_the_group_and_roles_and_input_are_checked() {
    let s = Setup::new().await;

    // No summit scheduled and no end given: nothing closes the period.
    let refused = s.draft(None, &s.chair).await;
    assert_eq!(error_code(&refused), "INVALID_INPUT", "{refused}");
    assert!(error_message(&refused).contains("periodEnd"), "{refused}");
    // An outsider may not start one.
    let refused = s
        .draft(Some("2026-12-01T00:00:00+09:00"), &s.outsider)
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");

    s.summit(
        "Ministerial Summit",
        9,
        "2026-11-10T10:00:00+09:00",
        "2026-11-11T18:00:00+09:00",
    )
    .await;
    let report = s.drafted().await;
    let id = id_of(&report);
    let document = report["document"]["id"].as_str().unwrap().to_owned();

    // The group's chair, experts and coordinators see the draft; the outsider does not.
    for insider in [&s.chair, &s.experts[0], &s.secretary, &s.secretariat] {
        assert_eq!(s.report(2026, insider).await["id"], json!(id));
        assert_eq!(s.listed(insider).await.1, 1, "{}", insider.email);
    }
    assert_eq!(s.report(2026, &s.outsider).await, Value::Null);
    assert_eq!(s.listed(&s.outsider).await, (Vec::new(), 0));
    let observer = s.app.create_user("observer@un.example", "Observer").await;
    s.app
        .grant(&observer, "observer", "groupId", &s.group)
        .await;
    let other_group = s.app.group(&s.forum, "Cybersecurity").await;
    let neighbour = s.app.create_user("neighbour@dn.example", "Neighbour").await;
    s.app
        .grant(&neighbour, "coordinator", "groupId", &other_group)
        .await;
    s.app
        .grant(&neighbour, "expert", "groupId", &other_group)
        .await;
    for reader in [&observer, &neighbour] {
        assert_eq!(
            s.report(2026, reader).await,
            Value::Null,
            "{}",
            reader.email
        );
        assert_eq!(s.listed(reader).await, (Vec::new(), 0), "{}", reader.email);
        let refused = s.step("submitAnnualReport", &id, reader).await;
        assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");
    }
    let written = with_implications(
        report["draft"].as_str().unwrap(),
        "Member states should fund the pilots.",
    );
    for response in [
        s.update(&id, &written, None, &s.outsider).await,
        s.step("submitAnnualReport", &id, &s.outsider).await,
        s.step("sendAnnualReportForReview", &id, &s.outsider).await,
        s.step("returnAnnualReport", &id, &s.outsider).await,
        s.step("publishAnnualReport", &id, &s.outsider).await,
    ] {
        assert_eq!(error_code(&response), "NOT_FOUND", "{response}");
    }
    let generic = s
        .app
        .gql(
            "mutation($id: ID!) { transition(subjectId: $id, name: \"submit\") { state } }",
            json!({ "id": id }),
            Some(&s.outsider),
        )
        .await;
    assert_eq!(error_code(&generic), "NOT_FOUND", "{generic}");
    let subject = "query($id: ID!) { subject(id: $id) { state ... on AnnualReport { year } } }";
    let hidden = s
        .app
        .gql(subject, json!({ "id": id }), Some(&s.outsider))
        .await;
    assert_eq!(error_code(&hidden), "NOT_FOUND", "{hidden}");
    let seen = s.app.ok(subject, json!({ "id": id }), &s.experts[0]).await;
    assert_eq!(
        seen["subject"],
        json!({ "state": "drafting", "year": 2026 })
    );
    let document_query = "query($id: ID!) { document(id: $id) { id currentVersion { number } } }";
    let hidden = s
        .app
        .gql(document_query, json!({ "id": document }), Some(&s.outsider))
        .await;
    assert_eq!(error_code(&hidden), "NOT_FOUND", "{hidden}");
    let documents = "query($g: ID!) { documents(groupId: $g, first: 20) { nodes { id kind } } }";
    let has_report = |data: &Value| {
        data["documents"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|node| node["id"] == json!(document))
    };
    let theirs = s
        .app
        .ok(documents, json!({ "g": s.group }), &s.outsider)
        .await;
    assert!(!has_report(&theirs), "{theirs}");
    let ours = s
        .app
        .ok(documents, json!({ "g": s.group }), &s.experts[0])
        .await;
    assert!(has_report(&ours), "{ours}");
    s.app
        .ok(document_query, json!({ "id": document }), &s.experts[0])
        .await;

    // Comments: only the experts, only in review, and the outsider does not find it.
    let refused = s.comment(&id, "Too early", &s.experts[0]).await;
    assert_eq!(error_code(&refused), "GUARD_FAILED", "{refused}");
    s.stepped("sendAnnualReportForReview", &id, &s.chair).await;
    let refused = s.comment(&id, "Looks fine", &s.outsider).await;
    assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");
    let refused = s.comment(&id, "Looks fine", &s.chair).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let comment = s.comment(&id, "Looks fine", &s.experts[1]).await;
    assert!(comment.get("errors").is_none(), "{comment}");

    // An expert may not submit; the chair may not publish.
    let version = s.report(2026, &s.chair).await["version"].as_i64().unwrap();
    let updated = s.update(&id, &written, Some(version), &s.chair).await;
    assert!(updated.get("errors").is_none(), "{updated}");
    let refused = s.step("submitAnnualReport", &id, &s.experts[0]).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let refused = s.update(&id, &written, None, &s.experts[0]).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    s.stepped("submitAnnualReport", &id, &s.chair).await;
    let refused = s.step("publishAnnualReport", &id, &s.chair).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    // Submitted is not published: still hidden.
    assert_eq!(s.report(2026, &s.outsider).await, Value::Null);
    let refused = s.step("publishAnnualReport", &id, &s.outsider).await;
    assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");

    // Ids that are not UUIDs.
    for response in [
        s.step("submitAnnualReport", "not-a-uuid", &s.chair).await,
        s.update("not-a-uuid", &written, None, &s.chair).await,
        s.comment("not-a-uuid", "Hello", &s.experts[0]).await,
        s.app
            .gql(
                "query { annualReport(groupId: \"not-a-uuid\", year: 2026) { id } }",
                json!({}),
                Some(&s.chair),
            )
            .await,
    ] {
        assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    }
    // An unknown report is not found.
    let unknown = s
        .step("submitAnnualReport", &Uuid::now_v7().to_string(), &s.chair)
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown}");

    // One report a year.
    let refused = s.draft(Some("2026-12-01T00:00:00+09:00"), &s.chair).await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
    assert!(error_message(&refused).contains("2026"), "{refused}");

    // Published: anyone signed in reads it and its document.
    let published = s.stepped("publishAnnualReport", &id, &s.secretariat).await;
    assert_eq!(published["state"], "published");
    let read = s.report(2026, &s.outsider).await;
    assert_eq!(read["id"], json!(id));
    assert_eq!(read["draft"], json!(written));
    assert_eq!(
        s.listed(&s.outsider).await,
        (vec![(2026, "published".to_owned())], 1)
    );
    let visible = s
        .app
        .ok(document_query, json!({ "id": document }), &s.outsider)
        .await;
    assert_eq!(visible["document"]["currentVersion"]["number"], 1);
    let theirs = s
        .app
        .ok(documents, json!({ "g": s.group }), &s.outsider)
        .await;
    assert!(has_report(&theirs), "{theirs}");
    // A published report takes no more edits or transitions.
    let refused = s.update(&id, &written, None, &s.chair).await;
    assert_eq!(error_code(&refused), "INVALID_TRANSITION", "{refused}");
    let refused = s.step("returnAnnualReport", &id, &s.chair).await;
    assert_eq!(error_code(&refused), "INVALID_TRANSITION", "{refused}");
}

#[tokio::test]
async fn a_returned_submission_is_set_aside_and_the_next_is_version_two() {
    let s = Setup::new().await;
    s.summit(
        "Ministerial Summit",
        9,
        "2026-11-10T10:00:00+09:00",
        "2026-11-11T18:00:00+09:00",
    )
    .await;
    let report = s.drafted().await;
    let id = id_of(&report);
    let first_text = with_implications(
        report["draft"].as_str().unwrap(),
        "Member states should share their registries.",
    );
    let updated = s.update(&id, &first_text, None, &s.chair).await;
    assert!(updated.get("errors").is_none(), "{updated}");
    let stale = s
        .app
        .gql(
            "mutation($id: ID!) { submitAnnualReport(id: $id, expectedVersion: 999) { state } }",
            json!({ "id": id }),
            Some(&s.chair),
        )
        .await;
    assert_eq!(error_code(&stale), "STALE_STATE", "{stale}");
    let submitted = s.stepped("submitAnnualReport", &id, &s.chair).await;
    assert_eq!(submitted["submittedVersion"], 1);

    // A coordinator of the group sends it back: version 1 stays on the record, superseded.
    let returned = s.stepped("returnAnnualReport", &id, &s.secretary).await;
    assert_eq!(returned["state"], "drafting");
    assert_eq!(returned["submittedVersion"], Value::Null);
    assert_eq!(
        returned["document"]["versions"]["nodes"],
        json!([{ "number": 1, "status": "superseded", "text": first_text }])
    );
    assert_eq!(returned["document"]["currentVersion"], Value::Null);

    // Returned from review too, which stores nothing.
    s.stepped("sendAnnualReportForReview", &id, &s.chair).await;
    let returned = s.stepped("returnAnnualReport", &id, &s.chair).await;
    assert_eq!(returned["state"], "drafting");
    assert_eq!(returned["document"]["versions"]["totalCount"], 1);

    let second_text = with_implications(
        &first_text,
        "Member states should share their registries and fund the pilots.",
    );
    let updated = s.update(&id, &second_text, None, &s.chair).await;
    assert!(updated.get("errors").is_none(), "{updated}");
    let submitted = s.stepped("submitAnnualReport", &id, &s.chair).await;
    assert_eq!(submitted["state"], "submitted");
    assert_eq!(submitted["submittedVersion"], 2);
    assert_eq!(
        submitted["document"]["versions"]["nodes"],
        json!([
            { "number": 1, "status": "superseded", "text": first_text },
            { "number": 2, "status": "proposed", "text": second_text },
        ])
    );

    let published = s.stepped("publishAnnualReport", &id, &s.secretariat).await;
    assert_eq!(published["submittedVersion"], 2);
    assert_eq!(
        published["document"]["currentVersion"],
        json!({ "number": 2, "status": "adopted", "text": second_text })
    );
    assert_eq!(
        published["document"]["versions"]["nodes"][0]["status"],
        "superseded"
    );

    // A concluded group reports no more: its report deadline is cancelled.
    s.app
        .ok(
            "mutation($id: ID!) { transition(subjectId: $id, name: \"conclude\", reason: \"Mandate fulfilled\") { state } }",
            json!({ "id": s.group }),
            &s.chair,
        )
        .await;
    let data = s
        .app
        .ok(
            "query($id: ID!) { deadlines(subjectId: $id, includeCancelled: true) { nodes { metBy state } } }",
            json!({ "id": s.group }),
            &s.chair,
        )
        .await;
    let report_deadlines: Vec<&Value> = data["deadlines"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|deadline| deadline["metBy"] == "publish")
        .collect();
    assert_eq!(report_deadlines.len(), 1, "{data}");
    assert_eq!(report_deadlines[0]["state"], "cancelled");
    let refused = s.draft(Some("2027-06-30T18:00:00+09:00"), &s.chair).await;
    assert_eq!(error_code(&refused), "GUARD_FAILED", "{refused}");
    assert!(
        error_message(&refused).contains("group_active"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_period_ended_by_hand_meets_no_occurrence_and_the_next_starts_there() {
    // A group that existed before it was recorded: its first period starts at its given start.
    let s = Setup::build(None, Some("2024-06-03T09:00:00+09:00")).await;
    s.summit(
        "Ministerial Summit",
        9,
        "2026-11-10T10:00:00+09:00",
        "2026-11-11T18:00:00+09:00",
    )
    .await;
    let deadline = id_of(&s.report_deadline().await);
    let occurrence = id_of(&s.occurrences(&deadline).await[0]);

    for bad in [
        "2025-01-01T02:00:00",
        "next year",
        "2024-05-31T00:00:00+09:00",
    ] {
        let refused = s.draft(Some(bad), &s.chair).await;
        assert_eq!(error_code(&refused), "INVALID_INPUT", "{bad}: {refused}");
        assert!(
            error_message(&refused).contains("periodEnd"),
            "{bad}: {refused}"
        );
    }

    // 02:00 on 1 January in Seoul is still 2024 in UTC: the year is the group's.
    let response = s.draft(Some("2025-01-01T02:00:00+09:00"), &s.chair).await;
    assert!(response.get("errors").is_none(), "{response}");
    let report = &response["data"]["draftAnnualReport"];
    assert_eq!(report["year"], 2025);
    assert_eq!(
        report["period"],
        json!({ "start": "2024-06-03T09:00:00+09:00", "end": "2025-01-01T02:00:00+09:00" })
    );
    assert_eq!(report["occurrenceId"], Value::Null);
    let id = id_of(report);
    let written = with_implications(
        report["draft"].as_str().unwrap(),
        "Member states should keep their registries open.",
    );
    let updated = s.update(&id, &written, None, &s.chair).await;
    assert!(updated.get("errors").is_none(), "{updated}");
    s.stepped("submitAnnualReport", &id, &s.chair).await;
    let published = s.stepped("publishAnnualReport", &id, &s.secretariat).await;
    assert_eq!(published["state"], "published");
    assert_eq!(s.report(2024, &s.chair).await, Value::Null);
    assert_eq!(s.report(2025, &s.outsider).await["id"], json!(id));

    // The summit's occurrence is not the one that report closed: it still waits.
    let occurrences = s.occurrences(&deadline).await;
    assert_eq!(occurrences[0]["id"], json!(occurrence));
    assert_eq!(occurrences[0]["state"], "scheduled");
    assert!(
        reminder_states(&occurrences[0])
            .iter()
            .all(|(_, state)| state == "pending"),
        "{occurrences:?}"
    );

    // The next report starts where that one ended and closes at the summit's occurrence.
    let next = s.drafted().await;
    assert_eq!(next["year"], 2026);
    assert_eq!(
        next["period"],
        json!({ "start": "2025-01-01T02:00:00+09:00", "end": "2026-10-11T10:00:00+09:00" })
    );
    assert_eq!(next["occurrenceId"], json!(occurrence));
}

#[tokio::test]
async fn a_drafts_id_and_its_documents_id_are_not_found_anywhere_for_an_outsider() {
    let s = Setup::new().await;
    s.summit(
        "Ministerial Summit",
        9,
        "2026-11-10T10:00:00+09:00",
        "2026-11-11T18:00:00+09:00",
    )
    .await;
    let report = s.drafted().await;
    let id = id_of(&report);
    let document = report["document"]["id"].as_str().unwrap().to_owned();
    let deadlines = "query($id: ID!) { deadlines(subjectId: $id) { totalCount } }";
    let preview =
        "query($id: ID!) { previewRule(rule: \"cron 0 9 * * 1\", subjectId: $id, count: 1) }";
    let amend = "mutation($g: ID!, $d: ID!) { createAmendment(input: { groupId: $g, documentId: $d, text: \"Other text\" }) { id } }";
    // Every answer is collected first, so that one run shows each place that gives the draft away.
    let mut wrong = Vec::new();
    for (what, query, variables, user, code) in [
        (
            "deadlines of the draft",
            deadlines,
            json!({ "id": id }),
            &s.outsider,
            "NOT_FOUND",
        ),
        (
            "deadlines of its document",
            deadlines,
            json!({ "id": document }),
            &s.outsider,
            "NOT_FOUND",
        ),
        (
            "previewRule on its document",
            preview,
            json!({ "id": document }),
            &s.outsider,
            "NOT_FOUND",
        ),
        (
            "an amendment of its document",
            amend,
            json!({ "g": s.group, "d": document }),
            &s.outsider,
            "NOT_FOUND",
        ),
        // Those who may read the draft are told why instead.
        (
            "deadlines of the draft, as its chair",
            deadlines,
            json!({ "id": id }),
            &s.chair,
            "INVALID_INPUT",
        ),
        (
            "an amendment of its document, as its chair",
            amend,
            json!({ "g": s.group, "d": document }),
            &s.chair,
            "INVALID_INPUT",
        ),
    ] {
        let response = s.app.gql(query, variables, Some(user)).await;
        if error_code(&response) != code {
            wrong.push(format!("{what}: expected {code}, got {response}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
