//! Request body extraction with precise errors: the content type is checked,
//! the size is capped, and a body that does not fit its type is answered
//! with a JSON pointer to the field at fault.
//!
//! # Time
//! A body must arrive whole within `server.body_deadline_secs` of the
//! request head, and no read may wait longer than
//! `server.body_idle_timeout_secs` for its next part. [`limit_body_time`]
//! (middleware on the whole app) puts both limits on every request's
//! payload stream, so every reader is held to them, whatever reads it:
//! [`Json`], [`FormBody`] (the console's forms) or anything added later. A
//! reader that meets them gets [`body_error`]'s 408 problem, and the
//! connection closes (the rest of the body is never read). Slow senders
//! therefore hold a connection for a bounded time, and a request whose body
//! never comes cannot keep a worker's attention from other requests: the
//! waits are timers on the event loop, not blocked threads.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use tokio::time::{Instant, Sleep};

use crate::error::ApiError;
use crate::state::AppState;

/// A body limit for one route, above the configured default (packages).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON body of type `T`. Request types use `#[serde(deny_unknown_fields)]`
/// and domain types that parse, so a `Json<T>` is already valid.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = body_limit(req);
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        let declared_too_large = declares_more_than(req, limit);
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_too_large {
                return Err(ApiError::TooLarge { limit });
            }
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            let body = read_body(&mut payload, limit).await?;
            parse_json(&body).map(Json)
        })
    }
}

/// The configured body limit of the request's route (see [`BodyLimit`]).
fn body_limit(req: &HttpRequest) -> usize {
    match req.app_data::<BodyLimit>() {
        Some(route_limit) => route_limit.0,
        None => req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.server.body_limit_bytes)
            .unwrap_or(64 * 1024),
    }
}

/// Whether the request's `Content-Length` already says more than `limit`
/// bytes (answered 413 before a byte of the body is read).
fn declares_more_than(req: &HttpRequest, limit: usize) -> bool {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|len| len > limit)
}

/// Reads the whole body, at most `limit` bytes (413 beyond), held to the
/// time limits that [`limit_body_time`] put on the payload (408).
async fn read_body(payload: &mut Payload, limit: usize) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(body_error)?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A raw request body of any content type (the console's HTML forms),
/// capped like a JSON body and held to the same time limits; its failures
/// are problem documents (413, 408, 400).
pub struct FormBody(pub web::Bytes);

impl FromRequest for FormBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = body_limit(req);
        let declared_too_large = declares_more_than(req, limit);
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_too_large {
                return Err(ApiError::TooLarge { limit });
            }
            read_body(&mut payload, limit).await.map(|b| FormBody(b.freeze()))
        })
    }
}

impl std::ops::Deref for FormBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

pub use crate::config::BodyTimeouts;

/// Why a body was cut off; carried inside the payload stream's I/O error
/// so that [`body_error`] can tell it from a broken connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyTimedOut {
    Deadline(u64),
    Idle(u64),
}

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyTimedOut::Deadline(secs) => {
                write!(f, "the request body did not arrive in full within {secs} seconds")
            }
            BodyTimedOut::Idle(secs) => write!(f, "no part of the request body arrived for {secs} seconds"),
        }
    }
}

impl std::error::Error for BodyTimedOut {}

/// The problem for a payload read that failed: 408 when a time limit cut
/// the body off, otherwise 400 (the body could not be read).
pub fn body_error(err: PayloadError) -> ApiError {
    if let PayloadError::Io(io) = &err
        && let Some(timed_out) = io.get_ref().and_then(|e| e.downcast_ref::<BodyTimedOut>())
    {
        return ApiError::RequestTimeout(timed_out.to_string());
    }
    ApiError::Malformed {
        detail: "the request body could not be read".into(),
        pointer: None,
    }
}

/// Middleware: holds every request's body to the [`BodyTimeouts`] of the
/// settings, from now (the request head has arrived).
pub async fn limit_body_time(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let timeouts = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.server.body_timeouts());
    if let Some(timeouts) = timeouts {
        let (_, payload) = req.parts_mut();
        let inner = payload.take();
        let timed: Pin<Box<dyn Stream<Item = Result<web::Bytes, PayloadError>>>> =
            Box::pin(TimedPayload::new(inner, timeouts));
        req.set_payload(Payload::from(timed));
    }
    next.call(req).await
}

/// The deadline's timer and the idle timer of a [`TimedPayload`].
type BodyTimers = (Pin<Box<Sleep>>, Pin<Box<Sleep>>);

/// A payload stream that ends in an error once the deadline has passed or
/// the stream has been idle too long. The timers start with the first read
/// (the deadline counts from construction), so a request whose handler
/// never reads its body costs no timer.
struct TimedPayload {
    inner: Payload,
    timeouts: BodyTimeouts,
    deadline_at: Instant,
    /// The deadline's and the idle timer, made at the first wait.
    timers: Option<BodyTimers>,
    finished: bool,
}

impl TimedPayload {
    fn new(inner: Payload, timeouts: BodyTimeouts) -> Self {
        TimedPayload {
            inner,
            timeouts,
            deadline_at: Instant::now() + timeouts.deadline,
            timers: None,
            finished: false,
        }
    }

    fn cut(&mut self, why: BodyTimedOut) -> Poll<Option<Result<web::Bytes, PayloadError>>> {
        self.finished = true;
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            why,
        )))))
    }
}

impl Stream for TimedPayload {
    type Item = Result<web::Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        // A body still arriving at the deadline is cut even if it keeps
        // coming: the deadline bounds the whole body, not only the pauses.
        if Instant::now() >= this.deadline_at {
            let secs = this.timeouts.deadline.as_secs();
            return this.cut(BodyTimedOut::Deadline(secs));
        }
        let idle_for = this.timeouts.idle;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some((_, idle)) = this.timers.as_mut() {
                    idle.as_mut().reset(Instant::now() + idle_for);
                }
                return Poll::Ready(Some(Ok(chunk)));
            }
            Poll::Ready(None) => {
                this.finished = true;
                return Poll::Ready(None);
            }
            Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(err))),
            Poll::Pending => {}
        }
        let deadline_at = this.deadline_at;
        let (deadline, idle) = this.timers.get_or_insert_with(|| {
            (
                Box::pin(tokio::time::sleep_until(deadline_at)),
                Box::pin(tokio::time::sleep(idle_for)),
            )
        });
        if deadline.as_mut().poll(cx).is_ready() {
            let secs = this.timeouts.deadline.as_secs();
            return this.cut(BodyTimedOut::Deadline(secs));
        }
        if idle.as_mut().poll(cx).is_ready() {
            let secs = this.timeouts.idle.as_secs();
            return this.cut(BodyTimedOut::Idle(secs));
        }
        Poll::Pending
    }
}

/// Deserialises `bytes`, turning serde's error into a problem that points at
/// the field: syntax errors are 400, a body of the wrong shape or a field
/// that breaks a rule is 422, and so is a string holding a control
/// character (see [`TextKind::FreeText`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, so that "not JSON" (400) is told apart from "JSON of
    // the wrong shape" (422). Skipping a value does not recurse, so this
    // pass takes any depth.
    if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        let message = err.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map(|(m, _)| m.to_owned())
            .unwrap_or(message);
        return Err(ApiError::Malformed {
            detail: format!("the body is not valid JSON: {message}"),
            pointer: None,
        });
    }
    // Every request body is an object. serde's derived structs would also
    // take a positional array, which would bypass the documented shape.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::Invalid {
            detail: "the body must be a JSON object".into(),
            pointer: Some(String::new()),
        });
    }
    // No control character in any string or key, wherever it is, so that
    // none reaches a handler or the database. The scan takes any depth;
    // the pointer comes from a second look that stops at serde_json's
    // recursion limit (then the problem names no field).
    if let Some(c) = json_control_character(bytes) {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let pointer = match serde_path_to_error::deserialize::<_, ControlFree>(&mut de) {
            Err(err) if err.inner().is_data() => Some(json_pointer(err.path())),
            _ => None,
        };
        return Err(ApiError::Invalid {
            detail: control_message(c),
            pointer,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let pointer = json_pointer(err.path());
        let inner = err.into_inner();
        // serde_json appends " at line L column C"; the pointer says more.
        let message = inner.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map(|(m, _)| m.to_owned())
            .unwrap_or(message);
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            ApiError::Malformed {
                detail: format!("the body is not valid JSON: {message}"),
                pointer: None,
            }
        } else {
            ApiError::Invalid {
                detail: message,
                pointer: Some(pointer),
            }
        }
    })?;
    de.end().map_err(|_| ApiError::Malformed {
        detail: "the body is not valid JSON: trailing characters after the value".into(),
        pointer: None,
    })?;
    Ok(value)
}

/// Where a string comes from, which decides the control characters it may
/// hold. Control characters are Unicode's category Cc: the C0 controls
/// U+0000–U+001F, DEL U+007F and the C1 controls U+0080–U+009F. None of
/// them is ever part of an identifier, a code or a name, and NUL in
/// particular cannot be stored by PostgreSQL (it would surface as a
/// database failure instead of the caller's mistake). They are refused at
/// the edge, the same way on every backend, before any handler runs:
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Path segments and query values (BRINs, ids, `kid`s, fingerprints,
    /// cursors, search filters): no control character at all.
    Parameter,
    /// Strings in a JSON or form body: no control character except tab,
    /// line feed and carriage return, which free text and PEM documents
    /// (certificates bound through the API) legitimately hold.
    FreeText,
}

/// The first control character that `text` may not hold as `kind`.
pub fn forbidden_control(text: &str, kind: TextKind) -> Option<char> {
    text.chars()
        .find(|c| c.is_control() && !(kind == TextKind::FreeText && matches!(c, '\t' | '\n' | '\r')))
}

/// The message for a refused control character: its code point, never the
/// text around it.
fn control_message(c: char) -> String {
    format!("control character U+{:04X} is not allowed", u32::from(c))
}

/// Accepts any JSON value whose strings and keys hold no control character
/// (other than those of [`TextKind::FreeText`]); the error names the one it
/// found, and `serde_path_to_error` the place.
struct ControlFree;

impl<'de> serde::Deserialize<'de> for ControlFree {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ControlFree)
    }
}

impl<'de> serde::de::Visitor<'de> for ControlFree {
    type Value = ControlFree;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(ControlFree)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(ControlFree)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(ControlFree)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(ControlFree)
    }
    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(ControlFree)
    }
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self, E> {
        match forbidden_control(text, TextKind::FreeText) {
            Some(c) => Err(E::custom(control_message(c))),
            None => Ok(ControlFree),
        }
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<ControlFree>()?.is_some() {}
        Ok(ControlFree)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        while map.next_key::<ControlFree>()?.is_some() {
            map.next_value::<ControlFree>()?;
        }
        Ok(ControlFree)
    }
}

/// The first control character (see [`TextKind::FreeText`]) in a string or
/// key of `json`, which must be valid JSON: raw in the UTF-8 (DEL and the
/// C1 controls may stand raw in JSON) or written as an escape.
fn json_control_character(json: &[u8]) -> Option<char> {
    let refused = |c: char| forbidden_control(c.encode_utf8(&mut [0; 4]), TextKind::FreeText).is_some();
    let mut in_string = false;
    let mut i = 0;
    while i < json.len() {
        let byte = json[i];
        if !in_string {
            in_string = byte == b'"';
            i += 1;
            continue;
        }
        match byte {
            b'"' => in_string = false,
            b'\\' => {
                let escaped = match json.get(i + 1) {
                    Some(b'b') => Some('\u{8}'),
                    Some(b'f') => Some('\u{c}'),
                    Some(b'u') => json
                        .get(i + 2..i + 6)
                        .and_then(|hex| std::str::from_utf8(hex).ok())
                        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                        .and_then(char::from_u32),
                    _ => None,
                };
                if let Some(c) = escaped.filter(|c| refused(*c)) {
                    return Some(c);
                }
                // Skip the escaped character (a `\uXXXX`'s digits are plain).
                i += 1;
            }
            0x7f => return Some('\u{7f}'),
            0xc2 if json.get(i + 1).is_some_and(|next| (0x80..=0x9f).contains(next)) => {
                return json.get(i + 1).map(|next| char::from(*next));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Refuses a request target whose path or query holds a control character
/// once percent-decoded (a raw one cannot get past the HTTP parser). The
/// answer names the query parameter, never the value.
pub fn check_request_target(path: &str, query: &str) -> Result<(), ApiError> {
    if let Some(c) = forbidden_control(&String::from_utf8_lossy(&percent_decode(path)), TextKind::Parameter) {
        return Err(ApiError::Malformed {
            detail: format!("path: {}", control_message(c)),
            pointer: None,
        });
    }
    check_query_pairs(query)
}

fn check_query_pairs(query: &str) -> Result<(), ApiError> {
    for (name, value) in url_pairs(query) {
        let refused = |c: char, name: &str| ApiError::Malformed {
            detail: format!("query parameter {name}: {}", control_message(c)),
            pointer: None,
        };
        if let Some(c) = forbidden_control(&name, TextKind::Parameter) {
            return Err(refused(c, "name"));
        }
        if let Some(c) = forbidden_control(&value, TextKind::Parameter) {
            return Err(refused(c, &name));
        }
    }
    Ok(())
}

/// Form bodies (the console): the same rule as JSON bodies.
pub fn check_form(body: &[u8]) -> Result<(), ApiError> {
    for (name, value) in form_urlencoded::parse(body) {
        if let Some(c) =
            forbidden_control(&name, TextKind::FreeText).or_else(|| forbidden_control(&value, TextKind::FreeText))
        {
            return Err(ApiError::Malformed {
                detail: format!("form: {}", control_message(c)),
                pointer: None,
            });
        }
    }
    Ok(())
}

/// `%XX` decoded; anything else, including a malformed escape, kept as is.
fn percent_decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// The RFC 6901 pointer of `path`. A member name is echoed only when it
/// holds no control character (the caller may have sent any key, and a
/// problem document never carries one); at the first name that cannot be
/// echoed, or a place serde could not name, the pointer stops: it then
/// names the object that holds the field at fault.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        let token = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } if !key.chars().any(char::is_control) => key.replace('~', "~0").replace('/', "~1"),
            Segment::Enum { variant } => variant.clone(),
            Segment::Map { .. } | Segment::Unknown => break,
        };
        pointer.push('/');
        pointer.push_str(&token);
    }
    pointer
}

/// Query parameters of type `T` (with `#[serde(deny_unknown_fields)]`); a
/// value that does not fit is answered with 400 naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// Parses a query string, naming the parameter at fault.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    check_query_pairs(query)?;
    let de = serde_urlencoded::Deserializer::new(url_pairs(query));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let name = err.path().to_string();
        let inner = err.into_inner().to_string();
        let detail = if name.is_empty() || name == "." {
            format!("query: {inner}")
        } else {
            format!("query parameter {name}: {inner}")
        };
        ApiError::Malformed { detail, pointer: None }
    })
}

fn url_pairs(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// A query parameter that must parse into a domain type.
pub fn query_param<T>(
    name: &str,
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, doorstroom_domain::ParseError>,
) -> Result<T, ApiError> {
    parse(raw).map_err(|err| ApiError::Malformed {
        detail: format!("query parameter {name}: {}", err.rule),
        pointer: None,
    })
}

/// A path parameter that must parse into a domain type.
pub fn path_param<T>(
    name: &str,
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, doorstroom_domain::ParseError>,
) -> Result<T, ApiError> {
    parse(raw).map_err(|err| ApiError::Malformed {
        detail: format!("path parameter {name}: {}", err.rule),
        pointer: None,
    })
}

/// Reads a `?format=` parameter that is `json` (the default) or one
/// `alternative` (e.g. `csv`): whether the alternative was asked for.
pub fn json_or(format: Option<&str>, alternative: &'static str) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some(other) if other == alternative => Ok(true),
        Some(_) => Err(ApiError::Malformed {
            detail: format!("query parameter format: must be json or {alternative}"),
            pointer: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        brin: doorstroom_domain::Brin,
        name: String,
    }

    #[test]
    fn pointer_names_the_field_that_breaks_a_rule() {
        let err = parse_json::<Body>(br#"{"brin":"25lx","name":"x"}"#).err();
        match err {
            Some(ApiError::Invalid { pointer, detail }) => {
                assert_eq!(pointer.as_deref(), Some("/brin"));
                assert!(detail.contains("two digits"), "{detail}");
            }
            other => unreachable!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn unknown_fields_and_syntax_errors_are_told_apart() {
        assert!(matches!(
            parse_json::<Body>(br#"{"brin":"25LX","name":"x","extra":1}"#),
            Err(ApiError::Invalid { .. })
        ));
        assert!(matches!(
            parse_json::<Body>(b"{\"brin\":"),
            Err(ApiError::Malformed { .. })
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"brin":"25LX","name":"x"} trailing"#),
            Err(ApiError::Malformed { .. })
        ));
    }

    #[test]
    fn control_characters_in_json_strings_are_422_with_a_pointer() {
        for (body, pointer, code) in [
            (r#"{"brin":"25LX","name":"a\u0000b"}"#, "/name", "U+0000"),
            (r#"{"brin":"25LX","name":"a\u001bb"}"#, "/name", "U+001B"),
            (r#"{"brin":"25LX","name":"a\bb"}"#, "/name", "U+0008"),
            ("{\"brin\":\"25LX\",\"name\":\"a\u{7f}b\"}", "/name", "U+007F"),
            ("{\"brin\":\"25LX\",\"name\":\"a\u{85}b\"}", "/name", "U+0085"),
            (r#"{"brin":"25LX","name":"a\u0085b"}"#, "/name", "U+0085"),
            (
                r#"{"brin":"25LX","name":"x","extra":{"deep":["\u0000"]}}"#,
                "/extra/deep/0",
                "U+0000",
            ),
        ] {
            match parse_json::<Body>(body.as_bytes()) {
                Err(ApiError::Invalid {
                    detail,
                    pointer: Some(at),
                }) => {
                    assert_eq!(at, pointer, "{body}");
                    assert_eq!(detail, format!("control character {code} is not allowed"), "{body}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        // Deeper than serde_json's recursion limit, still found.
        let deep = format!(
            "{{\"brin\":\"25LX\",\"name\":\"x\",\"extra\":{}\"\\u0000\"{}}}",
            "[".repeat(500),
            "]".repeat(500)
        );
        assert!(matches!(
            parse_json::<Body>(deep.as_bytes()),
            Err(ApiError::Invalid { .. })
        ));
        // Tab, line feed and carriage return are free text's own, and an
        // escaped backslash before `u0000` is no escape.
        let body = r#"{"brin":"25LX","name":"a\tb\nc\r\\u0000"}"#;
        assert!(parse_json::<Body>(body.as_bytes()).is_ok(), "{body}");
    }

    #[test]
    fn a_pointer_never_echoes_a_control_character_and_keeps_rfc_6901_escapes() {
        for (body, pointer) in [
            // A key with a control character is not echoed: the pointer
            // names the object that holds it.
            (
                "{\"brin\":\"25LX\",\"name\":\"x\",\"extra\":{\"a\\u0012b\":1}}",
                "/extra",
            ),
            (
                "{\"brin\":\"25LX\",\"name\":\"x\",\"extra\":{\"\u{84}\":\"\"}}",
                "/extra",
            ),
            (
                "{\"brin\":\"25LX\",\"name\":\"x\",\"extra\":{\"ok\":{\"a\\u008eb\":{\"c\":1}}}}",
                "/extra/ok",
            ),
            // Tab, line feed and carriage return may stand in a key, but
            // are not echoed either.
            (
                "{\"brin\":\"25LX\",\"name\":\"x\",\"extra\":{\"a\\tb\":\"\\u0000\"}}",
                "/extra",
            ),
            ("{\"brin\":\"25LX\",\"name\":\"x\",\"a\\nb\":1}", ""),
            // `~` and `/` are escaped as RFC 6901 says.
            (
                "{\"brin\":\"25LX\",\"name\":\"x\",\"extra\":{\"a/b~c\":\"\\u0000\"}}",
                "/extra/a~1b~0c",
            ),
        ] {
            let pointer_of = |err| match err {
                Err(ApiError::Invalid { pointer: Some(at), .. }) => at,
                other => panic!("{body}: {other:?}"),
            };
            assert_eq!(pointer_of(parse_json::<Body>(body.as_bytes())), pointer, "{body}");
        }
    }

    #[test]
    fn control_characters_in_the_request_target_are_400() {
        for (path, query) in [
            ("/v1/packages/%00", ""),
            ("/v1/institutions/25LX/keys/a%1Fb/retire", ""),
            ("/v1/packages/%7f", ""),
            ("/v1/packages/%C2%85", ""),
            ("/v1/inbox", "after=%00"),
            ("/v1/inbox", "after=a%09b"),
            ("/v1/inbox", "af%0Ater=1"),
        ] {
            assert!(
                matches!(check_request_target(path, query), Err(ApiError::Malformed { .. })),
                "{path}?{query}"
            );
        }
        assert!(check_request_target("/v1/packages/%41bc", "after=x%20y&limit=1").is_ok());
        match check_request_target("/v1/inbox", "after=%00") {
            Err(ApiError::Malformed { detail, .. }) => {
                assert_eq!(detail, "query parameter after: control character U+0000 is not allowed")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_format_is_json_or_the_one_alternative() {
        assert!(!json_or(None, "csv").unwrap());
        assert!(!json_or(Some("json"), "text").unwrap());
        assert!(json_or(Some("csv"), "csv").unwrap());
        assert!(json_or(Some("text"), "text").unwrap());
        for (raw, alternative) in [("csv", "text"), ("xml", "csv"), ("JSON", "csv"), ("", "text")] {
            match json_or(Some(raw), alternative) {
                Err(ApiError::Malformed { detail, .. }) => {
                    assert_eq!(detail, format!("query parameter format: must be json or {alternative}"))
                }
                other => panic!("{raw}: {other:?}"),
            }
        }
    }
}
