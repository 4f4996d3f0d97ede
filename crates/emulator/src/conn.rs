//! Accepting connections so that a request handler can reset its own connection.
//!
//! A fault rule may ask for "a connection reset after N bytes of the request body". Axum hands
//! the socket to hyper, so the listener keeps a duplicate of each connection's socket in a
//! [`Peer`], which reaches handlers as `ConnectInfo<Peer>`. [`Peer::reset`] turns on a zero
//! linger (so the final close is an RST, not a FIN) and shuts the socket down, so that hyper's
//! next write fails, it drops the connection, and the client sees "connection reset".

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::net::{TcpListener, TcpStream};

pub(crate) struct Listener(pub(crate) TcpListener);

/// One accepted connection, as a handler sees it.
#[derive(Clone)]
pub(crate) struct Peer {
    pub(crate) addr: SocketAddr,
    /// A second descriptor of the connection's socket; taken by the first reset.
    socket: Option<Arc<Mutex<Option<TcpStream>>>>,
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Peer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Peer {
    /// Aborts the connection: the client gets an RST and no answer.
    pub(crate) fn reset(&self) {
        let taken =
            self.socket.as_ref().and_then(|socket| socket.lock().unwrap_or_else(PoisonError::into_inner).take());
        let Some(socket) = taken else {
            tracing::warn!(peer = %self.addr, "cannot reset this connection");
            return;
        };
        tracing::info!(peer = %self.addr, "resetting the connection (injected fault)");
        let result =
            socket.set_zero_linger().and_then(|()| socket.into_std()).and_then(|std| std.shutdown(Shutdown::Both));
        if let Err(err) = result {
            tracing::warn!(%err, peer = %self.addr, "could not reset the connection");
        }
    }
}

/// A duplicate descriptor, registered with tokio only so that `set_zero_linger` is available.
fn duplicate(stream: TcpStream) -> io::Result<(TcpStream, TcpStream)> {
    let std = stream.into_std()?;
    let dup = std.try_clone()?;
    Ok((TcpStream::from_std(std)?, TcpStream::from_std(dup)?))
}

impl axum::serve::Listener for Listener {
    type Io = TcpStream;
    type Addr = Peer;

    async fn accept(&mut self) -> (TcpStream, Peer) {
        loop {
            let (stream, addr) = match self.0.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Mostly EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            match duplicate(stream) {
                Ok((stream, dup)) => {
                    return (stream, Peer { addr, socket: Some(Arc::new(Mutex::new(Some(dup)))) });
                }
                // The stream was consumed; the client will see its connection closed.
                Err(err) => tracing::warn!(%err, peer = %addr, "could not set up a connection"),
            }
        }
    }

    fn local_addr(&self) -> io::Result<Peer> {
        Ok(Peer { addr: self.0.local_addr()?, socket: None })
    }
}

impl Connected<IncomingStream<'_, Listener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        stream.remote_addr().clone()
    }
}
