//! Agents and realtime end to end: real websocket clients against the real server.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::{
    actors::hub::CountSubscribers,
    config::{ReplyPolicy, Visibility},
    domain::types::Role,
    http::{openapi, API_ROUTES, EDGE_ROUTES},
    protocol::ServerEvent,
};

use crate::{
    both_backends,
    helpers::{eventually, status_json, Backend, TestApp, WsClient},
};

const STEP: Duration = Duration::from_secs(5);

fn is(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["type"] == kind
}

fn restricted(s: &mut switchboard::config::Settings) {
    s.access.visibility = Visibility::AssignedAndUnassigned;
}

async fn a_customer_message_is_pushed_at_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    let hello = ws.next_json(STEP).await.expect("hello");
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["agent"]["role"], "admin");

    let id = app
        .customer_writes("m1", "c1", "Do you ship to Canada?")
        .await;
    let frames = ws
        .until("message.created", STEP, |v| {
            v["type"] == "message.created" && v["message"]["author"] == "customer"
        })
        .await;
    let created = frames.last().expect("frame");
    assert_eq!(created["conversation_id"], id.as_str());
    assert_eq!(created["message"]["text"], "Do you ship to Canada?");
    // And the assistant's answer follows, with the conversation updates.
    ws.until("assistant reply", STEP, |v| {
        v["type"] == "message.created" && v["message"]["author"] == "assistant"
    })
    .await;
    // seq strictly increases across everything received.
    let mut all = frames;
    all.extend(ws.drain(Duration::from_millis(300)).await);
    let seqs: Vec<u64> = all.iter().filter_map(|v| v["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

async fn resume_replays_exactly_the_missed_events(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    ws.next_json(STEP).await.expect("hello");
    app.customer_writes("m1", "c1", "talk to a human").await;
    let seen = ws.until("handoff", STEP, is("handoff.requested")).await;
    let since = seen
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .max()
        .expect("seq");
    ws.drain(Duration::from_millis(200)).await;
    drop(ws);

    // Missed while disconnected: two customers, one answered by the assistant.
    app.customer_writes("m2", "c2", "What are your opening hours?")
        .await;
    app.customer_writes("m3", "c1", "hello? anyone there?")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // What the server says was missed, by polling…
    let (s, polled) = app.get(&token, &format!("/api/events?since={since}")).await;
    assert_eq!(s, 200);
    assert_eq!(polled["reload"], false);
    let expected: Vec<u64> = polled["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] != "typing" && e["type"] != "presence")
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    assert!(expected.len() >= 6, "{polled}");

    // …is exactly what the websocket replays on resume, in order, before `resumed`.
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    ws.next_json(STEP).await.expect("hello");
    ws.send_json(&json!({"type": "resume", "since": since}))
        .await;
    let replay = ws.until("resumed", STEP, is("resumed")).await;
    let replayed: Vec<u64> = replay
        .iter()
        .filter(|e| e["type"] != "typing" && e["type"] != "presence" && e["type"] != "resumed")
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    assert_eq!(replayed, expected);
    let texts: Vec<&str> = replay
        .iter()
        .filter(|e| e["type"] == "message.created")
        .filter_map(|e| e["message"]["text"].as_str())
        .collect();
    assert!(
        texts.contains(&"What are your opening hours?") && texts.contains(&"hello? anyone there?"),
        "{texts:?}"
    );

    // New events continue after the replay, never repeating it.
    app.customer_writes("m4", "c2", "thanks").await;
    let live = ws
        .until("live after replay", STEP, |v| {
            v["type"] == "message.created"
        })
        .await;
    let first_live = live
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .min()
        .expect("seq");
    assert!(first_live > *expected.last().expect("some"));

    // Resuming from before this server started means: reload.
    ws.send_json(&json!({"type": "resume", "since": 5})).await;
    let reload = ws.until("reload", STEP, is("reload")).await;
    assert!(
        reload.last().expect("frame")["latest"]
            .as_u64()
            .expect("latest")
            >= first_live
    );
    let (_, polled) = app.get(&token, "/api/events?since=5").await;
    assert_eq!(polled["reload"], true);
}

/// Resume and polling at their edges: a cursor ahead of the server reloads; a second resume on
/// one socket does not send again what the socket already carried; a frame over the limit
/// gets an error frame, then the close (1009).
async fn resume_and_polling_edge_cases(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    let hello = ws.next_json(STEP).await.expect("hello");
    let start = hello["latest"].as_u64().expect("latest");
    app.customer_writes("m1", "c1", "talk to a human").await;
    let first = ws.until("the events", STEP, is("badge")).await;
    assert!(!first.is_empty());

    // Ahead of the server: reload, on the socket and when polling.
    ws.send_json(&json!({"type": "resume", "since": u64::MAX / 2}))
        .await;
    let reload = ws.until("reload", STEP, is("reload")).await;
    let latest = reload.last().expect("frame")["latest"]
        .as_u64()
        .expect("latest");
    assert!(latest > start);
    let (_, polled) = app
        .get(&token, &format!("/api/events?since={}", latest + 1000))
        .await;
    assert_eq!(polled["reload"], true, "{polled}");

    // Two resumes from the start on the same socket: nothing the socket carried comes again.
    for _ in 0..2 {
        ws.send_json(&json!({"type": "resume", "since": start}))
            .await;
        let frames = ws.until("resumed", STEP, is("resumed")).await;
        assert_eq!(
            frames.len(),
            1,
            "no event is sent twice on one socket: {frames:?}"
        );
    }

    // Over 16 KiB: told why, then closed with 1009.
    ws.send_json(&json!({"type": "ping", "pad": "x".repeat(20 * 1024)}))
        .await;
    let err = ws.next_json(STEP).await.expect("an error frame first");
    assert_eq!(err["error"], "frame_too_large", "{err}");
    assert_eq!(ws.closed(STEP).await.map(|(code, _)| code), Some(1009));
}

async fn visibility_holds_on_rest_and_websocket(b: Backend) {
    let app = TestApp::spawn_with(b, restricted).await;
    let admin = app.login().await;
    let (a_id, a) = app.agent("a@test.local", Role::Agent).await;
    let (_, bb) = app.agent("b@test.local", Role::Agent).await;
    let mine = app.customer_writes("m1", "c1", "talk to a human").await;
    let open = app.customer_writes("m2", "c2", "talk to a human").await;
    let (s, _) = app
        .post(
            &admin,
            &format!("/api/conversations/{mine}/assign"),
            &json!({"agent_id": a_id}),
        )
        .await;
    assert_eq!(s, 200);

    // REST: B cannot see A's conversation at all; both see the unassigned one.
    for path in [
        format!("/api/conversations/{mine}"),
        format!("/api/conversations/{mine}/messages"),
    ] {
        let (s, e) = app.get(&bb, &path).await;
        assert_eq!((s, e["error"].as_str()), (404, Some("not_found")), "{path}");
    }
    let (s, _) = app
        .post(
            &bb,
            &format!("/api/conversations/{mine}/status"),
            &json!({"status": "closed"}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(
            &bb,
            &format!("/api/conversations/{mine}/messages"),
            &json!({"text": "hi"}),
        )
        .await;
    assert_eq!(s, 404);
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (_, list_b) = app.get(&bb, "/api/conversations").await;
    assert_eq!(ids(&list_b), vec![open.clone()]);
    let (_, list_a) = app.get(&a, "/api/conversations").await;
    assert_eq!(ids(&list_a).len(), 2);
    let (_, badge_b) = app.get(&bb, "/api/badge").await;
    let (_, badge_a) = app.get(&a, "/api/badge").await;
    let (_, badge_admin) = app.get(&admin, "/api/badge").await;
    assert_eq!(
        (
            badge_b["count"].as_i64(),
            badge_a["count"].as_i64(),
            badge_admin["count"].as_i64()
        ),
        (Some(1), Some(2), Some(2))
    );

    // Websocket: a message in A's conversation reaches A and the admin, never B.
    let mut ws_a = WsClient::connect(&app.base, &a, None).await;
    let mut ws_b = WsClient::connect(&app.base, &bb, None).await;
    ws_a.next_json(STEP).await.expect("hello");
    ws_b.next_json(STEP).await.expect("hello");
    app.customer_writes("m3", "c1", "secret order number 42")
        .await;
    app.customer_writes("m4", "c2", "public question").await;
    ws_a.until("a sees its message", STEP, |v| {
        v["message"]["text"] == "secret order number 42"
    })
    .await;
    let frames_b = ws_b
        .until("b sees the open one", STEP, |v| {
            v["message"]["text"] == "public question"
        })
        .await;
    let extra_b = ws_b.drain(Duration::from_millis(300)).await;
    for f in frames_b.iter().chain(extra_b.iter()) {
        assert_ne!(
            f["conversation_id"],
            mine.as_str(),
            "B must not see A's conversation: {f}"
        );
    }
    // Nor in a replay.
    let (_, polled) = app.get(&bb, "/api/events?since=0").await;
    assert_eq!(polled["reload"], true);
}

async fn live_reassignment_is_seen_by_both_agents(b: Backend) {
    let app = TestApp::spawn_with(b, restricted).await;
    let (_, sup) = app.agent("sup@test.local", Role::Supervisor).await;
    let (a_id, a) = app.agent("a@test.local", Role::Agent).await;
    let (b_id, bb) = app.agent("b@test.local", Role::Agent).await;
    let id = app.customer_writes("m1", "c1", "talk to a human").await;
    app.post(
        &sup,
        &format!("/api/conversations/{id}/assign"),
        &json!({"agent_id": a_id}),
    )
    .await;

    let mut ws_a = WsClient::connect(&app.base, &a, None).await;
    let mut ws_b = WsClient::connect(&app.base, &bb, None).await;
    ws_a.next_json(STEP).await.expect("hello");
    ws_b.next_json(STEP).await.expect("hello");

    let (s, conv) = app
        .post(
            &sup,
            &format!("/api/conversations/{id}/assign"),
            &json!({"agent_id": b_id}),
        )
        .await;
    assert_eq!(
        (s, conv["assignee_id"].as_str()),
        (200, Some(b_id.as_str()))
    );
    let assigned_to_b = |v: &Value| {
        v["type"] == "conversation.updated" && v["conversation"]["assignee_id"] == b_id.as_str()
    };
    // A is told it left, and to whom; B sees it arrive.
    let seen = ws_a
        .until("A is told it is gone", STEP, is("conversation.hidden"))
        .await;
    let hidden = seen.last().expect("frame");
    assert_eq!(
        (
            &hidden["conversation_id"],
            &hidden["reason"],
            &hidden["assignee_id"],
            &hidden["assignee_name"]
        ),
        (
            &json!(id),
            &json!("reassigned"),
            &json!(b_id),
            &json!("b@test.local")
        ),
        "{hidden}"
    );
    assert!(
        seen.iter().all(|f| !assigned_to_b(f)),
        "A no longer gets the conversation's state: {seen:?}"
    );
    ws_b.until("B sees the reassignment", STEP, assigned_to_b)
        .await;
    let (s, _) = app.get(&a, &format!("/api/conversations/{id}")).await;
    assert_eq!(s, 404, "gone from A");
    let (s, _) = app.get(&bb, &format!("/api/conversations/{id}")).await;
    assert_eq!(s, 200, "arrived at B");

    // From now on only B gets its events.
    app.customer_writes("m2", "c1", "are you there?").await;
    ws_b.until("B gets the new message", STEP, |v| {
        v["message"]["text"] == "are you there?"
    })
    .await;
    for f in ws_a.drain(Duration::from_millis(400)).await {
        assert_ne!(f["type"], "message.created", "A must not get it: {f}");
    }
}

/// Alice (restricted) sees an unassigned conversation; an admin gives it to Bob: Alice is
/// told it is gone and why, supervisors keep it, Bob gets it.
async fn everyone_who_loses_sight_of_a_conversation_is_told(b: Backend) {
    let app = TestApp::spawn_with(b, restricted).await;
    let admin = app.login().await;
    let (_, sup) = app.agent("sup@test.local", Role::Supervisor).await;
    let (_, alice) = app.agent("alice@test.local", Role::Agent).await;
    let (bob_id, bob) = app.agent("bob@test.local", Role::Agent).await;
    let id = app.customer_writes("m1", "c1", "talk to a human").await;
    let (s, _) = app.get(&alice, &format!("/api/conversations/{id}")).await;
    assert_eq!(s, 200, "Alice sees the unassigned conversation");

    let mut ws_alice = WsClient::connect(&app.base, &alice, None).await;
    let mut ws_sup = WsClient::connect(&app.base, &sup, None).await;
    let mut ws_bob = WsClient::connect(&app.base, &bob, None).await;
    for ws in [&mut ws_alice, &mut ws_sup, &mut ws_bob] {
        ws.next_json(STEP).await.expect("hello");
    }
    let (s, _) = app
        .post(
            &admin,
            &format!("/api/conversations/{id}/assign"),
            &json!({"agent_id": bob_id}),
        )
        .await;
    assert_eq!(s, 200);
    let hidden = ws_alice
        .until("Alice is told", STEP, is("conversation.hidden"))
        .await
        .pop()
        .expect("frame");
    assert_eq!(hidden["conversation_id"], json!(id), "{hidden}");
    assert_eq!(hidden["assignee_name"], "bob@test.local", "{hidden}");
    ws_bob
        .until("Bob gets it", STEP, |v| {
            v["type"] == "conversation.updated" && v["conversation"]["assignee_id"] == json!(bob_id)
        })
        .await;
    let sup_frames = ws_sup
        .until(
            "the supervisor sees the change",
            STEP,
            is("conversation.updated"),
        )
        .await;
    for f in sup_frames
        .iter()
        .chain(ws_sup.drain(Duration::from_millis(300)).await.iter())
        .chain(ws_bob.drain(Duration::from_millis(300)).await.iter())
    {
        assert_ne!(f["type"], "conversation.hidden", "only who lost sight: {f}");
    }
    let (s, _) = app.get(&alice, &format!("/api/conversations/{id}")).await;
    assert_eq!(s, 404);
    // The thread names who did it.
    let messages = app.messages(&admin, &id).await;
    assert!(
        messages
            .iter()
            .any(|m| m["text"] == "Admin assigned this to bob@test.local"),
        "{messages:?}"
    );
}

/// Search takes `%`, `_` and `\` literally; a query of symbols only matches nothing.
async fn search_matches_symbols_literally(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let mut ids = Vec::new();
    for (i, name) in ["ann_12da", "annX12da", "50% Off Shop", "back\\slash"]
        .into_iter()
        .enumerate()
    {
        let body = json!({"external_id": format!("m{i}"), "contact": {"external_id": format!("c{i}"), "name": name}, "text": "hello"});
        let (s, v) = status_json(app.inbound(&body).await).await;
        assert_eq!(s, 200, "{v}");
        ids.push(v["conversation_id"].as_str().expect("id").to_owned());
    }
    for (q, want) in [
        ("ann_12da", vec![&ids[0]]),
        ("ANN_12DA", vec![&ids[0]]),
        ("50%25", vec![&ids[2]]),
        ("k%5Cs", vec![&ids[3]]),
        ("%25", vec![]),
        ("_", vec![]),
        ("%5C", vec![]),
        ("%25_%25", vec![]),
    ] {
        let (s, list) = app.get(&token, &format!("/api/conversations?q={q}")).await;
        assert_eq!(s, 200, "{q}: {list}");
        let mut got: Vec<&str> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|c| c["id"].as_str())
            .collect();
        got.sort();
        let mut want: Vec<&str> = want.iter().map(|s| s.as_str()).collect();
        want.sort();
        assert_eq!(got, want, "q={q}");
    }
}

/// Messages that arrive in a burst are all found by search once it is over: under load the
/// writer indexes text at most every quarter second instead of in every group commit, and it
/// catches up as soon as nothing waits for it.
async fn a_burst_is_searchable_once_it_is_over(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let posts = (0..120).map(|i| {
        let body = json!({"external_id": format!("burst-{i}"), "contact": {"external_id": format!("burst-c{i}")}, "text": format!("parcel zq{i}xv missing")});
        let app = &app;
        async move {
            let (s, v) = status_json(app.inbound(&body).await).await;
            assert_eq!(s, 200, "{v}");
            (i, v["conversation_id"].as_str().expect("id").to_owned())
        }
    });
    let stored = futures_util::future::join_all(posts).await;
    for (i, id) in stored.iter().rev().take(30) {
        let q = format!("zq{i}xv");
        eventually(
            &format!("{q} to be found"),
            Duration::from_secs(2),
            || async {
                let (s, list) = app.get(&token, &format!("/api/conversations?q={q}")).await;
                assert_eq!(s, 200, "{list}");
                (ids(&list) == [id.clone()]).then_some(())
            },
        )
        .await;
    }
}

async fn two_agents_taking_at_once_exactly_one_wins(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (a_id, a) = app.agent("a@test.local", Role::Agent).await;
    let (b_id, bb) = app.agent("b@test.local", Role::Agent).await;
    for round in 0..5 {
        let id = app
            .customer_writes(
                &format!("m{round}"),
                &format!("c{round}"),
                "talk to a human",
            )
            .await;
        let path = format!("/api/conversations/{id}/take");
        let empty = json!({});
        let (ra, rb) = tokio::join!(app.post(&a, &path, &empty), app.post(&bb, &path, &empty));
        let mut statuses = [ra.0, rb.0];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}: {ra:?} {rb:?}");
        let loser = if ra.0 == 409 { &ra.1 } else { &rb.1 };
        assert_eq!(loser["error"], "already_assigned");
        let winner = if ra.0 == 200 { &a_id } else { &b_id };
        let conv = app.conversation(&a, &id).await;
        assert_eq!(conv["assignee_id"], winner.as_str());
    }
}

async fn handoff_notifies_online_agents_with_a_badge(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (_, a) = app.agent("a@test.local", Role::Agent).await;
    let mut ws = WsClient::connect(&app.base, &a, None).await;
    ws.next_json(STEP).await.expect("hello");
    let id = app
        .customer_writes("m1", "c1", "Quero falar com um atendente")
        .await;
    // The kept counts never lag an answered change: asked right after the 200, it is 1.
    let (_, badge) = app.get(&a, "/api/badge").await;
    assert_eq!(badge["count"], 1, "badge right after the handoff");
    let frames = ws
        .until("badge", STEP, |v| {
            v["type"] == "badge" && v["counts"]["total"] == 1
        })
        .await;
    let handoff = frames
        .iter()
        .find(|v| v["type"] == "handoff.requested")
        .expect("handoff.requested before the badge");
    assert_eq!(handoff["conversation_id"], id.as_str());
    assert_eq!(handoff["reason"]["kind"], "customer_asked");
    assert_eq!(handoff["conversation"]["status"], "human");

    // Answering clears it from the badge.
    app.post(
        &a,
        &format!("/api/conversations/{id}/messages"),
        &json!({"text": "Olá!"}),
    )
    .await;
    let (_, badge) = app.get(&a, "/api/badge").await;
    assert_eq!(badge["count"], 0, "badge right after the answer");
    ws.until("badge back to zero", STEP, |v| {
        v["type"] == "badge" && v["counts"]["total"] == 0
    })
    .await;
    // Settled: now answered from the kept counts, and still right.
    let (_, badge) = app.get(&a, "/api/badge").await;
    assert_eq!(badge["count"], 0, "badge once settled");
}

async fn auto_assignment_round_robins_over_online_agents(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.assignment.auto = true;
        s.assignment.capacity = 1;
    })
    .await;
    let admin = app.login().await;
    let (a_id, a) = app.agent("a@test.local", Role::Agent).await;
    let (b_id, bb) = app.agent("b@test.local", Role::Agent).await;
    let (_, _offline) = app.agent("c@test.local", Role::Agent).await;
    let mut ws_a = WsClient::connect(&app.base, &a, None).await;
    let mut ws_b = WsClient::connect(&app.base, &bb, None).await;
    ws_a.next_json(STEP).await.expect("hello");
    ws_b.next_json(STEP).await.expect("hello");
    let mut assignees = Vec::new();
    for i in 0..3 {
        let id = app
            .customer_writes(&format!("m{i}"), &format!("c{i}"), "I need a human")
            .await;
        let conv = eventually("auto-assigned or left", STEP, || async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some(app.conversation(&admin, &id).await)
        })
        .await;
        assignees.push(conv["assignee_id"].as_str().map(str::to_owned));
    }
    // Two online agents with room for one each: both get one; the third waits unassigned.
    let mut got: Vec<Option<String>> = assignees[..2].to_vec();
    got.sort();
    let mut want = vec![Some(a_id.clone()), Some(b_id.clone())];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(assignees[2], None);
}

async fn reply_policy_assignee_refuses_others(b: Backend) {
    let app = TestApp::spawn_with(b, |s| s.access.reply_policy = ReplyPolicy::Assignee).await;
    let (_, a) = app.agent("a@test.local", Role::Agent).await;
    let (_, bb) = app.agent("b@test.local", Role::Agent).await;
    let admin = app.login().await;
    let id = app.customer_writes("m1", "c1", "talk to a human").await;
    let (s, _) = app
        .post(&a, &format!("/api/conversations/{id}/take"), &json!({}))
        .await;
    assert_eq!(s, 200);
    let (s, e) = app
        .post(
            &bb,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "me too"}),
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("not_assignee")), "{e}");
    let (s, _) = app
        .post(
            &a,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "on it"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .post(
            &admin,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "supervising"}),
        )
        .await;
    assert_eq!(s, 201, "admins may always reply");
}

async fn typing_presence_and_availability_are_live(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (a_id, a) = app.agent("a@test.local", Role::Agent).await;
    let (b_id, bb) = app.agent("b@test.local", Role::Agent).await;
    let id = app.customer_writes("m1", "c1", "talk to a human").await;
    let mut ws_a = WsClient::connect(&app.base, &a, None).await;
    ws_a.next_json(STEP).await.expect("hello");
    let mut ws_b = WsClient::connect(&app.base, &bb, None).await;
    ws_b.next_json(STEP).await.expect("hello");
    ws_a.until("B online", STEP, |v| {
        v["type"] == "presence" && v["agent_id"] == b_id.as_str() && v["availability"] == "online"
    })
    .await;

    ws_b.send_json(&json!({"type": "viewing", "conversation_id": id}))
        .await;
    ws_a.until("B viewing", STEP, |v| {
        v["type"] == "presence" && v["viewers"] == json!([b_id])
    })
    .await;
    ws_b.send_json(&json!({"type": "typing", "conversation_id": id}))
        .await;
    let typing = ws_a.until("B typing", STEP, is("typing")).await;
    assert_eq!(typing.last().expect("frame")["agent_id"], b_id.as_str());

    let (s, _) = app
        .post(
            &bb,
            "/api/agents/me/availability",
            &json!({"availability": "away"}),
        )
        .await;
    assert_eq!(s, 200);
    ws_a.until("B away", STEP, |v| {
        v["type"] == "presence" && v["availability"] == "away"
    })
    .await;
    let (_, agents) = app.get(&a, "/api/agents").await;
    let avail = |id: &str| {
        agents["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|x| x["id"] == id)
            .map(|x| x["availability"].clone())
    };
    assert_eq!(avail(&b_id), Some(json!("away")));
    assert_eq!(avail(&a_id), Some(json!("online")));

    drop(ws_b);
    ws_a.until("B offline", STEP, |v| {
        v["type"] == "presence" && v["agent_id"] == b_id.as_str() && v["availability"] == "offline"
    })
    .await;

    // Bad frames get an error frame, not a dropped connection.
    ws_a.send_json(&json!({"type": "dance"})).await;
    ws_a.until("error frame", STEP, is("error")).await;
    ws_a.send_json(&json!({"type": "ping"})).await;
    ws_a.until("pong", STEP, is("pong")).await;
}

async fn a_client_that_stops_reading_is_disconnected(b: Backend) {
    let app = TestApp::spawn_with(b, |s| s.realtime.outbound_queue = 8).await;
    let token = app.login().await;
    let id = app.customer_writes("m1", "c1", "talk to a human").await;
    // A socket with a tiny receive buffer that never reads.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let addr = app.handle.addr;
    let tcp = socket.connect(addr).await.expect("connect");
    let url = format!("ws://{addr}/api/ws?token={token}");
    let (slow, _) = tokio_tungstenite::client_async(url, tcp)
        .await
        .expect("handshake");
    let mut fast = WsClient::connect(&app.base, &token, None).await;
    fast.next_json(STEP).await.expect("hello");
    let hub = app.handle.app.hub.clone();
    assert_eq!(hub.send(CountSubscribers).await.expect("hub"), 2);
    // The fast client reads all along, and stays open until the end (handed back with its
    // count), so its own close cannot race the subscriber count below.
    let reader = actix_rt::spawn(async move {
        let mut notes = 0usize;
        while let Some(v) = fast.next_json(Duration::from_secs(2)).await {
            if v["type"] == "message.created" {
                notes += 1;
            }
        }
        (notes, fast)
    });

    // Flood with ~4 KiB notes: more than the kernel's socket buffers (which autotune up to
    // 4 MiB on loopback) plus the bounded queue can hold.
    let path = format!("/api/conversations/{id}/messages");
    let note = json!({"text": "x".repeat(4000), "private": true});
    let mut sent = 0;
    for i in 0..3000 {
        let (s, _) = app.post(&token, &path, &note).await;
        assert_eq!(s, 201);
        sent += 1;
        if i % 25 == 0 && hub.send(CountSubscribers).await.expect("hub") == 1 {
            break;
        }
    }
    eventually("the slow client is dropped", STEP, || {
        let hub = hub.clone();
        async move { (hub.send(CountSubscribers).await.ok()? == 1).then_some(()) }
    })
    .await;
    // The reading client lost nothing meanwhile, and is still subscribed.
    let (notes, fast) = reader.await.expect("reader");
    assert_eq!(notes, sent, "the reading client got every note");
    assert_eq!(hub.send(CountSubscribers).await.expect("hub"), 1);
    drop((slow, fast));
}

async fn a_silent_client_is_dropped_by_the_heartbeat(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.realtime.heartbeat_secs = 1;
        s.realtime.client_timeout_secs = 2;
    })
    .await;
    let token = app.login().await;
    // Connected but never reading: pings go unanswered.
    let _silent = WsClient::connect(&app.base, &token, None).await;
    let hub = app.handle.app.hub.clone();
    eventually("subscribed", STEP, || {
        let hub = hub.clone();
        async move { (hub.send(CountSubscribers).await.ok()? == 1).then_some(()) }
    })
    .await;
    eventually("dropped after the timeout", Duration::from_secs(8), || {
        let hub = hub.clone();
        async move { (hub.send(CountSubscribers).await.ok()? == 0).then_some(()) }
    })
    .await;
}

async fn websocket_needs_a_valid_token(b: Backend) {
    let app = TestApp::spawn(b).await;
    for url in [
        format!("{}/api/ws", app.base),
        format!("{}/api/ws?token=nope", app.base),
    ] {
        let resp = app
            .client
            .get(&url)
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .expect("req");
        let (s, body) = status_json(resp).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (401, Some("unauthorized")),
            "{url}"
        );
    }
    let ws_url = app.base.replacen("http://", "ws://", 1) + "/api/ws?token=nope";
    assert!(tokio_tungstenite::connect_async(ws_url).await.is_err());
}

/// Three API conversations in different states, and an agent who took one of them.
struct ThreeConversations {
    app: TestApp,
    admin: String,
    /// The agent's token.
    me: String,
    /// Bot, unread, tagged `damaged` and `vip`, a quote request.
    ana: String,
    /// Asked for a person; taken by the agent.
    ben: String,
    /// Answered by the assistant, closed and read.
    chloe: String,
}

async fn given_three_conversations(b: Backend) -> ThreeConversations {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (_, me) = app.agent("a@test.local", Role::Agent).await;
    let c = |i: usize, name: &str, phone: &str, text: &str| {
        let body = json!({"external_id": format!("m{i}"), "contact": {"external_id": format!("c{i}"), "name": name, "phone": phone}, "text": text});
        let app = &app;
        async move {
            let (s, v) = status_json(app.inbound(&body).await).await;
            assert_eq!(s, 200, "{v}");
            v["conversation_id"].as_str().expect("id").to_owned()
        }
    };
    let ana = c(
        1,
        "Ana Souza",
        "+5511987654321",
        "Are damaged items covered in shipping?",
    )
    .await;
    let ben = c(2, "Ben Okafor", "+2348031234567", "talk to a human please").await;
    let chloe = c(
        3,
        "Chloé Martin",
        "+33612345678",
        "What are your opening hours?",
    )
    .await;
    let (s, _) = app
        .post(&me, &format!("/api/conversations/{ben}/take"), &json!({}))
        .await;
    assert_eq!(s, 200);
    app.post(
        &admin,
        &format!("/api/conversations/{chloe}/status"),
        &json!({"status": "closed"}),
    )
    .await;
    app.post(
        &admin,
        &format!("/api/conversations/{chloe}/read"),
        &json!({}),
    )
    .await;
    let (s, v) = app
        .put(
            &admin,
            &format!("/api/conversations/{ana}/tags"),
            &json!({"tags": ["vip", " damaged ", "vip"]}),
        )
        .await;
    assert_eq!((s, v["tags"].clone()), (200, json!(["damaged", "vip"])));
    let (s, v) = app
        .post(
            &admin,
            &format!("/api/conversations/{ana}/lead-stage"),
            &json!({"lead_stage": "quote_request"}),
        )
        .await;
    assert_eq!((s, v["lead_stage"].clone()), (200, json!("quote_request")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    ThreeConversations {
        app,
        admin,
        me,
        ana,
        ben,
        chloe,
    }
}

/// The ids of a list answer, sorted.
fn ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<&String>) -> Vec<String> {
    v.sort();
    v.into_iter().cloned().collect()
}

async fn the_list_filters_by_status_state_tag_text_channel_and_time(b: Backend) {
    let t = given_three_conversations(b).await;
    let (app, admin, ana, ben, chloe) = (&t.app, &t.admin, &t.ana, &t.ben, &t.chloe);
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("", sorted(vec![ana, ben, chloe])),
        ("status=human", vec![ben.clone()]),
        ("status=closed", vec![chloe.clone()]),
        ("resolved=true", vec![chloe.clone()]),
        ("unresolved=true", sorted(vec![ana, ben])),
        ("unread=true", sorted(vec![ana, ben])),
        ("needs_reply=true", vec![ben.clone()]),
        ("mine=true", vec![]),
        ("unassigned=true", sorted(vec![ana, chloe])),
        ("tag=vip", vec![ana.clone()]),
        ("state=resolved", vec![chloe.clone()]),
        ("state=created", vec![ben.clone()]),
        ("state=replied", vec![ana.clone()]),
        ("status=bot&unread=true", vec![ana.clone()]),
        ("q=damag", vec![ana.clone()]),
        ("q=SHIPPING", vec![ana.clone()]),
        ("q=opening%20hours", vec![chloe.clone()]),
        ("q=okafor", vec![ben.clone()]),
        ("q=chlo", vec![chloe.clone()]),
        ("q=98765", vec![ana.clone()]),
        ("q=nothing-matches-this", vec![]),
        ("channel=api", sorted(vec![ana, ben, chloe])),
        ("channel=whatsapp", vec![]),
        ("inbox=support", sorted(vec![ana, ben, chloe])),
        (
            "from=2000-01-01&to=2099-12-31",
            sorted(vec![ana, ben, chloe]),
        ),
        ("to=2000-01-01", vec![]),
    ];
    for (query, want) in cases {
        let (s, v) = app.get(admin, &format!("/api/conversations?{query}")).await;
        assert_eq!(s, 200, "{query}: {v}");
        assert_eq!(ids(&v), want, "{query}");
    }
    let (_, mine) = app.get(&t.me, "/api/conversations?mine=true").await;
    assert_eq!(ids(&mine), vec![ben.clone()]);
    let (_, item) = app.get(admin, "/api/conversations?tag=vip").await;
    let row = &item["items"][0];
    assert_eq!(row["contact"]["name"], "Ana Souza");
    assert!(row["last_message_preview"].is_string() && row["unread_count"].as_i64() >= Some(1));
    assert_eq!(row["tags"], json!(["damaged", "vip"]));
    assert_eq!(row["channel"], "api");
}

/// Keyset pages: 1 + 1 + 1, newest first, no repeats.
async fn keyset_pages_hold_every_conversation_once(b: Backend) {
    let t = given_three_conversations(b).await;
    let (app, admin) = (&t.app, &t.admin);
    let (_, p1) = app.get(admin, "/api/conversations?limit=1").await;
    let c1 = p1["next_cursor"].as_str().expect("cursor").to_owned();
    let (_, p2) = app
        .get(admin, &format!("/api/conversations?limit=1&cursor={c1}"))
        .await;
    let c2 = p2["next_cursor"].as_str().expect("cursor").to_owned();
    let (_, p3) = app
        .get(admin, &format!("/api/conversations?limit=1&cursor={c2}"))
        .await;
    let mut paged: Vec<String> = [&p1, &p2, &p3].iter().flat_map(|p| ids(p)).collect();
    assert_eq!(paged.len(), 3);
    paged.sort();
    paged.dedup();
    assert_eq!(paged.len(), 3);
    assert_eq!(p3["items"].as_array().map(Vec::len), Some(1));
}

/// Archive hides from the default list; the archived list shows it.
async fn an_archived_conversation_leaves_the_default_list(b: Backend) {
    let t = given_three_conversations(b).await;
    let (app, admin) = (&t.app, &t.admin);
    app.post(
        admin,
        &format!("/api/conversations/{}/archive", t.chloe),
        &json!({"archived": true}),
    )
    .await;
    let (_, v) = app.get(admin, "/api/conversations").await;
    assert_eq!(ids(&v), sorted(vec![&t.ana, &t.ben]));
    let (_, v) = app.get(admin, "/api/conversations?archived=true").await;
    assert_eq!(ids(&v), vec![t.chloe.clone()]);
}

/// Delete removes for good: pushed to agents, gone from the API and from search; the same
/// customer writing again gets a new conversation that search finds.
async fn a_deleted_conversation_is_gone_and_its_customer_starts_anew(b: Backend) {
    let t = given_three_conversations(b).await;
    let (app, admin, ana) = (&t.app, &t.admin, &t.ana);
    let mut ws = WsClient::connect(&app.base, admin, None).await;
    ws.next_json(STEP).await.expect("hello");
    let (s, _) = app
        .delete(admin, &format!("/api/conversations/{ana}"))
        .await;
    assert_eq!(s, 204);
    ws.until("deleted event", STEP, |v| {
        v["type"] == "conversation.deleted" && v["conversation_id"] == ana.as_str()
    })
    .await;
    let (s, _) = app.get(admin, &format!("/api/conversations/{ana}")).await;
    assert_eq!(s, 404);
    let (s, _) = app
        .get(admin, &format!("/api/conversations/{ana}/messages"))
        .await;
    assert_eq!(s, 404);
    let (_, v) = app.get(admin, "/api/conversations?q=damaged").await;
    assert_eq!(
        ids(&v),
        Vec::<String>::new(),
        "its messages are gone from search too"
    );

    // The same customer writes again: a new conversation, not the deleted one (the contact's
    // remembered conversation is gone), and search finds the new message.
    let (s, v) = status_json(
        app.inbound(&json!({"external_id": "m1-again", "contact": {"external_id": "c1", "name": "Ana Souza"}, "text": "Hello again, the parcel is still damaged"}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let again = v["conversation_id"].as_str().expect("id").to_owned();
    assert_ne!(&again, ana);
    let (s, _) = app.get(admin, &format!("/api/conversations/{again}")).await;
    assert_eq!(s, 200);
    let (_, v) = app.get(admin, "/api/conversations?q=damaged").await;
    assert_eq!(ids(&v), vec![again.clone()]);
}

/// The schema a `$ref` points to (or the schema itself).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling {r}")),
        None => schema,
    }
}

async fn openapi_document_matches_the_routes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let doc: Value = serde_json::from_str(openapi::document()).expect("the document is JSON");
    let (s, served) = app.get(&token, "/api/openapi.json").await;
    assert_eq!((s, &served), (200, &doc));

    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("ops").keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut routed: Vec<(String, String)> = API_ROUTES
        .iter()
        .chain(EDGE_ROUTES)
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    routed.sort();
    assert_eq!(
        documented, routed,
        "every route is documented and every documented route is routed"
    );

    // And each documented route really answers (not the router's 404).
    let id = app.customer_writes("m1", "c1", "talk to a human").await;
    for (method, path) in &documented {
        let url = format!(
            "{}{}",
            app.base,
            path.replace("{id}", &id).replace("{inbox}", "support")
        );
        let req = match method.as_str() {
            "get" => app.client.get(&url),
            "post" => app.client.post(&url).json(&json!({})),
            "put" => app.client.put(&url).json(&json!({})),
            "patch" => app.client.patch(&url).json(&json!({})),
            "delete" => app.client.delete(&url),
            "options" => app.client.request(reqwest::Method::OPTIONS, &url),
            other => panic!("unexpected method {other}"),
        };
        // Delete last would remove the conversation the others use: skip deleting it here.
        if method == "delete" && path == "/api/conversations/{id}" {
            continue;
        }
        let resp = req.bearer_auth(&token).send().await.expect("req");
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        assert!(
            !(status == 404 && body.contains("route not found")) && status != 405,
            "{method} {path} is documented but not routed: {status} {body}"
        );
    }
    let resp = app
        .client
        .get(format!("{}/api/nope", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("req");
    assert_eq!(status_json(resp).await.1["message"], "route not found");

    // The errors every route can give are documented, and the bodies are closed.
    for (method, path) in &documented {
        let op = &doc["paths"][path][method];
        let codes: Vec<&str> = op["responses"]
            .as_object()
            .expect("responses")
            .keys()
            .map(String::as_str)
            .collect();
        let has = |c: &str| codes.contains(&c);
        let api = path.starts_with("/api/");
        if api && path != "/api/openapi.json" {
            assert!(has("503"), "{method} {path}: {codes:?}");
        }
        if api && path != "/api/openapi.json" && path != "/api/auth/login" {
            assert!(has("401"), "{method} {path}: {codes:?}");
        }
        // Outside /api, a route that takes credentials refuses them with 401, a signed link
        // with 403.
        if !api
            && op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
            })
        {
            assert!(has("401"), "{method} {path}: {codes:?}");
        }
        let query = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
        if op.get("requestBody").is_some() || query {
            assert!(has("400") && has("422"), "{method} {path}: {codes:?}");
        }
        // (A CORS preflight is answered alike for any path.)
        if path.contains('{') && method != "options" {
            assert!(has("404"), "{method} {path}: {codes:?}");
        }
        if let Some(body) = op.get("requestBody") {
            assert!(has("413"), "{method} {path}: {codes:?}");
            let schema = resolve(&doc, &body["content"]["application/json"]["schema"]);
            // Providers' payloads are read as the providers send them (open objects); every
            // body of ours is closed.
            let ours = !path.starts_with("/webhooks/") || path.starts_with("/webhooks/api/");
            if ours && schema["type"] == "object" {
                assert_eq!(
                    schema["additionalProperties"],
                    json!(false),
                    "{method} {path}: unknown fields are refused, and documented so"
                );
            }
        }
    }

    // Real answers have exactly the documented (and required) properties. (The loop above
    // logged out: a new token.)
    let token = app.login().await;
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    let schema_keys = |name: &str| {
        let schema = &doc["components"]["schemas"][name];
        let mut props = keys(&schema["properties"]);
        let mut required: Vec<String> = schema["required"]
            .as_array()
            .expect("required")
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect();
        required.sort();
        props.sort();
        assert_eq!(props, required, "{name}: every property is always there");
        props
    };
    let conversation = app.conversation(&token, &id).await;
    assert_eq!(keys(&conversation), schema_keys("Conversation"));
    assert_eq!(keys(&conversation["contact"]), schema_keys("Contact"));
    for m in app.messages(&token, &id).await {
        assert_eq!(keys(&m), schema_keys("Message"), "{m}");
    }
    let (_, agents) = app.get(&token, "/api/agents").await;
    for a in agents["items"].as_array().expect("items") {
        assert_eq!(keys(a), schema_keys("Agent"), "{a}");
    }

    // The realtime protocol: the document and the README name exactly the server's events,
    // and the events really pushed have the documented fields.
    let variants = doc["components"]["schemas"]["ServerEvent"]["oneOf"]
        .as_array()
        .expect("ServerEvent variants");
    let mut documented: Vec<&str> = variants
        .iter()
        .filter_map(|v| v["properties"]["type"]["enum"][0].as_str())
        .collect();
    documented.sort();
    // `presence` has two shapes (availability, viewers): one variant each.
    documented.dedup();
    let mut kinds = ServerEvent::KINDS.to_vec();
    kinds.sort();
    assert_eq!(
        documented, kinds,
        "the OpenAPI document lists every ServerEvent kind"
    );
    let readme = include_str!("../../README.md");
    let (_, ws_section) = readme
        .split_once("### The agent websocket")
        .expect("the README's websocket section");
    for kind in ServerEvent::KINDS {
        assert!(
            ws_section.contains(&format!("`{kind}`")),
            "the README's websocket section names `{kind}`"
        );
    }
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    ws.next_json(STEP).await.expect("hello");
    app.customer_writes("m2", "c2", "talk to a human").await;
    let frames = ws.until("a handoff", STEP, is("handoff.requested")).await;
    for f in frames
        .iter()
        .chain(ws.drain(Duration::from_millis(300)).await.iter())
    {
        let kind = f["type"].as_str().expect("type");
        let fits = |schema: &Value| {
            let required = schema["required"].as_array().expect("required");
            required
                .iter()
                .all(|field| f.get(field.as_str().expect("name")).is_some())
                && f.as_object()
                    .expect("object")
                    .keys()
                    .all(|field| schema["properties"].get(field).is_some())
        };
        assert!(
            variants
                .iter()
                .filter(|v| v["properties"]["type"]["enum"][0] == kind)
                .any(fits),
            "{kind}: no documented variant has exactly these fields: {f}"
        );
    }
}

both_backends!(
    a_customer_message_is_pushed_at_once,
    resume_replays_exactly_the_missed_events,
    resume_and_polling_edge_cases,
    visibility_holds_on_rest_and_websocket,
    everyone_who_loses_sight_of_a_conversation_is_told,
    live_reassignment_is_seen_by_both_agents,
    two_agents_taking_at_once_exactly_one_wins,
    handoff_notifies_online_agents_with_a_badge,
    auto_assignment_round_robins_over_online_agents,
    reply_policy_assignee_refuses_others,
    typing_presence_and_availability_are_live,
    a_client_that_stops_reading_is_disconnected,
    a_silent_client_is_dropped_by_the_heartbeat,
    websocket_needs_a_valid_token,
    the_list_filters_by_status_state_tag_text_channel_and_time,
    keyset_pages_hold_every_conversation_once,
    an_archived_conversation_leaves_the_default_list,
    a_deleted_conversation_is_gone_and_its_customer_starts_anew,
    search_matches_symbols_literally,
    a_burst_is_searchable_once_it_is_over,
    openapi_document_matches_the_routes,
);
