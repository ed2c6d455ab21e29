//! The login throttle across nodes: each node tells the others, over NATS, every password
//! attempt's outcome, and counts theirs as its own; so guesses spread over the nodes wait as
//! long as guesses sent to one. Core NATS (fire and forget), a few milliseconds behind: a
//! guess that races the news of the previous one is counted a moment late, never lost.

use std::{net::IpAddr, sync::Arc, time::Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::NodeId;
use crate::login_throttle::LoginThrottle;

const SUBJECT: &str = "sb.logins";

/// One password attempt's outcome, as a node tells the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// The node that checked it (which has counted it already).
    pub node: String,
    pub key: String,
    pub from: IpAddr,
    pub succeeded: bool,
}

/// Tells the other nodes of an attempt this node checked.
pub async fn tell(client: &async_nats::Client, attempt: &Attempt) {
    let Ok(payload) = serde_json::to_vec(attempt) else {
        return;
    };
    if let Err(e) = client.publish(SUBJECT, payload.into()).await {
        tracing::warn!(error = %e, "cannot tell the other nodes of a password attempt");
    }
}

/// Counts the attempts the other nodes checked in `throttle`, until the connection closes.
pub async fn follow(
    client: async_nats::Client,
    me: NodeId,
    throttle: Arc<LoginThrottle>,
) -> Result<(), String> {
    let mut attempts = client.subscribe(SUBJECT).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        while let Some(msg) = attempts.next().await {
            let Ok(a) = serde_json::from_slice::<Attempt>(&msg.payload) else {
                continue;
            };
            if a.node == me.as_str() {
                continue;
            }
            match a.succeeded {
                true => throttle.succeeded(&a.key, a.from, Instant::now()),
                false => throttle.failed(&a.key, a.from, Instant::now()),
            }
        }
    });
    Ok(())
}
