//! The `concord` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};

use concord::cli;
use concord::config::Config;
use concord::mapping::MapOutcome;
use concord::model::EntityKind;
use concord::publish::{BusConfig, Relay, connection::redact};
use concord::reconcile::{self, Reconciler};
use concord::store::ReviewStatus;
use concord::store::{self, Store};
use concord::sync::{NoProgress, Pipeline, Progress, SyncOptions};

/// glibc's allocator fragments under the pipeline's many short-lived JSON values and spends a
/// large share of a sync in malloc/free; mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    #[command(subcommand)]
    command: Command,
}

/// Publish retries after a sync (about a second in all); `concord publish` uses the configured count.
const SYNC_PUBLISH_RETRIES: usize = 3;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    Jsonl,
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
}

#[derive(Debug, Subcommand)]
enum ReviewAction {
    /// List review items (open ones unless `--all`), each with its evidence.
    List {
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
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
    /// Show raw and mapped records of a source side by side, storing nothing.
    Preview {
        #[arg(long)]
        source: String,
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
    /// Show a golden record with each field's source and its history.
    Show {
        /// customer, product, order or bom.
        entity: String,
        /// The golden ID, or a source record as SOURCE:KEY (e.g. `sap:100001`).
        id: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Publish the events waiting in the outbox to the message bus, once, in order.
    Publish,
    /// List outbox events in order.
    Events {
        #[command(subcommand)]
        action: Option<EventsAction>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
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
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
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
    /// List quarantined records with their reasons, newest first.
    Quarantine {
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONCORD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn open_store(config: &Config) -> Result<Box<dyn Store>> {
    let url = config.store_url();
    store::open(&url)
        .await
        .with_context(|| format!("opening the store {url}"))
}

fn entity(name: &str) -> Result<EntityKind> {
    EntityKind::parse(name)
        .with_context(|| format!("unknown entity `{name}`: use customer, product, order or bom"))
}

/// The configured message bus, when it has a URL.
fn bus(config: &Config) -> Option<&BusConfig> {
    config.bus.as_ref().filter(|bus| bus.is_enabled())
}

/// Drains the outbox (then replays from `replay_from`, when given) and says what happened;
/// false when events are left in the outbox.
async fn publish(bus: &BusConfig, store: &dyn Store, replay_from: Option<i64>) -> bool {
    let mut relay = Relay::new(store, bus);
    let result = match replay_from {
        Some(seq) => relay.replay(seq).await.map(|_| ()),
        None => relay.drain().await.map(|_| ()),
    };
    let report = relay.report();
    println!(
        "bus {} exchange `{}`: {} events published and confirmed ({} attempts retried, {} returned unroutable, {} refused)",
        redact(&bus.url),
        bus.exchange,
        report.published,
        report.retries,
        report.returned,
        report.nacked
    );
    match result {
        Ok(()) => true,
        Err(error) => {
            let waiting = store
                .counts()
                .await
                .map(|c| c.unpublished_events.to_string())
                .unwrap_or_else(|_| "the".into());
            eprintln!(
                "error: publishing stopped: {error}\n{waiting} events stay in the outbox; `concord publish` sends them once the bus takes them"
            );
            false
        }
    }
}

/// The golden ID a `show` argument names: itself, or the golden record of a `SOURCE:KEY`.
async fn golden_id(store: &dyn Store, kind: EntityKind, id: &str) -> Result<String> {
    let Some((source, key)) = id.split_once(':') else {
        return Ok(id.to_string());
    };
    let hits = store.xref_lookup(source, kind, &[key]).await?;
    match hits.get(key) {
        Some(hit) => Ok(hit.golden_id.clone()),
        None => bail!("source `{source}` has delivered no {kind} with key `{key}`"),
    }
}

/// A `--since` time: RFC 3339, or a date meaning its midnight UTC.
fn parse_since(text: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&chrono::Utc));
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| {
        format!("`--since {text}`: use RFC 3339 (2024-05-14T08:00:00Z) or a date (2024-05-14)")
    })?;
    Ok(date.and_time(chrono::NaiveTime::MIN).and_utc())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", chain(&error));
            ExitCode::from(2)
        }
    }
}

/// An error with its causes, each cause left out when the message before already says it (many
/// errors quote their source, and printing both reads as a stutter).
fn chain(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

async fn run(cli: Cli) -> Result<ExitCode> {
    // Only the commands that read sources compile the mappings: a broken mapping must not keep
    // anyone from looking at the store (events, quarantine, golden records).
    let config = Config::load(&cli.config)?;
    match cli.command {
        Command::Validate => {
            let pipeline = Pipeline::compile(config)?;
            let config = pipeline.config();
            println!(
                "{}: ok ({} sources)",
                cli.config.display(),
                config.sources.len()
            );
            for source in &config.sources {
                println!(
                    "  {} ({} mapping files, priority {})",
                    source.name,
                    source.mappings.len(),
                    source.priority
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync {
            source,
            full,
            batch_size,
        } => {
            let pipeline = Pipeline::compile(config)?;
            let config = pipeline.config();
            let store = open_store(config).await?;
            let options = SyncOptions {
                source,
                full,
                batch_size,
            };
            let progress: Box<dyn Progress> = if std::io::stderr().is_terminal() {
                Box::new(cli::TerminalProgress::new())
            } else {
                Box::new(NoProgress)
            };
            let summaries = pipeline
                .sync(store.as_ref(), &options, progress.as_ref())
                .await?;
            print!("{}", cli::summary_table(&summaries));
            let counts = store.counts().await?;
            let golden: Vec<String> = counts
                .golden
                .iter()
                .map(|(e, n)| format!("{n} {e}"))
                .collect();
            println!(
                "store: {}; {} events waiting in the outbox",
                golden.join(", "),
                counts.unpublished_events
            );
            let published = match bus(config) {
                Some(bus) => {
                    // A one-shot sync does not wait out a long broker outage: a few quick retries,
                    // then the events stay in the outbox for `concord publish`.
                    let bus = BusConfig {
                        max_retries: bus.max_retries.min(SYNC_PUBLISH_RETRIES),
                        ..bus.clone()
                    };
                    publish(&bus, store.as_ref(), None).await
                }
                None => {
                    println!(
                        "publishing to a message bus is not configured: events stay in the outbox (`concord events`)"
                    );
                    true
                }
            };
            let failed = summaries.iter().any(|s| !s.errors.is_empty()) || !published;
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Preview { source, limit } => {
            let pipeline = Pipeline::compile(config)?;
            for row in pipeline.preview(&source, limit).await? {
                match row {
                    Err(error) => println!("read error: {error}\n"),
                    Ok(row) => {
                        println!("── {}", row.raw.origin);
                        println!(
                            "raw:    {}",
                            serde_json::to_string_pretty(&row.raw.payload)?
                        );
                        match row.outcome {
                            MapOutcome::Mapped(record) => {
                                println!("mapped: {}", serde_json::to_string_pretty(&record)?)
                            }
                            MapOutcome::Unmatched => {
                                println!("mapped: (no mapping selects this record)")
                            }
                            MapOutcome::Failed(failure) => println!(
                                "failed: {} ({})",
                                failure.reason,
                                failure.mapping.display()
                            ),
                        }
                        println!();
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show {
            entity: name,
            id,
            format,
        } => {
            let kind = entity(&name)?;
            let store = open_store(&config).await?;
            let asked = golden_id(store.as_ref(), kind, &id).await?;
            let id = store.resolve_id(&asked).await?.unwrap_or(asked.clone());
            if id != asked {
                eprintln!("{asked} was merged into {id}");
            }
            let Some(state) = store
                .load_goldens(&[id.as_str()])
                .await?
                .into_iter()
                .next()
                .filter(|s| s.entity == kind)
            else {
                bail!("no {kind} with golden ID `{id}`");
            };
            let history = store.history(&id).await?;
            match format {
                OutputFormat::Table => print!("{}", cli::golden_view(&state, &history)),
                OutputFormat::Jsonl => println!(
                    "{}",
                    serde_json::json!({"id": state.id, "entity": state.entity, "version": state.version, "deleted": state.deleted, "record": state.record, "lineage": state.lineage, "history": history})
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Publish => {
            let Some(bus) = bus(&config) else {
                bail!(
                    "no message bus configured (`bus: {{ url: ... }}` in the config): events stay in the outbox"
                );
            };
            let store = open_store(&config).await?;
            Ok(if publish(bus, store.as_ref(), None).await {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Events {
            action: Some(EventsAction::Replay { since, from }),
            ..
        } => {
            let Some(bus) = bus(&config) else {
                bail!(
                    "no message bus configured (`bus: {{ url: ... }}` in the config): nothing to replay to"
                );
            };
            let store = open_store(&config).await?;
            let first = match (since, from) {
                (Some(since), _) => store.first_seq_since(parse_since(&since)?).await?,
                (None, Some(from)) => match from.parse::<i64>() {
                    Ok(seq) => Some(seq),
                    Err(_) => store.event_seq(&from).await?,
                },
                (None, None) => None,
            };
            let Some(first) = first else {
                bail!("no stored event to replay from there");
            };
            Ok(if publish(bus, store.as_ref(), Some(first)).await {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Events {
            action: None,
            format,
            after,
            limit,
        } => {
            let store = open_store(&config).await?;
            let events = store.events(after, limit).await?;
            match format {
                OutputFormat::Table => print!("{}", cli::events_table(&events)),
                OutputFormat::Jsonl => {
                    for event in &events {
                        println!("{}", cli::event_line(event));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain {
            entity: name,
            id,
            format,
        } => {
            let kind = entity(&name)?;
            let store = open_store(&config).await?;
            let id = golden_id(store.as_ref(), kind, &id).await?;
            let explained = reconcile::steward::explain(store.as_ref(), kind, &id).await?;
            match format {
                OutputFormat::Table => print!("{}", cli::explanation(&explained)),
                OutputFormat::Jsonl => println!("{}", serde_json::to_string(&explained)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Review { action } => {
            let store = open_store(&config).await?;
            let reconciler = Reconciler::new(&config)?;
            match action {
                ReviewAction::List { all, format, limit } => {
                    let status = (!all).then_some(ReviewStatus::Open);
                    let items = store.reviews(status, limit).await?;
                    match format {
                        OutputFormat::Table => print!("{}", cli::review_list(&items)),
                        OutputFormat::Jsonl => {
                            for item in &items {
                                println!("{}", serde_json::to_string(item)?);
                            }
                        }
                    }
                }
                ReviewAction::Accept { id } => {
                    let stats = reconciler.accept_review(store.as_ref(), id).await?;
                    println!(
                        "review #{id} accepted: {} merged, {} events",
                        stats.merged, stats.events
                    );
                }
                ReviewAction::Reject { id } => {
                    reconciler.reject_review(store.as_ref(), id).await?;
                    println!("review #{id} rejected: the pair will never be merged automatically");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Unmerge {
            entity: name,
            id,
            source,
            key,
        } => {
            let kind = entity(&name)?;
            let store = open_store(&config).await?;
            let reconciler = Reconciler::new(&config)?;
            let (new_id, stats) = reconciler
                .unmerge(store.as_ref(), kind, &id, &source, &key)
                .await?;
            println!(
                "{source}:{key} split out of {id} into {new_id} ({} events)",
                stats.events
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconcile {
            action:
                ReconcileAction::Train {
                    entity: name,
                    output,
                    max_block,
                },
        } => {
            let kind = entity(&name)?;
            let store = open_store(&config).await?;
            let written = reconcile::train::train_config(
                &config,
                store.as_ref(),
                kind,
                output.as_deref(),
                reconcile::train::TrainOptions {
                    max_block,
                    ..Default::default()
                },
            )
            .await?;
            for (path, report) in written {
                println!(
                    "{kind} rule `{}`: {} records, {} candidate pairs, {} EM iterations, match share {:.4} → {}",
                    report.rule,
                    report.records,
                    report.pairs,
                    report.iterations,
                    report.trained.match_share,
                    path.display()
                );
                for (comparison, w) in &report.trained.weights {
                    println!(
                        "  {comparison:<20} exact {:>+6.2}  close {:>+6.2}  far {:>+6.2}",
                        w.exact, w.close, w.far
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconcile {
            action:
                ReconcileAction::Rescore {
                    entity: name,
                    dry_run,
                },
        } => {
            let kind = entity(&name)?;
            let store = open_store(&config).await?;
            let options = reconcile::rescore::RescoreOptions {
                dry_run,
                ..Default::default()
            };
            let report = Reconciler::new(&config)?
                .rescore(store.as_ref(), kind, options)
                .await?;
            print!("{}", report.summary());
            Ok(ExitCode::SUCCESS)
        }
        Command::Quarantine { format, limit } => {
            let store = open_store(&config).await?;
            let entries = store.quarantined(limit).await?;
            match format {
                OutputFormat::Table => print!("{}", cli::quarantine_table(&entries)),
                OutputFormat::Jsonl => {
                    for entry in &entries {
                        println!("{}", serde_json::to_string(entry)?);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
