//! Wiring: open the store, make sure an admin exists, start the actors and the HTTP server on a
//! bound listener. `main` and the tests call the same [`build`].

use std::{net::SocketAddr, sync::Arc, time::Duration};

use actix::prelude::*;
use actix_web::{dev::Server, web, App, HttpServer};
use anyhow::Context as _;

use crate::cluster::node::ClusterNode;
use tokio::sync::Notify;

use crate::{
    actors::{
        badge::BadgeCounter,
        conversation::ConversationDeps,
        hub::Hub,
        presence::Presence,
        registry::{Conversations, Threads},
    },
    app::{AppContext, AppState},
    assistant::roster::Assistants,
    auth,
    channels::{media, outbox},
    config::Settings,
    db::{queries, Store},
    domain::types::Role,
    http,
    inbox::Inboxes,
};

/// The secrets of the shipped example config: fine for a first try, never for production.
const DEMO_SECRETS: &[&str] = &["demo-secret-change-me", "demo-widget-secret-change-me"];

/// A running server.
pub struct AppHandle {
    pub addr: SocketAddr,
    pub app: Arc<AppContext>,
    pub registry: Conversations,
    pub server: actix_web::dev::ServerHandle,
    /// The first admin's password when it was generated at this start (printed once by main).
    pub generated_admin_password: Option<String>,
    /// The thread of the outbox and the broadcasts, stopped with the server.
    _deliveries: Threads,
}

/// Starts the outbox and the broadcasts' dispatcher on a thread of their own, sharing one
/// pacing limiter (it lives on that thread). On the system thread, beside the hub that every
/// event goes through, the outbox's deliveries were about half of that thread's samples
/// under load (perf); the busiest thread was the writer, not this one.
fn start_deliveries(app: &Arc<AppContext>, registry: &Conversations) -> Threads {
    let arbiter = Arbiter::new();
    let (app, registry) = (app.clone(), registry.clone());
    arbiter.spawn_fn(move || {
        let limiter = outbox::Limiter::default();
        outbox::start(app.clone(), registry.clone(), limiter.clone());
        crate::broadcasts::start(app, registry, limiter);
    });
    Threads(vec![arbiter])
}

/// Starts everything; the returned `Server` must be awaited (or spawned) to serve.
/// Must be called inside an actix `System`.
pub async fn build(settings: Settings) -> anyhow::Result<(AppHandle, Server)> {
    let settings = Arc::new(settings);
    // The phone-number metadata is decoded on first use (~100 ms unoptimised): do it now, on
    // a thread of its own, not in the writer when the first contact with a phone arrives.
    std::thread::spawn(crate::domain::profile::warm_up);
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let store = open_store(&settings, &metrics).await?;
    let generated_admin_password = ensure_admin(&store, &settings).await?;
    warn_about_demo_secrets(&settings);
    let http_client = reqwest::Client::builder()
        .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the HTTP client")?;
    let assistants = start_assistants(&settings, &store, &http_client, &metrics).await?;

    let hub = Hub::new(settings.realtime.backlog_events)
        .counting(metrics.events_published.clone(), metrics.stages.hub.clone());
    let open_sessions = hub.open_sessions();
    let (hub, cluster) = match &settings.cluster {
        None => (hub.start(), None),
        Some(cluster) => {
            let id = cluster.node_id(settings.server.bind.port());
            // A forwarded write has the owner's whole deadline, and a second for the trip.
            let answer_within = Duration::from_millis(settings.server.db_deadline_ms)
                + crate::http::timing::WRITE_GRACE
                + Duration::from_secs(1);
            let node = ClusterNode::connect(cluster, id, answer_within)
                .await
                .context("cannot join the cluster")?;
            let hub = crate::cluster::relay::start(node.events.clone(), hub, store.clone())
                .await
                .context("cannot follow the cluster's event log")?;
            (hub, Some(Arc::new(node)))
        }
    };
    let app = Arc::new(AppContext {
        inboxes: Arc::new(Inboxes::from_settings(&settings)),
        settings: settings.clone(),
        badge: BadgeCounter::new(store.clone(), hub.clone()).start(),
        presence: Presence::new(store.clone(), hub.clone()).start(),
        store,
        hub,
        assistants,
        outbox_kick: Arc::new(Notify::new()),
        broadcast_kick: Arc::new(Notify::new()),
        logins: Arc::new(crate::login_throttle::LoginThrottle::new(
            settings.server.login_failures_per_minute,
        )),
        contacts: Default::default(),
        agent_names: Default::default(),
        http: http_client,
        stopping: tokio::sync::watch::Sender::new(false),
        rate_limits: Arc::new(crate::rate_limit::PublicLimits::from_settings(
            &settings.server,
        )),
        metrics,
        cluster,
    });
    for agent in app
        .store
        .read(queries::list_agents)
        .await
        .context("cannot read the agents")?
    {
        app.agent_names.note(agent.id, &agent.name);
    }
    let registry = Conversations::start(
        Arc::new(conversation_deps(&app)),
        settings.conversations.actor_threads(),
    );
    let deliveries = start_deliveries(&app, &registry);
    crate::review::start(app.clone(), registry.clone());
    media::resume_downloads(app.clone(), registry.clone());

    let state = web::Data::new(AppState {
        app: app.clone(),
        registry: registry.clone(),
    });
    let (addr, server) = serve(&settings, state)?;
    if let Some(cluster) = &app.cluster {
        cluster
            .share_logins(app.logins.clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot share the login throttle: {e}"))?;
        cluster
            .share_presence(
                app.presence.clone(),
                app.badge.clone(),
                app.stopping.subscribe(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot share presence: {e}"))?;
        let connections =
            Arc::new(move || open_sessions.load(std::sync::atomic::Ordering::Relaxed));
        cluster
            .join(app.store.clone(), addr, registry.clone(), connections)
            .await
            .context("cannot join the cluster")?;
    }
    let handle = AppHandle {
        addr,
        app,
        registry,
        server: server.handle(),
        generated_admin_password,
        _deliveries: deliveries,
    };
    Ok((handle, server))
}

/// Opens the database (and runs its migrations) off the async threads.
async fn open_store(
    settings: &Settings,
    metrics: &crate::metrics::Metrics,
) -> anyhow::Result<Store> {
    let url = settings.database_url();
    let pool_size = settings.server.db_pool_size;
    let deadline = Duration::from_millis(settings.server.db_deadline_ms);
    let writer_metrics = metrics.writer.clone();
    let store = tokio::task::spawn_blocking(move || {
        Store::open_with(&url, pool_size, deadline, writer_metrics)
    })
    .await
    .context("database start failed")?
    .map_err(anyhow::Error::msg)
    .context("cannot open the database")?;
    tracing::info!(backend = store.backend().name(), "database ready");
    Ok(store)
}

/// The shipped example secrets are fine for a first try, never in production: say so.
fn warn_about_demo_secrets(settings: &Settings) {
    for inbox in settings
        .inboxes
        .iter()
        .filter(|i| DEMO_SECRETS.contains(&i.secret.expose()))
    {
        tracing::warn!(
            inbox = %inbox.id,
            "inbox uses the example secret from switchboard.toml; set {} in production",
            crate::config::inbox_secret_var(&inbox.id)
        );
    }
}

/// The assistants, each with its knowledge base (or the built-in demo one); a language
/// model's spend today is read back (the daily budget survives a restart) and its server is
/// checked in the background (a wrong URL is logged and shown by `/healthz`, never a crash).
async fn start_assistants(
    settings: &Settings,
    store: &Store,
    http: &reqwest::Client,
    metrics: &crate::metrics::Metrics,
) -> anyhow::Result<Arc<Assistants>> {
    if settings.assistants.legacy_table {
        tracing::warn!(
            "the single [assistant] table is read as the built-in assistant `default`; \
             write it as:\n{}",
            crate::config::ASSISTANT_NEW_FORM
        );
    }
    let assistants = Arc::new(Assistants::from_settings(settings, http, metrics)?);
    let today = crate::clock::now().date();
    let spent = store
        .read(move |c| queries::usage_on(c, today))
        .await
        .context("cannot read the assistants' usage")?;
    for (id, counts) in spent {
        if let Some(llm) = assistants.get(&id).and_then(|a| a.llm.clone()) {
            let total = counts
                .prompt_tokens
                .saturating_add(counts.completion_tokens);
            llm.set_spent(today, u64::try_from(total).unwrap_or(0));
        }
    }
    for llm in assistants.all().into_iter().filter_map(|a| a.llm.clone()) {
        actix::spawn(async move { llm.probe().await });
    }
    Ok(assistants)
}

/// Binds the listener and builds the HTTP server (not yet running) with its workers.
fn serve(settings: &Settings, state: web::Data<AppState>) -> anyhow::Result<(SocketAddr, Server)> {
    let listener = std::net::TcpListener::bind(settings.server.bind)
        .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
    let addr = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let max_body = settings.server.max_body_bytes;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(actix_web::middleware::NormalizePath::trim())
            .wrap(actix_web::middleware::from_fn(http::timing::answer_in_time))
            .wrap(actix_web::middleware::from_fn(http::forward::forward_moved))
            .wrap(actix_web::middleware::from_fn(http::timing::limit_public))
            .wrap(actix_web::middleware::from_fn(http::timing::server_timing))
            .wrap(actix_web::middleware::from_fn(
                http::metrics::count_requests,
            ))
            .configure(|cfg| http::configure(cfg, max_body))
    })
    .workers(workers)
    // `main` handles SIGTERM/SIGINT (`stop`): websockets are closed with 1012 first, which
    // actix's own handling would leave open until its timeout.
    .disable_signals()
    .shutdown_timeout(settings.server.shutdown_secs)
    // Realtime frames are small and must leave at once: without this, Nagle's algorithm holds
    // a frame until the client's (delayed, up to 40 ms) ACK of the previous one.
    .tcp_nodelay(true)
    .listen(listener)
    .context("cannot start the HTTP server")?
    .run();
    Ok((addr, server))
}

/// Stops the server gracefully: every websocket closes with 1012 (service restart), no new
/// connection is accepted, requests in flight finish (and with them their group commits),
/// then the server future resolves. Bounded by `[server] shutdown_secs`: what is still open
/// then is dropped (a request not answered was not acknowledged, so nothing acknowledged is
/// lost).
pub async fn stop(handle: &AppHandle) {
    let deadline = Duration::from_secs(handle.app.settings.server.shutdown_secs);
    tracing::info!(
        deadline_secs = deadline.as_secs(),
        "stopping: closing websockets and finishing requests in flight"
    );
    handle.app.stopping.send_replace(true);
    if let Some(cluster) = &handle.app.cluster {
        // Its shards go to the other nodes at once, not after their leases expire.
        cluster.leave().await;
    }
    handle.server.stop(true).await;
}

/// What the conversation actors use, taken from the shared context.
fn conversation_deps(app: &AppContext) -> ConversationDeps {
    let settings = &app.settings;
    ConversationDeps {
        store: app.store.clone(),
        hub: app.hub.clone().recipient(),
        badge: app.badge.clone().recipient(),
        presence: app.presence.clone().recipient(),
        inboxes: app.inboxes.clone(),
        assistants: app.assistants.clone(),
        outbox_kick: app.outbox_kick.clone(),
        agent_names: app.agent_names.clone(),
        assignment: settings.assignment.clone(),
        idle_after: Duration::from_secs(settings.conversations.idle_actor_secs),
        timer_scan: Duration::from_secs(settings.conversations.timer_scan_secs),
        media_dir: settings.server.data_dir.join(media::MEDIA_DIR),
        review_after: chrono::Duration::seconds(
            i64::try_from(settings.review.after_secs).unwrap_or(i64::MAX / 1_000_000),
        ),
        mailbox_wait: app.metrics.stages.conversation_mailbox.clone(),
        owner: app.cluster.as_ref().map(|c| c.held()),
    }
}

/// Creates the first admin when no agent exists. Returns the password if it was generated.
async fn ensure_admin(store: &Store, settings: &Settings) -> anyhow::Result<Option<String>> {
    let count = store
        .read(queries::count_agents)
        .await
        .context("cannot count the agents")?;
    if count > 0 {
        return Ok(None);
    }
    let (password, generated) = match &settings.admin.password {
        Some(p) => (p.expose().to_owned(), false),
        None => (auth::generate_password(), true),
    };
    let email = settings.admin.email.clone();
    let pw = password.clone();
    let row =
        tokio::task::spawn_blocking(move || auth::new_agent_row(&email, "Admin", Role::Admin, &pw))
            .await?
            .context("invalid config: `admin`")?;
    store
        .write(move |c| queries::insert_agent(c, &row))
        .await
        .context("cannot create the first admin")?;
    tracing::info!(email = %settings.admin.email, "created the first admin");
    Ok(generated.then_some(password))
}
