//! A small persistent fork-join thread pool (std only).
//!
//! Two entry points:
//! * [`ThreadPool::run`]`(&|tid| ..)` runs the closure once for every tid in
//!   `0..threads()` (tid 0 on the calling thread) and waits for all.
//! * [`ThreadPool::for_chunks`]`(total, chunk, &|range| ..)` hands out
//!   `0..total` in chunks to whichever threads show up. The caller starts on
//!   the chunks at once and, when none are left, waits only for workers that
//!   actually *joined* -- a worker that is descheduled (busy/oversubscribed
//!   machine, e.g. 2 vCPUs shared with a compiler or with rayon threads) never
//!   makes the caller wait for an OS time slice; the caller just does more of
//!   the work itself. This is what the matmul uses.
//!
//! Workers spin for a short while after each job (back-to-back matmuls of a
//! decode step wake them in ~100 ns) and then park on a condvar (an idle pool
//! costs no CPU). A job is published by bumping a generation counter;
//! workers join it with a CAS on a (generation, closed, active) word, so a late
//! worker can never touch a job that has finished. No allocation and no lock
//! on the hot path unless a worker is parked.
//!
//! Concurrent calls on the same pool from different threads are serialized
//! (the second caller runs its job serially on its own thread); a nested call
//! from inside a job also runs serially (no deadlock).

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

type Job = *const (dyn Fn(usize) + Sync);

/// `state` layout: generation (high 32 bits) | CLOSED | active workers.
const CLOSED: u64 = 1 << 31;
const ACTIVE: u64 = CLOSED - 1;

struct Shared {
    /// Incremented for each new job (and for shutdown).
    generation: AtomicUsize,
    /// (generation << 32) | CLOSED? | number of workers inside the job.
    state: AtomicU64,
    /// Workers that completed the current job (for `run`).
    finished: AtomicUsize,
    /// The current job; written by the caller only when no worker is inside
    /// a job and the state is closed or tagged with an older generation.
    job: UnsafeCell<Option<Job>>,
    /// Workers currently parked (or about to park) on `cvar`.
    sleepers: AtomicUsize,
    panicked: AtomicBool,
    shutdown: AtomicBool,
    lock: Mutex<()>,
    cvar: Condvar,
    /// Workers that have started running (named, in their loop).
    started: AtomicUsize,
    /// How long a worker spins for the next job before parking.
    spin: Duration,
}

// SAFETY: `job` is written only by the thread holding `ThreadPool::run_lock`
// while no worker can be inside a job (previous job closed and active == 0),
// and read by a worker only after it joined the current generation through
// the `state` CAS (which fails once the job is closed).
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    run_lock: Mutex<()>,
    n: usize,
}

thread_local! {
    static IN_JOB: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl ThreadPool {
    /// A pool of `n` threads in total (the caller counts as one, so `n - 1`
    /// workers are spawned). `n == 0` is treated as 1.
    pub fn new(n: usize) -> ThreadPool {
        Self::with_spin(n, Duration::from_micros(200))
    }

    /// As [`ThreadPool::new`], with the worker spin time before parking.
    pub fn with_spin(n: usize, spin: Duration) -> ThreadPool {
        let n = n.max(1);
        let shared = Arc::new(Shared {
            generation: AtomicUsize::new(0),
            state: AtomicU64::new(CLOSED),
            finished: AtomicUsize::new(0),
            job: UnsafeCell::new(None),
            sleepers: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
            started: AtomicUsize::new(0),
            spin,
        });
        let workers = (1..n)
            .map(|tid| {
                let s = shared.clone();
                std::thread::Builder::new()
                    .name(format!("candle-kernels-{tid}"))
                    .spawn(move || worker(s, tid))
                    .expect("spawn pool thread")
            })
            .collect();
        // Return once every worker runs (and carries its name), so the
        // pool's threads are all visible to whoever looks right after.
        while shared.started.load(Ordering::Acquire) < n - 1 {
            std::thread::yield_now();
        }
        ThreadPool { shared, workers, run_lock: Mutex::new(()), n }
    }

    /// Number of threads (including the caller).
    pub fn threads(&self) -> usize {
        self.n
    }

    /// Run `f(tid)` for every tid in `0..threads()`, in parallel, and wait.
    /// Panics (after all threads finished) if any invocation panicked.
    pub fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        self.dispatch(f, true, &|| {
            for tid in 0..self.n {
                f(tid);
            }
        })
    }

    /// Call `f` on chunks `start..end` (at most `chunk` long) covering
    /// `0..total`, on any threads available now; returns when all are done.
    pub fn for_chunks(&self, total: usize, chunk: usize, f: &(dyn Fn(std::ops::Range<usize>) + Sync)) {
        if total == 0 {
            return;
        }
        let work = ChunkCounter::new(total, chunk);
        let body = |_tid: usize| {
            while let Some(r) = work.next() {
                f(r)
            }
        };
        if self.n == 1 || total <= chunk {
            return body(0);
        }
        self.dispatch(&body, false, &|| body(0))
    }

    /// Publish `f`, run tid 0 here, then wait: for all workers (`all`) or
    /// only for those that joined (elastic). `serial` runs the whole job on
    /// this thread when the pool cannot be used.
    fn dispatch(&self, f: &(dyn Fn(usize) + Sync), all: bool, serial: &dyn Fn()) {
        if self.n == 1 {
            return serial();
        }
        let guard = if IN_JOB.with(|c| c.get()) { None } else { self.run_lock.try_lock().ok() };
        let Some(_guard) = guard else {
            return serial();
        };
        let s = &*self.shared;
        // SAFETY: we hold run_lock; the previous job is closed with no active
        // worker (checked before the previous dispatch returned), so no
        // worker reads `job` now. The lifetime is erased; workers stop using
        // `f` before leaving the job, which we wait for below.
        unsafe {
            let job: Job = std::mem::transmute::<&(dyn Fn(usize) + Sync), &'static (dyn Fn(usize) + Sync)>(f);
            *s.job.get() = Some(job);
        }
        let gen = s.generation.load(Ordering::Relaxed).wrapping_add(1);
        s.finished.store(0, Ordering::Relaxed);
        s.state.store((gen as u32 as u64) << 32, Ordering::SeqCst); // open, no one inside
        s.generation.store(gen, Ordering::SeqCst);
        if s.sleepers.load(Ordering::SeqCst) > 0 {
            let _g = s.lock.lock().unwrap();
            s.cvar.notify_all();
        }
        IN_JOB.with(|c| c.set(true));
        let r = catch_unwind(AssertUnwindSafe(|| f(0)));
        IN_JOB.with(|c| c.set(false));
        let mut spins = 0u32;
        let mut backoff = || {
            if spins < 1 << 14 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        };
        if all {
            // every worker must run its tid
            while s.finished.load(Ordering::Acquire) != self.n - 1 {
                backoff();
            }
        }
        // close the job, then wait for the workers inside it
        s.state.fetch_or(CLOSED, Ordering::AcqRel);
        while s.state.load(Ordering::Acquire) & ACTIVE != 0 {
            backoff();
        }
        if let Err(e) = r {
            std::panic::resume_unwind(e);
        }
        if s.panicked.swap(false, Ordering::SeqCst) {
            panic!("a candle kernels pool thread panicked");
        }
    }
}

fn worker(s: Arc<Shared>, tid: usize) {
    IN_JOB.with(|c| c.set(true));
    s.started.fetch_add(1, Ordering::Release);
    let mut seen = 0usize;
    loop {
        // Wait for a new generation: spin, then park.
        let start = Instant::now();
        let mut i = 0u32;
        let gen = loop {
            let g = s.generation.load(Ordering::Acquire);
            if g != seen {
                break g;
            }
            i = i.wrapping_add(1);
            if i % 64 == 0 && start.elapsed() > s.spin {
                let mut guard = s.lock.lock().unwrap();
                s.sleepers.fetch_add(1, Ordering::SeqCst);
                while s.generation.load(Ordering::SeqCst) == seen {
                    guard = s.cvar.wait(guard).unwrap();
                }
                s.sleepers.fetch_sub(1, Ordering::SeqCst);
                drop(guard);
                continue;
            }
            std::hint::spin_loop();
        };
        seen = gen;
        if s.shutdown.load(Ordering::Acquire) {
            return;
        }
        // Join generation `gen` unless it is already closed (or superseded).
        let tag = (gen as u32 as u64) << 32;
        let mut st = s.state.load(Ordering::Acquire);
        let joined = loop {
            if st & !(CLOSED | ACTIVE) != tag || st & CLOSED != 0 {
                break false;
            }
            match s.state.compare_exchange_weak(st, st + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break true,
                Err(cur) => st = cur,
            }
        };
        if !joined {
            continue;
        }
        // SAFETY: joined, so the caller keeps the job alive and unchanged
        // until we leave (active - 1) below.
        let job = unsafe { (*s.job.get()).expect("job published") };
        let r = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)(tid) }));
        if r.is_err() {
            s.panicked.store(true, Ordering::SeqCst);
        }
        s.finished.fetch_add(1, Ordering::Release);
        s.state.fetch_sub(1, Ordering::Release);
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        let s = &*self.shared;
        s.shutdown.store(true, Ordering::SeqCst);
        s.generation.fetch_add(1, Ordering::SeqCst);
        {
            let _g = s.lock.lock().unwrap();
            s.cvar.notify_all();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// A process-wide pool, created on first use with `CANDLE_NUM_THREADS` threads
/// (default: `std::thread::available_parallelism()`).
pub fn global_pool() -> &'static ThreadPool {
    static POOL: std::sync::OnceLock<ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let n = std::env::var("CANDLE_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        ThreadPool::new(n)
    })
}

/// Split `0..total` into chunks of `chunk` handed out dynamically. Call
/// `next()` from every thread until it returns `None`.
pub struct ChunkCounter {
    next: AtomicUsize,
    total: usize,
    chunk: usize,
}

impl ChunkCounter {
    pub fn new(total: usize, chunk: usize) -> Self {
        ChunkCounter { next: AtomicUsize::new(0), total, chunk: chunk.max(1) }
    }
    #[inline]
    pub fn next(&self) -> Option<std::ops::Range<usize>> {
        let s = self.next.fetch_add(self.chunk, Ordering::Relaxed);
        (s < self.total).then(|| s..(s + self.chunk).min(self.total))
    }
}

/// Raw pointer that may be shared between the pool's threads (each thread
/// writes disjoint elements).
#[derive(Clone, Copy)]
pub struct SyncPtr<T>(pub *mut T);
unsafe impl<T> Send for SyncPtr<T> {}
unsafe impl<T> Sync for SyncPtr<T> {}
impl<T> SyncPtr<T> {
    /// (A method, so closures capture the whole Sync wrapper, not the field.)
    #[inline(always)]
    pub fn get(self) -> *mut T {
        self.0
    }
}
