//! Running Rust work with the GVL released.
//!
//! * The closure must be `Send` (so it cannot capture Ruby values) and gets a
//!   `CancelToken`; Ruby's unblocking function (Thread#kill, Timeout, Ctrl-C)
//!   sets it, and long loops stop at their next `check()`.
//! * A panic is caught inside the released region and becomes `Candle::Error`:
//!   it never unwinds into C.
//! * After the GVL is back, pending Ruby interrupts are delivered (so Timeout
//!   raises Timeout::Error, Thread#kill kills); a cancellation with nothing
//!   pending becomes `Candle::Interrupted`.
//! * `with_events` additionally runs the work on a helper thread and hands its
//!   events to a Ruby-side handler, taking the GVL back for each one.

use std::any::Any;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use magnus::Ruby;
use rb_sys::{rb_nogvl, rb_thread_call_with_gvl, rb_thread_check_ints, RB_NOGVL_UBF_ASYNC_SAFE};

use super::errors::{class_for, to_ruby};
use crate::cancel::CancelToken;
use crate::error::{ErrorKind, Result as CoreResult};

type Caught<R> = std::thread::Result<CoreResult<R>>;

struct Call<F, R> {
    func: Option<F>,
    out: Option<R>,
}

unsafe extern "C" fn trampoline<F: FnOnce() -> R, R>(data: *mut c_void) -> *mut c_void {
    let call = &mut *(data as *mut Call<F, R>);
    if let Some(f) = call.func.take() {
        call.out = Some(f());
    }
    std::ptr::null_mut()
}

/// Runs `f` with the GVL released; `None` when Ruby skipped it because an
/// interrupt was already pending.
///
/// The unblocking function only stores to an atomic, so it is declared
/// async-signal-safe: in a single-threaded program Ruby's signal handler
/// then calls it directly on Ctrl-C, instead of Ruby starting a helper
/// thread for every call to be able to deliver the signal.
fn release_gvl<F: FnOnce() -> R, R>(f: F, token: &CancelToken) -> Option<R> {
    let mut call: Call<F, R> = Call { func: Some(f), out: None };
    unsafe {
        rb_nogvl(
            Some(trampoline::<F, R>),
            &mut call as *mut _ as *mut c_void,
            Some(unblock),
            token.as_flag_ptr() as *mut c_void,
            RB_NOGVL_UBF_ASYNC_SAFE as i32,
        );
    }
    call.out.take()
}

/// Async-signal-safe: one atomic store.
unsafe extern "C" fn unblock(flag: *mut c_void) {
    (*(flag as *const AtomicBool)).store(true, Ordering::SeqCst);
}

fn panic_message(p: &Box<dyn Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Delivers pending interrupts (raising them as a magnus::Error, never longjmp
/// through Rust frames).
fn check_ints() -> Result<(), magnus::Error> {
    magnus::rb_sys::protect(|| {
        unsafe { rb_thread_check_ints() };
        rb_sys::Qnil as rb_sys::VALUE
    })
    .map(|_| ())
}

fn finish<R>(ruby: &Ruby, token: &CancelToken, out: Option<Caught<R>>) -> Result<R, magnus::Error> {
    if token.is_cancelled() || out.is_none() {
        check_ints()?;
    }
    match out {
        None => Err(magnus::Error::new(class_for(ruby, ErrorKind::Interrupted), "interrupted before it started")),
        Some(Err(panic)) => Err(magnus::Error::new(
            class_for(ruby, ErrorKind::Generic),
            format!("internal error (Rust panic): {}", panic_message(&panic)),
        )),
        Some(Ok(result)) => result.map_err(to_ruby),
    }
}

/// Releases the GVL while `f` runs on the current thread.
pub fn without_gvl<F, R>(f: F) -> Result<R, magnus::Error>
where
    F: FnOnce(&CancelToken) -> CoreResult<R> + Send,
    R: Send,
{
    let ruby = Ruby::get().expect("called from a Ruby thread");
    let token = CancelToken::new();
    let inner = token.clone();
    let out = release_gvl(move || catch_unwind(AssertUnwindSafe(|| f(&inner))), &token);
    finish(&ruby, &token, out)
}

/// Sends events from the work (any thread) to the Ruby-side handler.
pub struct Emitter<E>(mpsc::Sender<E>);

impl<E: Send> Emitter<E> {
    pub fn emit(&self, event: E) {
        let _ = self.0.send(event);
    }
}

/// Like `without_gvl`, but `work` runs on a helper thread and may emit events;
/// each is passed to `handler` with the GVL held, on the calling Ruby thread.
/// If the handler fails (e.g. a Ruby progress callback raises), the work is
/// cancelled and that error is returned.
pub fn with_events<F, R, E, H>(work: F, mut handler: H) -> Result<R, magnus::Error>
where
    F: FnOnce(&CancelToken, &Emitter<E>) -> CoreResult<R> + Send,
    R: Send,
    E: Send,
    H: FnMut(E) -> Result<(), magnus::Error>,
{
    let ruby = Ruby::get().expect("called from a Ruby thread");
    let token = CancelToken::new();
    let inner = token.clone();
    let mut handler_error: Option<magnus::Error> = None;

    let pump = || -> Caught<R> {
        let (tx, rx) = mpsc::channel::<E>();
        std::thread::scope(|scope| {
            let worker_token = inner.clone();
            let worker = scope.spawn(move || {
                let emitter = Emitter(tx);
                catch_unwind(AssertUnwindSafe(|| work(&worker_token, &emitter)))
            });
            loop {
                match rx.recv_timeout(Duration::from_millis(20)) {
                    Ok(event) => {
                        if handler_error.is_some() {
                            continue;
                        }
                        if let Err(e) = call_with_gvl(&mut handler, event) {
                            handler_error = Some(e);
                            inner.cancel();
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            worker.join().unwrap_or_else(Err)
        })
    };

    let out = release_gvl(pump, &token);
    if let Some(e) = handler_error {
        return Err(e);
    }
    finish(&ruby, &token, out)
}

struct GvlCall<'a, H, E> {
    handler: &'a mut H,
    event: Option<E>,
    result: Option<Result<(), magnus::Error>>,
}

unsafe extern "C" fn gvl_trampoline<H, E>(data: *mut c_void) -> *mut c_void
where
    H: FnMut(E) -> Result<(), magnus::Error>,
{
    let call = &mut *(data as *mut GvlCall<H, E>);
    let event = call.event.take().expect("event");
    let handler = &mut *call.handler;
    call.result = Some(match catch_unwind(AssertUnwindSafe(|| handler(event))) {
        Ok(r) => r,
        Err(p) => {
            let ruby = Ruby::get().expect("GVL held");
            Err(magnus::Error::new(
                class_for(&ruby, ErrorKind::Generic),
                format!("internal error (Rust panic in callback): {}", panic_message(&p)),
            ))
        }
    });
    std::ptr::null_mut()
}

fn call_with_gvl<H, E>(handler: &mut H, event: E) -> Result<(), magnus::Error>
where
    H: FnMut(E) -> Result<(), magnus::Error>,
{
    let mut call = GvlCall { handler, event: Some(event), result: None };
    unsafe {
        rb_thread_call_with_gvl(Some(gvl_trampoline::<H, E>), &mut call as *mut _ as *mut c_void);
    }
    call.result.unwrap_or(Ok(()))
}
