//! Maps the core's `ErrorKind` to the Ruby exception classes declared in
//! lib/candle/errors.rb (the names come from `ErrorKind::ruby_class`, the
//! one list). Hub errors carry `repo_id`, `filename`, `revision`, `status`
//! and `retry_after` as instance variables read by `Candle::HubError`.

use std::sync::OnceLock;

use magnus::value::Opaque;
use magnus::{prelude::*, Exception, ExceptionClass, RModule, Ruby};

use crate::error::{Error as CoreError, ErrorKind};

/// Every kind's class, looked up once (classes held by constants are never
/// collected); indexed like `ErrorKind::ALL`.
static CLASSES: OnceLock<Vec<Option<Opaque<ExceptionClass>>>> = OnceLock::new();

fn lookup(ruby: &Ruby, name: &str) -> ExceptionClass {
    let candle: RModule = ruby
        .class_object()
        .const_get("Candle")
        .expect("Candle must be defined before the extension loads (require \"candle\")");
    candle
        .const_get(name)
        .unwrap_or_else(|_| panic!("Candle::{name} missing: lib/candle/errors.rb must load first"))
}

pub fn class_for(ruby: &Ruby, kind: ErrorKind) -> ExceptionClass {
    let classes = CLASSES.get_or_init(|| {
        ErrorKind::ALL.iter().map(|k| k.ruby_class().map(|name| Opaque::from(lookup(ruby, name)))).collect()
    });
    let i = ErrorKind::ALL.iter().position(|k| *k == kind).expect("every kind is in ErrorKind::ALL");
    match classes[i] {
        Some(c) => ruby.get_inner(c),
        None => ruby.exception_arg_error(),
    }
}

pub fn to_ruby(e: CoreError) -> magnus::Error {
    let ruby = Ruby::get().expect("errors are converted on a Ruby thread");
    let class = class_for(&ruby, e.kind);
    let Some(hub) = e.hub else {
        return magnus::Error::new(class, e.message);
    };
    let exc: Exception = match class.new_instance((e.message.as_str(),)) {
        Ok(x) => x,
        Err(err) => return err,
    };
    let set = |name: &str, v: magnus::Value| {
        let _: Result<magnus::Value, _> = exc.funcall("instance_variable_set", (name, v));
    };
    let s = |v: &Option<String>| v.as_deref().map_or(ruby.qnil().as_value(), |x| ruby.str_new(x).as_value());
    set("@repo_id", s(&hub.repo_id));
    set("@filename", s(&hub.filename));
    set("@revision", s(&hub.revision));
    set("@status", hub.status.map_or(ruby.qnil().as_value(), |v| ruby.integer_from_i64(v as i64).as_value()));
    set("@retry_after", hub.retry_after.map_or(ruby.qnil().as_value(), |d| ruby.float_from_f64(d.as_secs_f64()).as_value()));
    magnus::Error::from(exc)
}
