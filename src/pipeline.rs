//! Work on all cores, results in input order, memory bounded by a window rather than by the
//! number of items: what lets `dockfix fix` stream 100,000 files.

use std::collections::VecDeque;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Up to this many items are worked on the calling thread alone.
const FEW_ITEMS: usize = 3;

/// Maps `items` with `work` on all cores and hands each result to `deliver` in the order of
/// the items, as soon as it and every result before it are done. At most `window` items are
/// taken ahead of the next one to deliver, so a slow item holds back memory, not correctness.
///
/// The calling thread is one of the workers: before each item it works it delivers the
/// results that are ready, and it sleeps only when it has no item it may work on and the
/// next result is not done. A finished item then wakes no one while the calling thread is
/// busy, where a thread waiting on every result costs a wake-up (a system call and a context
/// switch) per item.
///
/// Stops at the first error `deliver` returns and returns it. A panic in `work` is re-raised
/// on the calling thread once the other workers have stopped.
pub fn map_ordered<T, R, E>(
    items: impl Iterator<Item = T> + Send,
    window: usize,
    work: impl Fn(T) -> R + Sync,
    mut deliver: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Send,
    R: Send,
{
    let window = window.max(1);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(window);
    // A handful of items (one file from an editor or a pre-commit hook) is done sooner here
    // than by starting threads, and on a busy machine each hand-over costs a time slice.
    let mut items = items.fuse();
    let first: Vec<T> = items.by_ref().take(FEW_ITEMS + 1).collect();
    if threads <= 1 || first.len() <= FEW_ITEMS {
        return first.into_iter().chain(items).map(work).try_for_each(deliver);
    }
    let feed = Feed::new(first.into_iter().chain(items));
    let board = Board::new(window);
    std::thread::scope(|scope| {
        // The calling thread is the last of the `threads` workers.
        for _ in 1..threads {
            let (feed, board, work) = (&feed, &board, &work);
            scope.spawn(move || {
                // A panic outside `work` (in the items' iterator) must not leave the calling
                // thread waiting for a result that never comes; the scope re-raises it.
                let _stop = StopOnUnwind(board);
                work_items(feed, board, work);
            });
        }
        // Whatever ends the delivery (the last result, an error, a panic), the workers see it
        // and return, so that the scope ends.
        let _stop = StopOnDrop(&board);
        match work_and_deliver(&feed, &board, &work, &mut deliver) {
            Delivery::Finished => Ok(()),
            Delivery::Failed(error) => Err(error),
            Delivery::Panicked(payload) => resume_unwind(payload),
        }
    })
}

/// An item's result, or the panic `work` raised on it.
type Outcome<R> = std::thread::Result<R>;

enum Delivery<E> {
    Finished,
    Failed(E),
    Panicked(Box<dyn std::any::Any + Send>),
}

/// A worker thread: takes items, works each once it is within the window, and posts its
/// outcome, until the items run out or the run stops.
fn work_items<I: Iterator, R>(feed: &Feed<I>, board: &Board<R>, work: &impl Fn(I::Item) -> R) {
    while let Some((index, item)) = feed.take(board) {
        if !board.wait_for_turn(index) {
            return;
        }
        board.post(index, catch_unwind(AssertUnwindSafe(|| work(item))));
    }
}

/// The calling thread: delivers the results in order as they are ready and, while the next
/// is not, works an item itself; it waits only with no item it may work on.
fn work_and_deliver<I: Iterator, R, E>(
    feed: &Feed<I>,
    board: &Board<R>,
    work: &impl Fn(I::Item) -> R,
    deliver: &mut impl FnMut(R) -> Result<(), E>,
) -> Delivery<E> {
    // An item taken while beyond the window, worked once enough results are delivered.
    let mut held = None;
    loop {
        match board.take_next() {
            Next::Ready(Ok(value)) => {
                if let Err(error) = deliver(value) {
                    return Delivery::Failed(error);
                }
                board.delivered();
                continue;
            }
            Next::Ready(Err(payload)) => return Delivery::Panicked(payload),
            // Stopped: a worker panicked outside `work`, which the scope re-raises.
            Next::AllDelivered | Next::Stopped => return Delivery::Finished,
            Next::NotDone => {}
        }
        match held.take().or_else(|| feed.take(board)) {
            Some((index, item)) if board.in_window(index) => {
                board.post(index, catch_unwind(AssertUnwindSafe(|| work(item))));
            }
            // The next result is being worked on by a worker (it is within the window).
            Some(early) => {
                held = Some(early);
                board.wait_for_next();
            }
            None => board.wait_for_next(),
        }
    }
}

/// The items not yet taken, numbered. Apart from the [`Board`] so that a slow `next` (a
/// directory walk) does not hold up the posting of results.
struct Feed<I> {
    state: Mutex<FeedState<I>>,
}

struct FeedState<I> {
    items: I,
    /// How many items were taken: the index of the next.
    taken: usize,
    exhausted: bool,
}

impl<I: Iterator> Feed<I> {
    fn new(items: I) -> Feed<I> {
        Feed { state: Mutex::new(FeedState { items, taken: 0, exhausted: false }) }
    }

    /// The next item and its index; `None` once all are taken, which `board` is then told.
    fn take<R>(&self, board: &Board<R>) -> Option<(usize, I::Item)> {
        let mut feed = lock(&self.state);
        if !feed.exhausted {
            if let Some(item) = feed.items.next() {
                let index = feed.taken;
                feed.taken += 1;
                return Some((index, item));
            }
            feed.exhausted = true;
            board.ended(feed.taken);
        }
        None
    }
}

/// The outcomes not yet delivered, and where threads wait for each other: the calling thread
/// for the next outcome, workers for their item to come within the window.
struct Board<R> {
    state: Mutex<BoardState<R>>,
    next_done: Condvar,
    turn: Condvar,
    window: usize,
}

struct BoardState<R> {
    /// How many results were delivered: the index of the next to deliver.
    delivered: usize,
    /// The outcomes of the items from index `delivered` on; `None` while not done.
    outcomes: VecDeque<Option<Outcome<R>>>,
    /// How many items there are, once the feed is found empty.
    total: Option<usize>,
    stopped: bool,
    /// The calling thread is asleep in `wait_for_next`.
    deliverer_waiting: bool,
    /// Workers asleep in `wait_for_turn`: without any, a delivery wakes nobody.
    workers_waiting: usize,
}

/// What the calling thread finds for the next index to deliver.
enum Next<R> {
    Ready(Outcome<R>),
    NotDone,
    AllDelivered,
    Stopped,
}

impl<R> Board<R> {
    fn new(window: usize) -> Board<R> {
        let state = BoardState {
            delivered: 0,
            outcomes: VecDeque::new(),
            total: None,
            stopped: false,
            deliverer_waiting: false,
            workers_waiting: 0,
        };
        Board { state: Mutex::new(state), next_done: Condvar::new(), turn: Condvar::new(), window }
    }

    /// Takes the next outcome if it is done; [`Board::delivered`] follows its delivery.
    fn take_next(&self) -> Next<R> {
        let mut state = lock(&self.state);
        if state.stopped {
            return Next::Stopped;
        }
        if let Some(outcome) = state.outcomes.front_mut().and_then(Option::take) {
            return Next::Ready(outcome);
        }
        if state.total == Some(state.delivered) {
            Next::AllDelivered
        } else {
            Next::NotDone
        }
    }

    /// The outcome taken by `take_next` was delivered: the window moves on by one.
    fn delivered(&self) {
        let mut state = lock(&self.state);
        state.outcomes.pop_front();
        state.delivered += 1;
        if state.workers_waiting > 0 {
            drop(state);
            self.turn.notify_all();
        }
    }

    /// Whether item `index` may be worked on now.
    fn in_window(&self, index: usize) -> bool {
        index < lock(&self.state).delivered + self.window
    }

    /// Waits until item `index` may be worked on; `false` when the run stopped instead.
    fn wait_for_turn(&self, index: usize) -> bool {
        let mut state = lock(&self.state);
        while !state.stopped && index >= state.delivered + self.window {
            state.workers_waiting += 1;
            state = self.turn.wait(state).unwrap_or_else(PoisonError::into_inner);
            state.workers_waiting -= 1;
        }
        !state.stopped
    }

    /// Records item `index`'s outcome, waking the calling thread if it waits for this one.
    fn post(&self, index: usize, outcome: Outcome<R>) {
        let mut state = lock(&self.state);
        let at = index - state.delivered;
        if state.outcomes.len() <= at {
            state.outcomes.resize_with(at + 1, || None);
        }
        state.outcomes[at] = Some(outcome);
        if at == 0 && state.deliverer_waiting {
            drop(state);
            self.next_done.notify_one();
        }
    }

    /// There are `total` items.
    fn ended(&self, total: usize) {
        let mut state = lock(&self.state);
        state.total = Some(total);
        if state.deliverer_waiting {
            drop(state);
            self.next_done.notify_one();
        }
    }

    /// Waits until the next outcome is done, all are delivered, or the run stopped.
    fn wait_for_next(&self) {
        let mut state = lock(&self.state);
        while !state.stopped
            && state.total != Some(state.delivered)
            && !state.outcomes.front().is_some_and(Option::is_some)
        {
            state.deliverer_waiting = true;
            state = self.next_done.wait(state).unwrap_or_else(PoisonError::into_inner);
            state.deliverer_waiting = false;
        }
    }

    fn stop(&self) {
        lock(&self.state).stopped = true;
        self.turn.notify_all();
        self.next_done.notify_all();
    }
}

/// Stops the run when dropped: however the delivery ended.
struct StopOnDrop<'a, R>(&'a Board<R>);

impl<R> Drop for StopOnDrop<'_, R> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Stops the run when a thread unwinds through it.
struct StopOnUnwind<'a, R>(&'a Board<R>);

impl<R> Drop for StopOnUnwind<'_, R> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// A panic is re-raised after the run, so a poisoned lock's data is still good to use.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn results_come_in_input_order() {
        let mut seen = Vec::new();
        let result: Result<(), ()> = map_ordered(
            0..500u64,
            8,
            |n| {
                // Early items take longest, so later ones finish first.
                std::thread::sleep(Duration::from_micros((500 - n) % 7 * 50));
                n * 2
            },
            |value| {
                seen.push(value);
                Ok(())
            },
        );
        assert_eq!(result, Ok(()));
        assert_eq!(seen, (0..500u64).map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_few_items_are_worked_on_the_calling_thread() {
        let caller = std::thread::current().id();
        let mut seen = Vec::new();
        let result: Result<(), ()> = map_ordered(
            ["a", "b"].into_iter(),
            8,
            |item| (item, std::thread::current().id()),
            |value| {
                seen.push(value);
                Ok(())
            },
        );
        assert_eq!(result, Ok(()));
        assert_eq!(seen, [("a", caller), ("b", caller)]);
    }

    #[test]
    fn never_more_than_the_window_in_flight() {
        let started = AtomicUsize::new(0);
        let delivered = AtomicUsize::new(0);
        let worst = AtomicUsize::new(0);
        let result: Result<(), ()> = map_ordered(
            0..300usize,
            4,
            |n| {
                let ahead = started.fetch_add(1, Ordering::SeqCst) + 1 - delivered.load(Ordering::SeqCst);
                worst.fetch_max(ahead, Ordering::SeqCst);
                if n % 10 == 0 {
                    std::thread::sleep(Duration::from_millis(2));
                }
                n
            },
            |_| {
                delivered.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
        );
        assert_eq!(result, Ok(()));
        assert!(worst.load(Ordering::SeqCst) <= 4, "{} in flight", worst.load(Ordering::SeqCst));
    }

    #[test]
    fn a_delivery_error_stops_the_run() {
        let worked = AtomicUsize::new(0);
        let mut delivered = 0;
        let result = map_ordered(
            0..10_000usize,
            16,
            |n| {
                worked.fetch_add(1, Ordering::SeqCst);
                n
            },
            |n| {
                delivered += 1;
                if n == 20 {
                    Err("stdout closed")
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(result, Err("stdout closed"));
        assert_eq!(delivered, 21);
        assert!(worked.load(Ordering::SeqCst) < 20 + 16 + 8, "workers went on after the error");
    }

    #[test]
    fn a_panic_in_work_reaches_the_caller() {
        let outcome = catch_unwind(|| {
            map_ordered(
                0..1000usize,
                8,
                |n| {
                    assert!(n != 37, "item 37 is bad");
                    n
                },
                |_| Ok::<(), ()>(()),
            )
        });
        let payload = outcome.expect_err("the panic is re-raised");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
            .unwrap_or_default();
        assert!(message.contains("item 37 is bad"), "{message}");
    }

    #[test]
    fn the_calling_thread_works_items_too() {
        let caller = std::thread::current().id();
        let mut workers = Vec::new();
        let result: Result<(), ()> = map_ordered(
            0..200u64,
            8,
            |n| {
                std::thread::sleep(Duration::from_micros(n % 3 * 100));
                std::thread::current().id()
            },
            |worker| {
                workers.push(worker);
                Ok(())
            },
        );
        assert_eq!(result, Ok(()));
        assert_eq!(workers.len(), 200);
        assert!(workers.contains(&caller), "the calling thread only waited");
    }

    #[test]
    fn a_panic_in_deliver_stops_the_workers() {
        // Workers are held back by the small window: the panic must release them, or the
        // scope would wait for them forever.
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            map_ordered(
                0..1000usize,
                2,
                |n| n,
                |n| {
                    assert!(n != 50, "cannot deliver 50");
                    Ok::<(), ()>(())
                },
            )
        }));
        assert!(outcome.is_err());
    }

    #[test]
    fn a_panic_in_the_items_reaches_the_caller() {
        let items = (0..1000usize).inspect(|&n| assert!(n != 500, "item 500 cannot be made"));
        let mut delivered = 0;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            map_ordered(
                items,
                8,
                |n| n,
                |_| {
                    delivered += 1;
                    Ok::<(), ()>(())
                },
            )
        }));
        assert!(outcome.is_err());
        assert!(delivered <= 500, "{delivered} delivered");
    }
}
