//! Wire-faithful fakes (feature `fake`): real servers on 127.0.0.1 that check requests the way
//! the services do, record what they received and can be told to misbehave (rate limits,
//! errors, dropped sockets), so the production clients are tested over real HTTP and WebSocket.

mod discord;
mod slack;

pub use discord::{DiscordRequest, FakeDiscord};
pub use slack::{FakeSlack, NotConnected, SlackMessage, SlackRequest};

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Lets tests wait for something the server saw without sleeping: every change bumps a
/// version, and waiters re-check their condition on each bump.
#[derive(Debug)]
struct Changes {
    version: watch::Sender<u64>,
}

impl Changes {
    fn new() -> Self {
        Self {
            version: watch::channel(0).0,
        }
    }

    fn bump(&self) {
        self.version.send_modify(|v| *v += 1);
    }

    /// True once `condition` holds, false if `timeout` passes first.
    async fn wait_for(&self, timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
        let mut changes = self.version.subscribe();
        let waiting = async {
            loop {
                if condition() {
                    return;
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(timeout, waiting).await.is_ok() && condition()
    }
}

async fn bind() -> std::io::Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}
