//! IDocs parsed on worker threads and handed back in file order.
//!
//! The reading thread cuts each IDoc's bytes out of the file ([`cut`](super::cut)) into a batch;
//! a full batch goes to whichever worker is free, which parses its IDocs into JSON. Batches come
//! back in the order they were sent, so records keep their file order. At most a few batches are
//! in flight: a huge file is read no faster than its IDocs are parsed, and memory stays bounded.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::thread::Scope;

use crossbeam_channel::{Receiver, Sender};

use super::parse::{Parsed, parse_idoc};
use crate::connector::xml_json::XmlJsonBuilder;

/// IDoc bytes gathered before a batch goes to a worker: one hand-over per many IDocs.
const BATCH_BYTES: usize = 256 * 1024;

/// Worker threads at most, however many cores there are: parsing outruns the reading thread's
/// cutting well before this.
const MAX_WORKERS: usize = 4;

/// A batch buffer that grew past this (a huge IDoc) is dropped rather than kept for reuse.
const KEPT_BUFFER: usize = 4 * BATCH_BYTES;

/// One IDoc of a batch: where its bytes end in the batch, its number in the file and its offset.
struct Placed {
    end: usize,
    number: u64,
    offset: u64,
}

/// IDocs cut from the file, one after another in `bytes`.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    idocs: Vec<Placed>,
}

/// One parsed IDoc, with its number in the file and where it starts.
pub struct Done {
    pub number: u64,
    pub offset: u64,
    pub parsed: Parsed,
}

/// A batch's IDocs parsed, with its buffer back for reuse.
struct Finished {
    buffer: Vec<u8>,
    done: Vec<Done>,
}

struct Job {
    batch: Batch,
    reply: Sender<Finished>,
}

/// The worker threads of one file and the batches in flight.
pub struct Pipeline {
    jobs: Sender<Job>,
    open: Batch,
    in_flight: VecDeque<Receiver<Finished>>,
    max_in_flight: usize,
    spare: Vec<Vec<u8>>,
}

impl Pipeline {
    /// Starts one worker per core (up to [`MAX_WORKERS`]) in `scope`; they end when the pipeline
    /// is dropped.
    pub fn start<'scope>(scope: &'scope Scope<'scope, '_>) -> Self {
        let workers = std::thread::available_parallelism()
            .map_or(1, NonZeroUsize::get)
            .min(MAX_WORKERS);
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for _ in 0..workers {
            let queue = queue.clone();
            scope.spawn(move || work(&queue));
        }
        Self {
            jobs,
            open: Batch::default(),
            in_flight: VecDeque::new(),
            max_in_flight: 2 * workers,
            spare: Vec::new(),
        }
    }

    /// The open batch's bytes, to cut the next IDoc into.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.open.bytes
    }

    /// Adds the IDoc that ends the open batch's bytes; a full batch goes to the workers.
    pub fn push(&mut self, number: u64, offset: u64) {
        self.open.idocs.push(Placed {
            end: self.open.bytes.len(),
            number,
            offset,
        });
        if self.open.bytes.len() >= BATCH_BYTES {
            self.send_open();
        }
    }

    /// The next batch's parsed IDocs, in file order: waited for when `all` is set or too many
    /// batches are in flight, else only when already finished. `all` sends the open batch first.
    pub fn next(&mut self, all: bool) -> Option<Vec<Done>> {
        if all {
            self.send_open();
        }
        let front = self.in_flight.front()?;
        let finished = if all || self.in_flight.len() > self.max_in_flight {
            front.recv().expect("an IDoc worker thread ended early")
        } else {
            front.try_recv().ok()?
        };
        self.in_flight.pop_front();
        if finished.buffer.capacity() <= KEPT_BUFFER {
            self.spare.push(finished.buffer);
        }
        Some(finished.done)
    }

    fn send_open(&mut self) {
        if self.open.idocs.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.open);
        self.open.bytes = self.spare.pop().unwrap_or_default();
        let (reply, finished) = crossbeam_channel::bounded(1);
        self.jobs
            .send(Job { batch, reply })
            .expect("IDoc worker threads run while the pipeline exists");
        self.in_flight.push_back(finished);
    }
}

/// A worker: parses the batches it takes until the pipeline is dropped.
fn work(queue: &Receiver<Job>) {
    let mut builder = XmlJsonBuilder::with_local_names();
    for Job { batch, reply } in queue {
        let mut start = 0;
        let done = batch
            .idocs
            .iter()
            .map(|placed| {
                let bytes = &batch.bytes[start..placed.end];
                start = placed.end;
                Done {
                    number: placed.number,
                    offset: placed.offset,
                    parsed: parse_idoc(bytes, placed.number, placed.offset, &mut builder),
                }
            })
            .collect();
        let mut buffer = batch.bytes;
        buffer.clear();
        // The reader stops waiting only when its file failed: nothing is owed to it then.
        let _ = reply.send(Finished { buffer, done });
    }
}
