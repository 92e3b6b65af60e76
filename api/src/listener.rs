//! The server's listener: at most `limits.max_connections` connections at once, and a connection
//! that sends nothing for longer than the idle limit is closed.
//!
//! axum serves every accepted connection for as long as the peer keeps it open, and hyper's own
//! header time-out needs a timer that `axum::serve` does not install. Without these two bounds a
//! client that opens connections and then stays silent (or trickles a body) would hold sockets,
//! tasks and memory for ever. A connection waits for a free place before it is accepted, so the
//! kernel's backlog, not our memory, absorbs a burst.

use axum::serve::Listener;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

pub struct LimitedListener {
    inner: TcpListener,
    places: Arc<Semaphore>,
    idle: Duration,
}

impl LimitedListener {
    pub fn new(inner: TcpListener, max_connections: usize, idle: Duration) -> LimitedListener {
        LimitedListener {
            inner,
            places: Arc::new(Semaphore::new(max_connections.max(1))),
            idle,
        }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Listener for LimitedListener {
    type Io = LimitedConnection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so waiting for a place always ends with one.
        let place = loop {
            if let Ok(place) = self.places.clone().acquire_owned().await {
                break place;
            }
        };
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        let _ = stream.set_nodelay(true);
        (
            LimitedConnection {
                stream,
                _place: place,
                idle: self.idle,
                silence: None,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An accepted connection; its place is given back when it is dropped.
pub struct LimitedConnection {
    stream: TcpStream,
    _place: OwnedSemaphorePermit,
    idle: Duration,
    /// Started when a read finds nothing to read; a read that makes progress clears it.
    silence: Option<Pin<Box<Sleep>>>,
}

impl AsyncRead for LimitedConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.silence = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let idle = this.idle;
                let silence = this
                    .silence
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match silence.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent nothing within the idle limit",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for LimitedConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
