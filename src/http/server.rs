//! The accept loop: HTTP/1.1 connections up to a limit, a deadline for each request's headers, and a graceful
//! shutdown. axum's own `serve` has no header deadline and no connection limit, so a client trickling its
//! headers (slowloris) could hold a connection, and a task, for ever.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::limits::Limits;

/// How long open connections get to finish their requests after shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Arc<Limits>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted: keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(
                limit = limits.max_connections,
                "connection limit reached; refusing a connection"
            );
            tokio::spawn(refuse(tcp));
            continue;
        };
        let app = app.clone();
        let limits = limits.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = connection(tcp, peer, app, &limits, watcher).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => tracing::warn!("connections still open after the drain period"),
    }
    Ok(())
}

/// Serves one connection. A client that has begun a request and not finished its headers by the deadline gets
/// a 408 and the connection is closed; an idle keep-alive connection is closed quietly.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: &Limits,
    watcher: hyper_util::server::graceful::Watcher,
) -> io::Result<()> {
    tcp.set_nodelay(true).ok();
    // A second handle on the socket: hyper drops its own when the header deadline passes, and this one can
    // still say why.
    let std = tcp.into_std()?;
    let spare = std.try_clone()?;
    let tcp = TcpStream::from_std(std)?;
    let started = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(Watched {
        inner: tcp,
        started: started.clone(),
    });
    let svc = app.map_request(move |mut req: axum::http::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    });
    let svc = TowerToHyperService::new(svc.map_err(|e: Infallible| match e {}));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header);
    let conn = builder.serve_connection(io, svc);
    match watcher.watch(conn).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_timeout() && started.load(Ordering::Relaxed) => {
            let mut spare = TcpStream::from_std(spare)?;
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                spare.write_all(&raw_problem(
                    408,
                    "Request Timeout",
                    "timeout",
                    "the request's headers did not arrive in time",
                )),
            )
            .await;
            let _ = spare.shutdown().await;
            Ok(())
        }
        Err(e) => Err(io::Error::other(e)),
    }
}

/// Answers a connection over the limit with a 503 and closes it.
async fn refuse(mut tcp: TcpStream) {
    let body = raw_problem(
        503,
        "Service Unavailable",
        "too-many-connections",
        "the server has too many open connections; retry later",
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(&body)).await;
    let _ = tcp.shutdown().await;
    // Closing with the request still unread would reset the connection and could destroy the answer before
    // the client reads it: read what it sent, briefly, first.
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// A whole HTTP/1.1 response carrying a problem document, for the cases where no request reached the router.
fn raw_problem(status: u16, reason: &str, slug: &str, detail: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "type": format!("/problems/{slug}"),
        "title": reason,
        "status": status,
        "detail": detail,
    })
    .to_string();
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {}\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        super::error::PROBLEM_JSON,
        body.len(),
    )
    .into_bytes()
}

/// The socket, noting whether bytes of a request have arrived since the last response began.
struct Watched {
    inner: TcpStream,
    started: Arc<AtomicBool>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.started.store(true, Ordering::Relaxed);
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.started.store(false, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.started.store(false, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
