//! The badge across nodes: the conversations change on the nodes holding them, and one node
//! counts and announces (the holder of [`Shard::FIRST`](super::Shard), as for presence). Every
//! node that commits a change tells it over core NATS; the announcer recounts (a burst shares
//! one count, as on a single node) and recounts now and then besides, so a lost notice only
//! delays a badge.

use futures_util::StreamExt;

const SUBJECT: &str = "sb.badge.changed";

/// Tells the announcer that something that may change the badge was committed.
pub fn tell(client: &async_nats::Client) {
    let client = client.clone();
    tokio::spawn(async move {
        if let Err(e) = client.publish(SUBJECT, bytes::Bytes::new()).await {
            tracing::warn!(error = %e, "cannot tell the badge's counter of a change");
        }
    });
}

/// Calls `changed` for every change any node tells (this one's included).
pub async fn follow(
    client: &async_nats::Client,
    changed: impl Fn() + Send + 'static,
) -> Result<(), String> {
    let mut notices = client.subscribe(SUBJECT).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        while notices.next().await.is_some() {
            changed();
        }
    });
    Ok(())
}
