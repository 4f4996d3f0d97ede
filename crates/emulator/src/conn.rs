//! Accepting connections so that a request handler can reset its own connection.
//!
//! A fault rule may ask for "a connection reset after N bytes of the request body". Axum hands
//! the socket to hyper, so each connection is wrapped in a [`Conn`] that shares a kill switch with
//! the [`Peer`] handlers see (as `ConnectInfo<Peer>`). [`Peer::reset`] flips the switch; the next
//! time hyper touches the socket (to write the answer) the `Conn` turns on a zero linger and
//! fails, hyper drops the connection, and the close goes out as an RST: the client gets "connection
//! reset by peer" and no answer. No FIN is sent first, which a `shutdown` would do.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

pub(crate) struct Listener(pub(crate) TcpListener);

/// One accepted connection, as a handler sees it.
#[derive(Clone)]
pub(crate) struct Peer {
    pub(crate) addr: SocketAddr,
    killed: Arc<AtomicBool>,
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Peer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Peer {
    /// Aborts the connection: whatever is answered next is never sent, the client gets an RST.
    pub(crate) fn reset(&self) {
        tracing::info!(peer = %self.addr, "resetting the connection (injected fault)");
        self.killed.store(true, Ordering::SeqCst);
    }
}

/// A TCP stream that fails every operation once its [`Peer`] was reset.
pub(crate) struct Conn {
    stream: TcpStream,
    killed: Arc<AtomicBool>,
}

impl Conn {
    /// `Some(error)` once reset; the first call also makes the coming close an RST.
    fn check(&self) -> Option<io::Error> {
        if !self.killed.load(Ordering::SeqCst) {
            return None;
        }
        if let Err(err) = self.stream.set_zero_linger() {
            tracing::warn!(%err, "could not set a zero linger; the close may be a FIN");
        }
        Some(io::Error::new(io::ErrorKind::ConnectionReset, "connection reset by an injected fault"))
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A reset connection must not say goodbye with a FIN.
        if let Some(err) = self.check() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

impl axum::serve::Listener for Listener {
    type Io = Conn;
    type Addr = Peer;

    async fn accept(&mut self) -> (Conn, Peer) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    let killed = Arc::new(AtomicBool::new(false));
                    return (Conn { stream, killed: killed.clone() }, Peer { addr, killed });
                }
                Err(err) => {
                    // Mostly EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Peer> {
        Ok(Peer { addr: self.0.local_addr()?, killed: Arc::new(AtomicBool::new(false)) })
    }
}

impl Connected<IncomingStream<'_, Listener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        stream.remote_addr().clone()
    }
}
