//! Concord as an unattended service, tested as real processes of the release binary's code on a
//! real SQLite store and the real RabbitMQ: two overlapping syncs, a second writer refused,
//! `concord run` killed with -9 and restarted, stopped with SIGTERM mid-run, and its `/metrics`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use concord::model::EntityKind;
use concord::store::lock::{Locks, Scope};
use concord::store::{self, Store};
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};

const CONCORD: &str = env!("CARGO_BIN_EXE_concord");

fn broker_url() -> String {
    std::env::var("CONCORD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

/// A distributor's CSV drop of `rows` distinct customers, as German Excel writes it.
fn customers_csv(rows: usize) -> String {
    let mut text = String::from("Kundennr;Firma;E-Mail;Ort\n");
    for i in 0..rows {
        text.push_str(&format!(
            "{:06};Kunde {i} GmbH;einkauf{i}@kunde{i}.de;Berlin\n",
            100_000 + i
        ));
    }
    text
}

const MAPPING: &str = r#"
entity: customer
key: { path: "$.Kundennr", transforms: [trim] }
fields:
  name: { path: "$.Firma", transforms: [trim], required: true }
  emails: { path: "$['E-Mail']", transforms: [trim, lower], many: true }
"#;

/// A project folder: config, mapping and a CSV drop of `rows` customers.
struct Project {
    dir: tempfile::TempDir,
    queue: String,
}

impl Project {
    /// `extra` is added to the config (a bus, operations settings).
    fn new(rows: usize, schedule: &str, extra: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("drops")).unwrap();
        std::fs::write(dir.path().join("drops/customers.csv"), customers_csv(rows)).unwrap();
        std::fs::write(dir.path().join("customers.yaml"), MAPPING).unwrap();
        let config = format!(
            "store: {{ url: \"sqlite://concord.db\" }}\n\
             sources:\n  - name: dist\n    driver: csv\n    files: \"drops/*.csv\"\n    delimiter: \";\"\n\
             \x20   mappings: [customers.yaml]\n{schedule}\
             match:\n  customer:\n    - {{ rule: email, exact: [emails] }}\n{extra}"
        );
        std::fs::write(dir.path().join("concord.yaml"), config).unwrap();
        Project {
            dir,
            queue: String::new(),
        }
    }

    /// A project whose events go to a fresh exchange with one queue bound to everything.
    fn with_bus(rows: usize, schedule: &str, operations: &str) -> Project {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let queue = format!("concord.test.{id}.all");
        let bus = format!(
            "bus:\n  url: \"{}\"\n  exchange: concord.test.{id}\n  queues: [{{ name: {queue}, bindings: [\"#\"] }}]\n{operations}",
            broker_url()
        );
        let mut project = Project::new(rows, schedule, &bus);
        project.queue = queue;
        project
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("concord.yaml")
    }

    fn store_url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("concord.db").display())
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(CONCORD);
        command
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env("CONCORD_LOG", "concord=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().unwrap()
    }

    async fn store(&self) -> Box<dyn Store> {
        store::open(&self.store_url()).await.unwrap()
    }
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Live golden customers, source records pointing at them and events in the outbox.
async fn tally(store: &dyn Store) -> (i64, i64, i64) {
    let counts = store.counts().await.unwrap();
    (
        counts.golden.get("customer").copied().unwrap_or(0),
        counts.xrefs,
        counts.events,
    )
}

#[tokio::test]
async fn two_overlapping_syncs_of_20k_rows_store_each_customer_once_whatever_the_interleaving() {
    let project = Project::new(20_000, "", "");
    // Both start together; the second waits for the first's lock instead of writing beside it.
    let first = project.spawn(&["sync", "--wait", "5m"]);
    let second = project.spawn(&["sync", "--wait", "5m"]);
    let (first, second) = (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    );
    assert!(first.status.success(), "{}", text(&first));
    assert!(second.status.success(), "{}", text(&second));
    let store = project.store().await;
    let (golden, xrefs, events) = tally(store.as_ref()).await;
    assert_eq!(golden, 20_000);
    assert_eq!(xrefs, 20_000);
    assert_eq!(events, 20_000, "one customer.created per customer");
    // Every golden record is pointed to by a source record.
    let ids = store
        .golden_ids(EntityKind::Customer, 100_000)
        .await
        .unwrap();
    let keys: Vec<String> = (0..20_000).map(|i| format!("{:06}", 100_000 + i)).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let pointed: HashSet<String> = store
        .xref_lookup("dist", EntityKind::Customer, &keys)
        .await
        .unwrap()
        .into_values()
        .map(|hit| hit.golden_id)
        .collect();
    assert_eq!(pointed, ids.into_iter().collect::<HashSet<_>>());
}

#[tokio::test]
async fn a_second_writer_is_refused_with_exit_code_3_naming_the_holder_and_readers_go_on() {
    let project = Project::new(10, "", "");
    let synced = project.command(&["sync"]).output().unwrap();
    assert!(synced.status.success(), "{}", text(&synced));
    let _held = Locks::for_url(&project.store_url())
        .acquire(Scope::Store, "run", None)
        .await
        .unwrap();
    for writer in [
        vec!["sync"],
        vec![
            "unmerge", "customer", "x", "--source", "dist", "--key", "100000",
        ],
        vec!["review", "reject", "1"],
    ] {
        let refused = project.command(&writer).output().unwrap();
        assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("`concord run`"), "{stderr}");
        assert!(
            stderr.contains(&format!("pid {}", std::process::id())),
            "{stderr}"
        );
    }
    // Readers never wait for the writer lock.
    let events = project
        .command(&["events", "--format", "jsonl"])
        .output()
        .unwrap();
    assert!(events.status.success(), "{}", text(&events));
    assert_eq!(String::from_utf8_lossy(&events.stdout).lines().count(), 10);
}

#[tokio::test]
async fn a_closed_stdout_ends_a_listing_quietly_and_a_sync_still_commits() {
    let project = Project::new(3_000, "", "");
    // `concord sync | true`: the summary has no reader, the records are stored all the same.
    let mut sync = project.spawn(&["sync"]);
    drop(sync.stdout.take());
    let status = sync.wait().unwrap();
    assert!(status.success());
    assert_eq!(tally(project.store().await.as_ref()).await.0, 3_000);
    // `concord events | head -1`.
    let mut events = project.spawn(&["events", "--format", "jsonl", "--limit", "3000"]);
    let mut stdout = events.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let output = events.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("panicked"),
        "{}",
        text(&output)
    );
}

/// Polls until `ready` says yes, failing after `limit`.
async fn until<F, Fut>(limit: Duration, what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !ready().await {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Every message in a queue: message ID → (routing key, golden ID).
async fn consume_all(queue: &str) -> Vec<(String, String, String)> {
    let connection = lapin::Connection::connect(&broker_url(), Default::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "service-test".into(),
            BasicConsumeOptions::default(),
            Default::default(),
        )
        .await
        .unwrap();
    let mut messages = Vec::new();
    while let Ok(Some(Ok(delivery))) =
        tokio::time::timeout(Duration::from_secs(3), consumer.next()).await
    {
        let body: serde_json::Value = serde_json::from_slice(&delivery.data).unwrap();
        let id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string())
            .unwrap_or_default();
        let golden = body["subject"].as_str().unwrap_or_default().to_string();
        messages.push((id, delivery.routing_key.to_string(), golden));
        delivery.ack(BasicAckOptions::default()).await.unwrap();
    }
    connection.close(0, "done".into()).await.ok();
    messages
}

#[tokio::test]
async fn run_killed_mid_sync_then_restarted_stores_and_publishes_every_customer_once() {
    const ROWS: i64 = 60_000;
    let port = free_port();
    let project = Project::with_bus(
        ROWS as usize,
        "    schedule: { every: 1h }\n",
        &format!("operations: {{ listen: \"127.0.0.1:{port}\", relay_interval: 200ms }}\n"),
    );
    let watcher = project.store().await;
    let mut run = project.spawn(&["run"]);
    // Kill it once a first batch is committed and before the last one is.
    until(
        Duration::from_secs(120),
        "a first committed batch",
        || async { tally(watcher.as_ref()).await.0 > 0 },
    )
    .await;
    signal(&run, "KILL");
    run.wait().unwrap();
    let (at_kill, _, _) = tally(project.store().await.as_ref()).await;
    assert!(at_kill < ROWS, "the run had finished before the kill");

    let mut restarted = project.spawn(&["run"]);
    until(
        Duration::from_secs(180),
        "every customer stored and published",
        || async {
            let counts = watcher.counts().await.unwrap();
            counts.golden.get("customer") == Some(&ROWS) && counts.unpublished_events == 0
        },
    )
    .await;
    signal(&restarted, "TERM");
    let stopped = restarted.wait().unwrap();
    assert!(stopped.success(), "SIGTERM ends the service with exit 0");

    let store = project.store().await;
    let (golden, xrefs, events) = tally(store.as_ref()).await;
    assert_eq!((golden, xrefs, events), (ROWS, ROWS, ROWS));
    // Consumers got every event; a duplicate only ever with the same message_id.
    let messages = consume_all(&project.queue).await;
    let mut by_id: HashMap<String, (String, String)> = HashMap::new();
    for (id, key, golden) in messages {
        let first = by_id.entry(id).or_insert((key.clone(), golden.clone()));
        assert_eq!(first, &(key, golden), "one message_id, one event");
    }
    assert_eq!(by_id.len() as i64, ROWS);
    let goldens: HashSet<&String> = by_id.values().map(|(_, golden)| golden).collect();
    assert_eq!(
        goldens.len() as i64,
        ROWS,
        "one customer.created per golden record"
    );
}

#[tokio::test]
async fn sigterm_mid_run_commits_whole_batches_and_exits_0() {
    const ROWS: i64 = 60_000;
    let project = Project::new(
        ROWS as usize,
        "    schedule: { every: 1h }\n",
        "operations: { shutdown_grace: 60s }\n",
    );
    let watcher = project.store().await;
    let mut run = project.spawn(&["run"]);
    until(
        Duration::from_secs(120),
        "a first committed batch",
        || async { tally(watcher.as_ref()).await.0 > 0 },
    )
    .await;
    signal(&run, "TERM");
    let started = Instant::now();
    let output = {
        let status = run.wait().unwrap();
        assert!(status.success(), "exit 0 after SIGTERM");
        started.elapsed()
    };
    assert!(output < Duration::from_secs(60), "within the grace period");
    // Nothing half-applied: each stored record has its golden record and its event, and the
    // batches are whole (10,000 records each).
    let (golden, xrefs, events) = tally(project.store().await.as_ref()).await;
    assert_eq!(golden, xrefs);
    assert_eq!(golden, events);
    assert_eq!(
        golden % 10_000,
        0,
        "{golden} is not a whole number of batches"
    );
    assert!(golden < ROWS, "stopped before the end");
    // The next run reads the rest.
    let synced = project.command(&["sync"]).output().unwrap();
    assert!(synced.status.success(), "{}", text(&synced));
    assert_eq!(
        tally(project.store().await.as_ref()).await,
        (ROWS, ROWS, ROWS)
    );
}

/// One sample's value from Prometheus text: `name{labels}` exactly as rendered.
fn sample(metrics: &prometheus_parse::Scrape, name: &str, label: Option<(&str, &str)>) -> f64 {
    metrics
        .samples
        .iter()
        .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
        .unwrap_or_else(|| panic!("no sample {name} {label:?}"))
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_count_what_the_run_did() {
    let port = free_port();
    let project = Project::with_bus(
        2_500,
        "    schedule: { every: 1h }\n",
        &format!("operations: {{ listen: \"127.0.0.1:{port}\", relay_interval: 200ms }}\n"),
    );
    // One malformed row goes to quarantine.
    let csv = project.dir.path().join("drops/customers.csv");
    let mut data = std::fs::read_to_string(&csv).unwrap();
    data.push_str("999999;;kaputt@example.de;Berlin\n");
    std::fs::write(&csv, data).unwrap();

    let mut run = project.spawn(&["run"]);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    until(
        Duration::from_secs(120),
        "the run and its events published",
        || {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
                    return false;
                };
                let text = response.text().await.unwrap_or_default();
                text.contains("concord_events_published_total 2500")
            }
        },
    )
    .await;
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "store and broker reachable");
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let metrics = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let dist = Some(("source", "dist"));
    assert_eq!(
        sample(&metrics, "concord_records_read_total", dist),
        2_501.0
    );
    assert_eq!(
        sample(&metrics, "concord_records_mapped_total", dist),
        2_500.0
    );
    assert_eq!(
        sample(&metrics, "concord_records_quarantined_total", dist),
        1.0
    );
    assert_eq!(
        sample(&metrics, "concord_records_stored_total", dist),
        2_500.0
    );
    assert_eq!(
        sample(&metrics, "concord_events_published_total", None),
        2_500.0
    );
    assert_eq!(sample(&metrics, "concord_outbox_depth", None), 0.0);
    assert_eq!(sample(&metrics, "concord_broker_connected", None), 1.0);
    assert!(sample(&metrics, "concord_last_success_timestamp_seconds", dist) > 1.7e9);
    assert_eq!(
        sample(&metrics, "concord_sync_duration_seconds_count", dist),
        1.0
    );
    signal(&run, "TERM");
    assert!(run.wait().unwrap().success());
}

#[path = "store/backend.rs"]
#[allow(dead_code, unused_macros, unused_imports)]
mod backend;

/// `concord_source_held{source}` of one instance, 0 when it does not say.
async fn held(client: &reqwest::Client, port: u16, source: &str) -> bool {
    let Ok(response) = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
    else {
        return false;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .any(|line| line == format!("concord_source_held{{source=\"{source}\"}} 1"))
}

#[tokio::test]
async fn two_instances_on_postgres_share_the_sources_and_one_takes_over_when_the_other_dies() {
    let schema = backend::PgSchema::create().await;
    let url = schema.url();
    schema
        .run(async move {
            const ROWS: usize = 3_000;
            let dir = tempfile::tempdir().unwrap();
            // Two systems that know the same customers under their own keys, synced at once by
            // whichever instance holds each: one golden record per customer all the same.
            for system in ["crm", "erp"] {
                std::fs::create_dir_all(dir.path().join(system)).unwrap();
                let csv = customers_csv(ROWS).replace("\n1", &format!("\n{system}-1"));
                std::fs::write(dir.path().join(system).join("customers.csv"), csv).unwrap();
            }
            std::fs::write(dir.path().join("customers.yaml"), MAPPING).unwrap();
            let ports = [free_port(), free_port()];
            let configs: Vec<PathBuf> = ports
                .iter()
                .enumerate()
                .map(|(i, port)| {
                    let path = dir.path().join(format!("concord-{i}.yaml"));
                    let mut sources = String::new();
                    for system in ["crm", "erp"] {
                        sources.push_str(&format!(
                            "  - name: {system}\n    driver: csv\n    files: \"{system}/*.csv\"\n    delimiter: \";\"\n    mappings: [customers.yaml]\n    schedule: {{ every: 1s }}\n"
                        ));
                    }
                    std::fs::write(
                        &path,
                        format!(
                            "store: {{ url: \"{url}\" }}\nsources:\n{sources}match:\n  customer:\n    - {{ rule: email, exact: [emails] }}\n\
                             operations: {{ listen: \"127.0.0.1:{port}\", takeover_every: 500ms }}\n"
                        ),
                    )
                    .unwrap();
                    path
                })
                .collect();
            let start = |config: &PathBuf| {
                Command::new(CONCORD)
                    .arg("--config")
                    .arg(config)
                    .arg("run")
                    .env("CONCORD_LOG", "concord=info")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            };
            let mut first = start(&configs[0]);
            let mut second = start(&configs[1]);
            let client = reqwest::Client::new();
            // Each source is held by exactly one instance.
            until(Duration::from_secs(60), "both sources held", || async {
                let mut holders = 0;
                for source in ["crm", "erp"] {
                    for port in ports {
                        holders += usize::from(held(&client, port, source).await);
                    }
                }
                holders == 2
            })
            .await;
            for source in ["crm", "erp"] {
                let by_first = held(&client, ports[0], source).await;
                let by_second = held(&client, ports[1], source).await;
                assert!(by_first != by_second, "{source} held by exactly one instance");
            }
            let store = store::open(&url).await.unwrap();
            until(Duration::from_secs(120), "both sources stored", || async {
                store.counts().await.unwrap().xrefs == 2 * ROWS as i64
            })
            .await;
            let counts = store.counts().await.unwrap();
            assert_eq!(
                counts.golden.get("customer"),
                Some(&(ROWS as i64)),
                "no customer created twice by the two instances"
            );

            // The first instance dies; the second takes its sources over and syncs new rows.
            signal(&first, "KILL");
            first.wait().unwrap();
            until(Duration::from_secs(30), "the survivor holding both", || async {
                held(&client, ports[1], "crm").await && held(&client, ports[1], "erp").await
            })
            .await;
            for system in ["crm", "erp"] {
                let path = dir.path().join(system).join("customers.csv");
                let mut csv = std::fs::read_to_string(&path).unwrap();
                csv.push_str(&format!("{system}-9999999;Neukunde GmbH;neu@kunde.de;Bonn\n"));
                std::fs::write(&path, csv).unwrap();
            }
            until(Duration::from_secs(60), "the new rows stored", || async {
                store.counts().await.unwrap().xrefs == 2 * ROWS as i64 + 2
            })
            .await;
            let counts = store.counts().await.unwrap();
            assert_eq!(counts.golden.get("customer"), Some(&(ROWS as i64 + 1)));
            signal(&second, "TERM");
            assert!(second.wait().unwrap().success());
        })
        .await;
}

#[tokio::test]
async fn logs_written_to_a_file_or_pipe_carry_no_colour_codes() {
    let project = Project::new(5, "", "");
    let synced = project.command(&["sync"]).output().unwrap();
    assert!(synced.status.success(), "{}", text(&synced));
    let stderr = String::from_utf8_lossy(&synced.stderr);
    assert!(stderr.contains("sync run finished"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "escape codes in {stderr:?}");
}
