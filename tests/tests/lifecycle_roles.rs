//! Who may take each step of the lifecycle of meetings, proposals, groups and instruments
//! (DECISIONS §2), as a table: every lifecycle mutation is tried by every kind of caller, each time
//! on a subject in the state the mutation needs. The roles allowed succeed and move the subject;
//! an anonymous caller gets UNAUTHENTICATED and everyone else FORBIDDEN (these subjects are
//! readable by any authenticated user), and the refusals write nothing.

use govflow_tests::{TestApp, TestUser, error_code};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

const SERIES: &str = "Ministerial Summit";
const STARTS_AT: &str = "2026-11-20T09:00:00+09:00";
const ENDS_AT: &str = "2026-11-21T18:00:00+09:00";
const MOVED_STARTS_AT: &str = "2026-11-27T09:00:00+09:00";
const MOVED_ENDS_AT: &str = "2026-11-28T18:00:00+09:00";
const RESCHEDULED_STARTS_AT: &str = "2026-12-04T09:00:00+09:00";
const RESCHEDULED_ENDS_AT: &str = "2026-12-05T18:00:00+09:00";

/// Who calls. The group roles are held in the group acted on (G), or in another group (H).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Anonymous,
    Outsider,
    ForumObserver,
    Expert,
    Chair,
    OtherChair,
    OtherRepresentative,
    Representative,
    ForumCoordinator,
    Admin,
}

const CALLERS: [Caller; 10] = [
    Caller::Anonymous,
    Caller::Outsider,
    Caller::ForumObserver,
    Caller::Expert,
    Caller::Chair,
    Caller::OtherChair,
    Caller::OtherRepresentative,
    Caller::Representative,
    Caller::ForumCoordinator,
    Caller::Admin,
];

impl Caller {
    fn label(self) -> &'static str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::Outsider => "outsider",
            Caller::ForumObserver => "observer of the forum",
            Caller::Expert => "expert of G",
            Caller::Chair => "chair of G",
            Caller::OtherChair => "chair of H",
            Caller::OtherRepresentative => "representative of Estonia",
            Caller::Representative => "representative of Korea",
            Caller::ForumCoordinator => "forum coordinator",
            Caller::Admin => "admin",
        }
    }

    /// A short column heading for the summary table.
    fn column(self) -> &'static str {
        match self {
            Caller::Anonymous => "anon",
            Caller::Outsider => "outsdr",
            Caller::ForumObserver => "observ",
            Caller::Expert => "expert",
            Caller::Chair => "chair",
            Caller::OtherChair => "chairH",
            Caller::OtherRepresentative => "rep-EE",
            Caller::Representative => "rep-KR",
            Caller::ForumCoordinator => "coord",
            Caller::Admin => "admin",
        }
    }
}

/// A lifecycle mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    ScheduleMeeting,
    MoveMeeting,
    StartMeeting,
    PostponeMeeting,
    RescheduleMeeting,
    CancelMeeting,
    CloseMeeting,
    ReorderAgenda,
    ProposeGroup,
    SubmitProposal,
    PlaceOnAgenda,
    DeferProposal,
    WithdrawProposal,
    CastBallot,
    CloseVote,
    ConcludeGroup,
    ProposeInstrumentForState,
    ProposeInstrumentForGroup,
    RecordInstrument,
    AdhereToInstrument,
    AbrogateInstrument,
}

const OPS: [Op; 21] = [
    Op::ScheduleMeeting,
    Op::MoveMeeting,
    Op::StartMeeting,
    Op::PostponeMeeting,
    Op::RescheduleMeeting,
    Op::CancelMeeting,
    Op::CloseMeeting,
    Op::ReorderAgenda,
    Op::ProposeGroup,
    Op::SubmitProposal,
    Op::PlaceOnAgenda,
    Op::DeferProposal,
    Op::WithdrawProposal,
    Op::CastBallot,
    Op::CloseVote,
    Op::ConcludeGroup,
    Op::ProposeInstrumentForState,
    Op::ProposeInstrumentForGroup,
    Op::RecordInstrument,
    Op::AdhereToInstrument,
    Op::AbrogateInstrument,
];

// Each mutation answers its subject as `result`, with what the step changed as `state`.
const SCHEDULE: &str = "mutation($input: ScheduleMeetingInput!) { result: scheduleMeeting(input: $input) { id state } }";
const MOVE: &str = "mutation($id: ID!, $startsAt: DateTime!, $endsAt: DateTime!, $reason: String) {
    result: moveMeeting(id: $id, startsAt: $startsAt, endsAt: $endsAt, reason: $reason) { id state startsAt } }";
const START: &str = "mutation($id: ID!) { result: startMeeting(id: $id) { id state } }";
const POSTPONE: &str = "mutation($id: ID!) { result: postponeMeeting(id: $id) { id state } }";
const RESCHEDULE: &str = "mutation($id: ID!, $startsAt: DateTime!, $endsAt: DateTime!) {
    result: rescheduleMeeting(id: $id, startsAt: $startsAt, endsAt: $endsAt) { id state } }";
const CANCEL: &str = "mutation($id: ID!, $reason: String) { result: cancelMeeting(id: $id, reason: $reason) { id state } }";
const CLOSE: &str = "mutation($id: ID!) { result: closeMeeting(id: $id) { id state } }";
const REORDER: &str = "mutation($id: ID!, $items: [ID!]!) {
    result: reorderAgenda(meetingId: $id, itemIds: $items) { id state agenda { id } } }";
const PROPOSE_GROUP: &str =
    "mutation($input: ProposeGroupInput!) { result: proposeGroup(input: $input) { id state } }";
const SUBMIT: &str = "mutation($id: ID!) { result: submitProposal(id: $id) { id state } }";
const PLACE: &str = "mutation($id: ID!, $meeting: ID!) {
    result: placeOnAgenda(id: $id, meetingId: $meeting) { id state } }";
const DEFER: &str = "mutation($id: ID!) { result: deferProposal(id: $id) { id state } }";
const WITHDRAW: &str = "mutation($id: ID!) { result: withdrawProposal(id: $id) { id state } }";
const CAST: &str = "mutation($item: ID!, $state: ID!) {
    result: castBallot(agendaItemId: $item, memberStateId: $state, choice: \"in_favour\") { id state: choice } }";
const CLOSE_VOTE: &str = "mutation($item: ID!, $reason: String) {
    result: closeVote(agendaItemId: $item, reason: $reason) { id state: status decision { outcome } } }";
const CONCLUDE: &str = "mutation($id: ID!, $reason: String) {
    result: concludeGroup(id: $id, reason: $reason) { id state } }";
const PROPOSE_INSTRUMENT: &str = "mutation($input: ProposeInstrumentInput!) {
    result: proposeInstrument(input: $input) { id state } }";
const RECORD: &str = "mutation($input: RecordInstrumentInput!) { result: recordInstrument(input: $input) { id state } }";
const ADHERE: &str = "mutation($id: ID!, $state: ID!, $on: NaiveDate!) {
    result: adhereToInstrument(instrumentId: $id, memberStateId: $state, adheredOn: $on) {
      id state adherents { totalCount } } }";
const ABROGATE: &str = "mutation($id: ID!, $reason: String) {
    result: abrogateInstrument(id: $id, reason: $reason) { id state } }";

// What a refused call could have changed, read as the administrator before and after.
const SUBJECT_WITNESS: &str =
    "query($id: ID!) { subject(id: $id) { state version history(first: 1) { totalCount } } }";
const ITEM_WITNESS: &str = "query($id: ID!) { agendaItem(id: $id) { status ballotCount
    subject { state version history(first: 1) { totalCount } }
    meeting { state version history(first: 1) { totalCount } } } }";
const FORUM_WITNESS: &str = "query($forum: ID!) { meetings(forumId: $forum) { totalCount }
    groups(forumId: $forum) { totalCount } instruments(forumId: $forum) { totalCount } }";

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::ScheduleMeeting => "scheduleMeeting",
            Op::MoveMeeting => "moveMeeting",
            Op::StartMeeting => "startMeeting",
            Op::PostponeMeeting => "postponeMeeting",
            Op::RescheduleMeeting => "rescheduleMeeting",
            Op::CancelMeeting => "cancelMeeting",
            Op::CloseMeeting => "closeMeeting",
            Op::ReorderAgenda => "reorderAgenda",
            Op::ProposeGroup => "proposeGroup",
            Op::SubmitProposal => "submitProposal",
            Op::PlaceOnAgenda => "placeOnAgenda",
            Op::DeferProposal => "deferProposal",
            Op::WithdrawProposal => "withdrawProposal",
            Op::CastBallot => "castBallot",
            Op::CloseVote => "closeVote",
            Op::ConcludeGroup => "concludeGroup",
            Op::ProposeInstrumentForState => "proposeInstrument (Korea)",
            Op::ProposeInstrumentForGroup => "proposeInstrument (G)",
            Op::RecordInstrument => "recordInstrument",
            Op::AdhereToInstrument => "adhereToInstrument",
            Op::AbrogateInstrument => "abrogateInstrument",
        }
    }

    fn query(self) -> &'static str {
        match self {
            Op::ScheduleMeeting => SCHEDULE,
            Op::MoveMeeting => MOVE,
            Op::StartMeeting => START,
            Op::PostponeMeeting => POSTPONE,
            Op::RescheduleMeeting => RESCHEDULE,
            Op::CancelMeeting => CANCEL,
            Op::CloseMeeting => CLOSE,
            Op::ReorderAgenda => REORDER,
            Op::ProposeGroup => PROPOSE_GROUP,
            Op::SubmitProposal => SUBMIT,
            Op::PlaceOnAgenda => PLACE,
            Op::DeferProposal => DEFER,
            Op::WithdrawProposal => WITHDRAW,
            Op::CastBallot => CAST,
            Op::CloseVote => CLOSE_VOTE,
            Op::ConcludeGroup => CONCLUDE,
            Op::ProposeInstrumentForState | Op::ProposeInstrumentForGroup => PROPOSE_INSTRUMENT,
            Op::RecordInstrument => RECORD,
            Op::AdhereToInstrument => ADHERE,
            Op::AbrogateInstrument => ABROGATE,
        }
    }

    /// The callers DECISIONS §2 and the shipped workflows let through.
    fn allowed(self) -> &'static [Caller] {
        match self {
            // Meetings, agendas, votes and recorded instruments: admin and forum coordinators.
            Op::ScheduleMeeting
            | Op::MoveMeeting
            | Op::StartMeeting
            | Op::PostponeMeeting
            | Op::RescheduleMeeting
            | Op::CancelMeeting
            | Op::CloseMeeting
            | Op::ReorderAgenda
            | Op::PlaceOnAgenda
            | Op::DeferProposal
            | Op::CloseVote
            | Op::RecordInstrument
            | Op::AdhereToInstrument
            | Op::AbrogateInstrument => &[Caller::ForumCoordinator, Caller::Admin],
            // Only the member state's representatives: admin is never representative or proposer.
            Op::ProposeGroup
            | Op::SubmitProposal
            | Op::CastBallot
            | Op::ProposeInstrumentForState => &[Caller::Representative],
            // The proposer, or a forum coordinator (which admin passes).
            Op::WithdrawProposal => &[
                Caller::Representative,
                Caller::ForumCoordinator,
                Caller::Admin,
            ],
            // The group's chair or coordinators (a forum coordinator counts), and admin.
            Op::ConcludeGroup => &[Caller::Chair, Caller::ForumCoordinator, Caller::Admin],
            // The chair of the proposing group: `chair` is a stored role, which admin passes.
            Op::ProposeInstrumentForGroup => &[Caller::Chair, Caller::Admin],
        }
    }

    /// The `state` a successful call answers.
    fn outcome(self) -> &'static str {
        match self {
            Op::ScheduleMeeting | Op::MoveMeeting | Op::RescheduleMeeting | Op::ReorderAgenda => {
                "planned"
            }
            Op::StartMeeting => "in_session",
            Op::PostponeMeeting => "postponed",
            Op::CancelMeeting => "cancelled",
            Op::CloseMeeting => "held",
            Op::ProposeGroup | Op::ProposeInstrumentForState | Op::ProposeInstrumentForGroup => {
                "draft"
            }
            Op::SubmitProposal => "submitted",
            Op::PlaceOnAgenda => "on_agenda",
            Op::DeferProposal => "deferred",
            Op::WithdrawProposal => "withdrawn",
            Op::CastBallot => "in_favour",
            Op::CloseVote => "decided",
            Op::ConcludeGroup => "concluded",
            Op::RecordInstrument | Op::AdhereToInstrument => "adopted",
            Op::AbrogateInstrument => "abrogated",
        }
    }
}

/// What a call must answer: `ok`, or an error code.
fn expected(op: Op, caller: Caller) -> &'static str {
    if caller == Caller::Anonymous {
        "UNAUTHENTICATED"
    } else if op.allowed().contains(&caller) {
        "ok"
    } else {
        "FORBIDDEN"
    }
}

/// What a call answered: `ok` when it succeeded and did what the step does, else its error code.
fn verdict(op: Op, fixture: &Fixture, response: &Value) -> String {
    if response.get("errors").is_some() {
        return error_code(response).to_owned();
    }
    let result = &response["data"]["result"];
    if result["state"] != op.outcome() {
        return format!("answered state {}", result["state"]);
    }
    let done = match op {
        Op::MoveMeeting => result["startsAt"] == MOVED_STARTS_AT,
        Op::ReorderAgenda => {
            let order: Vec<&Value> = result["agenda"]
                .as_array()
                .map(|items| items.iter().map(|item| &item["id"]).collect())
                .unwrap_or_default();
            let wanted: Vec<&Value> = fixture.variables["items"]
                .as_array()
                .map(|items| items.iter().collect())
                .unwrap_or_default();
            order == wanted
        }
        Op::AdhereToInstrument => result["adherents"]["totalCount"] == 1,
        _ => true,
    };
    if done {
        "ok".to_owned()
    } else {
        format!("answered {result}")
    }
}

/// A subject in the state a mutation needs: the mutation's variables, and what a refusal must
/// leave as it was.
struct Fixture {
    variables: Value,
    witness: (&'static str, Value),
    before: Value,
}

/// One server, one forum (Korea and Estonia), the active groups G and H, and a user per caller.
struct World {
    app: TestApp,
    forum: String,
    korea: String,
    estonia: String,
    group: String,
    users: BTreeMap<Caller, TestUser>,
    serial: AtomicUsize,
}

fn id_of(data: &Value) -> String {
    data["result"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an id in {data}"))
        .to_owned()
}

/// A role to grant: the role, the scope's field (`forumId`, `groupId`, `memberStateId`), its id.
type Grant<'a> = (&'a str, &'a str, &'a str);

impl World {
    async fn new() -> World {
        let app = TestApp::spawn().await;
        let (forum, states) = app.forum("Digital Nations").await;
        let (korea, estonia) = (states[0].clone(), states[1].clone());
        let group = app.group(&forum, "Digital Governance").await;
        let other_group = app.group(&forum, "Data Governance").await;
        let mut users = BTreeMap::new();
        let people: [(Caller, &str, Option<Grant>); 8] = [
            (Caller::Outsider, "outsider@example.org", None),
            (
                Caller::ForumObserver,
                "observer@example.org",
                Some(("observer", "forumId", &forum)),
            ),
            (
                Caller::Expert,
                "expert@ee.example",
                Some(("expert", "groupId", &group)),
            ),
            (
                Caller::Chair,
                "chair@kr.example",
                Some(("chair", "groupId", &group)),
            ),
            (
                Caller::OtherChair,
                "chair@uy.example",
                Some(("chair", "groupId", &other_group)),
            ),
            (
                Caller::OtherRepresentative,
                "delegate@ee.example",
                Some(("representative", "memberStateId", &estonia)),
            ),
            (
                Caller::Representative,
                "delegate@kr.example",
                Some(("representative", "memberStateId", &korea)),
            ),
            (
                Caller::ForumCoordinator,
                "secretariat@dn.example",
                Some(("coordinator", "forumId", &forum)),
            ),
        ];
        for (caller, email, role) in people {
            let user = app.create_user(email, caller.label()).await;
            if let Some((role, scope, scope_id)) = role {
                app.grant(&user, role, scope, scope_id).await;
            }
            users.insert(caller, user);
        }
        users.insert(Caller::Admin, app.admin.clone());
        World {
            app,
            forum,
            korea,
            estonia,
            group,
            users,
            serial: AtomicUsize::new(1),
        }
    }

    fn user(&self, caller: Caller) -> Option<&TestUser> {
        self.users.get(&caller)
    }

    fn next(&self) -> usize {
        self.serial.fetch_add(1, Ordering::Relaxed)
    }

    async fn as_admin(&self, query: &str, variables: Value) -> Value {
        self.app.ok(query, variables, &self.app.admin).await
    }

    fn meeting_input(&self) -> Value {
        json!({
            "forumId": self.forum,
            "series": SERIES,
            "title": format!("Session {}", self.next()),
            "place": "Seoul",
            "timeZone": "Asia/Seoul",
            "startsAt": STARTS_AT,
            "endsAt": ENDS_AT,
            "reason": "The ministers meet in November",
        })
    }

    fn proposal_input(&self) -> Value {
        json!({
            "leadMemberStateId": self.korea,
            "name": format!("Proposed Group {}", self.next()),
            "theme": "Digital identity",
            "proposedChairId": self.users[&Caller::Chair].id.to_string(),
            "coSponsorIds": [self.estonia],
            "termsOfReference": "Terms of reference\nThe group shares research on digital identity.\n",
            "timeZone": "Asia/Seoul",
            "reason": "Korea proposes it",
        })
    }

    fn instrument_input(&self, proposer: (&str, &str)) -> Value {
        let mut input = json!({
            "forumId": self.forum,
            "kind": "recommendation",
            "title": format!("Recommendation {}", self.next()),
        });
        input[proposer.0] = json!(proposer.1);
        if proposer.0 == "proposingMemberStateId" {
            input["coSponsorIds"] = json!([self.estonia]);
        }
        input
    }

    fn recorded_input(&self) -> Value {
        json!({
            "forumId": self.forum,
            "kind": "recommendation",
            "title": format!("Recorded Recommendation {}", self.next()),
            "adoptedAt": "2014-07-15T12:00:00+02:00",
            "reason": "Adopted before govflow",
        })
    }

    /// A planned meeting.
    async fn meeting(&self) -> String {
        id_of(
            &self
                .as_admin(SCHEDULE, json!({ "input": self.meeting_input() }))
                .await,
        )
    }

    async fn in_session(&self) -> String {
        let meeting = self.meeting().await;
        self.as_admin(START, json!({ "id": meeting })).await;
        meeting
    }

    async fn postponed(&self) -> String {
        let meeting = self.meeting().await;
        self.as_admin(POSTPONE, json!({ "id": meeting })).await;
        meeting
    }

    /// A group proposed by Korea, in `draft`.
    async fn draft(&self) -> String {
        let data = self
            .app
            .ok(
                PROPOSE_GROUP,
                json!({ "input": self.proposal_input() }),
                &self.users[&Caller::Representative],
            )
            .await;
        id_of(&data)
    }

    async fn submitted(&self) -> String {
        let proposal = self.draft().await;
        self.app
            .ok(
                SUBMIT,
                json!({ "id": proposal }),
                &self.users[&Caller::Representative],
            )
            .await;
        proposal
    }

    async fn on_agenda(&self, meeting: &str) -> String {
        let proposal = self.submitted().await;
        self.as_admin(PLACE, json!({ "id": proposal, "meeting": meeting }))
            .await;
        proposal
    }

    async fn agenda(&self, meeting: &str) -> Vec<String> {
        let data = self
            .as_admin(
                "query($id: ID!) { meeting(id: $id) { agenda { id } } }",
                json!({ "id": meeting }),
            )
            .await;
        data["meeting"]["agenda"]
            .as_array()
            .expect("an agenda")
            .iter()
            .map(|item| item["id"].as_str().expect("an item id").to_owned())
            .collect()
    }

    /// The agenda item of a proposal whose vote is open: its meeting is in session.
    async fn open_vote(&self) -> String {
        let meeting = self.meeting().await;
        self.on_agenda(&meeting).await;
        self.as_admin(START, json!({ "id": meeting })).await;
        self.agenda(&meeting).await.remove(0)
    }

    async fn adopted_instrument(&self) -> String {
        id_of(
            &self
                .as_admin(RECORD, json!({ "input": self.recorded_input() }))
                .await,
        )
    }

    /// An active group other than G, whose chair and expert are the callers "chair of G" and
    /// "expert of G": concluding it must not end G, which the other rows need.
    async fn concludable_group(&self) -> String {
        let group = self
            .app
            .group(&self.forum, &format!("Group {}", self.next()))
            .await;
        self.app
            .grant(&self.users[&Caller::Chair], "chair", "groupId", &group)
            .await;
        self.app
            .grant(&self.users[&Caller::Expert], "expert", "groupId", &group)
            .await;
        group
    }

    async fn fixture(&self, op: Op) -> Fixture {
        let subject = |id: &str| (SUBJECT_WITNESS, json!({ "id": id }));
        let forum = (FORUM_WITNESS, json!({ "forum": self.forum }));
        let (variables, witness) = match op {
            Op::ScheduleMeeting => (json!({ "input": self.meeting_input() }), forum),
            Op::MoveMeeting => {
                let meeting = self.meeting().await;
                (
                    json!({
                        "id": meeting,
                        "startsAt": MOVED_STARTS_AT,
                        "endsAt": MOVED_ENDS_AT,
                        "reason": "The venue is booked that week",
                    }),
                    subject(&meeting),
                )
            }
            Op::StartMeeting | Op::PostponeMeeting => {
                let meeting = self.meeting().await;
                (json!({ "id": meeting }), subject(&meeting))
            }
            Op::RescheduleMeeting => {
                let meeting = self.postponed().await;
                (
                    json!({
                        "id": meeting,
                        "startsAt": RESCHEDULED_STARTS_AT,
                        "endsAt": RESCHEDULED_ENDS_AT,
                    }),
                    subject(&meeting),
                )
            }
            Op::CancelMeeting => {
                let meeting = self.meeting().await;
                (
                    json!({ "id": meeting, "reason": "The host withdrew" }),
                    subject(&meeting),
                )
            }
            // An empty agenda: nothing waits for a decision, so `votes_closed` lets it close.
            Op::CloseMeeting => {
                let meeting = self.in_session().await;
                (json!({ "id": meeting }), subject(&meeting))
            }
            Op::ReorderAgenda => {
                let meeting = self.meeting().await;
                self.on_agenda(&meeting).await;
                self.on_agenda(&meeting).await;
                let mut items = self.agenda(&meeting).await;
                items.reverse();
                (json!({ "id": meeting, "items": items }), subject(&meeting))
            }
            Op::ProposeGroup => (json!({ "input": self.proposal_input() }), forum),
            Op::SubmitProposal => {
                let proposal = self.draft().await;
                (json!({ "id": proposal }), subject(&proposal))
            }
            Op::PlaceOnAgenda => {
                let proposal = self.submitted().await;
                let meeting = self.meeting().await;
                (
                    json!({ "id": proposal, "meeting": meeting }),
                    subject(&proposal),
                )
            }
            Op::DeferProposal => {
                let meeting = self.meeting().await;
                let proposal = self.on_agenda(&meeting).await;
                (json!({ "id": proposal }), subject(&proposal))
            }
            Op::WithdrawProposal => {
                let proposal = self.submitted().await;
                (json!({ "id": proposal }), subject(&proposal))
            }
            Op::CastBallot => {
                let item = self.open_vote().await;
                (
                    json!({ "item": item, "state": self.korea }),
                    (ITEM_WITNESS, json!({ "id": item })),
                )
            }
            Op::CloseVote => {
                let item = self.open_vote().await;
                (
                    json!({ "item": item, "reason": "The ministers have voted" }),
                    (ITEM_WITNESS, json!({ "id": item })),
                )
            }
            Op::ConcludeGroup => {
                let group = self.concludable_group().await;
                (
                    json!({ "id": group, "reason": "The mandate is fulfilled" }),
                    subject(&group),
                )
            }
            Op::ProposeInstrumentForState => (
                json!({ "input": self.instrument_input(("proposingMemberStateId", &self.korea)) }),
                forum,
            ),
            Op::ProposeInstrumentForGroup => (
                json!({ "input": self.instrument_input(("proposingGroupId", &self.group)) }),
                forum,
            ),
            Op::RecordInstrument => (json!({ "input": self.recorded_input() }), forum),
            Op::AdhereToInstrument => {
                let instrument = self.adopted_instrument().await;
                (
                    json!({ "id": instrument, "state": self.estonia, "on": "2026-03-01" }),
                    subject(&instrument),
                )
            }
            Op::AbrogateInstrument => {
                let instrument = self.adopted_instrument().await;
                (
                    json!({ "id": instrument, "reason": "Superseded by a newer recommendation" }),
                    subject(&instrument),
                )
            }
        };
        let before = self.as_admin(witness.0, witness.1.clone()).await;
        Fixture {
            variables,
            witness,
            before,
        }
    }

    async fn unchanged(&self, fixture: &Fixture) -> bool {
        let now = self
            .as_admin(fixture.witness.0, fixture.witness.1.clone())
            .await;
        now == fixture.before
    }

    async fn call(&self, op: Op, caller: Caller, fixture: &Fixture) -> Value {
        self.app
            .gql(op.query(), fixture.variables.clone(), self.user(caller))
            .await
    }
}

/// The summary: a row per mutation, a column per caller; `!` marks a cell that differs from
/// what was expected.
fn table(results: &BTreeMap<(usize, Caller), (String, &'static str)>) -> String {
    let mut text = format!("{:<27}", "");
    for caller in CALLERS {
        let _ = write!(text, " {:<7}", caller.column());
    }
    text.push('\n');
    for (index, op) in OPS.iter().enumerate() {
        let _ = write!(text, "{:<27}", op.name());
        for caller in CALLERS {
            let cell = match results.get(&(index, caller)) {
                Some((got, wanted)) => {
                    let short = match got.as_str() {
                        "ok" => "ok",
                        "FORBIDDEN" => "forbid",
                        "UNAUTHENTICATED" => "unauth",
                        _ => "other",
                    };
                    let mark = if got == wanted { " " } else { "!" };
                    format!("{mark}{short}")
                }
                None => " -".to_owned(),
            };
            let _ = write!(text, " {cell:<7}");
        }
        text.push('\n');
    }
    text
}

#[tokio::test]
async fn each_lifecycle_mutation_is_taken_only_by_the_roles_allowed() {
    let world = World::new().await;
    let mut results = BTreeMap::new();
    let mut mismatches = Vec::new();
    for (index, op) in OPS.into_iter().enumerate() {
        let (allowed, refused): (Vec<Caller>, Vec<Caller>) = CALLERS
            .into_iter()
            .partition(|caller| expected(op, *caller) == "ok");

        // The refused callers share one subject, which none of them may change.
        let mut shared: Option<Fixture> = None;
        for caller in refused {
            let fixture = match shared.take() {
                Some(fixture) => fixture,
                None => world.fixture(op).await,
            };
            let response = world.call(op, caller, &fixture).await;
            let got = verdict(op, &fixture, &response);
            let wanted = expected(op, caller);
            if got != wanted {
                mismatches.push(format!(
                    "{} by {}: expected {wanted}, got {got}: {response}",
                    op.name(),
                    caller.label()
                ));
            }
            // A call that went through used the subject up; the next caller gets a fresh one.
            if response.get("errors").is_some() {
                shared = Some(fixture);
            }
            results.insert((index, caller), (got, wanted));
        }
        if let Some(fixture) = shared
            && !world.unchanged(&fixture).await
        {
            mismatches.push(format!(
                "{}: a refused call changed {}",
                op.name(),
                fixture.witness.1
            ));
        }

        // Each caller allowed acts on a subject of its own, since a success moves it on.
        for caller in allowed {
            let fixture = world.fixture(op).await;
            let response = world.call(op, caller, &fixture).await;
            let got = verdict(op, &fixture, &response);
            if got != "ok" {
                mismatches.push(format!(
                    "{} by {}: expected ok, got {got}: {response}",
                    op.name(),
                    caller.label()
                ));
            }
            results.insert((index, caller), (got, "ok"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}\n{}",
        table(&results),
        mismatches.join("\n")
    );
}
