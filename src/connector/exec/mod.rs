//! The `exec` driver: runs a program that prints Singer messages (SCHEMA, RECORD, STATE as JSON
//! lines on stdout), so any Singer tap is a Concord source.
//!
//! Each RECORD becomes a record of its Singer stream. Each STATE is a checkpoint: the records
//! before it are stored with it, and the last stored one is handed back to the tap on the next run
//! (`--state FILE`). A tap that exits non-zero, is killed or runs past its timeout fails the run
//! with its exit status and the last lines of its stderr; batches committed before keep the
//! states they carried. A line that is not a Singer message is reported with its line number and
//! the rest goes on. stderr is logged, never read for data.

mod singer;
mod state;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{Connector, ConnectorError, Cursor, PullResult, Pulled, RawRecord};
use singer::Message;
use state::StateFile;

/// How many lines of a tap's stderr a failure reports.
const STDERR_TAIL: usize = 20;

/// How long to wait for the rest of stderr once the tap has ended.
const STDERR_DRAIN: Duration = Duration::from_secs(2);

/// How long a tap may run when its source sets no `timeout`: a hung tap must not hold the
/// source's run (and the daemon's schedule) forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// The variables of Concord's own environment a tap inherits; everything else (the broker
/// password, other sources' secrets) stays out, and the source gives the rest in `env`.
const INHERITED_ENV: [&str; 4] = ["PATH", "HOME", "LANG", "TZ"];

/// Items handed over at once.
const BATCH: usize = 512;

/// Settings of the `exec` driver.
#[derive(Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecConfig {
    /// The program and its arguments, e.g. `["tap-postgres", "--config", "tap-config.json"]`.
    /// A program given as a relative path (`./taps/tap.py`) resolves against the config file's
    /// folder, a bare name is looked up on `PATH`; the program runs in the config file's folder,
    /// so relative arguments resolve there too.
    pub command: Vec<String>,
    /// Environment variables for the program, e.g. `{ TAP_TOKEN: "${TAP_TOKEN}" }`. Besides these
    /// the program gets only `PATH`, `HOME`, `LANG` and `TZ` from Concord's environment. Their
    /// values are treated as secrets: never logged, and scrubbed from the stderr lines Concord
    /// shows.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The option that hands the tap its last state: the state is written to a temporary file
    /// passed as `STATE_ARG FILE`. Default `--state`.
    #[serde(default = "default_state_arg")]
    pub state_arg: String,
    /// How long the program may run (`30m`, `2h`) before it is killed and the run fails; `1h`
    /// when unset.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
}

fn default_state_arg() -> String {
    "--state".into()
}

impl fmt::Debug for ExecConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: Vec<&String> = self.env.keys().collect();
        f.debug_struct("ExecConfig")
            .field("command", &self.command)
            .field("env (values hidden)", &env)
            .field("state_arg", &self.state_arg)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The `exec` driver.
pub struct ExecConnector {
    config: ExecConfig,
    base: PathBuf,
}

impl ExecConnector {
    /// `base` is the config file's folder: relative program paths resolve against it and the
    /// program runs in it.
    pub fn new(config: ExecConfig, base: &Path) -> Self {
        Self {
            config,
            base: base.to_path_buf(),
        }
    }
}

impl Connector for ExecConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        let (sender, receiver) = mpsc::channel(4);
        let tap = Tap::new(self.config.clone(), self.base.clone());
        tokio::spawn(async move {
            let mut out = Out {
                sender,
                buffer: Vec::with_capacity(BATCH),
            };
            if let Err(message) = tap.run(since, &mut out).await {
                let error = ConnectorError::Unavailable {
                    origin: tap.shown.clone(),
                    message: tap.scrub(&message),
                };
                let _ = out.send(Err(error)).await;
            }
            let _ = out.flush().await;
        });
        ReceiverStream::new(receiver)
            .flat_map(futures::stream::iter)
            .boxed()
    }
}

/// The channel to the pipeline, fed in batches.
struct Out {
    sender: mpsc::Sender<Vec<PullResult>>,
    buffer: Vec<PullResult>,
}

/// The pipeline dropped the stream.
struct Cancelled;

impl Out {
    async fn send(&mut self, item: PullResult) -> Result<(), Cancelled> {
        let urgent = !matches!(item, Ok(Pulled::Record(_)));
        self.buffer.push(item);
        if urgent || self.buffer.len() >= BATCH {
            return self.flush().await;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Cancelled> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.buffer, Vec::with_capacity(BATCH));
        self.sender.send(batch).await.map_err(|_| Cancelled)
    }
}

/// One run of a tap.
struct Tap {
    config: ExecConfig,
    base: PathBuf,
    /// The program as the config names it: the origin of its records and errors.
    shown: String,
    /// The env values, scrubbed from stderr lines.
    secrets: Arc<Vec<String>>,
}

impl Tap {
    fn new(config: ExecConfig, base: PathBuf) -> Tap {
        let shown = config
            .command
            .first()
            .cloned()
            .unwrap_or_else(|| "exec".into());
        let mut secrets: Vec<String> = config
            .env
            .values()
            .filter(|v| v.len() >= 3)
            .cloned()
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for secret in &secrets {
            crate::redact::register_secret(secret);
        }
        Tap {
            config,
            base,
            shown,
            secrets: Arc::new(secrets),
        }
    }

    fn scrub(&self, text: &str) -> String {
        scrub(text, &self.secrets)
    }

    /// The program to start: a relative path resolves against the config folder.
    fn program(&self) -> Result<PathBuf, String> {
        let first = self
            .config
            .command
            .first()
            .ok_or("`command` is empty: name the program to run")?;
        let path = Path::new(first);
        let is_bare_name = path.components().count() == 1;
        Ok(if path.is_relative() && !is_bare_name {
            self.base.join(path)
        } else {
            path.to_path_buf()
        })
    }

    /// Runs the tap to its end; an error is the reason the run fails.
    async fn run(&self, since: Option<Cursor>, out: &mut Out) -> Result<(), String> {
        let program = self.program()?;
        let state = match since {
            Some(Cursor(value)) => Some(
                StateFile::write(&value)
                    .map_err(|error| format!("cannot write the state file: {error}"))?,
            ),
            None => None,
        };
        let mut command = Command::new(&program);
        command.args(&self.config.command[1..]).env_clear();
        for name in INHERITED_ENV {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command
            .envs(&self.config.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(state) = &state {
            command.arg(&self.config.state_arg).arg(state.path());
        }
        if !self.base.as_os_str().is_empty() {
            command.current_dir(&self.base);
        }
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot start `{}`: {error}", program.display()))?;
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        let stderr = child.stderr.take().map(|stderr| {
            tokio::spawn(log_stderr(
                stderr,
                self.shown.clone(),
                self.secrets.clone(),
                tail.clone(),
            ))
        });
        let finished = async {
            self.read_stdout(&mut child, out).await?;
            child
                .wait()
                .await
                .map(Some)
                .map_err(|error| format!("lost the program: {error}"))
        };
        let limit = self.config.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let outcome = match tokio::time::timeout(limit, finished).await {
            Ok(outcome) => outcome,
            Err(_) => {
                let _ = child.kill().await;
                Err(format!("killed after its timeout of {}s", limit.as_secs()))
            }
        };
        if let Some(stderr) = stderr {
            // A child of the tap may hold stderr open: wait briefly, not forever.
            let _ = tokio::time::timeout(STDERR_DRAIN, stderr).await;
        }
        drop(state);
        let last_lines = || {
            let lines = tail.lock().map(|t| t.iter().cloned().collect::<Vec<_>>());
            match lines {
                Ok(lines) if !lines.is_empty() => {
                    format!("; last lines of its stderr:\n{}", lines.join("\n"))
                }
                _ => String::new(),
            }
        };
        match outcome {
            Ok(None) => Ok(()),
            Ok(Some(status)) if status.success() => Ok(()),
            Ok(Some(status)) => Err(format!("exited with {status}{}", last_lines())),
            Err(message) => Err(format!("{message}{}", last_lines())),
        }
    }

    /// Reads stdout to its end; `Ok(None)` only when the pipeline stopped listening (the tap is
    /// then killed).
    async fn read_stdout(&self, child: &mut Child, out: &mut Out) -> Result<(), String> {
        let Some(stdout) = child.stdout.take() else {
            return Err("no stdout".into());
        };
        let mut input = BufReader::with_capacity(64 * 1024, stdout);
        let mut line = Vec::new();
        let mut number = 0u64;
        let mut streams: HashMap<String, Arc<str>> = HashMap::new();
        loop {
            line.clear();
            let read = input
                .read_until(b'\n', &mut line)
                .await
                .map_err(|error| format!("cannot read its output: {error}"))?;
            if read == 0 {
                return Ok(());
            }
            number += 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let item = match singer::parse(&line) {
                Ok(Message::Record { stream, record }) => {
                    let stream = streams
                        .entry(stream)
                        .or_insert_with_key(|name| Arc::from(name.as_str()))
                        .clone();
                    Ok(Pulled::Record(RawRecord {
                        origin: format!("{}:{number}", self.shown),
                        payload: record,
                        stream: Some(stream),
                    }))
                }
                Ok(Message::State(value)) => Ok(Pulled::Checkpoint(Cursor(value))),
                Ok(Message::Other) => continue,
                Err(message) => Err(ConnectorError::BadLine {
                    path: PathBuf::from(&self.shown),
                    line: number,
                    message: self.scrub(&message),
                }),
            };
            if out.send(item).await.is_err() {
                let _ = child.kill().await;
                return Ok(());
            }
        }
    }
}

/// Logs each stderr line of the tap and keeps the last ones for a failure message.
async fn log_stderr(
    stderr: impl AsyncRead + Unpin,
    program: String,
    secrets: Arc<Vec<String>>,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line = scrub(&line, &secrets);
        tracing::info!(target: "concord::tap", program = %program, "{line}");
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

fn scrub(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_string(), |text, secret| {
        text.replace(secret.as_str(), "***")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_with_defaults_and_hides_env_values() {
        let yaml = "command: [tap-postgres, --config, tap.json]\nenv: { TAP_TOKEN: s3cret }\ntimeout: 1h\n";
        let config: ExecConfig = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(config.state_arg, "--state");
        assert_eq!(config.timeout, Some(Duration::from_secs(3600)));
        let debug = format!("{config:?}");
        assert!(
            debug.contains("TAP_TOKEN") && !debug.contains("s3cret"),
            "{debug}"
        );
        assert!(serde_yaml::from_str::<ExecConfig>("command: [x]\nstate: y\n").is_err());
    }

    #[test]
    fn relative_program_paths_resolve_against_the_config_folder() {
        let tap = |program: &str| {
            Tap::new(
                ExecConfig {
                    command: vec![program.into()],
                    env: BTreeMap::new(),
                    state_arg: default_state_arg(),
                    timeout: None,
                },
                PathBuf::from("/etc/concord"),
            )
            .program()
            .unwrap()
        };
        assert_eq!(tap("taps/tap.py"), Path::new("/etc/concord/taps/tap.py"));
        assert_eq!(tap("tap-postgres"), Path::new("tap-postgres"));
        assert_eq!(tap("/usr/bin/tap"), Path::new("/usr/bin/tap"));
    }
}
