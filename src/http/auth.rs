//! Login, logout, and who am I.

use crate::http::extract::Json;
use std::net::IpAddr;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    actors::hub::{CloseSessions, Revoke},
    app::AppState,
    auth::{self, CurrentAgent},
    clock,
    db::{
        models::{AgentRow, AuthTokenRow},
        queries,
    },
    domain::{
        types::{Availability, Role},
        AgentId,
    },
    error::{AppError, AppResult, ErrorBody},
    http::openapi::{
        AgentRefusals, BadRequest, TooLarge, TooManyRequests, Unavailable, Unprocessable,
    },
    views::UtcTime,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Any text: an address that is not an agent's is refused like a wrong password.
    email: String,
    password: String,
}

/// The agent who logged in.
#[derive(Serialize, ToSchema)]
pub struct LoggedInAgent<'a> {
    pub id: AgentId,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    /// As last stored (the live one is in `GET /api/agents`).
    pub availability: Availability,
    #[schema(value_type = UtcTime)]
    pub created_at: NaiveDateTime,
}

impl<'a> From<&'a AgentRow> for LoggedInAgent<'a> {
    fn from(a: &'a AgentRow) -> Self {
        LoggedInAgent {
            id: a.id,
            email: &a.email,
            name: &a.name,
            role: a.role,
            availability: a.availability,
            created_at: a.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse<'a> {
    /// The bearer token for every other route.
    pub token: String,
    pub agent: LoggedInAgent<'a>,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse<'a> {
    pub agent: &'a CurrentAgent,
    /// How the dashboard shows things, from the server's configuration.
    pub dashboard: DashboardSettings,
}

/// The server settings the dashboard follows.
#[derive(Serialize, ToSchema)]
pub struct DashboardSettings {
    /// `[review] hide_unreviewed`: list a conversation only once it has been reviewed.
    pub hide_unreviewed: bool,
    /// `[review] after_secs`: how long after its latest message a conversation is reviewed.
    pub review_after_secs: u64,
    /// `[conversations] first_response_target_secs`: how long a customer may wait for a
    /// person before the list marks the wait as late.
    pub first_response_target_secs: u64,
}

/// A hash to verify against when the email is unknown, so both answers take as long and the
/// timing does not tell which emails exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0aRUZ7zZs8m0Ws1s3sdZ5YVjR3Q0D+XHcK8bM3DxbQg";

/// The client's address: the TCP peer, or what the reverse proxy says when it is trusted.
pub(crate) fn client_address(state: &AppState, req: &HttpRequest) -> IpAddr {
    // Cluster mode: a request another node forwarded here is its client's.
    if let Some(client) = super::forward::forwarded(state, req).and_then(|f| f.client) {
        return client;
    }
    let forwarded = state
        .app
        .settings
        .server
        .trust_forwarded_for
        .then(|| {
            req.connection_info()
                .realip_remote_addr()
                .map(str::to_owned)
        })
        .flatten()
        .and_then(|a| {
            a.parse::<IpAddr>()
                .ok()
                .or_else(|| a.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        });
    forwarded
        .or_else(|| req.peer_addr().map(|a| a.ip()))
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Refuses a password attempt (a login, or an agent confirming their password) from this
/// address for this email while it must wait after earlier failures: 429 with the wait.
pub(crate) fn throttle(
    state: &AppState,
    email: &str,
    from: IpAddr,
    now: std::time::Instant,
) -> AppResult<()> {
    state.app.logins.check(email, from, now).map_err(|refusal| {
        tracing::info!(?refusal, client = %from, "password attempt throttled");
        let wait = refusal.retry_after();
        AppError::TooManyRequests {
            retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
        }
    })
}

/// Checks `password` against `hash` off the async threads (argon2 takes a while on purpose)
/// and counts the outcome in the login throttle of `key` from `from`. A failure's wait counts
/// from the answer, not from the request: the check itself takes a while, and the client
/// could not have tried again before it was told.
pub(crate) async fn password_matches(
    state: &AppState,
    key: &str,
    from: IpAddr,
    password: String,
    hash: String,
) -> AppResult<bool> {
    let ok = password.len() <= auth::MAX_PASSWORD_BYTES
        && web::block(move || auth::verify_password(&password, &hash))
            .await
            .map_err(AppError::internal)?;
    let now = std::time::Instant::now();
    match ok {
        true => state.app.logins.succeeded(key, from, now),
        false => state.app.logins.failed(key, from, now),
    }
    // Cluster mode: the other nodes count it too.
    if let Some(cluster) = &state.app.cluster {
        cluster.tell_login(key, from, ok).await;
    }
    Ok(ok)
}

/// Hashes a password off the async threads (argon2 takes a while on purpose).
pub(crate) async fn hashed(password: String) -> AppResult<String> {
    web::block(move || auth::hash_password(&password))
        .await
        .map_err(AppError::internal)?
}

/// Closes these websockets now, telling them why (logout, deactivation, a new role or
/// password).
pub(crate) async fn close_sessions(
    state: &AppState,
    who: Revoke,
    reason: &'static str,
) -> AppResult<()> {
    let closed = state.app.hub.send(CloseSessions { who, reason }).await?;
    tracing::info!(closed, reason, "closed websockets");
    Ok(())
}

/// `POST /api/auth/login`: a bearer token for an agent's email and password.
#[utoipa::path(
    operation_id = "login",
    post,
    path = "/api/auth/login",
    tag = "auth",
    summary = "Log in",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "A bearer token", body = LoginResponse<'_>),
        (status = 400, response = BadRequest),
        (status = 401, description = "unauthorized: wrong email or password", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> AppResult<HttpResponse> {
    let LoginRequest { email, password } = body.into_inner();
    if email.len() > 254 || password.len() > auth::MAX_PASSWORD_BYTES {
        return Err(AppError::Unauthorized("wrong email or password"));
    }
    let store = &state.app.store;
    let lookup = email.trim().to_lowercase();
    let from = client_address(&state, &req);
    let now = std::time::Instant::now();
    throttle(&state, &lookup, from, now)?;
    let throttle_key = lookup.clone();
    // A deactivated agent is refused like a wrong password, after the same work.
    let agent = store
        .read(move |c| queries::agent_by_email(c, &lookup))
        .await?
        .filter(|a| a.deactivated_at.is_none());
    let hash = agent
        .as_ref()
        .map_or(DUMMY_HASH, |a| a.password_hash.as_str())
        .to_owned();
    if !password_matches(&state, &throttle_key, from, password, hash).await? {
        return Err(AppError::Unauthorized("wrong email or password"));
    }
    let agent = agent.ok_or(AppError::Unauthorized("wrong email or password"))?;
    let token = auth::new_token();
    let now = clock::now();
    let row = AuthTokenRow {
        token_hash: auth::token_hash(&token),
        agent_id: agent.id,
        created_at: now,
        expires_at: now + chrono::Duration::hours(state.app.settings.server.token_ttl_hours),
    };
    store.write(move |c| queries::insert_token(c, &row)).await?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        token,
        agent: LoggedInAgent::from(&agent),
    }))
}

/// Revokes the token used for this request, and closes the websockets opened with it before
/// answering: nothing more reaches them.
#[utoipa::path(
    operation_id = "logout",
    post,
    path = "/api/auth/logout",
    tag = "auth",
    summary = "Log out: revoke this token and close its websockets",
    responses(
        (status = 204, description = "Logged out"),
        AgentRefusals,
    ),
)]
pub async fn logout(state: web::Data<AppState>, me: CurrentAgent) -> AppResult<HttpResponse> {
    let hash = me.token_hash.clone();
    state
        .app
        .store
        .write(move |c| queries::delete_token(c, &hash))
        .await?;
    close_sessions(&state, Revoke::Token(me.token_hash.clone()), "logged out").await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/auth/me`.
#[utoipa::path(
    operation_id = "me",
    get,
    path = "/api/auth/me",
    tag = "auth",
    summary = "Who am I",
    responses(
        (status = 200, description = "The agent of this token", body = MeResponse<'_>),
        AgentRefusals,
    ),
)]
pub async fn me(state: web::Data<AppState>, me: CurrentAgent) -> HttpResponse {
    let review = &state.app.settings.review;
    HttpResponse::Ok().json(MeResponse {
        agent: &me,
        dashboard: DashboardSettings {
            hide_unreviewed: review.hide_unreviewed,
            review_after_secs: review.after_secs,
            first_response_target_secs: state.app.settings.conversations.first_response_target_secs,
        },
    })
}
