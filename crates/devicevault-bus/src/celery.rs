//! Celery protocol v2 on AMQP, written out by hand: the task message as
//! Celery 5's `as_task_v2` builds it, and the result message that its `rpc://`
//! backend reads from a reply queue. Pure functions, no I/O, so every shape is
//! unit-tested here and [`super`] only moves bytes.
//!
//! A message from a peer is parsed strictly (a worker must never run half a
//! task) but tolerantly of what Celery adds over the years: unknown headers
//! are carried along, and every integer width AMQP tables allow is read.

use std::time::{Duration, SystemTime};

use devicevault_core::bus::Task;
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString, ShortString};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Iso8601;
use time::macros::format_description;

pub(crate) const CONTENT_TYPE: &str = "application/json";
pub(crate) const CONTENT_ENCODING: &str = "utf-8";
/// The header that says why a message was dead-lettered.
pub const REASON_HEADER: &str = "x-devicevault-reason";
/// The header that names the queue a dead-lettered message came from.
pub const QUEUE_HEADER: &str = "x-devicevault-queue";
/// Celery truncates `argsrepr`/`kwargsrepr` to this many characters.
const REPR_MAX: usize = 1024;
/// What a FAILURE reply names as the exception: a builtin, so a Python
/// client re-raises it without importing anything of ours.
const EXC_TYPE: &str = "RuntimeError";
const EXC_MODULE: &str = "builtins";

/// A task message as it goes on the wire.
pub(crate) struct Outgoing {
    pub body: Vec<u8>,
    pub properties: BasicProperties,
}

/// Builds the Celery v2 message for `task`: body `[args, kwargs, embed]`,
/// the headers and properties Celery 5 sets.
pub(crate) fn task_message(
    task: &Task,
    reply_to: Option<&str>,
    eta: Option<SystemTime>,
) -> Result<Outgoing, String> {
    let id = short(&task.id, "task id")?;
    let args = Value::Array(task.args.clone());
    let kwargs = Value::Object(task.kwargs.clone());
    let body = json!([
        args,
        kwargs,
        { "callbacks": null, "errbacks": null, "chain": null, "chord": null }
    ]);
    let mut h = FieldTable::default();
    let text = |s: &str| AMQPValue::LongString(LongString::from(s));
    h.insert("lang".into(), text("py"));
    h.insert("task".into(), text(&task.name));
    h.insert("id".into(), text(&task.id));
    h.insert("shadow".into(), AMQPValue::Void);
    let eta = match eta {
        Some(t) => text(&format_time(t)?),
        None => AMQPValue::Void,
    };
    h.insert("eta".into(), eta);
    h.insert("expires".into(), AMQPValue::Void);
    h.insert("group".into(), AMQPValue::Void);
    h.insert("group_index".into(), AMQPValue::Void);
    h.insert("retries".into(), int(i64::from(task.retries)));
    h.insert(
        "timelimit".into(),
        AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::Void, AMQPValue::Void])),
    );
    h.insert("root_id".into(), text(&task.id));
    h.insert("parent_id".into(), AMQPValue::Void);
    h.insert("argsrepr".into(), text(&repr(&args)));
    h.insert("kwargsrepr".into(), text(&repr(&kwargs)));
    h.insert("origin".into(), text(origin()));
    h.insert("ignore_result".into(), AMQPValue::Boolean(false));
    h.insert("replaced_task_nesting".into(), int(0));
    h.insert("stamped_headers".into(), AMQPValue::Void);
    h.insert(
        "stamps".into(),
        AMQPValue::FieldTable(FieldTable::default()),
    );
    let mut properties = BasicProperties::default()
        .with_content_type(CONTENT_TYPE.into())
        .with_content_encoding(CONTENT_ENCODING.into())
        .with_delivery_mode(2)
        .with_priority(0)
        .with_correlation_id(id)
        .with_headers(h);
    if let Some(r) = reply_to {
        properties = properties.with_reply_to(short(r, "reply_to")?);
    }
    Ok(Outgoing {
        body: body.to_string().into_bytes(),
        properties,
    })
}

/// A task message from the wire, parsed.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub task: Task,
    pub eta: Option<SystemTime>,
    pub expires: Option<SystemTime>,
    pub reply_to: Option<String>,
    pub correlation_id: String,
}

/// Parses a Celery v2 task message, or says why it is not one.
pub(crate) fn parse_task(body: &[u8], props: &BasicProperties) -> Result<Incoming, String> {
    if let Some(ct) = props.content_type()
        && ct.as_str() != CONTENT_TYPE
    {
        return Err(format!(
            "content type {:?} is not supported (only {CONTENT_TYPE})",
            ct.as_str()
        ));
    }
    if let Some(ce) = props.content_encoding() {
        let ce = ce.as_str().to_ascii_lowercase();
        if ce != "utf-8" && ce != "utf8" {
            return Err(format!("content encoding {ce:?} is not supported"));
        }
    }
    let empty = FieldTable::default();
    let headers = props.headers().as_ref().unwrap_or(&empty);
    if headers.contains_key("compression") {
        return Err("compressed messages are not supported".into());
    }
    let name = match headers.inner().get("task") {
        Some(v) => string(v).ok_or("the task header is not a string")?,
        None => return Err("no task header: not a Celery protocol v2 message".into()),
    };
    if name.is_empty() {
        return Err("the task header is empty".into());
    }
    let id = match headers.inner().get("id").map(string) {
        Some(Some(id)) => id,
        Some(None) => return Err("the id header is not a string".into()),
        None => match props.correlation_id() {
            Some(c) => c.to_string(),
            None => return Err("no id header and no correlation_id".into()),
        },
    };
    if id.is_empty() {
        return Err("the task id is empty".into());
    }
    let retries = match headers.inner().get("retries") {
        None | Some(AMQPValue::Void) => 0,
        Some(v) => integer(v)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("the retries header is not a non-negative integer")?,
    };
    let eta = time_header(headers, "eta")?;
    let expires = time_header(headers, "expires")?;
    let body: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Value::Array(mut parts) = body else {
        return Err("the body is not a [args, kwargs, embed] array".into());
    };
    if !(2..=3).contains(&parts.len()) {
        return Err(format!(
            "the body has {} elements, not [args, kwargs, embed]",
            parts.len()
        ));
    }
    parts.truncate(2);
    let kwargs = parts.pop().expect("two elements");
    let args = parts.pop().expect("two elements");
    let Value::Array(args) = args else {
        return Err("args (the body's first element) is not an array".into());
    };
    let Value::Object(kwargs) = kwargs else {
        return Err("kwargs (the body's second element) is not an object".into());
    };
    let reply_to = props
        .reply_to()
        .as_ref()
        .map(ToString::to_string)
        .filter(|r| !r.is_empty());
    let correlation_id = props
        .correlation_id()
        .as_ref()
        .map_or_else(|| id.clone(), ToString::to_string);
    Ok(Incoming {
        task: Task {
            id,
            name,
            args,
            kwargs,
            retries,
        },
        eta,
        expires,
        reply_to,
        correlation_id,
    })
}

/// The same message with the `retries` header set.
pub(crate) fn with_retries(props: &BasicProperties, retries: u32) -> BasicProperties {
    with_header(props, "retries", int(i64::from(retries)))
}

/// The same message with a string header set.
pub(crate) fn with_text_header(props: &BasicProperties, key: &str, value: &str) -> BasicProperties {
    with_header(
        props,
        key,
        AMQPValue::LongString(LongString::from(value.to_owned())),
    )
}

fn with_header(props: &BasicProperties, key: &str, value: AMQPValue) -> BasicProperties {
    let mut headers = props.headers().clone().unwrap_or_default();
    headers.insert(key.into(), value);
    props.clone().with_headers(headers)
}

/// The result message Celery's rpc backend expects on the reply queue.
pub(crate) fn result_message(task_id: &str, result: &Result<Value, String>) -> Vec<u8> {
    let (status, result) = match result {
        Ok(v) => ("SUCCESS", v.clone()),
        Err(message) => (
            "FAILURE",
            json!({
                "exc_type": EXC_TYPE,
                "exc_message": [message],
                "exc_module": EXC_MODULE,
            }),
        ),
    };
    json!({
        "task_id": task_id,
        "status": status,
        "result": result,
        "traceback": null,
        "children": [],
        "date_done": format_time(SystemTime::now()).unwrap_or_default(),
    })
    .to_string()
    .into_bytes()
}

/// What a reply said, once the task is done.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    Done(Result<Value, String>),
    /// A progress state (`STARTED`, `RETRY`, …): keep waiting.
    NotYet,
}

/// Reads a result message: the task id it answers and what it says.
pub(crate) fn parse_result(body: &[u8], props: &BasicProperties) -> Option<(String, Outcome)> {
    let meta: Map<String, Value> = serde_json::from_slice(body).ok()?;
    let id = props
        .correlation_id()
        .as_ref()
        .map(ToString::to_string)
        .or_else(|| meta.get("task_id")?.as_str().map(str::to_owned))?;
    let status = meta.get("status")?.as_str()?;
    let result = meta.get("result").cloned().unwrap_or(Value::Null);
    let outcome = match status {
        "SUCCESS" => Outcome::Done(Ok(result)),
        "FAILURE" => Outcome::Done(Err(failure_message(&result))),
        "REVOKED" => Outcome::Done(Err("the task was revoked".into())),
        _ => Outcome::NotYet,
    };
    Some((id, outcome))
}

/// Our own failures read back as their message alone; a Python exception
/// keeps its type in front, which is what a person needs to see.
fn failure_message(exc: &Value) -> String {
    let message = match exc.get("exc_message") {
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => exc.to_string(),
    };
    let ty = exc.get("exc_type").and_then(Value::as_str);
    let module = exc.get("exc_module").and_then(Value::as_str);
    match (ty, module) {
        (Some(EXC_TYPE), Some(EXC_MODULE)) | (None, _) => message,
        (Some(ty), _) => format!("{ty}: {message}"),
    }
}

fn time_header(headers: &FieldTable, key: &str) -> Result<Option<SystemTime>, String> {
    match headers.inner().get(key) {
        None | Some(AMQPValue::Void) => Ok(None),
        Some(v) => {
            let s = string(v).ok_or_else(|| format!("the {key} header is not a string"))?;
            parse_time(&s)
                .map(Some)
                .ok_or_else(|| format!("the {key} header {s:?} is not an ISO 8601 time"))
        }
    }
}

/// Python's `datetime.isoformat()`: with an offset when aware; a naive one is
/// taken as UTC, as Celery does with `enable_utc`.
pub(crate) fn parse_time(s: &str) -> Option<SystemTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
        return Some(t.into());
    }
    time::PrimitiveDateTime::parse(s, &Iso8601::DEFAULT)
        .ok()
        .map(|t| t.assume_utc().into())
}

/// The way Python writes an aware UTC time: `2025-01-02T03:04:05.123456+00:00`.
pub(crate) fn format_time(t: SystemTime) -> Result<String, String> {
    OffsetDateTime::from(t)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
        ))
        .map_err(|e| format!("cannot format {t:?}: {e}"))
}

/// How long until `t`, if it is in the future.
pub(crate) fn until(t: SystemTime) -> Option<Duration> {
    t.duration_since(SystemTime::now())
        .ok()
        .filter(|d| !d.is_zero())
}

fn short(s: &str, what: &str) -> Result<ShortString, String> {
    ShortString::try_new(s).map_err(|e| format!("{what} {s:?}: {e}"))
}

fn int(n: i64) -> AMQPValue {
    match i32::try_from(n) {
        Ok(n) => AMQPValue::LongInt(n),
        Err(_) => AMQPValue::LongLongInt(n),
    }
}

fn integer(v: &AMQPValue) -> Option<i64> {
    Some(match *v {
        AMQPValue::ShortShortInt(n) => n.into(),
        AMQPValue::ShortShortUInt(n) => n.into(),
        AMQPValue::ShortInt(n) => n.into(),
        AMQPValue::ShortUInt(n) => n.into(),
        AMQPValue::LongInt(n) => n.into(),
        AMQPValue::LongUInt(n) => n.into(),
        AMQPValue::LongLongInt(n) => n,
        _ => return None,
    })
}

fn string(v: &AMQPValue) -> Option<String> {
    match v {
        AMQPValue::LongString(s) => String::from_utf8(s.as_bytes().to_vec()).ok(),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        AMQPValue::ByteArray(b) => String::from_utf8(b.as_slice().to_vec()).ok(),
        _ => None,
    }
}

/// Celery shows args as Python's `repr`, cut to 1024 characters; JSON is
/// the closest honest rendering of ours.
fn repr(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(REPR_MAX - 3) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s,
    }
}

/// Celery's `anon_nodename()`: `gen<pid>@<hostname>`.
fn origin() -> &'static str {
    static ORIGIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        format!("gen{}@{host}", std::process::id())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        let mut t = Task::with_arg("t-1".into(), "storage.store", json!({"a": 1}));
        t.kwargs.insert("k".into(), json!("v"));
        t.retries = 2;
        t
    }

    fn header<'a>(p: &'a BasicProperties, key: &str) -> &'a AMQPValue {
        &p.headers().as_ref().unwrap().inner()[key]
    }

    #[test]
    fn a_task_message_has_celerys_body_headers_and_properties() {
        let m = task_message(&task(), Some("reply.q"), None).unwrap();
        let body: Value = serde_json::from_slice(&m.body).unwrap();
        assert_eq!(
            body,
            json!([[{"a": 1}], {"k": "v"}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}])
        );
        let p = &m.properties;
        assert_eq!(p.content_type().as_ref().unwrap().as_str(), CONTENT_TYPE);
        assert_eq!(p.content_encoding().as_ref().unwrap().as_str(), "utf-8");
        assert_eq!(*p.delivery_mode(), Some(2));
        assert_eq!(*p.priority(), Some(0));
        assert_eq!(p.correlation_id().as_ref().unwrap().as_str(), "t-1");
        assert_eq!(p.reply_to().as_ref().unwrap().as_str(), "reply.q");
        assert_eq!(string(header(p, "lang")).unwrap(), "py");
        assert_eq!(string(header(p, "task")).unwrap(), "storage.store");
        assert_eq!(string(header(p, "id")).unwrap(), "t-1");
        assert_eq!(string(header(p, "root_id")).unwrap(), "t-1");
        assert_eq!(integer(header(p, "retries")), Some(2));
        for key in ["eta", "expires", "group", "parent_id", "shadow"] {
            assert_eq!(header(p, key), &AMQPValue::Void, "{key}");
        }
        assert_eq!(
            header(p, "timelimit"),
            &AMQPValue::FieldArray(vec![AMQPValue::Void, AMQPValue::Void].into())
        );
        assert_eq!(header(p, "ignore_result"), &AMQPValue::Boolean(false));
        assert!(string(header(p, "origin")).unwrap().starts_with("gen"));
        assert_eq!(string(header(p, "argsrepr")).unwrap(), r#"[{"a":1}]"#);
    }

    #[test]
    fn a_task_message_parses_back_to_the_same_task() {
        let eta = SystemTime::now() + Duration::from_secs(60);
        let m = task_message(&task(), Some("r"), Some(eta)).unwrap();
        let got = parse_task(&m.body, &m.properties).unwrap();
        assert_eq!(got.task, task());
        assert_eq!(got.reply_to.as_deref(), Some("r"));
        assert_eq!(got.correlation_id, "t-1");
        let back = got.eta.unwrap();
        let skew = back.duration_since(eta).unwrap_or_else(|e| e.duration());
        assert!(skew < Duration::from_millis(1), "{skew:?}");
        assert_eq!(got.expires, None);
    }

    #[test]
    fn malformed_messages_are_refused_with_a_reason() {
        let good = task_message(&task(), None, None).unwrap();
        let p = &good.properties;
        let cases: Vec<(&[u8], BasicProperties, &str)> = vec![
            (b"not json", p.clone(), "not JSON"),
            (b"{\"task\": 1}", p.clone(), "not a [args, kwargs, embed]"),
            (b"[[], {}, {}, 4]", p.clone(), "4 elements"),
            (b"[{}, {}, {}]", p.clone(), "args"),
            (b"[[], [], {}]", p.clone(), "kwargs"),
            (
                b"[[], {}, {}]",
                p.clone().with_headers(FieldTable::default()),
                "no task header",
            ),
            (
                b"[[], {}, {}]",
                with_header(p, "retries", AMQPValue::LongString("x".into())),
                "retries",
            ),
            (
                b"[[], {}, {}]",
                with_text_header(p, "eta", "tomorrow"),
                "eta header",
            ),
            (
                b"[[], {}, {}]",
                p.clone()
                    .with_content_type("application/x-python-serialize".into()),
                "content type",
            ),
        ];
        for (body, props, why) in cases {
            let e = parse_task(body, &props).unwrap_err();
            assert!(e.contains(why), "{e:?} should mention {why:?}");
        }
    }

    #[test]
    fn what_python_sends_is_read() {
        // py-amqp encodes small ints as signed 32-bit, strings as long strings.
        let mut h = FieldTable::default();
        h.insert("task".into(), AMQPValue::LongString("storage.read".into()));
        h.insert("id".into(), AMQPValue::LongString("abc".into()));
        h.insert("retries".into(), AMQPValue::LongLongInt(3));
        h.insert(
            "eta".into(),
            AMQPValue::LongString("2030-01-02T03:04:05.123456+00:00".into()),
        );
        h.insert(
            "expires".into(),
            AMQPValue::LongString("2030-01-02T03:04:05".into()),
        );
        let props = BasicProperties::default()
            .with_headers(h)
            .with_correlation_id("abc".into())
            .with_reply_to("".into());
        let got = parse_task(
            br#"[[], {"storage_ref": "x"}, {"callbacks": null}]"#,
            &props,
        )
        .unwrap();
        assert_eq!(got.task.name, "storage.read");
        assert_eq!(got.task.retries, 3);
        assert_eq!(got.task.kwargs["storage_ref"], "x");
        assert_eq!(got.reply_to, None, "an empty reply_to means no reply");
        let eta = OffsetDateTime::from(got.eta.unwrap());
        assert_eq!(
            (eta.year(), eta.second(), eta.microsecond()),
            (2030, 5, 123_456)
        );
        assert!(got.expires.is_some());
    }

    #[test]
    fn retries_are_rewritten_and_other_headers_kept() {
        let m = task_message(&task(), None, None).unwrap();
        let p = with_retries(&m.properties, 7);
        let got = parse_task(&m.body, &p).unwrap();
        assert_eq!(got.task.retries, 7);
        assert_eq!(string(header(&p, "lang")).unwrap(), "py");
    }

    #[test]
    fn results_read_back_as_they_were_written() {
        let props = BasicProperties::default().with_correlation_id("t-9".into());
        let ok = result_message("t-9", &Ok(json!({"content": "x"})));
        let meta: Value = serde_json::from_slice(&ok).unwrap();
        assert_eq!(meta["status"], "SUCCESS");
        assert_eq!(meta["children"], json!([]));
        assert_eq!(meta["traceback"], Value::Null);
        assert!(meta["date_done"].as_str().unwrap().ends_with("+00:00"));
        assert_eq!(
            parse_result(&ok, &props),
            Some(("t-9".into(), Outcome::Done(Ok(json!({"content": "x"})))))
        );
        let bad = result_message("t-9", &Err("storage_ref not found".into()));
        let meta: Value = serde_json::from_slice(&bad).unwrap();
        assert_eq!(meta["status"], "FAILURE");
        assert_eq!(
            meta["result"],
            json!({"exc_type": "RuntimeError", "exc_message": ["storage_ref not found"], "exc_module": "builtins"})
        );
        assert_eq!(
            parse_result(&bad, &props),
            Some((
                "t-9".into(),
                Outcome::Done(Err("storage_ref not found".into()))
            ))
        );
    }

    #[test]
    fn a_python_exception_keeps_its_type() {
        let body = br#"{"task_id": "p", "status": "FAILURE", "result": {"exc_type": "ValueError", "exc_message": ["bad ref"], "exc_module": "builtins"}}"#;
        let got = parse_result(body, &BasicProperties::default());
        assert_eq!(
            got,
            Some(("p".into(), Outcome::Done(Err("ValueError: bad ref".into()))))
        );
        let started = br#"{"task_id": "p", "status": "STARTED", "result": null}"#;
        assert_eq!(
            parse_result(started, &BasicProperties::default()),
            Some(("p".into(), Outcome::NotYet))
        );
    }

    #[test]
    fn reprs_are_cut_like_celerys() {
        let long = Value::String("x".repeat(5000));
        let r = repr(&long);
        assert_eq!(r.chars().count(), REPR_MAX);
        assert!(r.ends_with("..."));
    }
}
