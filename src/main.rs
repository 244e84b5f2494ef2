//! The `concord` command line: argument parsing only; each command is a function of
//! [`concord::app`].

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use concord::app::{self, AppError, Context, Format, Outcome, publish::ReplayFrom};
use concord::memory;
use concord::sync::SyncOptions;

/// glibc's allocator fragments under the pipeline's many short-lived JSON values and spends a
/// large share of a sync in malloc/free; mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code of a writing command refused because another process holds the store.
const EXIT_LOCKED: u8 = 3;

/// Concord joins CRM, ERP and SCM systems into one unified customer database.
#[derive(Debug, Parser)]
#[command(name = "concord", version, about)]
struct Cli {
    /// The config file.
    #[arg(
        long,
        short,
        global = true,
        env = "CONCORD_CONFIG",
        default_value = "concord.yaml"
    )]
    config: PathBuf,
    /// Log output format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// A writing command waits this long (e.g. `30s`, `5m`) for another writer to finish,
    /// instead of refusing at once with exit code 3.
    #[arg(long, global = true, value_parser = humantime::parse_duration)]
    wait: Option<Duration>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum EventsAction {
    /// Publish stored events again, published or not, for a consumer that lost its data.
    Replay {
        /// From the first event stored at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
        #[arg(long, conflicts_with = "from", required_unless_present = "from")]
        since: Option<String>,
        /// From this event: its ID or its sequence number (see `concord events`).
        #[arg(long)]
        from: Option<String>,
    },
    /// List events the broker refuses for good (too large, unroutable), set aside with the reason.
    Parked {
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Put parked events back in line (all of them with `--all`); the next publish sends them.
    Retry {
        /// Event IDs, as `concord events parked` lists them.
        #[arg(required_unless_present = "all")]
        ids: Vec<String>,
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
enum QuarantineAction {
    /// After a mapping fix: run the records a mapping refused through the current mappings
    /// again, from their stored payload, and store those that map now (entries resolved, kept
    /// for audit); those still failing take their new reason.
    Replay {
        /// Only this source's entries.
        #[arg(long)]
        source: Option<String>,
        /// Show what would be stored and what still fails; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ReviewAction {
    /// List review items (open ones unless `--all`), each with its evidence.
    List {
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Merge the pair of a review item (the older golden ID survives).
    Accept { id: i64 },
    /// Keep the pair of a review item apart, for good: it is never merged automatically.
    Reject { id: i64 },
}

#[derive(Debug, Subcommand)]
enum ReconcileAction {
    /// Estimate the weights of the scored match rules from the stored source records
    /// (Fellegi–Sunter m/u probabilities by expectation–maximisation) and write them to each
    /// rule's `weights_file`.
    Train {
        /// customer or product.
        #[arg(long, default_value = "customer")]
        entity: String,
        /// Write here instead of the rules' `weights_file`.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Records of one block compared with each other at most.
        #[arg(long, default_value_t = 50)]
        max_block: usize,
    },
    /// Judge the stored records and the open review queue again under the current rules and
    /// weights, and apply the merges and splits found (with their events).
    Rescore {
        /// customer or product.
        #[arg(long, default_value = "customer")]
        entity: String,
        /// Show what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the config and every mapping file; errors name file:line:col.
    Validate,
    /// Run the mapping tests (`*.test.yaml`) in these files or folders (default: this folder).
    Test {
        /// Test files, or folders searched for them.
        paths: Vec<std::path::PathBuf>,
    },
    /// Print a generated schema: `config`, `profile`, `mapping` (JSON Schemas of the files, for
    /// editors), `events` (one JSON Schema per event type) or `asyncapi` (the bus as AsyncAPI 3).
    Schema {
        /// What to print.
        what: Option<String>,
        /// Write every schema into this folder instead of printing one.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Run every source once (or one), store the changes and queue their events.
    Sync {
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Ignore stored cursors and read every record again (unchanged records are still skipped).
        #[arg(long)]
        full: bool,
        /// Records per transaction.
        #[arg(long, default_value_t = concord::sync::DEFAULT_BATCH_SIZE)]
        batch_size: usize,
    },
    /// Run as a service: every source on its schedule, the outbox relayed continuously, health
    /// and metrics on the operations address; SIGTERM or Ctrl-C stops it cleanly.
    Run,
    /// Show raw and mapped records of a source side by side, storing nothing.
    Preview {
        #[arg(long)]
        source: String,
        /// Records to read (default: 5; with --diff, the whole source).
        #[arg(long)]
        limit: Option<usize>,
        /// Show what a sync would change in the store instead: each golden record's fields
        /// before and after, new records, merges, events and quarantine. Writes nothing.
        #[arg(long)]
        diff: bool,
    },
    /// Serve the read-only API (`/api/…`, OpenAPI at `/api/openapi.json`) and the steward page.
    Serve {
        /// The address to listen on (default: `serve.listen` of the config).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Print the argon2 hash of the password read from stdin (for `serve.auth.users`), and
        /// exit.
        #[arg(long)]
        hash_password: bool,
    },
    /// Find golden records by name, tax ID, email or phone (what `GET /api/customers?q=` finds).
    Find {
        /// Looks in every field: part of a name, or a whole tax ID, email or phone.
        query: Option<String>,
        /// customer or product.
        #[arg(long, default_value = "customer")]
        entity: String,
        /// Part of the name (every option given must match).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        tax_id: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Compared by its last digits (at least 5).
        #[arg(long)]
        phone: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show a golden record with each field's source and its history.
    Show {
        /// customer, product, order or bom.
        entity: String,
        /// The golden ID, or a source record as SOURCE:KEY (e.g. `sap:100001`).
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Value every golden customer from its linked orders (also done after each sync): revenue,
    /// order count, first and last order, average order value, value tier and lifecycle stage;
    /// a change of tier or stage queues `customer.tier_changed` / `customer.stage_changed`.
    Value {
        /// Show what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Publish the events waiting in the outbox to the message bus, once, in order.
    Publish,
    /// List outbox events in order.
    Events {
        #[command(subcommand)]
        action: Option<EventsAction>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Only events after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Why a golden record holds the source records it holds: every match decision with its
    /// evidence, the records merged into it and its review items.
    Explain {
        /// customer, product, order or bom.
        entity: String,
        /// The golden ID (an ID merged away leads to its survivor), or SOURCE:KEY.
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The review queue: pairs scored between the review and the match threshold.
    Review {
        #[command(subcommand)]
        action: ReviewAction,
    },
    /// Split a source record out of a golden record into one of its own; no later sync merges
    /// them again.
    Unmerge {
        entity: String,
        /// The golden record.
        id: String,
        #[arg(long)]
        source: String,
        #[arg(long)]
        key: String,
    },
    /// Matching maintenance.
    Reconcile {
        #[command(subcommand)]
        action: ReconcileAction,
    },
    /// List data-quality notes, newest first: stored records whose optional value could not be
    /// read and was left empty.
    Quality {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// List references (order → customer, line → product) still waiting for their target, with
    /// the source whose key they hold and their age.
    Refs {
        /// Only references whose target has not arrived (the only listing for now).
        #[arg(long)]
        pending: bool,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// List quarantined records with their reasons, newest first (`replay` runs them through
    /// the mappings again).
    Quarantine {
        #[command(subcommand)]
        action: Option<QuarantineAction>,
        /// Also list entries a replay stored (kept for audit).
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

/// Logs go to stderr through the redaction point; colours only on a terminal and never with
/// `NO_COLOR` set.
fn init_logging(format: LogFormat) {
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(concord::telemetry::log_filter())
        .with_ansi(colour)
        .with_writer(concord::telemetry::log_writer());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(true).init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    memory::configure();
    match run(cli).await {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Incomplete) => ExitCode::FAILURE,
        Err(error) => {
            concord::errln!("error: {}", chain(&error));
            if error.is_locked() {
                ExitCode::from(EXIT_LOCKED)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

/// An error with its causes, each cause left out when the message before already says it (many
/// errors quote their source, and printing both reads as a stutter).
fn chain(error: &AppError) -> String {
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(next) = cause {
        let text = next.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = next.source();
    }
    message
}

/// A `--since` time: RFC 3339, or a date meaning its midnight UTC.
fn parse_since(text: &str) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&chrono::Utc));
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        AppError::Usage(format!(
            "`--since {text}`: use RFC 3339 (2024-05-14T08:00:00Z) or a date (2024-05-14)"
        ))
    })?;
    Ok(date.and_time(chrono::NaiveTime::MIN).and_utc())
}

async fn run(cli: Cli) -> Result<Outcome, AppError> {
    let context = Context {
        config: cli.config,
        wait: cli.wait,
    };
    match cli.command {
        Command::Validate => app::validate(&context).await,
        Command::Test { paths } => app::test(&paths).await,
        Command::Schema { what, output } => {
            app::schema(&context, what.as_deref(), output.as_deref()).await
        }
        Command::Sync {
            source,
            full,
            batch_size,
        } => {
            let options = SyncOptions {
                source,
                full,
                batch_size,
                ..SyncOptions::default()
            };
            app::sync(&context, options).await
        }
        Command::Run => app::run(&context, Box::new(concord::web::service_routes)).await,
        Command::Preview {
            source,
            limit,
            diff: true,
        } => app::preview_diff(&context, &source, limit).await,
        Command::Preview { source, limit, .. } => {
            app::preview(&context, &source, limit.unwrap_or(5)).await
        }
        Command::Serve {
            hash_password: true,
            ..
        } => concord::web::command::hash_password(),
        Command::Serve { listen, .. } => concord::web::command::serve(&context, listen).await,
        Command::Find {
            query,
            entity,
            name,
            tax_id,
            email,
            phone,
            limit,
            format,
        } => {
            let query = concord::store::SearchQuery {
                any: query,
                name,
                tax_id,
                email,
                phone,
            };
            app::find(&context, &entity, &query, limit, format).await
        }
        Command::Show { entity, id, format } => app::show(&context, &entity, &id, format).await,
        Command::Value { dry_run } => app::value(&context, dry_run).await,
        Command::Publish => app::publish(&context).await,
        Command::Events {
            action: Some(EventsAction::Replay { since, from }),
            ..
        } => {
            let from = match (since, from) {
                (Some(since), _) => ReplayFrom::Time(parse_since(&since)?),
                (None, Some(from)) => ReplayFrom::Event(from),
                (None, None) => {
                    return Err(AppError::Usage("give `--since` or `--from`".into()));
                }
            };
            app::replay(&context, from).await
        }
        Command::Events {
            action: Some(EventsAction::Parked { limit }),
            ..
        } => app::publish::parked(&context, limit).await,
        Command::Events {
            action: Some(EventsAction::Retry { ids, .. }),
            ..
        } => app::publish::retry(&context, &ids).await,
        Command::Events {
            action: None,
            format,
            after,
            limit,
        } => app::events(&context, after, limit, format).await,
        Command::Explain { entity, id, format } => {
            app::explain(&context, &entity, &id, format).await
        }
        Command::Review { action } => match action {
            ReviewAction::List { all, format, limit } => {
                app::review_list(&context, all, limit, format).await
            }
            ReviewAction::Accept { id } => app::review_accept(&context, id).await,
            ReviewAction::Reject { id } => app::review_reject(&context, id).await,
        },
        Command::Unmerge {
            entity,
            id,
            source,
            key,
        } => app::unmerge(&context, &entity, &id, &source, &key).await,
        Command::Reconcile {
            action:
                ReconcileAction::Train {
                    entity,
                    output,
                    max_block,
                },
        } => {
            let options = concord::reconcile::train::TrainOptions {
                max_block,
                ..Default::default()
            };
            app::train(&context, &entity, output.as_deref(), options).await
        }
        Command::Refs { pending, limit } => app::refs(&context, pending, limit).await,
        Command::Reconcile {
            action: ReconcileAction::Rescore { entity, dry_run },
        } => app::rescore(&context, &entity, dry_run).await,
        Command::Quality { format, limit } => app::quality(&context, limit, format).await,
        Command::Quarantine {
            action: Some(QuarantineAction::Replay { source, dry_run }),
            ..
        } => app::quarantine_replay(&context, source, dry_run).await,
        Command::Quarantine {
            action: None,
            all,
            format,
            limit,
        } => app::quarantine(&context, all, limit, format).await,
    }
}
