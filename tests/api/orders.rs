//! Orders over HTTP: assign and offer modes, candidates with explanations, headcount changes, cancellation and
//! the paginated list.

use serde_json::{Value, json};

use crate::helpers::*;

fn assignments_with(order: &Value, status: &str) -> Vec<Value> {
    order["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .filter(|a| a["status"] == status)
        .cloned()
        .collect()
}

#[tokio::test]
async fn assign_mode_confirms_the_crew_at_once_and_fills_the_order() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 5).await;
    let o = app.post_order(&a, &order_json("c", 3, "assign", 1)).await;
    assert_eq!(o["status"], "filled");
    assert_eq!(o["roles"][0]["headcount"], 3);
    assert_eq!(o["roles"][0]["filled"], 3);
    assert_eq!(o["roles"][0]["pending_offers"], 0);
    let confirmed = assignments_with(&o, "confirmed");
    assert_eq!(confirmed.len(), 3);
    assert!(confirmed.iter().all(|a| a["role"] == "promoter"));
    // The confirmed crew are the top three candidates.
    let got = app.order(&a, &s(&o, "id")).await;
    assert_eq!(got["status"], "filled");
    assert_eq!(got["assignments"], o["assignments"]);
}

#[tokio::test]
async fn offer_mode_sends_the_first_offer_to_the_top_candidate() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 4).await;
    let o = app.post_order(&a, &order_json("c", 1, "offer", 1)).await;
    assert_eq!(o["status"], "open");
    assert_eq!(o["roles"][0]["filled"], 0);
    assert_eq!(o["roles"][0]["pending_offers"], 1);
    let ranked = app.candidate_ids(&a, &s(&o, "id"), "promoter").await;
    let mut holders = Vec::new();
    for w in &ws {
        if !app.offers(&s(w, "app_token")).await.is_empty() {
            holders.push(s(w, "id"));
        }
    }
    assert_eq!(holders.len(), 1);
    // The closest worker holds the offer; the live candidates leave the holder out and rank the rest by
    // distance, so the holder was the top candidate.
    assert_eq!(holders[0], s(&ws[0], "id"));
    let rest: Vec<String> = ws[1..].iter().map(|w| s(w, "id")).collect();
    assert_eq!(ranked, rest);
    let c = app
        .get(&a.key, &format!("/v1/orders/{}/candidates", s(&o, "id")))
        .await
        .expect(200);
    assert_eq!(c["excluded"]["excluded"], 1, "{c}");
}

#[tokio::test]
async fn candidate_explanations_sum_to_the_score() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 6).await;
    let o = app.post_order(&a, &order_json("c", 1, "offer", 1)).await;
    let c = app
        .get(
            &a.key,
            &format!(
                "/v1/orders/{}/candidates?role=promoter&limit=20",
                s(&o, "id")
            ),
        )
        .await
        .expect(200);
    let items = c["items"].as_array().expect("items");
    assert!(items.len() >= 5, "{c}");
    let mut last = f64::INFINITY;
    for i in items {
        let score = i["score"].as_f64().expect("score");
        let sum: f64 = i["explain"]
            .as_object()
            .expect("explain")
            .values()
            .map(|v| v.as_f64().expect("a number"))
            .sum();
        assert!((sum - score).abs() <= 1e-9, "{sum} != {score} in {i}");
        assert!(score <= last, "candidates are ranked by score");
        last = score;
        assert!(i["distance_km"].as_f64().expect("distance") >= 0.0);
    }
}

#[tokio::test]
async fn raising_the_headcount_dispatches_more_and_lowering_it_releases_the_last_confirmed() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 6).await;
    let o = app.post_order(&a, &order_json("c", 2, "assign", 1)).await;
    let id = s(&o, "id");
    let path = format!("/v1/orders/{id}");
    let up = app
        .patch(
            &a.key,
            &path,
            &json!({"roles": [{"name": "promoter", "headcount": 4}]}),
        )
        .await
        .expect(200);
    assert_eq!(up["roles"][0]["headcount"], 4);
    assert_eq!(up["roles"][0]["filled"], 4);
    assert_eq!(up["status"], "filled");
    let confirmed = assignments_with(&up, "confirmed");
    assert_eq!(confirmed.len(), 4);
    let last = confirmed
        .iter()
        .map(|a| s(a, "id"))
        .max_by_key(|id| (id.len(), id.clone()))
        .expect("a last assignment");

    let down = app
        .patch(
            &a.key,
            &path,
            &json!({"roles": [{"name": "promoter", "headcount": 3}]}),
        )
        .await
        .expect(200);
    assert_eq!(down["roles"][0]["headcount"], 3);
    assert_eq!(down["roles"][0]["filled"], 3);
    let released = down["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .find(|a| s(a, "id") == last)
        .expect("the last assignment is still listed");
    assert_eq!(released["status"], "released");
    assert_eq!(assignments_with(&down, "confirmed").len(), 3);
}

#[tokio::test]
async fn cancelling_an_order_releases_everyone_and_withdraws_offers() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 4).await;
    let o = app.post_order(&a, &order_json("c", 2, "assign", 1)).await;
    let o2 = app.post_order(&a, &order_json("c", 1, "offer", 1)).await;
    assert_eq!(o2["roles"][0]["pending_offers"], 1);
    let c = app
        .post(
            &a.key,
            &format!("/v1/orders/{}/cancel", s(&o, "id")),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(c["status"], "cancelled");
    assert!(assignments_with(&c, "confirmed").is_empty());
    assert_eq!(assignments_with(&c, "released").len(), 2);
    let c2 = app
        .post(
            &a.key,
            &format!("/v1/orders/{}/cancel", s(&o2, "id")),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(c2["roles"][0]["pending_offers"], 0);
    for w in &ws {
        assert!(app.offers(&s(w, "app_token")).await.is_empty());
    }
    // A second cancellation conflicts with the state.
    app.post(
        &a.key,
        &format!("/v1/orders/{}/cancel", s(&o, "id")),
        &json!({}),
    )
    .await
    .expect(409);
}

#[tokio::test]
async fn the_order_list_filters_by_status_and_pages_with_a_cursor() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 3).await;
    let filled = app.post_order(&a, &order_json("c", 1, "assign", 1)).await;
    assert_eq!(filled["status"], "filled");
    let mut open_ids = Vec::new();
    for i in 0..3 {
        // Nobody has the skill: these stay open.
        let mut o = order_json(&format!("c{i}"), 1, "offer", 1);
        o["roles"][0]["skills"] = json!(["juggler"]);
        let o = app.post_order(&a, &o).await;
        assert_eq!(o["status"], "open");
        open_ids.push(s(&o, "id"));
    }
    let f = app
        .get(&a.key, "/v1/orders?status=filled")
        .await
        .expect(200);
    let f: Vec<String> = f["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| s(o, "id"))
        .collect();
    assert_eq!(f, vec![s(&filled, "id")]);

    let mut seen = Vec::new();
    let mut path = "/v1/orders?status=open&limit=2".to_string();
    let mut pages = 0;
    loop {
        let page = app.get(&a.key, &path).await.expect(200);
        pages += 1;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        assert!(items.iter().all(|o| o["status"] == "open"));
        seen.extend(items.iter().map(|o| s(o, "id")));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/orders?status=open&limit=2&cursor={c}"),
            None => break,
        }
        assert!(pages < 5);
    }
    assert_eq!(pages, 2);
    seen.sort();
    open_ids.sort();
    assert_eq!(seen, open_ids);
    app.get(&a.key, "/v1/orders?status=bogus").await.expect(422);
}

#[tokio::test]
async fn concurrent_assign_orders_for_one_shift_never_book_a_worker_twice() {
    // Every order plans its crew from the same views before it writes, so they all pick the same best
    // promoters; the database check inside the writing transaction refuses a booked worker and the order
    // plans again without them.
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 12).await;
    let posts = (0..6).map(|i| {
        let app = &app;
        let a = &a;
        async move {
            app.post_order(a, &order_json(&format!("c{i}"), 3, "assign", 1))
                .await
        }
    });
    let orders = futures_util::future::join_all(posts).await;
    let mut booked = std::collections::HashSet::new();
    let mut confirmed = 0;
    for o in &orders {
        let got = app.order(&a, &s(o, "id")).await;
        let crew = assignments_with(&got, "confirmed");
        assert!(crew.len() <= 3, "an order over its headcount: {got}");
        for c in &crew {
            assert!(
                booked.insert(s(c, "worker_id")),
                "{} is confirmed twice for one shift",
                s(c, "worker_id")
            );
        }
        confirmed += crew.len();
    }
    // The first order to write gets its whole crew, the second plans again once.
    assert!(confirmed >= 6, "only {confirmed} confirmed");
}

#[tokio::test]
async fn concurrent_assign_orders_at_meeting_times_never_book_a_worker_twice_beside_their_other_days()
 {
    // Each promoter already works the days before and after; orders posted together, whose shifts meet within
    // the rest gap, plan from the same views, so the database's check of the worker's bookings decides — and
    // it must find the booking that meets, not one of the other days.
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 9).await;
    let at = |day: u32, from: &str, to_day: u32, to: &str, n: u32| {
        let mut o = order_json(&format!("d{day}-{from}"), n, "assign", 1);
        o["start"] = json!(format!("2026-12-{day:02}T{from}:00+08:00"));
        o["end"] = json!(format!("2026-12-{to_day:02}T{to}:00+08:00"));
        o
    };
    for day in [1, 3] {
        let o = app.post_order(&a, &at(day, "09:00", day, "18:00", 9)).await;
        assert_eq!(assignments_with(&o, "confirmed").len(), 9, "{o}");
    }
    let meeting = [
        at(2, "09:00", 2, "17:00", 3),
        at(2, "13:00", 2, "21:00", 3),
        at(2, "19:00", 2, "23:00", 3),
        at(2, "06:00", 2, "10:00", 3),
    ];
    let posts = meeting.iter().map(|o| app.post_order(&a, o));
    let orders = futures_util::future::join_all(posts).await;
    // Every confirmed shift of a worker, with the rest gap (8 hours) between any two.
    let mut shifts: std::collections::HashMap<String, Vec<(i64, i64)>> = Default::default();
    let all = app.get(&a.key, "/v1/orders?limit=50").await.expect(200);
    assert_eq!(all["items"].as_array().expect("orders").len(), 6);
    for o in all["items"].as_array().expect("orders") {
        let got = app.order(&a, &s(o, "id")).await;
        let start = chrono::DateTime::parse_from_rfc3339(&s(&got, "start")).expect("start");
        let end = chrono::DateTime::parse_from_rfc3339(&s(&got, "end")).expect("end");
        for c in assignments_with(&got, "confirmed") {
            shifts
                .entry(s(&c, "worker_id"))
                .or_default()
                .push((start.timestamp(), end.timestamp()));
        }
    }
    let gap = 8 * 3600;
    for (worker, mut held) in shifts {
        held.sort_unstable();
        for pair in held.windows(2) {
            assert!(
                pair[0].1 + gap <= pair[1].0,
                "{worker} holds shifts {:?} and {:?} within the rest gap",
                pair[0],
                pair[1]
            );
        }
    }
    // Days 1 and 3 leave every promoter free on day 2 from 02:00 to 01:00 the next day: each order of day 2
    // could have had a crew alone, and together they book someone.
    let booked: usize = orders
        .iter()
        .map(|o| assignments_with(o, "confirmed").len())
        .sum();
    assert!(booked >= 3, "only {booked} booked on day 2");
}

#[tokio::test]
async fn the_databases_overlap_check_seeks_the_workers_bookings_in_the_btree_even_on_a_young_table()
{
    // A new database's planner, with no statistics yet, finds the exclusion constraint's GiST index as cheap
    // as the B-tree of a worker's bookings for a check by worker: the check must be written so that only the
    // B-tree can answer it (the GiST walk visits every booking of the worker).
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 4).await;
    for day in 1..=3 {
        let mut o = order_json(&format!("day{day}"), 4, "assign", 1);
        o["start"] = json!(format!("2026-12-{day:02}T09:00:00+08:00"));
        o["end"] = json!(format!("2026-12-{day:02}T18:00:00+08:00"));
        let o = app.post_order(&a, &o).await;
        assert_eq!(assignments_with(&o, "confirmed").len(), 4, "{o}");
    }
    // More bookings, far ahead, written straight to the table: with a few thousand rows and no statistics the
    // planner took the GiST index for a check by worker alone.
    let postgres = app.database_url.starts_with("postgres");
    let grow = "WITH RECURSIVE g(n) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT n + 1 FROM g WHERE n < 3000) \
         INSERT INTO assignments (order_id, agency_id, worker_id, role_idx, kind, status, start_at, end_at, \
         guard_start, guard_end, created_at, updated_at) \
         SELECT o.id, o.agency_id, w.first + g.n % 4, 0, 'shift', 'confirmed', 2000000000000 + g.n * 100000000, \
         2000000000000 + g.n * 100000000 + 3600000, 2000000000000 + g.n * 100000000, \
         2000000000000 + g.n * 100000000 + 3600000, 0, 0 \
         FROM g, (SELECT MIN(id) AS id, MIN(agency_id) AS agency_id FROM orders) AS o, \
         (SELECT MIN(id) AS first FROM workers) AS w";
    run_sql(&app.database_url, grow).await;
    let backend = if postgres {
        crewcall::store::Backend::Postgres
    } else {
        crewcall::store::Backend::Sqlite
    };
    // The crew's booking statement, three candidates (worker, role) of whom at most two are booked, and the
    // single check of an accepted offer.
    let (from, to) = (1_764_550_800_000_i64, 1_764_583_200_000_i64);
    let mut booking: Vec<PlanParam> = vec![
        PlanParam::Int(99),
        PlanParam::Int(1),
        PlanParam::Text("shift"),
        PlanParam::Text("confirmed"),
        PlanParam::Int(from),
        PlanParam::Int(to),
        PlanParam::Int(from - 3_600_000),
        PlanParam::Int(to + 3_600_000),
        PlanParam::Int(from),
    ];
    booking.extend([1, 0, 2, 0, 3, 0].map(PlanParam::Int));
    let check = vec![PlanParam::Int(1), PlanParam::Int(from), PlanParam::Int(to)];
    let mut plan: Vec<String> = Vec::new();
    for (sql, params) in [
        (
            crewcall::store::orders::booking_sql(3, Some(2), postgres),
            booking,
        ),
        (crewcall::store::orders::overlap_check_sql(backend), check),
    ] {
        plan.extend(explain(&app.database_url, &sql, &params).await);
    }
    // Every read of the bookings (PostgreSQL: a scan "on assignments"; SQLite: a search or scan of `a`).
    let reads: Vec<&String> = plan
        .iter()
        .filter(|line| {
            (line.contains("Scan") && line.contains(" on assignments"))
                || line.starts_with("SEARCH a ")
                || line.starts_with("SCAN a")
        })
        .collect();
    let plan = plan.join("\n");
    assert!(reads.len() >= 6, "three seeks in each statement:\n{plan}");
    assert!(
        reads
            .iter()
            .all(|line| line.contains("assignments_by_worker")),
        "every read of a worker's bookings seeks the B-tree:\n{plan}"
    );
}

/// A parameter of a statement whose plan a test asks for.
enum PlanParam {
    Int(i64),
    Text(&'static str),
}

/// A connection to the test's database, on either backend.
async fn connect(database_url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(database_url).await.unwrap()
}

/// Runs `sql` on the test's database.
async fn run_sql(database_url: &str, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut connect(database_url).await)
        .await
        .unwrap();
}

/// The plan of `sql` with `params`, a line per step: PostgreSQL's `EXPLAIN` (the line, its one column),
/// SQLite's `EXPLAIN QUERY PLAN` (the step's detail, its fourth).
async fn explain(database_url: &str, sql: &str, params: &[PlanParam]) -> Vec<String> {
    use sqlx::Row;
    let (explain, column) = if database_url.starts_with("postgres") {
        ("EXPLAIN", 0)
    } else {
        ("EXPLAIN QUERY PLAN", 3)
    };
    let mut q = sqlx::query(sqlx::AssertSqlSafe(format!("{explain} {sql}")));
    for p in params {
        q = match p {
            PlanParam::Int(v) => q.bind(*v),
            PlanParam::Text(v) => q.bind(*v),
        };
    }
    q.fetch_all(&mut connect(database_url).await)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>(column))
        .collect()
}
