//! Work on all cores, results in input order, memory bounded by a window rather than by the
//! number of items: what lets `dockfix fix` stream 100,000 files.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Up to this many items are worked on the calling thread alone.
const FEW_ITEMS: usize = 3;

/// Maps `items` with `work` on all cores and hands each result to `deliver` in the order of
/// the items, as soon as it and every result before it are done. At most `window` items are
/// taken ahead of the next one to deliver, so a slow item holds back memory, not correctness.
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
    let feed = Mutex::new(first.into_iter().chain(items).enumerate());
    let gate = Gate::new(window);
    let (done, results) = mpsc::channel::<(usize, std::thread::Result<R>)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done = done.clone();
            let (feed, gate, work) = (&feed, &gate, &work);
            scope.spawn(move || loop {
                let Some((index, item)) = lock(feed).next() else {
                    return;
                };
                if !gate.wait_for_turn(index) {
                    return;
                }
                let result = catch_unwind(AssertUnwindSafe(|| work(item)));
                if done.send((index, result)).is_err() {
                    return;
                }
            });
        }
        drop(done);
        let outcome = deliver_in_order(results, &gate, &mut deliver);
        // Whatever ended the delivery, let every worker see it and return.
        gate.stop();
        match outcome {
            Delivery::Finished => Ok(()),
            Delivery::Failed(error) => Err(error),
            Delivery::Panicked(payload) => resume_unwind(payload),
        }
    })
}

enum Delivery<E> {
    Finished,
    Failed(E),
    Panicked(Box<dyn std::any::Any + Send>),
}

fn deliver_in_order<R, E>(
    results: mpsc::Receiver<(usize, std::thread::Result<R>)>,
    gate: &Gate,
    deliver: &mut impl FnMut(R) -> Result<(), E>,
) -> Delivery<E> {
    let mut waiting: BTreeMap<usize, std::thread::Result<R>> = BTreeMap::new();
    let mut next = 0;
    for (index, result) in results {
        waiting.insert(index, result);
        while let Some(result) = waiting.remove(&next) {
            match result {
                Ok(value) => {
                    if let Err(error) = deliver(value) {
                        return Delivery::Failed(error);
                    }
                }
                Err(payload) => return Delivery::Panicked(payload),
            }
            next += 1;
            gate.delivered(next);
        }
    }
    Delivery::Finished
}

/// Lets a worker start item `index` only while it is less than `window` ahead of delivery.
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
    window: usize,
}

struct GateState {
    delivered: usize,
    stopped: bool,
    /// Workers asleep in `wait_for_turn`: without any, a delivery wakes nobody (a system call
    /// saved per file).
    waiting: usize,
}

impl Gate {
    fn new(window: usize) -> Gate {
        Gate {
            state: Mutex::new(GateState { delivered: 0, stopped: false, waiting: 0 }),
            changed: Condvar::new(),
            window,
        }
    }

    /// Waits until `index` may be worked on; `false` when the run stopped instead.
    fn wait_for_turn(&self, index: usize) -> bool {
        let mut state = lock(&self.state);
        while !state.stopped && index >= state.delivered + self.window {
            state.waiting += 1;
            state = self.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
            state.waiting -= 1;
        }
        !state.stopped
    }

    fn delivered(&self, count: usize) {
        let mut state = lock(&self.state);
        state.delivered = count;
        if state.waiting > 0 {
            drop(state);
            self.changed.notify_all();
        }
    }

    fn stop(&self) {
        lock(&self.state).stopped = true;
        self.changed.notify_all();
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
}
