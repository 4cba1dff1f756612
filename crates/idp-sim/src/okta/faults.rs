//! Faults a test can inject at run time: bursts of 429, 5xx answers, slow
//! answers, connections dropped without an answer, and truncated bodies.
//!
//! Dropping a connection needs help below HTTP: [`SimListener`] hands out
//! streams that can be killed from a handler, after which they fail every
//! read and write and close with a TCP reset, so the client sees no response
//! at all.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How an injected truncated body is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// `Content-Length` announces the full body but the connection closes halfway.
    ContentLengthTooLong,
    /// A complete HTTP response whose JSON body is cut in the middle.
    CutJson,
}

/// A fault to apply to the next `count` requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 E0000047 with `X-Rate-Limit-Remaining: 0`, whatever the real budget.
    RateLimitBurst { count: u32 },
    /// An error status (500, 502, 503, 504…) with Okta's error body.
    ServerError { status: u16, count: u32 },
    /// Wait this long before handling each request.
    Delay { delay: Duration, count: u32 },
    /// Close the connection with a TCP reset without answering.
    ConnectionReset { count: u32 },
    /// Answer normally but break the body.
    TruncatedBody { mode: Truncation, count: u32 },
}

impl Fault {
    /// The next `count` requests get 429.
    pub fn burst_429(count: u32) -> Self {
        Fault::RateLimitBurst { count }
    }

    /// The next `count` requests get 500.
    pub fn server_error(count: u32) -> Self {
        Fault::ServerError { status: 500, count }
    }

    /// The next `count` requests get 503.
    pub fn unavailable(count: u32) -> Self {
        Fault::ServerError { status: 503, count }
    }

    /// The next `count` requests are delayed by `delay`.
    pub fn delay(delay: Duration, count: u32) -> Self {
        Fault::Delay { delay, count }
    }

    /// The next `count` connections are reset without an answer.
    pub fn reset(count: u32) -> Self {
        Fault::ConnectionReset { count }
    }

    /// The next `count` bodies are truncated.
    pub fn truncate(mode: Truncation, count: u32) -> Self {
        Fault::TruncatedBody { mode, count }
    }

    fn count(&self) -> u32 {
        match self {
            Fault::RateLimitBurst { count }
            | Fault::ServerError { count, .. }
            | Fault::Delay { count, .. }
            | Fault::ConnectionReset { count }
            | Fault::TruncatedBody { count, .. } => *count,
        }
    }
}

/// What to do to one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Burst429,
    Status(u16),
    Reset,
    Truncate(Truncation),
}

#[derive(Debug, Clone)]
struct Pending {
    fault: Fault,
    remaining: u32,
    path_prefix: Option<String>,
}

/// Faults waiting to be applied, in the order they were injected.
#[derive(Debug, Default)]
pub struct FaultQueue {
    pending: Vec<Pending>,
}

impl FaultQueue {
    /// Queues a fault, optionally only for paths starting with `path_prefix`.
    pub fn push(&mut self, fault: Fault, path_prefix: Option<String>) {
        let remaining = fault.count();
        if remaining > 0 {
            self.pending.push(Pending {
                fault,
                remaining,
                path_prefix,
            });
        }
    }

    /// Drops every pending fault.
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Consumes the faults that apply to a request to `path`: at most one
    /// delay and at most one response action.
    pub fn take(&mut self, path: &str) -> (Option<Duration>, Option<Action>) {
        let mut delay = None;
        let mut action = None;
        for p in &mut self.pending {
            if p.remaining == 0
                || p.path_prefix
                    .as_deref()
                    .is_some_and(|pre| !path.starts_with(pre))
            {
                continue;
            }
            match &p.fault {
                Fault::Delay { delay: d, .. } if delay.is_none() => {
                    delay = Some(*d);
                    p.remaining -= 1;
                }
                Fault::Delay { .. } => {}
                f if action.is_none() => {
                    action = Some(match f {
                        Fault::RateLimitBurst { .. } => Action::Burst429,
                        Fault::ServerError { status, .. } => Action::Status(*status),
                        Fault::ConnectionReset { .. } => Action::Reset,
                        Fault::TruncatedBody { mode, .. } => Action::Truncate(*mode),
                        Fault::Delay { .. } => continue,
                    });
                    p.remaining -= 1;
                }
                _ => {}
            }
        }
        self.pending.retain(|p| p.remaining > 0);
        (delay, action)
    }

    /// How many requests are still to be faulted.
    pub fn outstanding(&self) -> u32 {
        self.pending.iter().map(|p| p.remaining).sum()
    }
}

/// A TCP listener whose connections can be reset from inside a handler.
#[derive(Debug)]
pub struct SimListener {
    inner: TcpListener,
}

impl SimListener {
    pub fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

impl Listener for SimListener {
    type Io = SimStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let io = SimStream {
                        inner: stream,
                        kill: Arc::new(AtomicBool::new(false)),
                    };
                    return (io, addr);
                }
                // Same policy as axum's own listener: transient accept errors
                // (out of descriptors…) are waited out, not fatal.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An accepted connection with a kill switch.
#[derive(Debug)]
pub struct SimStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl SimStream {
    fn killed(&self) -> Option<io::Error> {
        if self.kill.load(Ordering::Relaxed) {
            // A zero linger turns the close into a TCP RST.
            let _ = self.inner.set_zero_linger();
            Some(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset by fault injection",
            ))
        } else {
            None
        }
    }
}

impl AsyncRead for SimStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.killed() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.killed() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.killed() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.killed() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Per-connection information handed to handlers: the switch that resets
/// this connection.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    kill: Arc<AtomicBool>,
}

impl ConnHandle {
    /// Marks the connection for reset; the next read or write fails.
    pub fn reset(&self) {
        self.kill.store(true, Ordering::Relaxed);
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        ConnHandle {
            kill: stream.io().kill.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_applies_in_order_and_counts_down() {
        let mut q = FaultQueue::default();
        q.push(Fault::burst_429(1), None);
        q.push(Fault::server_error(2), None);
        q.push(Fault::delay(Duration::from_millis(5), 1), None);
        assert_eq!(
            q.take("/api/v1/users"),
            (Some(Duration::from_millis(5)), Some(Action::Burst429))
        );
        assert_eq!(q.take("/api/v1/users"), (None, Some(Action::Status(500))));
        assert_eq!(q.outstanding(), 1);
        assert_eq!(q.take("/api/v1/users"), (None, Some(Action::Status(500))));
        assert_eq!(q.take("/api/v1/users"), (None, None));
    }

    #[test]
    fn path_prefix_scopes_a_fault() {
        let mut q = FaultQueue::default();
        q.push(Fault::reset(1), Some("/api/v1/logs".into()));
        assert_eq!(q.take("/api/v1/users"), (None, None));
        assert_eq!(q.take("/api/v1/logs"), (None, Some(Action::Reset)));
    }
}
