//! Folders kept in step outside the app (`twindrop sync`): until stopped, or with `once` until
//! what is there has been sent. Folders on one server share one queue: queues sharing a journal
//! would claim each other's jobs and, as each starts, put the others' uploads in flight back in
//! the queue. Each folder keeps its own destination, naming, filters and batch.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::runner::syncer_for;
use super::syncer::{queue_ended, Notice};
use crate::error::{Error, Result};
use crate::journal::Journal;
use crate::profile::WatchedFolder;
use crate::queue::{EventSink, Options, Queue, RunMode};
use crate::service::Service;

/// Who hears a run: the queues' events, and each folder's notices (with the folder's path).
pub struct Listeners {
    pub events: EventSink,
    pub notice: Notice,
}

/// Run `folders`, each on its service, over `journal`; the queues get `opts` as folders have
/// them ([`Options::for_folders`]). Ends when
/// `stop` is cancelled, when every folder is done (`once`), or with the first folder's or
/// queue's error (which stops the rest).
pub async fn run(
    folders: Vec<(WatchedFolder, Service)>,
    journal: Arc<Journal>,
    opts: Options,
    gate: Duration,
    listeners: Listeners,
    once: bool,
    stop: CancellationToken,
) -> Result<()> {
    if folders.is_empty() {
        return Err(Error::invalid(
            crate::Invalid::Option,
            "no saved folders: add one with `twindrop sync DIR --twin T --save`",
        ));
    }
    let mut queues: Vec<Arc<Queue>> = Vec::new();
    let mut syncers = tokio::task::JoinSet::new();
    for (folder, service) in folders {
        let same_server =
            |q: &&Arc<Queue>| q.service().kind() == service.kind() && q.service().base_url() == service.base_url();
        let queue = match queues.iter().find(same_server) {
            Some(q) => q.clone(),
            None => {
                let q = Queue::new(service, journal.clone(), opts.clone().for_folders());
                queues.push(q.clone());
                q
            }
        };
        let notice = {
            let (tell, path) = (listeners.notice.clone(), folder.path.display().to_string());
            Arc::new(move |message: String| tell(format!("{path}: {message}")))
        };
        let syncer = syncer_for(queue, &folder, gate)?.with_notice(notice);
        syncers.spawn(syncer.watch(listeners.events.clone(), once, stop.clone()));
    }
    let mut runners = tokio::task::JoinSet::new();
    for queue in queues {
        let sink = listeners.events.clone();
        runners.spawn(async move { queue.run(sink, RunMode::Forever).await });
    }
    let mut outcome = Ok(());
    loop {
        tokio::select! {
            ended = syncers.join_next() => match ended {
                None => break,
                Some(ended) => {
                    if let Err(e) = ended.map_err(|e| Error::Internal(format!("sync task: {e}"))).and_then(|r| r) {
                        outcome = Err(e);
                        stop.cancel();
                    }
                }
            },
            // A queue runs for ever: its end is an error, and the folders on it can do nothing.
            Some(ended) = runners.join_next() => {
                outcome = Err(queue_ended(ended));
                stop.cancel();
            }
        }
    }
    runners.abort_all();
    outcome
}
