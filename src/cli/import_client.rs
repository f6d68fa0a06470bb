//! `crewcall import FILE --url URL --key KEY`: sends an NDJSON file of workers to a running server, in batches,
//! with a progress bar. The file is read as a stream (never whole into memory); each batch is one
//! `POST /v1/workers/import`, which lands whole or not at all, under an `Idempotency-Key` so that a batch retried
//! after a lost answer is not written twice. The running server's index sees each batch's workers as soon as it
//! answers. Lines are numbered in the whole file in every message.

use std::io::{BufRead, Write};
use std::time::Duration;

use serde::Deserialize;

/// What to send and where.
pub struct Options {
    /// The server's base URL (`http://127.0.0.1:8080`).
    pub url: String,
    /// The agency's API key.
    pub key: String,
    /// The NDJSON file.
    pub file: String,
    /// Lines a batch holds at most.
    pub batch_lines: usize,
    /// Ask the server for the app token of every worker it creates.
    pub issue_tokens: bool,
    /// Where to write the issued tokens (NDJSON: line, external_ref, id, app_token); `-` is standard output.
    pub tokens_out: Option<String>,
    /// Whether to draw the progress bar.
    pub progress: bool,
}

/// What the whole file did.
#[derive(Debug, Default)]
pub struct Sent {
    /// Workers created.
    pub created: usize,
    /// Workers updated.
    pub updated: usize,
    /// Lines refused, numbered in the whole file, with the reason.
    pub refused: Vec<(usize, String)>,
    /// Batches sent, each of which landed whole.
    pub batches: usize,
    /// Lines read.
    pub lines: usize,
    /// Tokens written to `tokens_out`.
    pub tokens: usize,
}

/// A batch that did not land, and everything before it that did.
#[derive(Debug)]
pub struct Stopped {
    /// What landed before the failure.
    pub sent: Sent,
    /// The first and last line of the batch that did not land.
    pub lines: (usize, usize),
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "lines {}–{} were not imported: {}. Lines 1–{} landed ({} batches: created {}, updated {}, refused {}); \
             run the import again to send the rest (it upserts by external_ref, so lines already written are updated, not doubled)",
            self.lines.0,
            self.lines.1,
            self.reason,
            self.lines.0.saturating_sub(1),
            self.sent.batches,
            self.sent.created,
            self.sent.updated,
            self.sent.refused.len()
        )
    }
}

impl std::error::Error for Stopped {}

#[derive(Deserialize)]
struct Report {
    created: usize,
    updated: usize,
    errors: Vec<LineError>,
    #[serde(default)]
    workers: Vec<Written>,
}

#[derive(Deserialize)]
struct LineError {
    line: usize,
    message: String,
}

#[derive(Deserialize)]
struct Written {
    line: usize,
    id: String,
    external_ref: String,
    app_token: Option<String>,
}

/// How many times a batch is tried when the server is busy or cannot be reached.
const ATTEMPTS: u32 = 6;
/// The largest batch body, well under the server's 64 MiB import limit.
const MAX_BATCH_BYTES: usize = 32 * 1024 * 1024;

/// Sends the file; `Err(Stopped)` names the batch that did not land and what did before it.
pub async fn run(opts: &Options) -> Result<Sent, Box<dyn std::error::Error>> {
    let file =
        std::fs::File::open(&opts.file).map_err(|e| format!("cannot read {}: {e}", opts.file))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut tokens_out: Option<Box<dyn Write>> = match &opts.tokens_out {
        None => None,
        Some(p) if p == "-" => Some(Box::new(std::io::stdout())),
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| format!("cannot write {p}: {e}"))?,
        ))),
    };
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(900))
        .build()?;
    let base = opts.url.trim_end_matches('/');
    let endpoint = if opts.issue_tokens {
        format!("{base}/v1/workers/import?issue_tokens=true")
    } else {
        format!("{base}/v1/workers/import")
    };
    // One run's keys: a batch retried within the run is the same request; another run is a new one.
    let run_id = format!("{:016x}", rand::random::<u64>());
    let bar = if opts.progress {
        indicatif::ProgressBar::new(size)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes}  {msg}  {bytes_per_sec}  eta {eta}",
        )
        .expect("a valid template"),
    );
    let mut sent = Sent::default();
    let mut line = String::new();
    loop {
        // Read one batch: whole lines, at most `batch_lines` of them and about MAX_BATCH_BYTES.
        let first = sent.lines + 1;
        let mut body = String::new();
        let mut count = 0;
        let mut read_bytes = 0u64;
        while count < opts.batch_lines.max(1) && body.len() < MAX_BATCH_BYTES {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| format!("reading {}: {e}", opts.file))?;
            if n == 0 {
                break;
            }
            read_bytes += n as u64;
            count += 1;
            body.push_str(line.trim_end_matches(['\n', '\r']));
            body.push('\n');
        }
        if count == 0 {
            break;
        }
        let last = first + count - 1;
        sent.lines = last;
        if body.trim().is_empty() {
            bar.inc(read_bytes);
            continue;
        }
        let key = format!("import-{run_id}-{first}");
        let report = match send_batch(&client, &endpoint, &opts.key, &key, body).await {
            Ok(r) => r,
            Err(reason) => {
                bar.abandon();
                return Err(Box::new(Stopped {
                    sent,
                    lines: (first, last),
                    reason,
                }));
            }
        };
        let offset = first - 1;
        sent.batches += 1;
        sent.created += report.created;
        sent.updated += report.updated;
        sent.refused.extend(
            report
                .errors
                .into_iter()
                .map(|e| (e.line + offset, e.message)),
        );
        if let Some(out) = tokens_out.as_mut() {
            for w in report.workers {
                if let Some(token) = w.app_token {
                    let rec = serde_json::json!({
                        "line": w.line + offset, "external_ref": w.external_ref, "id": w.id, "app_token": token,
                    });
                    writeln!(out, "{rec}").map_err(|e| format!("writing the tokens: {e}"))?;
                    sent.tokens += 1;
                }
            }
            out.flush()
                .map_err(|e| format!("writing the tokens: {e}"))?;
        }
        bar.set_message(format!(
            "created {} updated {} refused {}",
            sent.created,
            sent.updated,
            sent.refused.len()
        ));
        bar.inc(read_bytes);
    }
    bar.finish();
    Ok(sent)
}

/// Sends one batch, retrying while the server is busy (429, 503, honouring `Retry-After`) or unreachable;
/// any other refusal stops the import.
async fn send_batch(
    client: &reqwest::Client,
    endpoint: &str,
    key: &str,
    idempotency_key: &str,
    body: String,
) -> Result<Report, String> {
    let mut wait = Duration::from_millis(500);
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let r = client
            .post(endpoint)
            .bearer_auth(key)
            .header("content-type", "application/x-ndjson")
            .header("idempotency-key", idempotency_key)
            .body(body.clone())
            .send()
            .await;
        match r {
            Ok(resp) if resp.status().is_success() => {
                return resp
                    .json::<Report>()
                    .await
                    .map_err(|e| format!("the server's answer could not be read: {e}"));
            }
            Ok(resp) => {
                let status = resp.status();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs);
                let text = resp.text().await.unwrap_or_default();
                let detail = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["detail"].as_str().map(str::to_string))
                    .unwrap_or(text);
                last = format!("the server answered {status}: {detail}");
                // 409: the same batch is still being written (an earlier attempt whose answer was lost).
                let busy = matches!(status.as_u16(), 409 | 429 | 502 | 503 | 504);
                if !busy {
                    return Err(last);
                }
                if let Some(w) = retry_after {
                    wait = w.max(Duration::from_millis(100));
                }
            }
            Err(e) => last = format!("the server could not be reached: {e}"),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }
    Err(format!("{last} (tried {ATTEMPTS} times)"))
}
