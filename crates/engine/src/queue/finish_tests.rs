//! The generic batch loop against a tiny fake capability: batching, grouping, in-doubt retries
//! and giving up, without a server.

use std::sync::Mutex;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::*;
use crate::journal::Journal;
use crate::retry::RetryPolicy;

/// Finishes every job it is sent, except that the first `lose` requests lose their answer.
struct Fake {
    limit: usize,
    lose: Mutex<u32>,
    /// The ids of each request, in order; in-doubt ones prefixed `?`.
    requests: Mutex<Vec<String>>,
}

impl Fake {
    fn new(limit: usize, lose: u32) -> Fake {
        Fake { limit, lose: Mutex::new(lose), requests: Mutex::default() }
    }

    fn answer(&self, mut jobs: Vec<Job>, tag: &str) -> Round {
        let ids: Vec<String> = jobs.iter().map(|j| j.id.to_string()).collect();
        self.requests.lock().unwrap().push(format!("{tag}{}", ids.join(",")));
        for job in &mut jobs {
            job.attach_sent = true;
        }
        let mut lose = self.lose.lock().unwrap();
        if *lose > 0 {
            *lose -= 1;
            return Round::in_doubt(jobs, Error::BadResponse("answer lost".into()));
        }
        Round { outcomes: jobs.into_iter().map(|j| (j, Outcome::Done(DocStatus::Ok))).collect(), doubt: None }
    }
}

impl Finishing for Fake {
    fn max_batch(&self, _: &FinishCx<'_>) -> usize {
        self.limit
    }

    fn send<'a>(&'a self, batch: Vec<Job>, _: &'a FinishCx<'a>) -> BoxFuture<'a, Round> {
        async move { self.answer(batch, "") }.boxed()
    }

    fn in_doubt<'a>(&'a self, job: Job, _: &'a FinishCx<'a>) -> BoxFuture<'a, Round> {
        async move { self.answer(vec![job], "?") }.boxed()
    }
}

/// Jobs on record in `journal`, one per `(twin, name)`, ids from 1.
fn jobs(journal: &Journal, specs: &[(u8, &str)]) -> Vec<Job> {
    specs
        .iter()
        .map(|&(twin, name)| {
            let dest = crate::journal::tests::twin(twin);
            let path = std::env::temp_dir().join(name);
            let new = crate::journal::NewJob {
                base_url: "http://h",
                destination: &dest,
                path: &path,
                doc_name: name,
                size: 1,
                mtime_ns: 0,
                storage_class: crate::doc::StorageClass::AccessOptimized,
                description: None,
                on_conflict: crate::doc::ConflictPolicy::Rename,
                dev: 0,
                ino: 0,
            };
            let id = journal.insert(&new, JobState::Attaching).unwrap();
            journal.get(id).unwrap()
        })
        .collect()
}

/// Runs the loop over jobs made from `specs` (all sent before it starts), returning what was
/// settled (id, outcome) and how many waits were announced.
async fn run(fake: &Fake, specs: &[(u8, &str)], retry: RetryPolicy) -> (Vec<(u64, String)>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.sqlite")).unwrap();
    let renamed = |_: u64, _: &str| {};
    let cx = FinishCx { journal: &journal, base_url: "http://h", retry: &retry, batch: 100, renamed: &renamed };
    let (tx, mut rx) = mpsc::unbounded_channel();
    for job in jobs(&journal, specs) {
        tx.send(job).unwrap();
    }
    drop(tx);
    let settled = Mutex::new(Vec::new());
    let waits = Mutex::new(0);
    let mut settle = |round: Vec<(Job, Outcome)>| {
        settled.lock().unwrap().extend(round.into_iter().map(|(j, o)| (j.id, format!("{o:?}"))));
    };
    let retrying = |_: &Job, _: &Error, _: Duration| *waits.lock().unwrap() += 1;
    batch_loop(fake, &cx, &mut rx, &mut settle, &retrying).await;
    let waits = *waits.lock().unwrap();
    (settled.into_inner().unwrap(), waits)
}

fn quick() -> RetryPolicy {
    RetryPolicy { base: Duration::from_millis(1), cap: Duration::from_millis(2), ..RetryPolicy::default() }
}

#[tokio::test]
async fn jobs_go_in_batches_of_one_destination_and_distinct_names() {
    let fake = Fake::new(2, 0);
    let specs = [(1, "a"), (1, "a"), (2, "b"), (1, "c"), (1, "d")];
    let (settled, waits) = run(&fake, &specs, quick()).await;
    assert_eq!(settled.len(), 5, "{settled:?}");
    assert!(settled.iter().all(|(_, o)| o == "Done(Ok)"), "{settled:?}");
    assert_eq!(waits, 0);
    let requests = fake.requests.lock().unwrap().clone();
    // At most two per request, never two of one name or of two destinations together.
    // Gathered two at a time: 1 and 2 share a name, so 1 goes alone first.
    assert_eq!(requests[0], "1");
    assert!(requests.iter().all(|r| r.split(',').count() <= 2), "{requests:?}");
    assert!(!requests.iter().any(|r| r.contains('3') && r.contains(',')), "{requests:?}");
    assert!(!requests.iter().any(|r| r == "1,2" || r == "2,1"), "{requests:?}");
}

#[tokio::test]
async fn a_lost_answer_is_waited_for_then_settled_alone() {
    let fake = Fake::new(10, 1);
    let (settled, waits) = run(&fake, &[(1, "a"), (1, "b")], quick()).await;
    assert_eq!(waits, 2, "each job in doubt hears of the wait");
    let requests = fake.requests.lock().unwrap().clone();
    assert_eq!(requests, ["1,2", "?1", "?2"]);
    assert_eq!(settled.len(), 2);
    assert!(settled.iter().all(|(_, o)| o == "Done(Ok)"), "{settled:?}");
}

#[tokio::test]
async fn jobs_in_doubt_fail_when_the_budget_is_spent() {
    let fake = Fake::new(10, u32::MAX);
    let retry = RetryPolicy { max_attempts: 2, ..quick() };
    let (settled, _) = run(&fake, &[(1, "a")], retry).await;
    assert_eq!(settled.len(), 1, "{settled:?}");
    assert!(settled[0].1.starts_with("Failed"), "{settled:?}");
    assert!(fake.requests.lock().unwrap().len() >= 2);
}
