//! The life of a working group, through GraphQL: Korea proposes "Digital Governance" (seed 000),
//! the coordinators put it on the agenda of the 9th Ministerial Summit, the member states vote and
//! the group becomes active under its terms of reference; the other outcomes (objection, majority,
//! no quorum, deferral, withdrawal), the refused ballots, a summit that moves, a concluded group,
//! and the OECD instrument of seed 003 with its adherents.

use chrono::{TimeZone, Utc};
use govflow_tests::{TestApp, TestUser, error_code, error_message};
use serde_json::{Value, json};

const TERMS: &str = "# Digital Governance\n\nThe group studies digital government.\n";

const PROPOSE: &str = "mutation($input: ProposeGroupInput!) { proposeGroup(input: $input) { id state leadMemberState { name } } }";
const SUBMIT: &str = "mutation($id: ID!) { submitProposal(id: $id) { id state } }";
const PLACE: &str = "mutation($id: ID!, $meeting: ID!) { placeOnAgenda(id: $id, meetingId: $meeting) { id state } }";
const SCHEDULE: &str = "mutation($input: ScheduleMeetingInput!) { scheduleMeeting(input: $input) { id number title state version timeZone startsAt } }";
const START: &str = "mutation($id: ID!) { startMeeting(id: $id) { state } }";
const CLOSE_MEETING: &str = "mutation($id: ID!) { closeMeeting(id: $id) { state } }";
const BALLOT: &str = "mutation($item: ID!, $state: ID!, $choice: String!) { castBallot(agendaItemId: $item, memberStateId: $state, choice: $choice) { choice memberState { name } } }";
const CLOSE_VOTE: &str = "mutation($item: ID!) { closeVote(agendaItemId: $item) { status decision { outcome rule quorum memberCount inFavour against abstain objections decidedBy { id } } ballots { choice } } }";
const GROUP: &str = "query($id: ID!) { group(id: $id) { state version effectiveAt leadMemberState { name } proposedChair { id } coSponsors { name } memberships(first: 20) { edges { node { role user { id } } } } mandateProvenance { outcome rule inFavour abstain meeting { number title series } } agendaItems { status meeting { number } decision { outcome } } history(first: 20) { edges { node { transition fromState toState actorKind actor { id } } } } } }";

/// The seed-000 cast: a forum of four member states (Korea, Estonia, Uruguay, Japan), a
/// representative of each, a forum coordinator and the proposed chair.
struct Forum {
    app: TestApp,
    forum_id: String,
    /// Member state ids: Korea, Estonia, Uruguay, Japan.
    states: Vec<String>,
    /// Their representatives, in the same order.
    reps: Vec<TestUser>,
    coordinator: TestUser,
    chair: TestUser,
}

impl Forum {
    async fn start() -> Forum {
        let app = TestApp::spawn().await;
        app.clock
            .set(Utc.with_ymd_and_hms(2022, 9, 1, 0, 0, 0).unwrap());
        let (forum_id, mut states) = app.forum("Digital Nations").await;
        for (name, code) in [("Uruguay", "URY"), ("Japan", "JPN")] {
            let data = app
                .ok(
                    "mutation($input: CreateMemberStateInput!) { createMemberState(input: $input) { id } }",
                    json!({ "input": { "forumId": forum_id, "name": name, "code": code } }),
                    &app.admin,
                )
                .await;
            states.push(data["createMemberState"]["id"].as_str().unwrap().to_owned());
        }
        let mut reps = Vec::new();
        for (index, code) in ["kor", "est", "ury", "jpn"].iter().enumerate() {
            let rep = app
                .create_user(
                    &format!("rep.{code}@example.org"),
                    &format!("Representative {code}"),
                )
                .await;
            app.grant(&rep, "representative", "memberStateId", &states[index])
                .await;
            reps.push(rep);
        }
        let coordinator = app
            .create_user("coordinator@example.org", "Coordinator")
            .await;
        app.grant(&coordinator, "coordinator", "forumId", &forum_id)
            .await;
        let chair = app.create_user("chair@example.org", "Proposed Chair").await;
        Forum {
            app,
            forum_id,
            states,
            reps,
            coordinator,
            chair,
        }
    }

    /// Korea's representative proposes a group and submits it; returns its id.
    async fn submitted(&self, name: &str) -> String {
        let data = self
            .app
            .ok(
                PROPOSE,
                json!({ "input": {
                    "leadMemberStateId": self.states[0],
                    "name": name,
                    "theme": "Digital government",
                    "proposedChairId": self.chair.id.to_string(),
                    "coSponsorIds": [self.states[1]],
                    "termsOfReference": TERMS,
                } }),
                &self.reps[0],
            )
            .await;
        assert_eq!(data["proposeGroup"]["state"], "draft");
        assert_eq!(
            data["proposeGroup"]["leadMemberState"]["name"],
            "Republic of Korea"
        );
        let id = data["proposeGroup"]["id"].as_str().unwrap().to_owned();
        let data = self
            .app
            .ok(SUBMIT, json!({ "id": id }), &self.reps[0])
            .await;
        assert_eq!(data["submitProposal"]["state"], "submitted");
        id
    }

    /// A planned summit of the series; `number` as given, else the next.
    async fn summit(&self, number: Option<i32>, starts: &str, ends: &str) -> Value {
        let data = self
            .app
            .ok(
                SCHEDULE,
                json!({ "input": {
                    "forumId": self.forum_id,
                    "series": "Ministerial Summit",
                    "number": number,
                    "place": "Seoul",
                    "timeZone": "Asia/Seoul",
                    "startsAt": starts,
                    "endsAt": ends,
                } }),
                &self.coordinator,
            )
            .await;
        data["scheduleMeeting"].clone()
    }

    /// Places the proposal on the meeting's agenda; returns the agenda item's id.
    async fn place(&self, proposal: &str, meeting: &str) -> String {
        let data = self
            .app
            .ok(
                PLACE,
                json!({ "id": proposal, "meeting": meeting }),
                &self.coordinator,
            )
            .await;
        assert_eq!(data["placeOnAgenda"]["state"], "on_agenda");
        let data = self
            .app
            .ok(
                "query($id: ID!) { meeting(id: $id) { agenda { id subject { id } } } }",
                json!({ "id": meeting }),
                &self.coordinator,
            )
            .await;
        data["meeting"]["agenda"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["subject"]["id"] == proposal)
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .expect("the proposal is on the agenda")
    }

    async fn start_meeting(&self, meeting: &str) {
        let data = self
            .app
            .ok(START, json!({ "id": meeting }), &self.coordinator)
            .await;
        assert_eq!(data["startMeeting"]["state"], "in_session");
    }

    /// The representative of state `index` casts its ballot.
    async fn vote(&self, item: &str, index: usize, choice: &str) -> Value {
        self.app
            .gql(
                BALLOT,
                json!({ "item": item, "state": self.states[index], "choice": choice }),
                Some(&self.reps[index]),
            )
            .await
    }

    async fn close_vote(&self, item: &str) -> Value {
        self.app
            .ok(CLOSE_VOTE, json!({ "item": item }), &self.coordinator)
            .await["closeVote"]
            .clone()
    }

    async fn group(&self, id: &str) -> Value {
        self.app
            .ok(GROUP, json!({ "id": id }), &self.coordinator)
            .await["group"]
            .clone()
    }

    async fn set_rule(&self, rule: &str) {
        self.app
            .ok(
                "mutation($id: ID!, $rule: String!) { updateForum(id: $id, input: { settings: { decisionRule: $rule } }) { id } }",
                json!({ "id": self.forum_id, "rule": rule }),
                &self.coordinator,
            )
            .await;
    }
}

/// One proposal on the agenda of a started summit; returns (proposal, meeting, item).
async fn in_session(forum: &Forum, name: &str) -> (String, String, String) {
    let proposal = forum.submitted(name).await;
    let meeting = forum
        .summit(
            None,
            "2022-11-21T09:00:00+09:00",
            "2022-11-22T18:00:00+09:00",
        )
        .await;
    let meeting = meeting["id"].as_str().unwrap().to_owned();
    let item = forum.place(&proposal, &meeting).await;
    forum.start_meeting(&meeting).await;
    (proposal, meeting, item)
}

fn transitions(group: &Value) -> Vec<(String, String, String)> {
    group["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            let node = &edge["node"];
            (
                node["transition"].as_str().unwrap().to_owned(),
                node["actorKind"].as_str().unwrap().to_owned(),
                node["actor"]["id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn korea_proposes_digital_governance_and_the_ninth_summit_approves_it() {
    let forum = Forum::start().await;
    let proposal = forum.submitted("Digital Governance").await;
    let summit = forum
        .summit(
            Some(9),
            "2022-11-21T09:00:00+09:00",
            "2022-11-22T18:00:00+09:00",
        )
        .await;
    assert_eq!(summit["number"], 9);
    assert_eq!(summit["title"], "9th Ministerial Summit");
    assert_eq!(summit["timeZone"], "Asia/Seoul");
    assert_eq!(summit["startsAt"], "2022-11-21T09:00:00+09:00");
    let meeting = summit["id"].as_str().unwrap().to_owned();
    let item = forum.place(&proposal, &meeting).await;

    // The draft terms are version 1, proposed, until approval.
    let terms = "query($group: ID!) { documents(groupId: $group, kind: \"terms_of_reference\") { edges { node { currentVersion { number } versions { edges { node { number status text } } } } } } }";
    let data = forum
        .app
        .ok(terms, json!({ "group": proposal }), &forum.coordinator)
        .await;
    let document = &data["documents"]["edges"][0]["node"];
    assert_eq!(document["currentVersion"], Value::Null);
    assert_eq!(
        document["versions"]["edges"][0]["node"]["status"],
        "proposed"
    );
    assert_eq!(document["versions"]["edges"][0]["node"]["text"], TERMS);

    forum
        .app
        .clock
        .set(Utc.with_ymd_and_hms(2022, 11, 21, 0, 30, 0).unwrap());
    forum.start_meeting(&meeting).await;
    for (index, choice) in [
        (0, "in_favour"),
        (1, "in_favour"),
        (2, "in_favour"),
        (3, "abstain"),
    ] {
        let response = forum.vote(&item, index, choice).await;
        assert!(response.get("errors").is_none(), "{response}");
    }
    // Before the close only the count shows, also in the meeting's history.
    let data = forum
        .app
        .ok(
            "query($id: ID!) { meeting(id: $id) { history(first: 20) { edges { node { transition detail } } } } }",
            json!({ "id": meeting }),
            &forum.reps[1],
        )
        .await;
    let history = data["meeting"]["history"].to_string();
    assert!(history.contains("cast_vote"), "{history}");
    assert!(
        !history.contains("in_favour") && !history.contains("abstain"),
        "{history}"
    );
    let data = forum
        .app
        .ok(
            "query($id: ID!) { agendaItem(id: $id) { ballotCount ballots { choice } decision { outcome } } }",
            json!({ "id": item }),
            &forum.reps[1],
        )
        .await;
    assert_eq!(data["agendaItem"]["ballotCount"], 4);
    assert_eq!(data["agendaItem"]["ballots"], Value::Null);
    assert_eq!(data["agendaItem"]["decision"], Value::Null);

    let closed = forum.close_vote(&item).await;
    assert_eq!(closed["status"], "decided");
    let decision = &closed["decision"];
    assert_eq!(decision["outcome"], "passed");
    assert_eq!(decision["rule"], "consensus");
    assert_eq!(decision["quorum"], 0.5);
    assert_eq!(decision["memberCount"], 4);
    assert_eq!(
        (decision["inFavour"].as_i64(), decision["abstain"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(
        decision["decidedBy"]["id"],
        forum.coordinator.id.to_string()
    );
    assert_eq!(closed["ballots"].as_array().unwrap().len(), 4);

    let group = forum.group(&proposal).await;
    assert_eq!(group["state"], "active");
    assert_eq!(group["leadMemberState"]["name"], "Republic of Korea");
    assert_eq!(group["coSponsors"][0]["name"], "Estonia");
    assert_eq!(group["effectiveAt"], "2022-11-21T09:30:00+09:00");
    let chairs: Vec<&Value> = group["memberships"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|edge| edge["node"]["role"] == "chair")
        .collect();
    assert_eq!(chairs.len(), 1);
    assert_eq!(chairs[0]["node"]["user"]["id"], forum.chair.id.to_string());
    let provenance = &group["mandateProvenance"];
    assert_eq!(provenance.as_array().unwrap().len(), 1);
    assert_eq!(provenance[0]["meeting"]["number"], 9);
    assert_eq!(provenance[0]["meeting"]["series"], "Ministerial Summit");
    assert_eq!(provenance[0]["rule"], "consensus");
    assert_eq!(provenance[0]["inFavour"], 3);

    let rep = forum.reps[0].id.to_string();
    let coordinator = forum.coordinator.id.to_string();
    assert_eq!(
        transitions(&group),
        vec![
            ("propose".into(), "user".into(), rep.clone()),
            ("submit".into(), "user".into(), rep),
            ("place_on_agenda".into(), "user".into(), coordinator.clone()),
            ("approve".into(), "system".into(), coordinator.clone()),
            ("activate".into(), "system".into(), coordinator),
        ]
    );

    // Version 1 is now the adopted, current text.
    let data = forum
        .app
        .ok(terms, json!({ "group": proposal }), &forum.coordinator)
        .await;
    let document = &data["documents"]["edges"][0]["node"];
    assert_eq!(document["currentVersion"]["number"], 1);
    assert_eq!(
        document["versions"]["edges"][0]["node"]["status"],
        "adopted"
    );

    // Every vote has closed: the summit can close, and then it is held.
    let data = forum
        .app
        .ok(CLOSE_MEETING, json!({ "id": meeting }), &forum.coordinator)
        .await;
    assert_eq!(data["closeMeeting"]["state"], "held");
}

#[tokio::test]
async fn an_objection_under_consensus_rejects_and_a_majority_of_two_to_one_passes() {
    let forum = Forum::start().await;
    let (proposal, _, item) = in_session(&forum, "Data Governance").await;
    for (index, choice) in [(0, "in_favour"), (1, "in_favour"), (2, "object")] {
        forum.vote(&item, index, choice).await;
    }
    let closed = forum.close_vote(&item).await;
    assert_eq!(closed["decision"]["outcome"], "failed");
    assert_eq!(closed["decision"]["objections"], 1);
    let group = forum.group(&proposal).await;
    assert_eq!(group["state"], "rejected");
    assert_eq!(group["mandateProvenance"], json!([]));

    forum.set_rule("majority").await;
    let (proposal, meeting, item) = in_session(&forum, "AI in Government").await;
    for (index, choice) in [
        (0, "in_favour"),
        (1, "in_favour"),
        (2, "against"),
        (3, "abstain"),
    ] {
        forum.vote(&item, index, choice).await;
    }
    let closed = forum.close_vote(&item).await;
    assert_eq!(closed["decision"]["outcome"], "passed");
    assert_eq!(closed["decision"]["rule"], "majority");
    assert_eq!(forum.group(&proposal).await["state"], "active");
    // Numbers follow the highest: this summit came after the first one.
    let data = forum
        .app
        .ok(
            "query($id: ID!) { meeting(id: $id) { number } }",
            json!({ "id": meeting }),
            &forum.coordinator,
        )
        .await;
    assert_eq!(data["meeting"]["number"], 2);
}

#[tokio::test]
async fn without_quorum_the_proposal_stays_on_the_agenda_and_is_decided_at_the_next_summit() {
    let forum = Forum::start().await;
    let (proposal, meeting, item) = in_session(&forum, "Digital Identity").await;
    forum.vote(&item, 0, "in_favour").await;
    // The meeting cannot close while the vote is open.
    let refused = forum
        .app
        .gql(
            CLOSE_MEETING,
            json!({ "id": meeting }),
            Some(&forum.coordinator),
        )
        .await;
    assert_eq!(error_code(&refused), "GUARD_FAILED", "{refused}");
    assert!(
        error_message(&refused).contains("votes_closed"),
        "{refused}"
    );

    let closed = forum.close_vote(&item).await;
    assert_eq!(closed["decision"]["outcome"], "no_quorum");
    assert_eq!(forum.group(&proposal).await["state"], "on_agenda");
    forum
        .app
        .ok(CLOSE_MEETING, json!({ "id": meeting }), &forum.coordinator)
        .await;

    // Deferred to the next summit, where it is decided.
    let data = forum
        .app
        .ok(
            "mutation($id: ID!) { deferProposal(id: $id) { state } }",
            json!({ "id": proposal }),
            &forum.coordinator,
        )
        .await;
    assert_eq!(data["deferProposal"]["state"], "deferred");
    let next = forum
        .summit(
            None,
            "2023-11-20T09:00:00+09:00",
            "2023-11-21T18:00:00+09:00",
        )
        .await;
    assert_eq!(next["number"], 2);
    let next = next["id"].as_str().unwrap().to_owned();
    let item = forum.place(&proposal, &next).await;
    forum.start_meeting(&next).await;
    for index in 0..3 {
        forum.vote(&item, index, "in_favour").await;
    }
    assert_eq!(
        forum.close_vote(&item).await["decision"]["outcome"],
        "passed"
    );
    let group = forum.group(&proposal).await;
    assert_eq!(group["state"], "active");
    let items: Vec<(i64, String)> = group["agendaItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["meeting"]["number"].as_i64().unwrap(),
                item["decision"]["outcome"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        items,
        vec![(1, "no_quorum".to_owned()), (2, "passed".to_owned())]
    );
    assert_eq!(group["mandateProvenance"][0]["meeting"]["number"], 2);
}

#[tokio::test]
async fn ballots_are_refused_for_another_state_a_non_member_and_after_the_close() {
    let forum = Forum::start().await;
    let (_, _, item) = in_session(&forum, "Open Data").await;
    // Korea's representative may not vote for Estonia.
    let response = forum
        .app
        .gql(
            BALLOT,
            json!({ "item": item, "state": forum.states[1], "choice": "in_favour" }),
            Some(&forum.reps[0]),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    // The administrator is no state's representative.
    let response = forum
        .app
        .gql(
            BALLOT,
            json!({ "item": item, "state": forum.states[1], "choice": "in_favour" }),
            Some(&forum.app.admin),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    // A non-member state does not vote, even through its own representative.
    let data = forum
        .app
        .ok(
            "mutation($input: CreateMemberStateInput!) { createMemberState(input: $input) { id } }",
            json!({ "input": { "forumId": forum.forum_id, "name": "Observer State", "code": "OBS", "isMember": false } }),
            &forum.app.admin,
        )
        .await;
    let observer_state = data["createMemberState"]["id"].as_str().unwrap().to_owned();
    let envoy = forum.app.create_user("envoy@example.org", "Envoy").await;
    forum
        .app
        .grant(&envoy, "representative", "memberStateId", &observer_state)
        .await;
    let response = forum
        .app
        .gql(
            BALLOT,
            json!({ "item": item, "state": observer_state, "choice": "in_favour" }),
            Some(&envoy),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    // An unknown choice, an id that does not parse.
    let response = forum.vote(&item, 0, "maybe").await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    let response = forum
        .app
        .gql(
            BALLOT,
            json!({ "item": "not-an-id", "state": forum.states[0], "choice": "in_favour" }),
            Some(&forum.reps[0]),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");

    // A ballot changes until the close: Korea objects, then agrees.
    forum.vote(&item, 0, "object").await;
    let response = forum.vote(&item, 0, "in_favour").await;
    assert_eq!(response["data"]["castBallot"]["choice"], "in_favour");
    forum.vote(&item, 1, "in_favour").await;
    let closed = forum.close_vote(&item).await;
    assert_eq!(closed["decision"]["outcome"], "passed");
    assert_eq!(closed["decision"]["objections"], 0);
    assert_eq!(closed["ballots"].as_array().unwrap().len(), 2);

    let response = forum.vote(&item, 2, "in_favour").await;
    assert_eq!(error_code(&response), "GUARD_FAILED", "{response}");
    let response = forum
        .app
        .gql(
            CLOSE_VOTE,
            json!({ "item": item }),
            Some(&forum.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "GUARD_FAILED", "{response}");
}

#[tokio::test]
async fn a_proposal_is_withdrawn_from_the_agenda_and_placed_only_on_a_planned_meeting() {
    let forum = Forum::start().await;
    let proposal = forum.submitted("Cyber Resilience").await;
    // A meeting that does not exist, is not planned, or is of another forum: INVALID_INPUT.
    let response = forum
        .app
        .gql(
            PLACE,
            json!({ "id": proposal, "meeting": uuid::Uuid::now_v7().to_string() }),
            Some(&forum.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    assert!(error_message(&response).contains("meetingId"), "{response}");
    let (other_forum, _) = forum.app.forum("Other Forum").await;
    let data = forum
        .app
        .ok(
            SCHEDULE,
            json!({ "input": { "forumId": other_forum, "series": "Council", "startsAt": "2022-12-01T09:00:00Z", "endsAt": "2022-12-01T17:00:00Z" } }),
            &forum.app.admin,
        )
        .await;
    let response = forum
        .app
        .gql(
            PLACE,
            json!({ "id": proposal, "meeting": data["scheduleMeeting"]["id"] }),
            Some(&forum.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    assert!(
        error_message(&response).contains("another forum"),
        "{response}"
    );

    let meeting = forum
        .summit(
            None,
            "2022-11-21T09:00:00+09:00",
            "2022-11-22T18:00:00+09:00",
        )
        .await;
    let meeting = meeting["id"].as_str().unwrap().to_owned();
    forum.place(&proposal, &meeting).await;
    // The proposer withdraws it; its agenda item says so, and the meeting can close at once.
    let data = forum
        .app
        .ok(
            "mutation($id: ID!) { withdrawProposal(id: $id, reason: \"Merged into another proposal\") { state } }",
            json!({ "id": proposal }),
            &forum.reps[0],
        )
        .await;
    assert_eq!(data["withdrawProposal"]["state"], "withdrawn");
    let data = forum
        .app
        .ok(
            "query($id: ID!) { meeting(id: $id) { agenda { status } } }",
            json!({ "id": meeting }),
            &forum.coordinator,
        )
        .await;
    assert_eq!(data["meeting"]["agenda"][0]["status"], "withdrawn");
    forum.start_meeting(&meeting).await;
    forum
        .app
        .ok(CLOSE_MEETING, json!({ "id": meeting }), &forum.coordinator)
        .await;
}

#[tokio::test]
async fn the_agenda_keeps_its_order_until_a_coordinator_reorders_it() {
    let forum = Forum::start().await;
    let meeting = forum
        .summit(
            None,
            "2022-11-21T09:00:00+09:00",
            "2022-11-22T18:00:00+09:00",
        )
        .await;
    let meeting = meeting["id"].as_str().unwrap().to_owned();
    let mut items = Vec::new();
    for name in ["First", "Second", "Third"] {
        let proposal = forum.submitted(name).await;
        items.push(forum.place(&proposal, &meeting).await);
    }
    let order = "query($id: ID!) { meeting(id: $id) { version agenda { id position } } }";
    let data = forum
        .app
        .ok(order, json!({ "id": meeting }), &forum.coordinator)
        .await;
    let listed: Vec<&str> = data["meeting"]["agenda"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, items.iter().map(String::as_str).collect::<Vec<_>>());

    let reorder = "mutation($id: ID!, $items: [ID!]!) { reorderAgenda(meetingId: $id, itemIds: $items) { agenda { id position } } }";
    // Not every item named: refused, nothing changed.
    let response = forum
        .app
        .gql(
            reorder,
            json!({ "id": meeting, "items": [items[2], items[0]] }),
            Some(&forum.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    // A list longer than any agenda is refused before its ids are read.
    let too_many: Vec<String> = (0..101).map(|_| "x".to_owned()).collect();
    let response = forum
        .app
        .gql(
            reorder,
            json!({ "id": meeting, "items": too_many }),
            Some(&forum.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    assert!(
        error_message(&response).contains("at most 100"),
        "{response}"
    );
    // A representative may not reorder.
    let wanted = json!([items[2], items[0], items[1]]);
    let response = forum
        .app
        .gql(
            reorder,
            json!({ "id": meeting, "items": wanted }),
            Some(&forum.reps[0]),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    let data = forum
        .app
        .ok(
            reorder,
            json!({ "id": meeting, "items": wanted }),
            &forum.coordinator,
        )
        .await;
    let listed: Vec<(String, i64)> = data["reorderAgenda"]["agenda"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["id"].as_str().unwrap().to_owned(),
                item["position"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (items[2].clone(), 1),
            (items[0].clone(), 2),
            (items[1].clone(), 3)
        ]
    );
}

#[tokio::test]
async fn moving_the_summit_writes_one_history_row_and_notifies_the_participants() {
    let forum = Forum::start().await;
    let proposal = forum.submitted("Digital Governance").await;
    let summit = forum
        .summit(
            Some(9),
            "2022-11-21T09:00:00+09:00",
            "2022-11-22T18:00:00+09:00",
        )
        .await;
    let meeting = summit["id"].as_str().unwrap().to_owned();
    forum.place(&proposal, &meeting).await;
    let move_meeting = "mutation($id: ID!, $starts: DateTime!, $ends: DateTime!, $version: Int) { moveMeeting(id: $id, startsAt: $starts, endsAt: $ends, reason: \"Venue change\", expectedVersion: $version) { startsAt endsAt version history(first: 10) { edges { node { transition reason detail } } } } }";
    let moved = json!({ "id": meeting, "starts": "2022-11-28T09:00:00+09:00", "ends": "2022-11-29T18:00:00+09:00", "version": summit["version"] });
    // A representative may not move it; a stale version is refused; an end before the start too.
    let response = forum
        .app
        .gql(move_meeting, moved.clone(), Some(&forum.reps[0]))
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    let mut stale = moved.clone();
    stale["version"] = json!(41);
    let response = forum
        .app
        .gql(move_meeting, stale, Some(&forum.coordinator))
        .await;
    assert_eq!(error_code(&response), "STALE_STATE", "{response}");
    let mut backwards = moved.clone();
    backwards["ends"] = json!("2022-11-27T09:00:00+09:00");
    let response = forum
        .app
        .gql(move_meeting, backwards, Some(&forum.coordinator))
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");

    let data = forum.app.ok(move_meeting, moved, &forum.coordinator).await;
    let meeting_now = &data["moveMeeting"];
    assert_eq!(meeting_now["startsAt"], "2022-11-28T09:00:00+09:00");
    let moves: Vec<&Value> = meeting_now["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|edge| edge["node"]["transition"] == "move_meeting")
        .collect();
    assert_eq!(moves.len(), 1);
    let detail = &moves[0]["node"]["detail"];
    assert_eq!(detail["startsAt"]["from"], "2022-11-21T09:00:00+09:00");
    assert_eq!(detail["startsAt"]["to"], "2022-11-28T09:00:00+09:00");
    assert_eq!(detail["endsAt"]["to"], "2022-11-29T18:00:00+09:00");
    assert_eq!(moves[0]["node"]["reason"], "Venue change");

    // The notices are in the outbox, one per participant: the four representatives, the
    // coordinator, and the proposed chair of the group on the agenda.
    let data = forum
        .app
        .ok(
            "query($forum: ID!, $id: ID!) { outbox(forumId: $forum, subjectId: $id, first: 50) { edges { node { recipientEmail template body } } } }",
            json!({ "forum": forum.forum_id, "id": meeting }),
            &forum.coordinator,
        )
        .await;
    let mut recipients: Vec<&str> = data["outbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|edge| edge["node"]["template"] == "meeting_moved")
        .map(|edge| edge["node"]["recipientEmail"].as_str().unwrap())
        .collect();
    recipients.sort();
    assert_eq!(
        recipients,
        vec![
            "chair@example.org",
            "coordinator@example.org",
            "rep.est@example.org",
            "rep.jpn@example.org",
            "rep.kor@example.org",
            "rep.ury@example.org",
        ]
    );
    let body = data["outbox"]["edges"][0]["node"]["body"].as_str().unwrap();
    assert!(body.contains("2022-11-21 09:00 +09:00"), "{body}");
    assert!(body.contains("2022-11-28 09:00 +09:00"), "{body}");
    assert!(body.contains("Reason: Venue change"), "{body}");

    // A meeting in session no longer moves.
    forum.start_meeting(&meeting).await;
    let response = forum
        .app
        .gql(
            move_meeting,
            json!({ "id": meeting, "starts": "2022-12-05T09:00:00+09:00", "ends": "2022-12-06T18:00:00+09:00" }),
            Some(&forum.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_TRANSITION", "{response}");
}

#[tokio::test]
async fn a_postponed_summit_is_rescheduled_and_the_next_meeting_of_the_series_follows() {
    let forum = Forum::start().await;
    let first = forum
        .summit(
            None,
            "2022-11-21T09:00:00+09:00",
            "2022-11-22T18:00:00+09:00",
        )
        .await;
    let second = forum
        .summit(
            None,
            "2023-11-20T09:00:00+09:00",
            "2023-11-21T18:00:00+09:00",
        )
        .await;
    let next = "query($forum: ID!) { nextMeeting(forumId: $forum, series: \"Ministerial Summit\") { number state } }";
    let data = forum
        .app
        .ok(next, json!({ "forum": forum.forum_id }), &forum.reps[0])
        .await;
    assert_eq!(data["nextMeeting"]["number"], 1);
    forum
        .app
        .ok(
            "mutation($id: ID!) { cancelMeeting(id: $id, reason: \"Moved to next year\") { state } }",
            json!({ "id": first["id"] }),
            &forum.coordinator,
        )
        .await;
    let data = forum
        .app
        .ok(next, json!({ "forum": forum.forum_id }), &forum.reps[0])
        .await;
    assert_eq!(data["nextMeeting"]["number"], 2);
    forum
        .app
        .ok(
            "mutation($id: ID!) { postponeMeeting(id: $id) { state } }",
            json!({ "id": second["id"] }),
            &forum.coordinator,
        )
        .await;
    let data = forum
        .app
        .ok(
            "mutation($id: ID!) { rescheduleMeeting(id: $id, startsAt: \"2024-02-05T09:00:00+09:00\", endsAt: \"2024-02-06T18:00:00+09:00\") { state startsAt } }",
            json!({ "id": second["id"] }),
            &forum.coordinator,
        )
        .await;
    assert_eq!(data["rescheduleMeeting"]["state"], "planned");
    assert_eq!(
        data["rescheduleMeeting"]["startsAt"],
        "2024-02-05T09:00:00+09:00"
    );
    // A cancelled meeting's number is not reused.
    let third = forum
        .summit(
            None,
            "2025-11-20T09:00:00+09:00",
            "2025-11-21T18:00:00+09:00",
        )
        .await;
    assert_eq!(third["number"], 3);
    // A number already taken is a CONFLICT.
    let response = forum
        .app
        .gql(
            SCHEDULE,
            json!({ "input": { "forumId": forum.forum_id, "series": "Ministerial Summit", "number": 2, "startsAt": "2026-11-20T09:00:00+09:00", "endsAt": "2026-11-21T18:00:00+09:00" } }),
            Some(&forum.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "CONFLICT", "{response}");
}

#[tokio::test]
async fn a_concluded_group_refuses_new_documents_and_amendments() {
    let forum = Forum::start().await;
    let (proposal, _, item) = in_session(&forum, "Digital Governance").await;
    for index in 0..3 {
        forum.vote(&item, index, "in_favour").await;
    }
    forum.close_vote(&item).await;
    let conclude =
        "mutation($id: ID!, $reason: String) { concludeGroup(id: $id, reason: $reason) { state } }";
    let response = forum
        .app
        .gql(conclude, json!({ "id": proposal }), Some(&forum.chair))
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    let data = forum
        .app
        .ok(
            conclude,
            json!({ "id": proposal, "reason": "Mandate fulfilled" }),
            &forum.chair,
        )
        .await;
    assert_eq!(data["concludeGroup"]["state"], "concluded");

    let data = forum
        .app
        .ok(
            "query($group: ID!) { documents(groupId: $group) { edges { node { id } } } }",
            json!({ "group": proposal }),
            &forum.chair,
        )
        .await;
    let terms = data["documents"]["edges"][0]["node"]["id"].clone();
    let response = forum
        .app
        .gql(
            "mutation($input: CreateAmendmentInput!) { createAmendment(input: $input) { id } }",
            json!({ "input": { "groupId": proposal, "documentId": terms, "text": "# Digital Governance\n\nNew scope.\n" } }),
            Some(&forum.chair),
        )
        .await;
    assert_eq!(error_code(&response), "GUARD_FAILED", "{response}");
    assert!(
        error_message(&response).contains("group_active"),
        "{response}"
    );
    let response = forum
        .app
        .gql(
            "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { id } }",
            json!({ "input": { "groupId": proposal, "kind": "work_plan", "title": "Work plan", "text": "Plan" } }),
            Some(&forum.chair),
        )
        .await;
    assert_eq!(error_code(&response), "GUARD_FAILED", "{response}");
}

#[tokio::test]
async fn the_oecd_recommendation_is_recorded_and_adhered_to_and_a_new_one_is_adopted() {
    let forum = Forum::start().await;
    forum
        .app
        .clock
        .set(Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap());
    let record = "mutation($input: RecordInstrumentInput!) { recordInstrument(input: $input) { id state adoptedAt timeZone } }";
    let about = |adopted: &str| {
        json!({ "input": {
            "forumId": forum.forum_id,
            "kind": "recommendation",
            "title": "Recommendation of the Council on Digital Government Strategies",
            "symbol": "OECD/LEGAL/0406",
            "adoptedAt": adopted,
        } })
    };
    let response = forum
        .app
        .gql(
            record,
            about("2030-01-01T00:00:00Z"),
            Some(&forum.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "INVALID_INPUT", "{response}");
    let data = forum
        .app
        .ok(
            record,
            about("2014-07-15T10:00:00+02:00"),
            &forum.coordinator,
        )
        .await;
    let instrument = data["recordInstrument"]["id"].as_str().unwrap().to_owned();
    assert_eq!(data["recordInstrument"]["state"], "adopted");
    assert_eq!(
        data["recordInstrument"]["adoptedAt"],
        "2014-07-15T17:00:00+09:00"
    );

    // One member and one non-member adhere.
    let data = forum
        .app
        .ok(
            "mutation($input: CreateMemberStateInput!) { createMemberState(input: $input) { id } }",
            json!({ "input": { "forumId": forum.forum_id, "name": "Brazil", "code": "BRA", "isMember": false } }),
            &forum.app.admin,
        )
        .await;
    let brazil = data["createMemberState"]["id"].as_str().unwrap().to_owned();
    let adhere = "mutation($id: ID!, $state: ID!, $on: NaiveDate!) { adhereToInstrument(instrumentId: $id, memberStateId: $state, adheredOn: $on) { adherents(first: 10) { totalCount edges { node { adheredOn memberState { name isMember } } } } } }";
    let response = forum
        .app
        .gql(
            adhere,
            json!({ "id": instrument, "state": forum.states[0], "on": "2014-07-15" }),
            Some(&forum.reps[0]),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    forum
        .app
        .ok(
            adhere,
            json!({ "id": instrument, "state": forum.states[0], "on": "2014-07-15" }),
            &forum.coordinator,
        )
        .await;
    let data = forum
        .app
        .ok(
            adhere,
            json!({ "id": instrument, "state": brazil, "on": "2022-03-10" }),
            &forum.coordinator,
        )
        .await;
    let adherents = &data["adhereToInstrument"]["adherents"];
    assert_eq!(adherents["totalCount"], 2);
    assert_eq!(
        adherents["edges"][0]["node"]["memberState"]["isMember"],
        true
    );
    assert_eq!(
        adherents["edges"][1]["node"]["memberState"]["name"],
        "Brazil"
    );
    assert_eq!(
        adherents["edges"][1]["node"]["memberState"]["isMember"],
        false
    );
    let response = forum
        .app
        .gql(
            adhere,
            json!({ "id": instrument, "state": brazil, "on": "2023-01-01" }),
            Some(&forum.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "CONFLICT", "{response}");

    // A new instrument, proposed by Korea, goes through the agenda to adoption.
    let data = forum
        .app
        .ok(
            "mutation($input: ProposeInstrumentInput!) { proposeInstrument(input: $input) { id state } }",
            json!({ "input": {
                "forumId": forum.forum_id,
                "kind": "resolution",
                "title": "Resolution on Digital Public Infrastructure",
                "proposingMemberStateId": forum.states[0],
            } }),
            &forum.reps[0],
        )
        .await;
    let resolution = data["proposeInstrument"]["id"].as_str().unwrap().to_owned();
    let response = forum
        .app
        .gql(
            adhere,
            json!({ "id": resolution, "state": brazil, "on": "2026-03-01" }),
            Some(&forum.coordinator),
        )
        .await;
    assert_eq!(error_code(&response), "GUARD_FAILED", "{response}");
    forum
        .app
        .ok(SUBMIT, json!({ "id": resolution }), &forum.reps[0])
        .await;
    let meeting = forum
        .summit(
            None,
            "2026-11-20T09:00:00+09:00",
            "2026-11-21T18:00:00+09:00",
        )
        .await;
    let meeting = meeting["id"].as_str().unwrap().to_owned();
    let item = forum.place(&resolution, &meeting).await;
    forum
        .app
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 20, 1, 0, 0).unwrap());
    forum.start_meeting(&meeting).await;
    for index in 0..3 {
        forum.vote(&item, index, "in_favour").await;
    }
    assert_eq!(
        forum.close_vote(&item).await["decision"]["outcome"],
        "passed"
    );
    let data = forum
        .app
        .ok(
            "query($id: ID!) { instrument(id: $id) { state adoptedAt proposingMemberState { name } history(first: 10) { edges { node { transition actorKind } } } } }",
            json!({ "id": resolution }),
            &forum.coordinator,
        )
        .await;
    assert_eq!(data["instrument"]["state"], "adopted");
    assert_eq!(data["instrument"]["adoptedAt"], "2026-11-20T10:00:00+09:00");
    let last = data["instrument"]["history"]["edges"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["node"]
        .clone();
    assert_eq!(
        last,
        json!({ "transition": "adopt", "actorKind": "system" })
    );

    let data = forum
        .app
        .ok(
            "mutation($id: ID!) { abrogateInstrument(id: $id, reason: \"Superseded\") { state } }",
            json!({ "id": instrument }),
            &forum.coordinator,
        )
        .await;
    assert_eq!(data["abrogateInstrument"]["state"], "abrogated");
}
