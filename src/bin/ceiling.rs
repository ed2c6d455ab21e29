//! The no-storage ceiling of inbound messages: an actix-web server that does the HTTP, HMAC and
//! JSON work of `POST /webhooks/api/{inbox}` — the inbox looked up, the body read within its
//! limit, the signature checked, the payload parsed and validated, a JSON answer with fresh
//! ids — and nothing else: no database, no actors, no events.
//!
//! `bench/run.sh` drives it with the same load generator, rate and connections as the real
//! server in the same run, and reports the server's rate as a fraction of this one: a ratio
//! holds from one machine (or one noisy day) to the next where absolute rates do not.
//!
//! ```text
//! ceiling --bind 127.0.0.1:8181 --inbox support --secret "$LOADGEN_SECRET"
//! ```

use std::net::SocketAddr;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use clap::Parser;
use switchboard::{
    domain::{ConversationId, MessageId},
    error::AppError,
    http::webhooks::{read_signed, Accepted},
};

/// As in the server: many small short-lived allocations per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Clone)]
#[command(
    name = "ceiling",
    about = "No-storage ceiling of inbound messages (see BENCHMARKS.md)"
)]
struct Cli {
    #[arg(long, default_value = "127.0.0.1:8181")]
    bind: SocketAddr,
    /// The API inbox's name in the path.
    #[arg(long, default_value = "support")]
    inbox: String,
    /// The inbox secret the requests are signed with.
    #[arg(long, env = "LOADGEN_SECRET")]
    secret: String,
    /// HTTP worker threads, 0 = one per core (as the server's default).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Largest body read, as the server's `max_body_bytes` default.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body: usize,
}

async fn inbound(
    cli: web::Data<Cli>,
    inbox: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    if inbox.as_str() != cli.inbox {
        return Err(AppError::NotFound("inbox"));
    }
    read_signed(&req, payload, cli.max_body, &cli.secret, None).await?;
    Ok(HttpResponse::Ok().json(Accepted {
        message_id: MessageId::new(),
        conversation_id: ConversationId::new(),
        duplicate: false,
    }))
}

fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let workers = match cli.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let bind = cli.bind;
    let data = web::Data::new(cli);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/webhooks/api/{inbox}", web::post().to(inbound))
        })
        .workers(workers)
        .tcp_nodelay(true)
        .bind(bind)?
        .run()
        .await
    })
}
