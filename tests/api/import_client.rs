//! `crewcall import --url --key`: the command line as a client of a running server, in batches that each land
//! whole, with the refused lines numbered in the whole file and the issued tokens written out.

use serde_json::Value;

use crate::helpers::*;

/// Runs `crewcall import ARGS` to its end while the test's server keeps serving.
async fn run_import(args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_crewcall"))
        .arg("import")
        .args(args)
        .env_remove("CREWCALL_AGENCY")
        .env_remove("CREWCALL_URL")
        .env_remove("CREWCALL_API_KEY")
        .kill_on_drop(true)
        .output()
        .await
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_sends_a_file_in_batches_to_a_running_server_whose_index_sees_the_workers_at_once()
{
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let dir = tempfile::tempdir().unwrap();
    // Seven lines: a blank one (line 3) and a bad one (line 5) among five workers.
    let mut lines: Vec<String> = (0..5)
        .map(|i| near_worker(&format!("CLI-{i}"), i, &["promoter"]).to_string())
        .collect();
    lines.insert(2, String::new());
    lines.insert(4, r#"{"external_ref": "BAD", "name": "No home"}"#.into());
    let file = dir.path().join("workers.ndjson");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let tokens = dir.path().join("tokens.ndjson");

    let (ok, stdout, stderr) = run_import(&[
        file.to_str().unwrap(),
        "--url",
        &app.base,
        "--key",
        &a.key,
        "--batch-lines",
        "3",
        "--issue-tokens",
        "--tokens-out",
        tokens.to_str().unwrap(),
    ])
    .await;
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("7 lines in 3 batches"), "{stdout}");
    assert!(
        stdout.contains("created 5, updated 0, refused 1"),
        "{stdout}"
    );
    assert!(stdout.contains("  line 5: "), "{stdout}");

    // Every created worker's token, once, and each works.
    let written: Vec<Value> = std::fs::read_to_string(&tokens)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(written.len(), 5);
    assert_eq!(
        written
            .iter()
            .map(|w| w["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 4, 6, 7]
    );
    for w in &written {
        let me = app.get(&s(w, "app_token"), "/v1/me").await.expect(200);
        assert_eq!(me["id"], w["id"]);
        assert_eq!(me["external_ref"], w["external_ref"]);
    }
    // The server's matching sees them without a restart.
    let order = app.post_order(&a, &order_json("c-1", 5, "assign", 1)).await;
    assert_eq!(order["status"], "filled", "{order}");

    // The same file again updates, and with no tokens asked for, writes none.
    let (ok, stdout, _) =
        run_import(&[file.to_str().unwrap(), "--url", &app.base, "--key", &a.key]).await;
    assert!(ok);
    assert!(
        stdout.contains("created 0, updated 5, refused 1"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_batch_the_server_refuses_stops_the_import_and_says_which_lines_landed() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("workers.ndjson");
    let lines: Vec<String> = (0..4)
        .map(|i| near_worker(&format!("K-{i}"), i, &["promoter"]).to_string())
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let (ok, stdout, stderr) = run_import(&[
        file.to_str().unwrap(),
        "--url",
        &app.base,
        "--key",
        "cc_agency_not-a-key",
    ])
    .await;
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("lines 1–4 were not imported"), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");
    let search = app.get(&a.key, "/v1/workers").await.expect(200);
    assert_eq!(search["items"].as_array().unwrap().len(), 0);
    // Without --key, or --issue-tokens without somewhere to write them: refused before anything is sent.
    let (ok, _, stderr) = run_import(&[file.to_str().unwrap(), "--url", &app.base]).await;
    assert!(!ok && stderr.contains("--key"), "{stderr}");
    let (ok, _, stderr) = run_import(&[
        file.to_str().unwrap(),
        "--url",
        &app.base,
        "--key",
        &a.key,
        "--issue-tokens",
    ])
    .await;
    assert!(!ok && stderr.contains("--tokens-out"), "{stderr}");
    let search = app.get(&a.key, "/v1/workers").await.expect(200);
    assert_eq!(search["items"].as_array().unwrap().len(), 0);
}
