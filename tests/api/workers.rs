//! Workers over HTTP: upsert, read, patch, delete, search and NDJSON import.

use serde_json::{Value, json};

use crate::helpers::*;

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|w| s(w, "id"))
        .collect()
}

#[tokio::test]
async fn creating_a_worker_answers_201_with_an_app_token_and_new_stats() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = app
        .post_worker(&a, &worker_json("W-1", 31.23, 121.47, &["promoter"]))
        .await;
    assert!(!s(&w, "id").is_empty());
    assert!(!s(&w, "app_token").is_empty());
    assert_eq!(w["external_ref"], "W-1");
    assert_eq!(w["status"], "active");
    assert_eq!(w["home"]["lat"], 31.23);
    assert_eq!(w["stats"]["completed_shifts"], 0);
    assert_eq!(w["stats"]["no_shows"], 0);
    assert_eq!(w["stats"]["tier"], "new");
    let me = app.get(&s(&w, "app_token"), "/v1/me").await.expect(200);
    assert_eq!(me["id"], w["id"]);
}

#[tokio::test]
async fn posting_the_same_external_ref_again_updates_with_200_and_no_token() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let first = app
        .post_worker(&a, &worker_json("W-1", 31.23, 121.47, &["promoter"]))
        .await;
    let mut body = worker_json("W-1", 31.24, 121.48, &["forklift"]);
    body["name"] = json!("Li Na");
    let second = app.upsert_worker(&a, &body).await.expect(200);
    assert_eq!(second["id"], first["id"]);
    assert!(second["app_token"].is_null());
    assert_eq!(second["name"], "Li Na");
    let got = app
        .get(&a.key, &format!("/v1/workers/{}", s(&first, "id")))
        .await
        .expect(200);
    assert_eq!(got["name"], "Li Na");
    assert_eq!(got["home"]["lat"], 31.24);
    assert_eq!(got["skills"][0]["name"], "forklift");
    let all = app.get(&a.key, "/v1/workers").await.expect(200);
    assert_eq!(ids(&all).len(), 1);
}

#[tokio::test]
async fn patching_a_worker_changes_only_the_given_fields_and_the_status() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = app
        .post_worker(&a, &worker_json("W-1", 31.23, 121.47, &["promoter"]))
        .await;
    let path = format!("/v1/workers/{}", s(&w, "id"));
    let p = app
        .patch(
            &a.key,
            &path,
            &json!({"bio": "forklift certified", "status": "suspended"}),
        )
        .await
        .expect(200);
    assert_eq!(p["bio"], "forklift certified");
    assert_eq!(p["status"], "suspended");
    assert_eq!(p["name"], w["name"]);
    let got = app.get(&a.key, &path).await.expect(200);
    assert_eq!(got["status"], "suspended");
    assert_eq!(got["bio"], "forklift certified");
    let back = app
        .patch(&a.key, &path, &json!({"status": "active"}))
        .await
        .expect(200);
    assert_eq!(back["status"], "active");
}

#[tokio::test]
async fn deleting_a_worker_answers_204_then_404_and_revokes_the_app_token() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = app
        .post_worker(&a, &worker_json("W-1", 31.23, 121.47, &["promoter"]))
        .await;
    let token = s(&w, "app_token");
    // The token is in use (and cached) before the deletion.
    app.get(&token, "/v1/me").await.expect(200);
    let path = format!("/v1/workers/{}", s(&w, "id"));
    let del = app.delete(&a.key, &path).await;
    assert_eq!(del.status.as_u16(), 204);
    app.get(&a.key, &path).await.expect(404);
    app.delete(&a.key, &path).await.expect(404);
    app.get(&token, "/v1/me").await.expect(401);
    let search = app.get(&a.key, "/v1/workers?q=W-1").await.expect(200);
    assert!(ids(&search).is_empty());
}

#[tokio::test]
async fn search_finds_workers_by_text_by_skill_and_near_a_point() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut bio = worker_json("W-1", 31.23, 121.47, &["promoter"]);
    bio["bio"] = json!("experienced barista and host");
    let barista = app.post_worker(&a, &bio).await;
    let fork = app
        .post_worker(&a, &worker_json("W-2", 31.23, 121.47, &["forklift"]))
        .await;
    // Far away: Beijing.
    let far = app
        .post_worker(&a, &worker_json("W-3", 39.9, 116.4, &["promoter"]))
        .await;

    let by_text = app.get(&a.key, "/v1/workers?q=barista").await.expect(200);
    assert_eq!(ids(&by_text), vec![s(&barista, "id")]);

    let by_skill = app
        .get(&a.key, "/v1/workers?skill=forklift")
        .await
        .expect(200);
    assert_eq!(ids(&by_skill), vec![s(&fork, "id")]);

    let near = app
        .get(&a.key, "/v1/workers?near=31.2304,121.4737&radius_km=10")
        .await
        .expect(200);
    let mut got = ids(&near);
    got.sort();
    let mut want = vec![s(&barista, "id"), s(&fork, "id")];
    want.sort();
    assert_eq!(got, want);
    assert!(!got.contains(&s(&far, "id")));

    let near_promoters = app
        .get(
            &a.key,
            "/v1/workers?skill=promoter&near=39.9,116.4&radius_km=5",
        )
        .await
        .expect(200);
    assert_eq!(ids(&near_promoters), vec![s(&far, "id")]);
}

#[tokio::test]
async fn search_pages_with_a_cursor_without_repeats_or_gaps() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let workers = promoters(&app, &a, 5).await;
    let mut seen = Vec::new();
    let mut path = "/v1/workers?skill=promoter&limit=2".to_string();
    let mut pages = 0;
    loop {
        let page = app.get(&a.key, &path).await.expect(200);
        pages += 1;
        let got = ids(&page);
        assert!(got.len() <= 2);
        seen.extend(got);
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/workers?skill=promoter&limit=2&cursor={c}"),
            None => break,
        }
        assert!(pages < 10, "the cursor never ends");
    }
    assert_eq!(pages, 3);
    let mut want: Vec<String> = workers.iter().map(|w| s(w, "id")).collect();
    want.sort();
    seen.sort();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn import_reports_a_bad_line_by_number_while_good_lines_land() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    app.post_worker(&a, &worker_json("W-1", 31.23, 121.47, &["promoter"]))
        .await;
    let mut renamed = worker_json("W-1", 31.23, 121.47, &["promoter"]);
    renamed["name"] = json!("Renamed");
    let mut bad = worker_json("W-9", 31.23, 121.47, &["promoter"]);
    bad["home"]["lat"] = json!(123.0);
    let lines = [
        worker_json("W-2", 31.23, 121.47, &["promoter"]).to_string(),
        renamed.to_string(),
        bad.to_string(),
        worker_json("W-3", 31.23, 121.47, &["forklift"]).to_string(),
    ];
    let report = app.import(&a, &lines.join("\n")).await.expect(200);
    assert_eq!(report["created"], 2);
    assert_eq!(report["updated"], 1);
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!(errors[0]["line"], 3);
    assert!(!s(&errors[0], "message").is_empty());

    let all = app.get(&a.key, "/v1/workers?limit=10").await.expect(200);
    let items = all["items"].as_array().expect("items");
    let mut refs: Vec<String> = items.iter().map(|w| s(w, "external_ref")).collect();
    refs.sort();
    assert_eq!(refs, vec!["W-1", "W-2", "W-3"]);
    let w1 = items
        .iter()
        .find(|w| w["external_ref"] == "W-1")
        .expect("W-1");
    assert_eq!(w1["name"], "Renamed");
}
