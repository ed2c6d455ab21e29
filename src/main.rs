//! The `switchboard` command: `switchboard` (or `switchboard serve`) runs the server;
//! `switchboard agent add …` adds an agent to the same database; `switchboard backup PATH`
//! copies the SQLite database while the server runs.

use std::{process::ExitCode, time::Duration};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use switchboard::{auth, config::Settings, db, domain::types::Role, server, telemetry};

/// Many small, short-lived allocations per message (events, views, rows): mimalloc serves
/// them in a fraction of glibc malloc's time (measured in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Self-hosted omni-channel conversations inbox"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Manage agents.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Copy the SQLite database to PATH (a new file), consistent even while the server runs.
    Backup {
        /// Where to write the copy; it must not exist.
        path: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Add an agent, supervisor or admin.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// At least 8 characters. Prefer SWITCHBOARD_AGENT_PASSWORD to keep it out of shell history.
        #[arg(long, env = "SWITCHBOARD_AGENT_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
        .map_err(|_| "must be admin, supervisor or agent".to_owned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            // `{:#}` prints the chain: "in config file x.toml: invalid config: `inbox[0].from` …".
            eprintln!("switchboard: {e:#}");
            return ExitCode::from(2);
        }
    };
    telemetry::init();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Agent {
            command:
                AgentCommand::Add {
                    email,
                    name,
                    role,
                    password,
                },
        } => add_agent(&settings, &email, &name, role, &password),
        Command::Backup { path } => db::backup::backup(&settings.database_url(), &path)
            .map(|b| println!("Backed up to {} ({} bytes)", b.path.display(), b.bytes))
            .map_err(anyhow::Error::msg),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let admin_email = settings.admin.email.clone();
        let (handle, server) = server::build(settings).await?;
        if let Some(password) = &handle.generated_admin_password {
            // Printed once, on the console only (never logged): the only way to learn it.
            println!("First admin created: {admin_email} / {password}  (change it, or set SWITCHBOARD_ADMIN_PASSWORD before the first start)");
        }
        println!("Switchboard listening on http://{}", handle.addr);
        let mut server = std::pin::pin!(server);
        tokio::select! {
            res = &mut server => return res.context("server error"),
            signal = stop_signal() => tracing::info!(signal, "stop requested"),
        }
        // Stopping is bounded: what has not finished by then is dropped (unanswered, so
        // never acknowledged); a second signal exits at once.
        let deadline = Duration::from_secs(handle.app.settings.server.shutdown_secs + 1);
        let stopped = async {
            server::stop(&handle).await;
            (&mut server).await
        };
        tokio::select! {
            res = tokio::time::timeout(deadline, stopped) => match res {
                Ok(res) => res.context("server error")?,
                Err(_) => tracing::warn!("stopped at the deadline with work still in flight"),
            },
            signal = stop_signal() => tracing::warn!(signal, "stopped at once on a second signal"),
        }
        tracing::info!("stopped");
        Ok(())
    })
}

/// The first SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => {
                tracing::warn!("cannot listen for signals; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

fn add_agent(
    settings: &Settings,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> anyhow::Result<()> {
    let store = db::Store::open(&settings.database_url(), 1)
        .map_err(anyhow::Error::msg)
        .context("cannot open the database")?;
    let row = auth::new_agent_row(email, name, role, password)?;
    let (id, email) = (row.id, row.email.clone());
    actix_web::rt::System::new().block_on(async move {
        let exists = {
            let e = email.clone();
            store
                .read(move |c| db::queries::agent_by_email(c, &e))
                .await?
        };
        if exists.is_some() {
            anyhow::bail!("an agent with email {email} already exists");
        }
        store
            .write(move |c| db::queries::insert_agent(c, &row))
            .await?;
        println!("Added {role} {email} ({id})");
        Ok(())
    })
}
