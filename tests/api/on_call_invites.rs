//! On-call invitations ahead of the forecast's peaks: fitting workers near the peak's area are invited, never
//! twice for one peak; accepting joins the on-call pool for the window (and a no-show then reaches the worker
//! first); an expired invitation cannot be accepted; another agency's is not found.

use serde_json::{Value, json};

use crate::helpers::*;

fn cell(at: (f64, f64)) -> String {
    h3o::LatLng::new(at.0, at.1)
        .unwrap()
        .to_cell(h3o::Resolution::Seven)
        .to_string()
}

fn promoter_order(start: &str, end: &str, headcount: u32, workers: &[String]) -> Value {
    json!({
        "client_ref": "c",
        "title": "Friday promotion",
        "venue": {"name": "Hall 3", "lat": VENUE.0, "lon": VENUE.1, "geofence_m": 300},
        "start": start,
        "end": end,
        "roles": [{"name": "promoter", "headcount": headcount, "skills": ["promoter"], "pay_per_hour": 30,
                   "workers": workers}],
        "dispatch": {"mode": "assign", "offer_ttl_s": 900, "fanout": 1},
        "no_show_grace_min": 15
    })
}

/// Four Fridays with 10 promoters at the venue 18:00–22:00 UTC, and one steward a week (never a peak); the
/// clock then stands on Thursday 2026-12-24 08:00 UTC, before the fifth Friday. No worker exists yet, so the
/// history's orders staff nobody.
async fn friday_history(app: &TestApp, a: &Agency) {
    for day in ["2026-11-27", "2026-12-04", "2026-12-11", "2026-12-18"] {
        let mut o = promoter_order(
            &format!("{day}T18:00:00Z"),
            &format!("{day}T22:00:00Z"),
            10,
            &[],
        );
        o["dispatch"]["mode"] = json!("offer");
        o["roles"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "steward", "headcount": 1, "skills": ["steward"]}));
        app.post_order(a, &o).await;
    }
    app.advance_to("2026-12-24T08:00:00Z").await;
}

/// Four promoters near the venue (P-0 closest), a cook near it, a promoter 80 km away.
async fn pool(app: &TestApp, a: &Agency) -> (Vec<Value>, Value, Value) {
    let near = promoters(app, a, 4).await;
    let cook = app.post_worker(a, &near_worker("C-0", 0, &["cook"])).await;
    let far = app
        .post_worker(
            a,
            &worker_json("F-0", VENUE.0 + 0.72, VENUE.1, &["promoter"]),
        )
        .await;
    (near, cook, far)
}

const FRIDAY: &str =
    r#"{"from": "2026-12-25T00:00:00Z", "to": "2026-12-26T00:00:00Z", "share": 0.2}"#;

fn invitees(answer: &Value) -> Vec<String> {
    answer["invites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| s(i, "worker_id"))
        .collect()
}

#[tokio::test]
async fn invitations_go_to_fitting_workers_near_the_peak_and_never_twice_for_one_peak() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    friday_history(&app, &a).await;
    let (near, cook, far) = pool(&app, &a).await;
    let body: Value = serde_json::from_str(FRIDAY).unwrap();

    let first = app
        .post(&a.key, "/v1/on-call/invites", &body)
        .await
        .expect(201);
    // One peak: promoters at the venue's area, Friday 18:00–22:00, 10 slots an hour; the steward never
    // reaches the threshold of 3.
    let peaks = first["peaks"].as_array().unwrap();
    assert_eq!(peaks.len(), 1, "{first}");
    assert_eq!(peaks[0]["area"]["cell"], json!(cell(VENUE)));
    assert_eq!(peaks[0]["role"], "promoter");
    assert_eq!(peaks[0]["start"], "2026-12-25T18:00:00Z");
    assert_eq!(peaks[0]["end"], "2026-12-25T22:00:00Z");
    assert_eq!(peaks[0]["max_expected"], 10.0);
    assert_eq!(peaks[0]["slot_hours"], 40.0);
    // A share of 0.2 of 10 slots: two workers, near promoters only.
    assert_eq!(peaks[0]["invited"], 2);
    let invited = invitees(&first);
    let near_ids: Vec<String> = near.iter().map(|w| s(w, "id")).collect();
    assert_eq!(invited, near_ids[..2].to_vec(), "the two closest");
    assert!(!invited.contains(&s(&cook, "id")) && !invited.contains(&s(&far, "id")));
    let inv = &first["invites"][0];
    assert_eq!(inv["status"], "pending");
    assert_eq!(inv["role"], "promoter");
    assert_eq!(inv["area"], peaks[0]["area"]);
    // The window is the peak's hours widened by 2 hours each side; open 12 hours.
    assert_eq!(inv["start"], "2026-12-25T16:00:00Z");
    assert_eq!(inv["end"], "2026-12-26T00:00:00Z");
    assert_eq!(inv["expires_at"], "2026-12-24T20:00:00Z");
    assert_eq!(inv["radius_km"], 5.0);

    // The same peak again: the next two, never the first two again.
    let second = app
        .post(&a.key, "/v1/on-call/invites", &body)
        .await
        .expect(201);
    assert_eq!(invitees(&second), near_ids[2..].to_vec());
    // Nobody fitting is left: the peak is found, nobody is invited.
    let third = app
        .post(&a.key, "/v1/on-call/invites", &body)
        .await
        .expect(201);
    assert_eq!(third["peaks"][0]["invited"], 0);
    assert!(invitees(&third).is_empty());

    // Each invitation is an event of the agency's feed.
    let mut events = Vec::new();
    let mut path = "/v1/events".to_string();
    loop {
        let page = app.get(&a.key, &path).await.expect(200);
        events.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/events?after={c}"),
            None => break,
        }
    }
    let invited_events: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "on_call_invited")
        .collect();
    assert_eq!(invited_events.len(), 4, "{events:?}");
    assert_eq!(invited_events[0]["data"]["role"], "promoter");
    assert_eq!(invited_events[0]["data"]["worker"], json!(near_ids[0]));

    // Bad input is a 422 naming the fields, and changes nothing.
    let bad = app
        .post(
            &a.key,
            "/v1/on-call/invites",
            &json!({"share": 0, "ttl_h": 0, "from": "2026-12-20T00:00:00Z"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(fields, ["from", "share", "ttl_h"]);
    let unknown = app
        .post(&a.key, "/v1/on-call/invites", &json!({"sharing": 1}))
        .await;
    assert_eq!(unknown.status, 422);
    let listed = app
        .get(
            &a.key,
            "/v1/on-call/invites?from=2026-12-25T00:00:00Z&to=2026-12-26T00:00:00Z",
        )
        .await
        .expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn the_same_idempotency_key_invites_once() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    friday_history(&app, &a).await;
    pool(&app, &a).await;
    let body: Value = serde_json::from_str(FRIDAY).unwrap();
    let send = || {
        app.request(reqwest::Method::POST, "/v1/on-call/invites", &a.key)
            .header("Idempotency-Key", "reserve-friday")
            .json(&body)
    };
    let first = app.send(send()).await.expect(201);
    let again = app.send(send()).await.expect(201);
    assert_eq!(first, again);
    let listed = app
        .get(
            &a.key,
            "/v1/on-call/invites?from=2026-12-25T00:00:00Z&to=2026-12-26T00:00:00Z",
        )
        .await
        .expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_accepted_invitation_puts_the_worker_on_call_and_a_no_show_reaches_them_first() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    friday_history(&app, &a).await;
    let (near, _, _) = pool(&app, &a).await;
    let body: Value = serde_json::from_str(FRIDAY).unwrap();
    let answer = app
        .post(&a.key, "/v1/on-call/invites", &body)
        .await
        .expect(201);
    let (kept, lapsed) = (&answer["invites"][0], &answer["invites"][1]);
    let token_of = |id: &str| {
        near.iter()
            .find(|w| s(w, "id") == id)
            .map(|w| s(w, "app_token"))
            .unwrap()
    };
    let (on_call, late) = (
        token_of(&s(kept, "worker_id")),
        token_of(&s(lapsed, "worker_id")),
    );

    // The worker sees the pending invitation and accepts it.
    let pending = app
        .get(&on_call, "/v1/me/on-call-invites")
        .await
        .expect(200);
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
    assert_eq!(pending["items"][0]["id"], kept["id"]);
    let accepted = app
        .post(
            &on_call,
            &format!("/v1/me/on-call-invites/{}/accept", s(kept, "id")),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(accepted["status"], "accepted");
    let windows = app.get(&on_call, "/v1/me/on-call").await.expect(200);
    let items = windows["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{windows}");
    assert_eq!(items[0]["id"], accepted["on_call_id"]);
    assert_eq!(items[0]["start"], "2026-12-25T16:00:00Z");
    assert_eq!(items[0]["end"], "2026-12-26T00:00:00Z");
    assert_eq!(items[0]["lat"], kept["area"]["lat"]);
    assert_eq!(items[0]["radius_km"], 5.0);
    assert!(
        app.get(&on_call, "/v1/me/on-call-invites")
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Accepting twice is a conflict.
    app.post(
        &on_call,
        &format!("/v1/me/on-call-invites/{}/accept", s(kept, "id")),
        &json!({}),
    )
    .await
    .expect(409);

    // Another agency's worker cannot reach it.
    let b = app.create_agency().await;
    let stranger = app
        .post_worker(&b, &near_worker("X-0", 0, &["promoter"]))
        .await;
    app.post(
        &s(&stranger, "app_token"),
        &format!("/v1/me/on-call-invites/{}/accept", s(lapsed, "id")),
        &json!({}),
    )
    .await
    .expect(404);
    assert!(
        app.get(
            &b.key,
            "/v1/on-call/invites?from=2026-12-25T00:00:00Z&to=2026-12-26T00:00:00Z"
        )
        .await
        .expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Twelve hours on, the other invitation has expired: it can be neither accepted nor declined.
    app.advance_to("2026-12-24T20:00:00Z").await;
    for verb in ["accept", "decline"] {
        app.post(
            &late,
            &format!("/v1/me/on-call-invites/{}/{verb}", s(lapsed, "id")),
            &json!({}),
        )
        .await
        .expect(409);
    }
    let listed = app
        .get(
            &a.key,
            "/v1/on-call/invites?from=2026-12-25T00:00:00Z&to=2026-12-26T00:00:00Z",
        )
        .await
        .expect(200);
    let statuses: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["accepted", "expired"]);

    // Friday's order names a worker who was not invited; nobody checks in, the no-show at 18:15 sends the
    // urgent offer to the on-call worker first.
    let named = near
        .iter()
        .map(|w| s(w, "id"))
        .find(|id| *id != s(kept, "worker_id") && *id != s(lapsed, "worker_id"))
        .unwrap();
    let o = app
        .post_order(
            &a,
            &promoter_order(
                "2026-12-25T18:00:00Z",
                "2026-12-25T22:00:00Z",
                1,
                std::slice::from_ref(&named),
            ),
        )
        .await;
    assert_eq!(o["assignments"][0]["worker_id"], json!(named), "{o}");
    app.advance_to("2026-12-25T18:16:00Z").await;
    let offers = app.offers(&on_call).await;
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0]["urgent"], true);
    for w in near.iter().filter(|w| s(w, "id") != s(kept, "worker_id")) {
        assert!(app.offers(&s(w, "app_token")).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_accepted_declined_and_expired_replay_with_zero_differences() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    friday_history(&app, &a).await;
    let (near, _, _) = pool(&app, &a).await;
    let mut body: Value = serde_json::from_str(FRIDAY).unwrap();
    body["share"] = json!(0.3);
    let answer = app
        .post(&a.key, "/v1/on-call/invites", &body)
        .await
        .expect(201);
    let token_of = |id: String| {
        near.iter()
            .find(|w| s(w, "id") == id)
            .map(|w| s(w, "app_token"))
            .unwrap()
    };
    let invites = answer["invites"].as_array().unwrap();
    assert_eq!(invites.len(), 3);
    app.post(
        &token_of(s(&invites[0], "worker_id")),
        &format!("/v1/me/on-call-invites/{}/accept", s(&invites[0], "id")),
        &json!({}),
    )
    .await
    .expect(200);
    app.post(
        &token_of(s(&invites[1], "worker_id")),
        &format!("/v1/me/on-call-invites/{}/decline", s(&invites[1], "id")),
        &json!({}),
    )
    .await
    .expect(200);
    app.advance_to("2026-12-24T21:00:00Z").await;
    app.post(&a.key, "/v1/on-call/invites", &body)
        .await
        .expect(201);
    let o = app
        .post_order(
            &a,
            &promoter_order(
                "2026-12-25T18:00:00Z",
                "2026-12-25T22:00:00Z",
                1,
                &[s(&near[3], "id")],
            ),
        )
        .await;
    assert_eq!(o["assignments"][0]["worker_id"], near[3]["id"]);
    app.advance_to("2026-12-25T18:30:00Z").await;

    let dir = tempfile::tempdir().unwrap();
    let into = format!("sqlite://{}", dir.path().join("replay.db").display());
    let report = crewcall::cli::replay::run(&app.database_url, &into)
        .await
        .expect("the replay runs");
    assert_eq!(report.differences, 0, "{report}");
    assert_eq!(report.unsupported, 0, "{report}");
}

#[tokio::test]
async fn the_openapi_document_describes_the_invitations() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let doc = app.get(&a.key, "/v1/openapi.json").await.expect(200);
    let paths = &doc["paths"];
    for (path, verb, security) in [
        ("/v1/on-call/invites", "post", "agency"),
        ("/v1/on-call/invites", "get", "agency"),
        ("/v1/me/on-call-invites", "get", "worker"),
        ("/v1/me/on-call-invites/{id}/accept", "post", "worker"),
        ("/v1/me/on-call-invites/{id}/decline", "post", "worker"),
    ] {
        let op = &paths[path][verb];
        assert!(op.is_object(), "{verb} {path} is not described");
        assert_eq!(op["security"], json!([{security: []}]), "{verb} {path}");
    }
    assert_eq!(
        paths["/v1/on-call/invites"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/InvitesAnswer"
    );
    assert!(paths["/v1/me/on-call-invites/{id}/accept"]["post"]["responses"]["409"].is_object());
    for name in [
        "InvitesBody",
        "InvitesAnswer",
        "PeakView",
        "InviteView",
        "InvitePage",
        "InviteList",
    ] {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "no schema {name}"
        );
    }
}
