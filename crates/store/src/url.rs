//! Database URLs: what the test databases and the load generator, each of
//! which makes databases of its own through an admin URL, both need. Apart
//! from `testing` so that the load generator gets it without the testing
//! feature (and its fault injection) being built into a workspace build.

/// The admin URL with its database replaced by `database` (the query
/// kept): the URL of a database made through that admin URL. Also used by
/// the load generator for the database it makes per run.
pub fn with_database(admin_url: &str, database: &str) -> String {
    let (scheme, rest) = admin_url.split_once("://").unwrap_or(("postgres", admin_url));
    let (location, query) = match rest.split_once('?') {
        Some((location, query)) => (location, Some(query)),
        None => (rest, None),
    };
    let authority = location.split_once('/').map_or(location, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{database}?{query}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_in_the_url() {
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:5432/postgres", "dst_x"),
            "postgres://u:p@127.0.0.1:5432/dst_x"
        );
        assert_eq!(
            with_database("postgresql://u@h/postgres?sslmode=disable", "dst_x"),
            "postgresql://u@h/dst_x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "dst_x"), "postgres://u@h/dst_x");
    }
}
