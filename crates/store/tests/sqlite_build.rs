//! The bundled SQLite is built the way `.cargo/config.toml` says
//! (`LIBSQLITE3_FLAGS`): a build that silently lost a flag would still pass
//! every other test, only slower, or, for the threading mode, unsafe.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use diesel::prelude::*;
use diesel::sql_types::Text;

#[derive(QueryableByName)]
struct CompileOption {
    #[diesel(sql_type = Text)]
    compile_options: String,
}

fn compile_options() -> Vec<String> {
    let mut conn = SqliteConnection::establish(":memory:").unwrap();
    diesel::sql_query("PRAGMA compile_options")
        .load::<CompileOption>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|o| o.compile_options)
        .collect()
}

#[test]
fn the_bundled_sqlite_is_built_with_the_configured_flags() {
    let options = compile_options();
    for wanted in [
        // Statements with `LIMIT ?` stay in the statement cache.
        "ENABLE_QPSG",
        // No mutex per call on a connection; connections are never shared
        // between threads at once (diesel's are `Send`, not `Sync`).
        "THREADSAFE=2",
        // No process-wide mutex around every allocation.
        "DEFAULT_MEMSTATUS=0",
    ] {
        assert!(
            options.iter().any(|o| o == wanted),
            "SQLite is built without {wanted}; its options: {options:?}"
        );
    }
}
