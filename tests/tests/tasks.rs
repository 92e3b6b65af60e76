//! Research tasks through the public surface: fifty experts claiming one task at once (on one
//! server and on two sharing the database), who may claim, the claim limit, a lease that runs
//! out with its reminders, and a delivery returned, resubmitted and accepted.

use chrono::Duration;
use govflow_engine::deadlines::scheduler::run_due;
use govflow_engine::entities::outbox_message;
use govflow_engine::workflow::subjects;
use govflow_tests::{TestApp, TestUser, error_code, error_message};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

const TASK: &str = "query($id: ID!) { task(id: $id) { state version assigned claimant { id } deliverableText history(first: 20) { nodes { transition fromState toState actorKind actor { id } } } } }";
const CLAIM: &str = "mutation($id: ID!) { claimTask(id: $id) { state claimant { id } } }";

struct Plan {
    app: TestApp,
    forum: String,
    group: String,
    chair: TestUser,
}

impl Plan {
    async fn start() -> Plan {
        let app = TestApp::spawn().await;
        let (forum, _) = app.forum("Digital Nations").await;
        let group = app.group(&forum, "Data Governance").await;
        let chair = app.create_user("chair@example.org", "Chair").await;
        app.grant(&chair, "chair", "groupId", &group).await;
        Plan {
            app,
            forum,
            group,
            chair,
        }
    }

    async fn expert(&self, n: usize) -> TestUser {
        let expert = self
            .app
            .create_user(&format!("expert{n}@example.org"), &format!("Expert {n}"))
            .await;
        self.app
            .grant(&expert, "expert", "groupId", &self.group)
            .await;
        expert
    }

    async fn task(&self, title: &str) -> String {
        let data = self
            .app
            .ok(
                "mutation($input: CreateTaskInput!) { createTask(input: $input) { id state } }",
                json!({ "input": { "groupId": self.group, "title": title } }),
                &self.chair,
            )
            .await;
        assert_eq!(data["createTask"]["state"], "open");
        data["createTask"]["id"].as_str().unwrap().to_owned()
    }

    async fn read(&self, id: &str) -> Value {
        self.app.ok(TASK, json!({ "id": id }), &self.chair).await["task"].clone()
    }
}

/// Fifty experts claim one task at once, through the addresses given in turn: one claim wins,
/// the other 49 are ALREADY_CLAIMED naming the winner, and the history has one claim.
async fn race(plan: &Plan, addresses: &[String]) -> (usize, usize) {
    let mut experts = Vec::new();
    for n in 0..50 {
        experts.push(plan.expert(n).await);
    }
    let task = plan.task("Survey of national data strategies").await;
    let mut calls = Vec::new();
    for (n, expert) in experts.iter().enumerate() {
        let address = addresses[n % addresses.len()].clone();
        let client = plan.app.client.clone();
        let token = expert.token.clone();
        let body = json!({ "query": CLAIM, "variables": { "id": task } });
        calls.push(tokio::spawn(async move {
            client
                .post(format!("{address}/graphql"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }));
    }
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|a| a.get("errors").is_none())
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    let winner_id = winners[0]["data"]["claimTask"]["claimant"]["id"]
        .as_str()
        .unwrap();
    let winner = experts
        .iter()
        .find(|e| e.id.to_string() == winner_id)
        .unwrap();
    let winner_name = winner
        .email
        .split('@')
        .next()
        .unwrap()
        .replace("expert", "Expert ");
    let losers: Vec<&Value> = answers
        .iter()
        .filter(|a| a.get("errors").is_some())
        .collect();
    for loser in &losers {
        assert_eq!(error_code(loser), "ALREADY_CLAIMED", "{loser}");
        assert!(error_message(loser).contains(&winner_name), "{loser}");
    }
    let read = plan.read(&task).await;
    assert_eq!(read["state"], "claimed");
    assert_eq!(read["claimant"]["id"], json!(winner_id));
    let claims = read["history"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|node| node["transition"] == "claim")
        .count();
    assert_eq!(claims, 1);
    eprintln!(
        "claim race over {} server(s): {} winner, {} ALREADY_CLAIMED",
        addresses.len(),
        winners.len(),
        losers.len()
    );
    (winners.len(), losers.len())
}

#[tokio::test]
async fn fifty_experts_claim_one_task_at_once_and_exactly_one_wins() {
    let plan = Plan::start().await;
    let address = plan.app.address.clone();
    assert_eq!(race(&plan, &[address]).await, (1, 49));
}

#[tokio::test]
async fn the_claim_race_has_one_winner_across_two_servers() {
    let plan = Plan::start().await;
    let peer = plan.app.spawn_peer(None).await;
    let addresses = [plan.app.address.clone(), peer.address.clone()];
    assert_eq!(race(&plan, &addresses).await, (1, 49));
}

#[tokio::test]
async fn only_the_groups_experts_claim_within_their_limit() {
    let plan = Plan::start().await;
    let task = plan.task("Interoperability review").await;
    let outsider = plan
        .app
        .create_user("outsider@example.org", "Outsider")
        .await;
    let refused = plan
        .app
        .gql(CLAIM, json!({ "id": task }), Some(&outsider))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let other_group = plan.app.group(&plan.forum, "Cybersecurity").await;
    let stranger = plan
        .app
        .create_user("stranger@example.org", "Stranger")
        .await;
    plan.app
        .grant(&stranger, "expert", "groupId", &other_group)
        .await;
    let refused = plan
        .app
        .gql(CLAIM, json!({ "id": task }), Some(&stranger))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");

    // A limit of one claimed task across the forum.
    plan.app
        .ok(
            "mutation($id: ID!) { updateForum(id: $id, input: { settings: { claimLimit: 1 } }) { id } }",
            json!({ "id": plan.forum }),
            &plan.app.admin,
        )
        .await;
    let expert = plan.expert(1).await;
    plan.app.ok(CLAIM, json!({ "id": task }), &expert).await;
    let second = plan.task("Second review").await;
    let refused = plan
        .app
        .gql(CLAIM, json!({ "id": second }), Some(&expert))
        .await;
    assert_eq!(error_code(&refused), "GUARD_FAILED", "{refused}");
    assert!(
        error_message(&refused).contains("within_claim_limit"),
        "{refused}"
    );
    // Claiming one's own claim again is no race lost: it is not possible from `claimed`.
    let again = plan
        .app
        .gql(CLAIM, json!({ "id": task }), Some(&expert))
        .await;
    assert_eq!(error_code(&again), "INVALID_TRANSITION", "{again}");

    // A cancelled task cannot be claimed.
    plan.app
        .ok(
            "mutation($id: ID!) { cancelTask(id: $id, reason: \"Merged\") { state } }",
            json!({ "id": second }),
            &plan.chair,
        )
        .await;
    let other = plan.expert(2).await;
    let refused = plan
        .app
        .gql(CLAIM, json!({ "id": second }), Some(&other))
        .await;
    assert_eq!(error_code(&refused), "INVALID_TRANSITION", "{refused}");

    // Only an assigned task may be declined; a claimed one is released.
    let refused = plan
        .app
        .gql(
            "mutation($id: ID!) { declineTask(id: $id) { state } }",
            json!({ "id": task }),
            Some(&expert),
        )
        .await;
    assert_eq!(error_code(&refused), "GUARD_FAILED", "{refused}");
    let released = plan
        .app
        .ok(
            "mutation($id: ID!) { releaseTask(id: $id) { state claimant { id } } }",
            json!({ "id": task }),
            &expert,
        )
        .await;
    assert_eq!(
        released["releaseTask"],
        json!({ "state": "open", "claimant": null })
    );

    // The chair assigns it to an expert of the group only; the assignee may decline.
    let refused = plan
        .app
        .gql(
            "mutation($id: ID!, $e: ID!) { assignTask(id: $id, expertId: $e) { state } }",
            json!({ "id": task, "e": stranger.id.to_string() }),
            Some(&plan.chair),
        )
        .await;
    assert_eq!(error_code(&refused), "INVALID_INPUT", "{refused}");
    assert!(
        error_message(&refused).contains("input.expertId"),
        "{refused}"
    );
    let assigned = plan
        .app
        .ok(
            "mutation($id: ID!, $e: ID!) { assignTask(id: $id, expertId: $e) { state assigned claimant { id } } }",
            json!({ "id": task, "e": other.id.to_string() }),
            &plan.chair,
        )
        .await;
    assert_eq!(assigned["assignTask"]["assigned"], true);
    let declined = plan
        .app
        .ok(
            "mutation($id: ID!) { declineTask(id: $id, reason: \"No time this quarter\") { state } }",
            json!({ "id": task }),
            &other,
        )
        .await;
    assert_eq!(declined["declineTask"]["state"], "open");

    // Only the caller's groups' open tasks are claimable.
    let claimable = "query { claimableTasks(first: 10) { totalCount nodes { title } } }";
    let mine = plan.app.ok(claimable, json!({}), &other).await;
    assert_eq!(mine["claimableTasks"]["totalCount"], 1);
    assert_eq!(
        mine["claimableTasks"]["nodes"][0]["title"],
        "Interoperability review"
    );
    let theirs = plan.app.ok(claimable, json!({}), &stranger).await;
    assert_eq!(theirs["claimableTasks"]["totalCount"], 0);

    // A group that is not active takes no new tasks.
    plan.app
        .ok(
            "mutation($id: ID!) { transition(subjectId: $id, name: \"conclude\", reason: \"Mandate fulfilled\") { state } }",
            json!({ "id": plan.group }),
            &plan.chair,
        )
        .await;
    let refused = plan
        .app
        .gql(
            "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }",
            json!({ "input": { "groupId": plan.group, "title": "Too late" } }),
            Some(&plan.chair),
        )
        .await;
    assert_eq!(error_code(&refused), "GUARD_FAILED", "{refused}");
    assert!(
        error_message(&refused).contains("group_active"),
        "{refused}"
    );
}

/// (recipient, subject line) of the reminder e-mails, in order.
async fn reminders(app: &TestApp) -> Vec<(String, String)> {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::Template.eq("deadline_reminder"))
        .order_by_asc(outbox_message::Column::CreatedAt)
        .all(app.engine.db())
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.recipient_email, row.subject_line))
        .collect()
}

#[tokio::test]
async fn an_unsubmitted_claim_runs_out_after_reminding_the_claimant() {
    let plan = Plan::start().await;
    let expert = plan.expert(1).await;
    let task = plan.task("Case studies").await;
    plan.app.ok(CLAIM, json!({ "id": task }), &expert).await;
    let lease = plan
        .app
        .ok(
            "query($id: ID!) { deadlines(subjectId: $id) { nodes { title graceDays metBy onMissed occurrences { nodes { dueAt } } } } }",
            json!({ "id": task }),
            &expert,
        )
        .await;
    let lease = &lease["deadlines"]["nodes"][0];
    assert_eq!(lease["metBy"], "submit");
    assert_eq!(lease["onMissed"], "expire");
    assert_eq!(lease["graceDays"], 0);
    // The harness's clock starts on 2 March 2026 at 09:00 in Seoul; the lease runs 30 days.
    assert_eq!(
        lease["occurrences"]["nodes"][0]["dueAt"],
        "2026-04-01T09:00:00+09:00"
    );
    let start = plan.app.engine.now();
    for (days, expected) in [(23, 1), (29, 2)] {
        plan.app.clock.set(start + Duration::days(days));
        run_due(&plan.app.engine).await.unwrap();
        let sent = reminders(&plan.app).await;
        assert_eq!(sent.len(), expected, "{sent:?}");
        assert_eq!(sent[expected - 1].0, "expert1@example.org");
    }
    // Run out: the chair is told, and the task is open again, taken back by the engine.
    plan.app
        .clock
        .set(start + Duration::days(30) + Duration::minutes(1));
    run_due(&plan.app.engine).await.unwrap();
    let sent = reminders(&plan.app).await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[2].0, "chair@example.org");
    let read = plan.read(&task).await;
    assert_eq!(read["state"], "open");
    assert_eq!(read["claimant"], Value::Null);
    let last = read["history"]["nodes"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["transition"], "expire");
    assert_eq!(last["actorKind"], "system");
}

#[tokio::test]
async fn a_delivery_is_returned_resubmitted_and_accepted_step_by_step() {
    let plan = Plan::start().await;
    let expert = plan.expert(1).await;
    let topic = plan
        .app
        .ok(
            "mutation($g: ID!) { createTopic(input: { groupId: $g, title: \"Digital identity\" }) { id position } }",
            json!({ "g": plan.group }),
            &plan.chair,
        )
        .await;
    let topic = topic["createTopic"]["id"].as_str().unwrap().to_owned();
    let data = plan
        .app
        .ok(
            "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }",
            json!({ "input": { "groupId": plan.group, "topicId": topic, "title": "eID comparison", "dueAt": "2026-06-30T17:00" } }),
            &plan.chair,
        )
        .await;
    let task = data["createTask"]["id"].as_str().unwrap().to_owned();
    plan.app.ok(CLAIM, json!({ "id": task }), &expert).await;
    let submit = "mutation($id: ID!, $text: String) { submitTask(id: $id, text: $text) { state deliverableText } }";
    let refused = plan
        .app
        .gql(submit, json!({ "id": task }), Some(&expert))
        .await;
    assert_eq!(error_code(&refused), "INVALID_INPUT", "{refused}");
    let refused = plan
        .app
        .gql(
            submit,
            json!({ "id": task, "text": "Draft" }),
            Some(&plan.chair),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    plan.app
        .ok(
            submit,
            json!({ "id": task, "text": "First comparison" }),
            &expert,
        )
        .await;
    let refused = plan
        .app
        .gql(
            "mutation($id: ID!) { returnTask(id: $id, reason: \"\") { state } }",
            json!({ "id": task }),
            Some(&plan.chair),
        )
        .await;
    assert_eq!(error_code(&refused), "INVALID_INPUT", "{refused}");
    plan.app
        .ok(
            "mutation($id: ID!) { returnTask(id: $id, reason: \"Add Estonia\") { state } }",
            json!({ "id": task }),
            &plan.chair,
        )
        .await;
    let done = plan
        .app
        .ok(
            submit,
            json!({ "id": task, "text": "Comparison with Estonia" }),
            &expert,
        )
        .await;
    assert_eq!(
        done["submitTask"]["deliverableText"],
        "Comparison with Estonia"
    );
    plan.app
        .ok(
            "mutation($id: ID!) { acceptTask(id: $id) { state acceptedAt } }",
            json!({ "id": task }),
            &plan.chair,
        )
        .await;
    let read = plan.read(&task).await;
    assert_eq!(read["state"], "accepted");
    let steps: Vec<(String, String)> = read["history"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            (
                node["transition"].as_str().unwrap().to_owned(),
                node["actor"]["id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let (chair, expert_id) = (plan.chair.id.to_string(), expert.id.to_string());
    assert_eq!(
        steps,
        [
            ("create".to_owned(), chair.clone()),
            ("claim".to_owned(), expert_id.clone()),
            ("submit".to_owned(), expert_id.clone()),
            ("return".to_owned(), chair.clone()),
            ("submit".to_owned(), expert_id.clone()),
            ("accept".to_owned(), chair.clone()),
        ]
    );
    // The due date was met by the acceptance, and both leases by the submissions: nothing is
    // left to remind anyone of.
    let due = plan
        .app
        .ok(
            "query($id: ID!) { deadlines(subjectId: $id) { nodes { title metBy occurrences { nodes { dueAt state } } } } }",
            json!({ "id": task }),
            &expert,
        )
        .await;
    let due = due["deadlines"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|deadline| deadline["metBy"] == "accept")
        .unwrap()
        .clone();
    assert_eq!(due["title"], "Due: eID comparison");
    assert_eq!(
        due["occurrences"]["nodes"][0],
        json!({ "dueAt": "2026-06-30T17:00:00+09:00", "state": "met" })
    );
    plan.app.clock.advance(Duration::days(60));
    run_due(&plan.app.engine).await.unwrap();
    assert!(reminders(&plan.app).await.is_empty());
    let plan_view = plan
        .app
        .ok(
            "query($g: ID!) { workPlan(groupId: $g) { title position tasks(first: 5) { nodes { title state } } } }",
            json!({ "g": plan.group }),
            &expert,
        )
        .await;
    assert_eq!(
        plan_view["workPlan"],
        json!([{ "title": "Digital identity", "position": 1, "tasks": { "nodes": [{ "title": "eID comparison", "state": "accepted" }] } }])
    );
    let mine = plan
        .app
        .ok(
            "query { myTasks(state: \"accepted\") { totalCount } }",
            json!({}),
            &expert,
        )
        .await;
    assert_eq!(mine["myTasks"]["totalCount"], 1);
    // Accepted in 2026: one of that year's outcomes, none of 2025's.
    let outcomes = "query($g: ID!, $y: Int!) { outcomes(groupId: $g, year: $y) { totalCount nodes { title } } }";
    let this_year = plan
        .app
        .ok(outcomes, json!({ "g": plan.group, "y": 2026 }), &expert)
        .await;
    assert_eq!(this_year["outcomes"]["nodes"][0]["title"], "eID comparison");
    let last_year = plan
        .app
        .ok(outcomes, json!({ "g": plan.group, "y": 2025 }), &expert)
        .await;
    assert_eq!(last_year["outcomes"]["totalCount"], 0);
    let refused = plan
        .app
        .gql(
            outcomes,
            json!({ "g": plan.group, "y": 100000 }),
            Some(&expert),
        )
        .await;
    assert_eq!(error_code(&refused), "INVALID_INPUT", "{refused}");
    let refused = plan
        .app
        .gql(TASK, json!({ "id": "not-an-id" }), Some(&expert))
        .await;
    assert_eq!(error_code(&refused), "INVALID_INPUT", "{refused}");
}

/// A page of groups shows each group's chair and its task counts by state, from loaders that
/// read every group of the page at once.
#[tokio::test]
async fn a_groups_page_shows_each_chair_and_task_counts() {
    let plan = Plan::start().await;
    let other = plan.app.group(&plan.forum, "Open Data").await;
    let expert = plan.expert(1).await;
    let first = plan.task("Survey of national data strategies").await;
    plan.task("Study of data trusts").await;
    let third = plan.task("Review of open licences").await;
    plan.app.ok(CLAIM, json!({ "id": first }), &expert).await;
    plan.app
        .ok(
            "mutation($id: ID!) { cancelTask(id: $id) { state } }",
            json!({ "id": third }),
            &plan.chair,
        )
        .await;
    let data = plan
        .app
        .ok(
            "query($f: ID!) { groups(forumId: $f, first: 10) { nodes { id chair { name } taskCounts { open claimed submitted accepted cancelled } } } }",
            json!({ "f": plan.forum }),
            &plan.app.admin,
        )
        .await;
    let nodes = data["groups"]["nodes"].as_array().unwrap();
    let of = |id: &str| nodes.iter().find(|node| node["id"] == id).unwrap();
    let ours = of(&plan.group);
    assert_eq!(ours["chair"]["name"], "Chair");
    assert_eq!(
        ours["taskCounts"],
        json!({ "open": 1, "claimed": 1, "submitted": 0, "accepted": 0, "cancelled": 1 })
    );
    let theirs = of(&other);
    assert_eq!(theirs["chair"], Value::Null);
    assert_eq!(
        theirs["taskCounts"],
        json!({ "open": 0, "claimed": 0, "submitted": 0, "accepted": 0, "cancelled": 0 })
    );
}

/// What a task's notices and role checks see of it, read in one statement: its title, group,
/// forum and zone, and its claimant once claimed.
#[tokio::test]
async fn a_task_is_seen_with_its_group_forum_and_claimant() {
    let plan = Plan::start().await;
    let expert = plan.expert(1).await;
    let task = plan.task("Survey of national data strategies").await;
    let id: uuid::Uuid = task.parse().unwrap();
    let engine = &plan.app.engine;
    let before = engine.statements_executed();
    let open = subjects::info(engine, engine.db(), "task", id)
        .await
        .unwrap();
    assert_eq!(engine.statements_executed() - before, 1);
    assert_eq!(open.fields["title"], "Survey of national data strategies");
    assert_eq!(open.fields["group_name"], "Data Governance");
    assert_eq!(open.fields["claimant"], Value::Null);
    assert_eq!(open.forum["id"], json!(plan.forum));
    assert_eq!(open.forum["name"], "Digital Nations");
    assert_eq!(open.scope.group_id, Some(plan.group.parse().unwrap()));
    assert_eq!(open.scope.claimant_id, None);

    plan.app.ok(CLAIM, json!({ "id": task }), &expert).await;
    let claimed = subjects::info(engine, engine.db(), "task", id)
        .await
        .unwrap();
    assert_eq!(claimed.fields["claimant"], "Expert 1");
    assert_eq!(claimed.scope.claimant_id, Some(expert.id));
    assert_eq!(claimed.time_zone, open.time_zone);
}
