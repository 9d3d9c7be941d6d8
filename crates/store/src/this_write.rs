//! What the write running on this thread did that matters after its
//! commit.
//!
//! A write's closure runs on the thread that called [`crate::Store::write`]
//! (SQLite: as a member of its group-commit batch, [`crate::commit`];
//! PostgreSQL: in a transaction of its own). That thread starts the record
//! before the closure and reads it once the write has committed, so what
//! the closure noted belongs to that write alone. Writes do not nest: a
//! write inside another's closure would wait for the batch connection that
//! its caller holds.

use std::cell::Cell;

/// What the write on this thread noted so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Marks {
    /// PostgreSQL: an audit event or a feed entry waits for its number
    /// (`crate::sequencer`), so the write needs a numbering round; a write
    /// that queued nothing (a webhook claim, the readiness probe) runs none.
    pub(crate) queued: bool,
    /// A feed entry was appended: once committed, this node's long polls
    /// may have something to read ([`crate::Store::on_feed_committed`]).
    pub(crate) feed_entry: bool,
}

thread_local! {
    static MARKS: Cell<Marks> = const {
        Cell::new(Marks {
            queued: false,
            feed_entry: false,
        })
    };
}

/// Starts a write on this thread: nothing noted yet.
pub(crate) fn begin() {
    MARKS.with(|m| m.set(Marks::default()));
}

/// What the write on this thread noted.
pub(crate) fn marks() -> Marks {
    MARKS.with(Cell::get)
}

/// Notes that the write on this thread queued something to number.
pub(crate) fn queued() {
    MARKS.with(|m| {
        m.set(Marks {
            queued: true,
            ..m.get()
        })
    });
}

/// Notes that the write on this thread appended a feed entry.
pub(crate) fn feed_entry() {
    MARKS.with(|m| {
        m.set(Marks {
            feed_entry: true,
            ..m.get()
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_starts_with_nothing_noted_and_keeps_what_it_notes() {
        feed_entry();
        queued();
        begin();
        assert_eq!(marks(), Marks::default());
        feed_entry();
        assert_eq!(
            marks(),
            Marks {
                queued: false,
                feed_entry: true
            }
        );
        queued();
        assert_eq!(
            marks(),
            Marks {
                queued: true,
                feed_entry: true
            }
        );
    }

    #[test]
    fn another_thread_s_write_is_not_this_one_s() {
        begin();
        std::thread::spawn(feed_entry).join().expect("thread");
        assert_eq!(marks(), Marks::default());
    }
}
