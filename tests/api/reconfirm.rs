//! Re-confirmation with the manual clock: the request a day ahead (timer kind 9), the worker's answer, and the
//! deadline (timer kind 10) replacing a worker who did not answer, or growing the standby instead.

use serde_json::{Value, json};

use crate::helpers::*;

/// The standard shift starts 2026-11-28T01:00Z: with the defaults (24 h, 12 h) the request goes out at
/// 2026-11-27T01:00Z and is due at 13:00Z.
const ASKED: &str = "2026-11-27T01:00:00Z";
const DEADLINE: &str = "2026-11-27T13:00:00Z";

async fn enable(app: &TestApp, a: &Agency, reconfirm: Value) {
    let r = app
        .patch(
            &a.key,
            "/v1/agency/settings",
            &json!({ "reconfirm": reconfirm }),
        )
        .await
        .expect(200);
    assert_eq!(r["reconfirm"]["enabled"], true, "{r}");
}

async fn feed(app: &TestApp, a: &Agency) -> Vec<Value> {
    app.get(&a.key, "/v1/events?limit=500").await.expect(200)["items"]
        .as_array()
        .expect("items")
        .clone()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

async fn my_assignment(app: &TestApp, token: &str, id: &str) -> Value {
    let mine = app.get(token, "/v1/me/assignments").await.expect(200);
    mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|x| x["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no assignment {id} in {mine}"))
}

/// The whole log replays with no difference.
async fn replays(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let into = format!("sqlite://{}", dir.path().join("replay.db").display());
    let report = crewcall::cli::replay::run(&app.database_url, &into)
        .await
        .expect("the replay runs");
    assert_eq!(report.differences, 0, "{report}");
    assert_eq!(report.unsupported, 0, "{report}");
}

#[tokio::test]
async fn reconfirmation_settings_are_validated_and_changing_them_is_an_event() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let got = app.get(&a.key, "/v1/agency/settings").await.expect(200);
    assert_eq!(
        got["reconfirm"],
        json!({"enabled": false, "lead_h": 24, "deadline_h": 12, "reoffer": true})
    );
    assert_eq!(
        got["pre_shift"],
        json!({"enabled": false, "window_h": 3, "speed_kmh": 25})
    );
    for (body, field) in [
        (
            json!({"reconfirm": {"lead_h": 10, "deadline_h": 12}}),
            "reconfirm.deadline_h",
        ),
        (
            json!({"reconfirm": {"deadline_h": 24}}),
            "reconfirm.deadline_h",
        ),
        (json!({"reconfirm": {"lead_h": 0}}), "reconfirm.lead_h"),
        (json!({"pre_shift": {"window_h": 0}}), "pre_shift.window_h"),
        (
            json!({"pre_shift": {"speed_kmh": 500}}),
            "pre_shift.speed_kmh",
        ),
    ] {
        let r = app.patch(&a.key, "/v1/agency/settings", &body).await;
        assert_eq!(r.status.as_u16(), 422, "{body}: {}", r.body);
        assert!(
            r.fields().contains(&field.to_string()),
            "{body}: {}",
            r.body
        );
    }
    let r = app
        .patch(
            &a.key,
            "/v1/agency/settings",
            &json!({"reconfirm": {"enabled": true, "later": 1}}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    let unchanged = app.get(&a.key, "/v1/agency/settings").await.expect(200);
    assert_eq!(unchanged["version"], 0);
    enable(
        &app,
        &a,
        json!({"enabled": true, "lead_h": 48, "deadline_h": 6, "reoffer": false}),
    )
    .await;
    let got = app.get(&a.key, "/v1/agency/settings").await.expect(200);
    assert_eq!(
        got["reconfirm"],
        json!({"enabled": true, "lead_h": 48, "deadline_h": 6, "reoffer": false})
    );
    let events = feed(&app, &a).await;
    let changed = of_kind(&events, "agency_settings_changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["data"]["settings"]["reconfirm"]["lead_h"], 48);
}

#[tokio::test]
async fn a_worker_is_asked_to_reconfirm_a_day_ahead_and_confirms() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    enable(&app, &a, json!({"enabled": true})).await;
    let ws = promoters(&app, &a, 2).await;
    let o = app.post_order(&a, &order_json("c", 1, "assign", 1)).await;
    let oid = s(&o, "id");
    let asg = s(&o["assignments"][0], "id");
    assert_eq!(o["assignments"][0]["worker_id"], ws[0]["id"]);
    let token = s(&ws[0], "app_token");

    // Before the request: nothing to confirm.
    app.advance_to("2026-11-27T00:59:00Z").await;
    assert!(
        my_assignment(&app, &token, &asg)
            .await
            .get("reconfirm")
            .is_none()
    );
    let early = app
        .post(
            &token,
            &format!("/v1/me/assignments/{asg}/reconfirm"),
            &json!({}),
        )
        .await;
    assert_eq!(early.status.as_u16(), 409, "{}", early.body);

    // A day ahead the request goes out.
    app.advance_to(ASKED).await;
    let mine = my_assignment(&app, &token, &asg).await;
    assert_eq!(
        mine["reconfirm"],
        json!({"requested_at": ASKED, "deadline": DEADLINE, "status": "pending"})
    );
    let events = feed(&app, &a).await;
    let asked = of_kind(&events, "reconfirmation_requested");
    assert_eq!(asked.len(), 1, "one request");
    assert_eq!(asked[0]["data"]["assignment"], asg.as_str());
    assert_eq!(asked[0]["data"]["worker"], ws[0]["id"]);
    assert_eq!(asked[0]["data"]["deadline"], DEADLINE);
    assert_eq!(asked[0]["at"], ASKED);

    // Another worker cannot answer it.
    let other = app
        .post(
            &s(&ws[1], "app_token"),
            &format!("/v1/me/assignments/{asg}/reconfirm"),
            &json!({}),
        )
        .await;
    assert_eq!(other.status.as_u16(), 404, "{}", other.body);

    // The worker confirms; the same call again answers the same.
    app.advance_to("2026-11-27T03:00:00Z").await;
    let path = format!("/v1/me/assignments/{asg}/reconfirm");
    let first = app.post(&token, &path, &json!({})).await.expect(200);
    assert_eq!(first["assignment"]["reconfirm"]["status"], "confirmed");
    assert_eq!(first["assignment"]["status"], "confirmed");
    let again = app.post(&token, &path, &json!({})).await.expect(200);
    assert_eq!(again, first);

    // The deadline passes with nothing at risk; the agency's order view shows the answer.
    app.advance_to("2026-11-27T14:00:00Z").await;
    let order = app.order(&a, &oid).await;
    assert_eq!(order["assignments"][0]["status"], "confirmed");
    assert_eq!(order["assignments"][0]["reconfirm"]["status"], "confirmed");
    let events = feed(&app, &a).await;
    assert_eq!(of_kind(&events, "assignment_reconfirmed").len(), 1);
    assert!(of_kind(&events, "assignment_at_risk").is_empty());
    // The worker's own feed shows the request and the answer.
    let own = app.get(&token, "/v1/me/events?limit=500").await.expect(200);
    let kinds: Vec<&str> = own["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"reconfirmation_requested"), "{kinds:?}");
    assert!(kinds.contains(&"assignment_reconfirmed"), "{kinds:?}");
    replays(&app).await;
}

#[tokio::test]
async fn a_worker_who_does_not_reconfirm_by_the_deadline_is_replaced() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    enable(&app, &a, json!({"enabled": true})).await;
    let ws = promoters(&app, &a, 3).await;
    let o = app.post_order(&a, &order_json("c", 1, "assign", 1)).await;
    let oid = s(&o, "id");
    let asg = s(&o["assignments"][0], "id");
    assert_eq!(o["assignments"][0]["worker_id"], ws[0]["id"]);

    app.advance_to(ASKED).await;
    app.advance_to(DEADLINE).await;
    let order = app.order(&a, &oid).await;
    let list = order["assignments"].as_array().expect("assignments");
    let lost = list
        .iter()
        .find(|x| x["id"] == asg.as_str())
        .expect("the first");
    assert_eq!(lost["status"], "cancelled");
    assert_eq!(lost["reconfirm"]["status"], "missed");
    // The slot went to the next candidate, confirmed at once (assign mode); P-0 is not asked again.
    let next = list
        .iter()
        .find(|x| x["status"] == "confirmed")
        .expect("a replacement");
    assert_eq!(next["worker_id"], ws[1]["id"]);
    // Booked after the request's moment: the replacement is not asked.
    assert!(next.get("reconfirm").is_none(), "{next}");
    assert_eq!(order["status"], "filled");

    let events = feed(&app, &a).await;
    let risk = of_kind(&events, "assignment_at_risk");
    assert_eq!(risk.len(), 1);
    assert_eq!(risk[0]["data"]["reason"], "not_reconfirmed");
    assert_eq!(risk[0]["data"]["assignment"], asg.as_str());
    assert_eq!(risk[0]["at"], DEADLINE);
    let ended: Vec<_> = of_kind(&events, "assignment_ended")
        .into_iter()
        .filter(|e| e["data"]["assignment"] == asg.as_str())
        .collect();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["data"]["reason"], "not_reconfirmed");
    assert_eq!(ended[0]["data"]["status"], "cancelled");

    // Too late to answer; not counted as the worker's own cancellation.
    let late = app
        .post(
            &s(&ws[0], "app_token"),
            &format!("/v1/me/assignments/{asg}/reconfirm"),
            &json!({}),
        )
        .await;
    assert_eq!(late.status.as_u16(), 409, "{}", late.body);
    let w = app
        .get(&a.key, &format!("/v1/workers/{}", s(&ws[0], "id")))
        .await
        .expect(200);
    assert_eq!(w["stats"]["cancellations"], 0, "{w}");
    replays(&app).await;
}

#[tokio::test]
async fn a_worker_who_does_not_reconfirm_without_reoffer_keeps_the_slot_and_the_standby_grows_by_one()
 {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    enable(&app, &a, json!({"enabled": true, "reoffer": false})).await;
    let ws = promoters(&app, &a, 4).await;
    let mut body = order_json("c", 1, "assign", 1);
    body["standby"] = json!(1);
    let o = app.post_order(&a, &body).await;
    let oid = s(&o, "id");
    let standbys = |o: &Value| {
        o["assignments"]
            .as_array()
            .expect("assignments")
            .iter()
            .filter(|x| x["status"] == "standby")
            .count()
    };
    assert_eq!(standbys(&o), 1);
    let asg = s(
        o["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["status"] == "confirmed")
            .expect("confirmed"),
        "id",
    );

    app.advance_to(DEADLINE).await;
    let order = app.order(&a, &oid).await;
    let kept = order["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == asg.as_str())
        .expect("kept")
        .clone();
    assert_eq!(kept["status"], "confirmed");
    assert_eq!(kept["reconfirm"]["status"], "missed");
    assert_eq!(kept["worker_id"], ws[0]["id"]);
    assert_eq!(standbys(&order), 2, "{order}");
    let events = feed(&app, &a).await;
    assert_eq!(of_kind(&events, "assignment_at_risk").len(), 1);
    replays(&app).await;
}

#[tokio::test]
async fn the_openapi_document_describes_reconfirmation_and_pre_shift_signals() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let doc = app.get(&a.key, "/v1/openapi.json").await.expect(200);
    for path in [
        "/v1/me/assignments/{id}/reconfirm",
        "/v1/me/assignments/{id}/on-my-way",
        "/v1/me/assignments/{id}/location",
    ] {
        let op = &doc["paths"][path]["post"];
        assert!(op.is_object(), "POST {path} is not described");
        assert!(op["security"].is_array(), "POST {path} has no security");
        assert!(op["responses"]["409"].is_object(), "POST {path}: {op}");
    }
    let schemas = &doc["components"]["schemas"];
    for field in ["reconfirm", "pre_shift"] {
        assert!(
            schemas["SettingsView"]["properties"][field].is_object(),
            "SettingsView.{field}"
        );
    }
    assert!(schemas["AssignmentView"]["properties"]["reconfirm"].is_object());
    assert!(schemas["SignalAnswer"]["properties"]["at_risk"].is_object());
}
