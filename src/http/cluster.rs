//! `GET /api/cluster` (admins): the nodes of the cluster, which shards each holds, their
//! connections and how far each lags behind the event log; in single-node mode, only that.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    app::AppState,
    auth::CurrentAgent,
    domain::types::Role,
    error::{AppError, AppResult},
    http::openapi::{Forbidden, Unauthorized, Unavailable},
};

/// What `GET /api/cluster` answers.
#[derive(Serialize, ToSchema)]
pub struct ClusterView {
    /// `single` (no `[cluster]`) or `cluster`.
    #[schema(value_type = String, pattern = "^(single|cluster)$")]
    pub mode: &'static str,
    /// The node that answered; `null` in single-node mode.
    #[schema(required = true)]
    pub node: Option<String>,
    /// Every live node (empty in single-node mode).
    pub nodes: Vec<NodeView>,
    /// The shards the answering node holds, by number, with the fencing epoch it took each
    /// with.
    #[schema(value_type = Object)]
    pub epochs: std::collections::BTreeMap<u16, i64>,
    /// The event log's latest `seq` (0 in single-node mode).
    pub events_latest: u64,
}

/// One node as it describes itself (renewed every second).
#[derive(Serialize, ToSchema)]
pub struct NodeView {
    pub node: String,
    /// Where its HTTP server listens.
    pub address: String,
    /// How many of the 256 shards it holds, and which.
    pub shard_count: usize,
    pub shards: Vec<u16>,
    /// Its open websockets (agents' and visitors').
    pub connections: u64,
    /// How many events of the log it has not yet delivered to its clients, as of its last
    /// renewal (each node renews every third of `lease_ttl_ms`).
    pub lag_events: u64,
}

/// The cluster's nodes and shards.
#[utoipa::path(
    operation_id = "cluster_status",
    get,
    path = "/api/cluster",
    tag = "cluster",
    summary = "The cluster's nodes, their shards and the event log's position (admins)",
    responses(
        (status = 200, description = "The cluster as this node sees it", body = ClusterView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn status(state: web::Data<AppState>, me: CurrentAgent) -> AppResult<HttpResponse> {
    if me.role != Role::Admin {
        return Err(AppError::Forbidden("only admins see the cluster"));
    }
    let Some(cluster) = &state.app.cluster else {
        return Ok(HttpResponse::Ok().json(ClusterView {
            mode: "single",
            node: None,
            nodes: Vec::new(),
            epochs: Default::default(),
            events_latest: 0,
        }));
    };
    let status = cluster.status().await?;
    Ok(HttpResponse::Ok().json(ClusterView {
        mode: "cluster",
        node: Some(status.node),
        nodes: status
            .members
            .into_iter()
            .map(|m| NodeView {
                node: m.node,
                address: m.address,
                shard_count: m.shards.len(),
                shards: m.shards,
                connections: m.connections,
                lag_events: status.events_latest.saturating_sub(m.events_followed),
            })
            .collect(),
        epochs: status.epochs,
        events_latest: status.events_latest,
    }))
}
