//! Requests the HTTP layer cannot parse (raw bad bytes in the request
//! target, NUL in a header, HTTP/1.1 without `Host`, `Content-Length` with
//! `Transfer-Encoding`, an unknown version, a head too large) never reach
//! the broker's code: actix-http refuses them in its parser with a fixed
//! bare `400 Bad Request` (431 for a head too large), without a body, and
//! closes the connection. It has no hook to answer them with a problem
//! document, so that answer is the one documented exception to "every
//! failure is problem+json".
//!
//! actix-http also logs each at ERROR ("stream error: request parse error:
//! …"), as if the broker had failed. A client's garbage is no fault of the
//! broker's: [`MalformedHttpLog`] drops that line and logs a WARN in its
//! place, naming the kind of parse error (actix-http's fixed wording,
//! which never holds the request's bytes).

use std::sync::OnceLock;
use std::sync::mpsc::{Sender, channel};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// The target of actix-http's line.
const DISPATCHER: &str = "actix_http::h1::dispatcher";
/// How its line for a request it could not parse starts.
const PARSE_ERROR: &str = "stream error: request parse error: ";

/// A layer that turns actix-http's ERROR for an unparsable request into a
/// WARN of the broker's (see the module's documentation). Put it in the
/// subscriber next to the formatting layer.
pub struct MalformedHttpLog;

/// Takes the `message` field of an event.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.0);
        }
    }
}

/// The parse error's kind, if `event` is actix-http's line for a request
/// it could not parse.
fn parse_error_kind(event: &Event<'_>) -> Option<String> {
    let metadata = event.metadata();
    if *metadata.level() != Level::ERROR || metadata.target() != DISPATCHER {
        return None;
    }
    let mut message = Message::default();
    event.record(&mut message);
    message.0.strip_prefix(PARSE_ERROR).map(str::to_owned)
}

/// The WARN lines are written from a thread of their own: an event cannot
/// be logged from inside the subscriber that is deciding about another.
fn warnings() -> Option<&'static Sender<String>> {
    static WARNINGS: OnceLock<Option<Sender<String>>> = OnceLock::new();
    WARNINGS
        .get_or_init(|| {
            let (sender, receiver) = channel::<String>();
            std::thread::Builder::new()
                .name("malformed-http-log".into())
                .spawn(move || {
                    for kind in receiver {
                        tracing::warn!(
                            target: "doorstroom_server::malformed_http",
                            reason = %kind,
                            "malformed HTTP request refused by the HTTP layer (400, connection closed)"
                        );
                    }
                })
                .ok()
                .map(|_| sender)
        })
        .as_ref()
}

impl<S: Subscriber> Layer<S> for MalformedHttpLog {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let Some(kind) = parse_error_kind(event) else {
            return true;
        };
        match warnings() {
            Some(sender) => sender.send(kind).is_err(),
            // Without the thread, the original line is better than none.
            None => true,
        }
    }
}
