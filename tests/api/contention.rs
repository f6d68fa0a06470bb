//! A write that PostgreSQL rolls back for a deadlock with a concurrent transaction is run again by the server:
//! the caller sees it succeed, not a 503 for a race it could not see.

use std::time::Duration;

use sqlx::Connection;

use crate::helpers::*;

/// PostgreSQL only (SQLite has one writer and no deadlocks). The test's own transaction holds the worker's row,
/// the deletion locks the worker's order and waits on that row, then the test asks for the order's row: a
/// deadlock. The test's session waits longer before it looks for deadlocks, so the deletion is the one rolled
/// back; the server runs it again, and it succeeds once the test's transaction ends.
#[tokio::test]
async fn a_deletion_rolled_back_by_a_deadlock_is_run_again_and_succeeds() {
    let app = spawn_app().await;
    if !app.database_url.starts_with("postgres") {
        return;
    }
    let agency = app.create_agency().await;
    let workers = promoters(&app, &agency, 2).await;
    app.post_order(&agency, &order_json("deadlock", 1, "assign", 1))
        .await;
    let mut db = sqlx::postgres::PgConnection::connect(&app.database_url)
        .await
        .expect("connect to the test database");
    let (worker, order): (i64, i64) = sqlx::query_as(
        "SELECT worker_id, order_id FROM assignments WHERE status = 'confirmed' LIMIT 1",
    )
    .fetch_one(&mut db)
    .await
    .expect("the order's assignment");
    let (ext_ref,): (String,) = sqlx::query_as("SELECT external_ref FROM workers WHERE id = $1")
        .bind(worker)
        .fetch_one(&mut db)
        .await
        .expect("the worker");
    let id = workers
        .iter()
        .find(|w| s(w, "external_ref") == ext_ref)
        .map(|w| s(w, "id"))
        .expect("the assigned worker is one of ours");

    sqlx::raw_sql("BEGIN; SET LOCAL deadlock_timeout = '20s'")
        .execute(&mut db)
        .await
        .expect("begin");
    sqlx::query("SELECT id FROM workers WHERE id = $1 FOR UPDATE")
        .bind(worker)
        .execute(&mut db)
        .await
        .expect("lock the worker's row");
    let deletion = {
        let client = app.client.clone();
        let url = format!("{}/v1/workers/{id}", app.base);
        let key = agency.key.clone();
        tokio::spawn(async move {
            client
                .delete(url)
                .bearer_auth(key)
                .send()
                .await
                .expect("the deletion answers")
                .status()
                .as_u16()
        })
    };
    // The deletion locks the order, then waits on the worker's row.
    tokio::time::sleep(Duration::from_millis(500)).await;
    sqlx::query("SELECT id FROM orders WHERE id = $1 FOR UPDATE")
        .bind(order)
        .execute(&mut db)
        .await
        .expect("the order's row, once the deletion was rolled back");
    tokio::time::sleep(Duration::from_millis(200)).await;
    sqlx::raw_sql("COMMIT")
        .execute(&mut db)
        .await
        .expect("commit");
    assert_eq!(deletion.await.expect("the deletion task"), 204);
    let (status,): (String,) =
        sqlx::query_as("SELECT status FROM assignments WHERE worker_id = $1")
            .bind(worker)
            .fetch_one(&mut db)
            .await
            .expect("the assignment");
    assert_eq!(status, "released", "the deletion ran, once");
    app.get(&agency.key, &format!("/v1/workers/{id}"))
        .await
        .expect(404);
}
