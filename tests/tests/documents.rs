//! Terms of reference and other documents: the seed-000 amendment story end to end, versions,
//! diffs, translations, and refusals of bad input.

use chrono::Duration;
use govflow_tests::{TestApp, TestUser, error_code, error_message};
use serde_json::{Value, json};

pub const WORK_PLAN_V1: &str = "Digital Governance thematic group: work plan\n\
Group lead: Republic of Korea\n\
Approved by the ministers at the 9th Ministerial Summit (Seoul, November 2022).\n\
\n\
Activities\n\
Share research topics among member states.\n\
Publish an annual report.\n\
\n\
Amendment\n\
The chair and experts can amend this document after consultation.\n";

pub const WORK_PLAN_V2: &str = "Digital Governance thematic group: work plan\n\
Group lead: Republic of Korea\n\
Approved by the ministers at the 9th Ministerial Summit (Seoul, November 2022).\n\
\n\
Activities\n\
Share research topics, activities and outcomes among member states.\n\
Publish an annual report before each Ministerial Summit.\n\
\n\
Amendment\n\
The chair and experts can amend this document after consultation.\n";

/// A group with a chair, two experts and a coordinator, and its work plan at version 1.
pub struct Story {
    pub app: TestApp,
    pub forum: String,
    pub group: String,
    pub chair: TestUser,
    pub endorser: TestUser,
    pub objector: TestUser,
    pub coordinator: TestUser,
    pub document: String,
}

impl Story {
    pub async fn new() -> Story {
        let app = TestApp::spawn().await;
        let (forum, _) = app.forum("Digital Nations").await;
        let group = app.group(&forum, "Digital Governance").await;
        let chair = app.create_user("chair@kr.example", "Chair Kim").await;
        app.grant(&chair, "chair", "groupId", &group).await;
        let endorser = app.create_user("expert@ee.example", "Expert Tamm").await;
        app.grant(&endorser, "expert", "groupId", &group).await;
        let objector = app.create_user("expert@uy.example", "Expert Silva").await;
        app.grant(&objector, "expert", "groupId", &group).await;
        let coordinator = app
            .create_user("secretariat@dn.example", "Secretariat")
            .await;
        app.grant(&coordinator, "coordinator", "groupId", &group)
            .await;
        let data = app
            .ok(
                "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { id currentVersion { number status } } }",
                json!({ "input": { "groupId": group, "kind": "work_plan", "title": "Work plan", "text": WORK_PLAN_V1 } }),
                &chair,
            )
            .await;
        assert_eq!(data["createDocument"]["currentVersion"]["number"], 1);
        let document = data["createDocument"]["id"].as_str().unwrap().to_owned();
        Story {
            app,
            forum,
            group,
            chair,
            endorser,
            objector,
            coordinator,
            document,
        }
    }

    pub async fn draft(&self, text: &str) -> String {
        let data = self
            .app
            .ok(
                "mutation($input: CreateAmendmentInput!) { createAmendment(input: $input) { id state baseVersion } }",
                json!({ "input": { "groupId": self.group, "documentId": self.document, "text": text } }),
                &self.chair,
            )
            .await;
        assert_eq!(data["createAmendment"]["state"], "draft");
        data["createAmendment"]["id"].as_str().unwrap().to_owned()
    }

    /// The instant `days` from the clock's now, as RFC 3339 in Seoul time.
    pub fn in_days(&self, days: i64) -> String {
        let seoul = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
        (self.app.clock_now() + Duration::days(days))
            .with_timezone(&seoul)
            .to_rfc3339()
    }

    pub async fn open(&self, amendment: &str, days: i64) -> Value {
        self.app
            .gql(
                "mutation($id: ID!, $at: DateTime!) { openConsultation(id: $id, closesAt: $at) { state closesAt } }",
                json!({ "id": amendment, "at": self.in_days(days) }),
                Some(&self.chair),
            )
            .await
    }

    pub async fn adopt(&self, amendment: &str, user: &TestUser) -> Value {
        self.app
            .gql(
                "mutation($id: ID!) { adoptAmendment(id: $id) { state adoptedVersion } }",
                json!({ "id": amendment }),
                Some(user),
            )
            .await
    }

    pub async fn respond(
        &self,
        amendment: &str,
        mutation: &str,
        user: &TestUser,
        text: &str,
    ) -> Value {
        self.app
            .gql(
                &format!("mutation($id: ID!, $text: String!) {{ {mutation}(id: $id, text: $text) {{ kind text }} }}"),
                json!({ "id": amendment, "text": text }),
                Some(user),
            )
            .await
    }

    /// The outbox's messages of one template, as (recipient, subject line, body).
    pub async fn mail(&self, template: &str) -> Vec<(String, String, String)> {
        let data = self
            .app
            .ok(
                "query($g: ID!) { outbox(groupId: $g, first: 100) { edges { node { recipientEmail template subjectLine body } } } }",
                json!({ "g": self.group }),
                &self.coordinator,
            )
            .await;
        let mut found: Vec<(String, String, String)> = data["outbox"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| &edge["node"])
            .filter(|node| node["template"] == template)
            .map(|node| {
                (
                    node["recipientEmail"].as_str().unwrap().to_owned(),
                    node["subjectLine"].as_str().unwrap().to_owned(),
                    node["body"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        found.sort();
        found
    }
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use govflow_engine::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn the_chair_amends_the_work_plan_after_consulting_the_experts() {
    let story = Story::new().await;
    let app = &story.app;
    let amendment = story.draft(WORK_PLAN_V2).await;

    // A window shorter than the forum's 14 days is refused.
    let response = story.open(&amendment, 13).await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    assert_eq!(response["errors"][0]["extensions"]["field"], "closesAt");

    let response = story.open(&amendment, 14).await;
    assert_eq!(
        response["data"]["openConsultation"]["state"], "in_consultation",
        "{response}"
    );
    assert_eq!(
        response["data"]["openConsultation"]["closesAt"], "2026-03-16T09:00:00+09:00",
        "shown in the group's zone"
    );
    let invited = story.mail("consultation_opened").await;
    let recipients: Vec<&str> = invited.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(recipients, vec!["expert@ee.example", "expert@uy.example"]);
    let body = &invited[0].2;
    assert!(
        body.contains("until 2026-03-16 09:00 +09:00 (Asia/Seoul)"),
        "{body}"
    );
    assert!(body.contains("Dear Expert Tamm"), "{body}");

    // A closing instant without an offset is not an instant.
    let response = app
        .gql(
            "mutation($id: ID!) { openConsultation(id: $id, closesAt: \"2026-04-01T09:00:00\") { state } }",
            json!({ "id": amendment }),
            Some(&story.chair),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");

    let endorsed = story
        .respond(
            &amendment,
            "endorseAmendment",
            &story.endorser,
            "Clearer and closer to our practice.",
        )
        .await;
    assert_eq!(
        endorsed["data"]["endorseAmendment"]["kind"], "endorsement",
        "{endorsed}"
    );
    let objected = story
        .respond(
            &amendment,
            "objectToAmendment",
            &story.objector,
            "The summit timing binds the group too tightly.",
        )
        .await;
    assert_eq!(
        objected["data"]["objectToAmendment"]["kind"], "objection",
        "{objected}"
    );
    let told = story.mail("objection_filed").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].0, "chair@kr.example");
    assert!(
        told[0].2.contains("binds the group too tightly"),
        "{}",
        told[0].2
    );

    // Day 3: too early.
    app.clock.advance(Duration::days(3));
    let response = story.adopt(&amendment, &story.chair).await;
    assert_eq!(error_code(&response), "GUARD_FAILED", "{response}");
    assert!(
        error_message(&response).contains("2026-03-16 09:00 +09:00"),
        "{response}"
    );

    // After the window.
    app.clock.advance(Duration::days(11));
    let response = story.adopt(&amendment, &story.chair).await;
    assert_eq!(
        response["data"]["adoptAmendment"]["state"], "adopted",
        "{response}"
    );
    assert_eq!(response["data"]["adoptAmendment"]["adoptedVersion"], 2);

    let data = app
        .ok(
            "query($d: ID!) { document(id: $d) {
               currentVersion { number status text objections { nodes { text author { name } } } }
               version(number: 1) { status }
               diff(from: 1, to: 2) { unified insertedLines deletedLines hunks { lines { op oldNumber newNumber text segments { changed text } } } }
             } }",
            json!({ "d": story.document }),
            &story.endorser,
        )
        .await;
    let document = &data["document"];
    assert_eq!(document["currentVersion"]["number"], 2);
    assert_eq!(document["currentVersion"]["status"], "adopted");
    assert_eq!(document["currentVersion"]["text"], WORK_PLAN_V2);
    assert_eq!(document["version"]["status"], "superseded");
    assert_eq!(
        document["currentVersion"]["objections"]["nodes"],
        json!([{ "text": "The summit timing binds the group too tightly.", "author": { "name": "Expert Silva" } }])
    );

    let diff = &document["diff"];
    assert_eq!(diff["insertedLines"], 2);
    assert_eq!(diff["deletedLines"], 2);
    let changed: Vec<(String, String)> = diff["hunks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|hunk| hunk["lines"].as_array().unwrap().clone())
        .filter(|line| line["op"] != "equal")
        .map(|line| {
            (
                line["op"].as_str().unwrap().to_owned(),
                line["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        vec![
            (
                "delete".to_owned(),
                "Share research topics among member states.".to_owned()
            ),
            ("delete".to_owned(), "Publish an annual report.".to_owned()),
            (
                "insert".to_owned(),
                "Share research topics, activities and outcomes among member states.".to_owned()
            ),
            (
                "insert".to_owned(),
                "Publish an annual report before each Ministerial Summit.".to_owned()
            ),
        ]
    );
    assert!(
        diff["unified"]
            .as_str()
            .unwrap()
            .contains("+Publish an annual report before each Ministerial Summit.")
    );

    let adopted = story.mail("amendment_adopted").await;
    let recipients: Vec<&str> = adopted.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(
        recipients,
        vec![
            "expert@ee.example",
            "expert@uy.example",
            "secretariat@dn.example"
        ]
    );
    assert!(adopted[0].2.contains("version 2"), "{}", adopted[0].2);

    let history = app
        .ok(
            "query($id: ID!) { amendment(id: $id) { history { edges { node { transition toState } } } } }",
            json!({ "id": amendment }),
            &story.chair,
        )
        .await;
    let transitions: Vec<&str> = history["amendment"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["transition"].as_str().unwrap())
        .collect();
    assert_eq!(
        transitions,
        vec![
            "create",
            "open_consultation",
            "endorse_amendment",
            "object_to_amendment",
            "adopt"
        ]
    );
}

#[tokio::test]
async fn only_the_groups_chair_adopts() {
    let story = Story::new().await;
    let app = &story.app;
    let other_group = app.group(&story.forum, "Data Governance").await;
    let other_chair = app.create_user("chair@other.example", "Other Chair").await;
    app.grant(&other_chair, "chair", "groupId", &other_group)
        .await;

    let amendment = story.draft(WORK_PLAN_V2).await;
    story.open(&amendment, 14).await;
    app.clock.advance(Duration::days(15));
    for user in [&story.endorser, &other_chair] {
        let response = story.adopt(&amendment, user).await;
        assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    }
    let response = story.adopt(&amendment, &story.chair).await;
    assert_eq!(
        response["data"]["adoptAmendment"]["state"], "adopted",
        "{response}"
    );
}

#[tokio::test]
async fn a_second_amendment_on_the_same_base_must_be_rebased() {
    let story = Story::new().await;
    let app = &story.app;
    let first = story.draft(WORK_PLAN_V2).await;
    let second_text = WORK_PLAN_V1.replace(
        "Group lead: Republic of Korea",
        "Group lead: Republic of Korea and Estonia",
    );
    let second = story.draft(&second_text).await;
    story.open(&first, 14).await;
    story.open(&second, 14).await;
    app.clock.advance(Duration::days(14));

    let response = story.adopt(&first, &story.chair).await;
    assert_eq!(
        response["data"]["adoptAmendment"]["adoptedVersion"], 2,
        "{response}"
    );
    let response = story.adopt(&second, &story.chair).await;
    assert_eq!(error_code(&response), "CONFLICT", "{response}");
    assert!(error_message(&response).contains("rebase"), "{response}");

    let merged = WORK_PLAN_V2.replace(
        "Group lead: Republic of Korea",
        "Group lead: Republic of Korea and Estonia",
    );
    let data = app
        .ok(
            "mutation($id: ID!, $text: String!) { rebaseAmendment(id: $id, text: $text) { state baseVersion textRevision } }",
            json!({ "id": second, "text": merged }),
            &story.chair,
        )
        .await;
    assert_eq!(
        data["rebaseAmendment"],
        json!({ "state": "draft", "baseVersion": 2, "textRevision": 2 })
    );
    story.open(&second, 14).await;
    app.clock.advance(Duration::days(14));
    let response = story.adopt(&second, &story.chair).await;
    assert_eq!(
        response["data"]["adoptAmendment"]["adoptedVersion"], 3,
        "{response}"
    );
    let data = app
        .ok(
            "query($d: ID!) { document(id: $d) { currentVersion { text } versions { totalCount edges { node { number status } } } } }",
            json!({ "d": story.document }),
            &story.chair,
        )
        .await;
    assert_eq!(data["document"]["currentVersion"]["text"], merged);
    assert_eq!(data["document"]["versions"]["totalCount"], 3);
}

/// The generic `transition` mutation answers with the amendment as the transaction left it; that
/// answer must be what a fresh read shows, field for field.
#[tokio::test]
async fn a_transition_answers_with_the_amendment_as_a_fresh_read_shows_it() {
    let story = Story::new().await;
    let app = &story.app;
    let amendment = story.draft(WORK_PLAN_V2).await;
    let fields = "id title state version baseVersion text textRevision timeZone openedAt closesAt \
                  adoptedVersion createdAt createdBy { id } document { id } group { id } \
                  availableTransitions { name }";
    let transition = format!(
        "mutation($id: ID!, $name: String!, $input: JSON) {{ transition(subjectId: $id, name: $name, input: $input) {{ ... on Amendment {{ {fields} }} }} }}"
    );
    let read = format!("query($id: ID!) {{ amendment(id: $id) {{ {fields} }} }}");
    let merged = WORK_PLAN_V2.replace("Republic of Korea", "Republic of Korea and Estonia");
    let steps = [
        (
            "open_consultation",
            json!({ "closesAt": story.in_days(15) }),
        ),
        ("rebase", json!({ "text": merged })),
    ];
    for (name, input) in steps {
        app.clock.advance(Duration::hours(1));
        let moved = app
            .ok(
                &transition,
                json!({ "id": amendment, "name": name, "input": input }),
                &story.chair,
            )
            .await;
        let fresh = app
            .ok(&read, json!({ "id": amendment }), &story.chair)
            .await;
        assert_eq!(moved["transition"], fresh["amendment"], "after `{name}`");
    }
    let fresh = app
        .ok(&read, json!({ "id": amendment }), &story.chair)
        .await;
    assert_eq!(fresh["amendment"]["textRevision"], 2, "{fresh}");
    assert_eq!(fresh["amendment"]["openedAt"], Value::Null, "{fresh}");
}

#[tokio::test]
async fn experts_respond_only_while_the_window_is_open() {
    let story = Story::new().await;
    let app = &story.app;
    let amendment = story.draft(WORK_PLAN_V2).await;

    let response = story
        .respond(
            &amendment,
            "commentOnAmendment",
            &story.endorser,
            "Early word",
        )
        .await;
    assert_eq!(
        error_code(&response),
        "GUARD_FAILED",
        "a draft is not under consultation: {response}"
    );

    story.open(&amendment, 14).await;
    let response = story
        .respond(
            &amendment,
            "commentOnAmendment",
            &story.chair,
            "Chair's own word",
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    let response = story
        .respond(&amendment, "commentOnAmendment", &story.endorser, "In time")
        .await;
    assert_eq!(
        response["data"]["commentOnAmendment"]["kind"], "comment",
        "{response}"
    );

    app.clock.advance(Duration::days(14));
    let response = story
        .respond(
            &amendment,
            "commentOnAmendment",
            &story.endorser,
            "Too late",
        )
        .await;
    assert_eq!(error_code(&response), "GUARD_FAILED", "{response}");
    assert!(error_message(&response).contains("closed"), "{response}");

    let data = app
        .ok(
            "query($id: ID!) { amendment(id: $id) { comments { nodes { text textRevision } } } }",
            json!({ "id": amendment }),
            &story.chair,
        )
        .await;
    assert_eq!(
        data["amendment"]["comments"]["nodes"],
        json!([{ "text": "In time", "textRevision": 1 }])
    );
}

#[tokio::test]
async fn drafts_are_read_by_the_group_only_and_edited_only_as_drafts() {
    let story = Story::new().await;
    let app = &story.app;
    let outsider = app.create_user("outsider@example.org", "Outsider").await;
    let amendment = story.draft(WORK_PLAN_V2).await;
    let query = "query($id: ID!) { amendment(id: $id) { state text } }";

    let response = app
        .gql(query, json!({ "id": amendment }), Some(&outsider))
        .await;
    assert_eq!(error_code(&response), "NOT_FOUND", "{response}");
    app.ok(query, json!({ "id": amendment }), &story.endorser)
        .await;

    let update = "mutation($id: ID!, $text: String!, $v: Int) { updateAmendment(id: $id, input: { text: $text }, expectedVersion: $v) { version textRevision } }";
    let edited = WORK_PLAN_V2.replace("each Ministerial Summit", "every Ministerial Summit");
    let data = app
        .ok(
            update,
            json!({ "id": amendment, "text": edited, "v": 1 }),
            &story.chair,
        )
        .await;
    assert_eq!(
        data["updateAmendment"],
        json!({ "version": 2, "textRevision": 2 })
    );
    let response = app
        .gql(
            update,
            json!({ "id": amendment, "text": WORK_PLAN_V2, "v": 1 }),
            Some(&story.chair),
        )
        .await;
    assert_eq!(error_code(&response), "STALE_STATE");

    story.open(&amendment, 20).await;
    let data = app.ok(query, json!({ "id": amendment }), &outsider).await;
    assert_eq!(data["amendment"]["state"], "in_consultation");
    let response = app
        .gql(
            update,
            json!({ "id": amendment, "text": WORK_PLAN_V2 }),
            Some(&story.chair),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_TRANSITION", "{response}");

    // The generic transition serves amendments too.
    let data = app
        .ok(
            "mutation($id: ID!) { transition(subjectId: $id, name: \"withdraw\", reason: \"superseded by events\") { state ... on Amendment { title } } }",
            json!({ "id": amendment }),
            &story.chair,
        )
        .await;
    assert_eq!(data["transition"]["state"], "withdrawn");
}

#[tokio::test]
async fn translations_follow_versions_and_show_missing_languages() {
    let story = Story::new().await;
    let app = &story.app;
    app.ok(
        "mutation($f: ID!) { updateForum(id: $f, input: { settings: { officialLanguages: [\"en\", \"fr\", \"es\"] } }) { id } }",
        json!({ "f": story.forum }),
        &app.admin,
    )
    .await;
    let request = "mutation($d: ID!, $lang: String!) { requestTranslation(documentId: $d, language: $lang) { id status versionNumber } }";
    let data = app
        .ok(
            request,
            json!({ "d": story.document, "lang": "fr" }),
            &story.coordinator,
        )
        .await;
    let translation = data["requestTranslation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(data["requestTranslation"]["status"], "requested");

    let response = app
        .gql(
            request,
            json!({ "d": story.document, "lang": "fr" }),
            Some(&story.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "CONFLICT");
    let response = app
        .gql(
            request,
            json!({ "d": story.document, "lang": "klingon!" }),
            Some(&story.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT");
    assert_eq!(response["errors"][0]["extensions"]["field"], "language");
    let response = app
        .gql(
            request,
            json!({ "d": story.document, "lang": "es" }),
            Some(&story.endorser),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN");

    app.ok(
        "mutation($id: ID!) { startTranslation(id: $id) { status } }",
        json!({ "id": translation }),
        &story.chair,
    )
    .await;
    let data = app
        .ok(
            "mutation($id: ID!) { publishTranslation(id: $id, text: \"Plan de travail\") { status outdated } }",
            json!({ "id": translation }),
            &story.chair,
        )
        .await;
    assert_eq!(
        data["publishTranslation"],
        json!({ "status": "published", "outdated": false })
    );

    let state = "query($d: ID!) { document(id: $d) { missingLanguages translations { nodes { language versionNumber outdated } } } }";
    let data = app
        .ok(state, json!({ "d": story.document }), &story.endorser)
        .await;
    assert_eq!(data["document"]["missingLanguages"], json!(["es"]));

    let amendment = story.draft(WORK_PLAN_V2).await;
    story.open(&amendment, 14).await;
    app.clock.advance(Duration::days(14));
    story.adopt(&amendment, &story.chair).await;

    let data = app
        .ok(state, json!({ "d": story.document }), &story.endorser)
        .await;
    assert_eq!(
        data["document"]["translations"]["nodes"],
        json!([{ "language": "fr", "versionNumber": 1, "outdated": true }])
    );
    assert_eq!(data["document"]["missingLanguages"], json!(["fr", "es"]));
}

#[tokio::test]
async fn bad_document_input_is_refused_and_nothing_is_written() {
    let story = Story::new().await;
    let app = &story.app;
    app.ok(
        "mutation($f: ID!) { updateForum(id: $f, input: { settings: { maxDocumentBytes: 2048 } }) { id } }",
        json!({ "f": story.forum }),
        &app.admin,
    )
    .await;
    let create = "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { id } }";
    let input = |fields: Value| {
        let mut base = json!({ "groupId": story.group, "kind": "expert_paper", "title": "Paper", "text": "Text", "symbol": "E/C.16/2024/7" });
        for (key, value) in fields.as_object().unwrap() {
            base[key] = value.clone();
        }
        json!({ "input": base })
    };
    let cases = [
        (json!({ "text": "   " }), "INVALID_INPUT", Some("text")),
        (
            json!({ "text": "x".repeat(4096) }),
            "INVALID_INPUT",
            Some("text"),
        ),
        (
            json!({ "originalLanguage": "english!" }),
            "INVALID_INPUT",
            Some("originalLanguage"),
        ),
        (
            json!({ "kind": "manifesto" }),
            "INVALID_INPUT",
            Some("kind"),
        ),
    ];
    for (fields, code, field) in cases {
        let response = app
            .gql(create, input(fields.clone()), Some(&story.chair))
            .await;
        assert_eq!(error_code(&response), code, "{fields}: {response}");
        if let Some(field) = field {
            assert_eq!(
                response["errors"][0]["extensions"]["field"], field,
                "{response}"
            );
        }
    }
    app.ok(create, input(json!({})), &story.chair).await;
    let response = app
        .gql(
            create,
            input(json!({ "title": "Copy" })),
            Some(&story.chair),
        )
        .await;
    assert_eq!(
        error_code(&response),
        "CONFLICT",
        "duplicate symbol: {response}"
    );
    let terms = json!({ "kind": "terms_of_reference", "symbol": null });
    app.ok(create, input(terms), &story.chair).await;
    let second = json!({ "kind": "terms_of_reference", "symbol": null, "title": "Second" });
    let response = app.gql(create, input(second), Some(&story.chair)).await;
    assert_eq!(
        error_code(&response),
        "CONFLICT",
        "one terms of reference: {response}"
    );

    // An amendment naming a document of another group.
    let other_group = app.group(&story.forum, "Data Governance").await;
    app.grant(&story.chair, "chair", "groupId", &other_group)
        .await;
    let response = app
        .gql(
            "mutation($input: CreateAmendmentInput!) { createAmendment(input: $input) { id } }",
            json!({ "input": { "groupId": other_group, "documentId": story.document, "text": WORK_PLAN_V2 } }),
            Some(&story.chair),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    assert_eq!(response["errors"][0]["extensions"]["field"], "documentId");

    let data = app
        .ok(
            "query($g: ID!, $o: ID!) { here: documents(groupId: $g) { totalCount } there: amendments(groupId: $o) { totalCount } }",
            json!({ "g": story.group, "o": other_group }),
            &story.chair,
        )
        .await;
    assert_eq!(
        data["here"]["totalCount"], 3,
        "the work plan, the valid paper and the terms of reference"
    );
    assert_eq!(data["there"]["totalCount"], 0);
}
