//! End-to-end tests of the broker over real TLS, on SQLite and PostgreSQL.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

mod audit_prune;
mod audit_relations;
mod audit_search;
mod auth;
mod auth_outage;
mod bad_input;
mod consent;
mod control_characters;
mod cross_tenant;
mod dev_seeding;
mod erasure;
mod events;
mod exchange_bad_input;
mod exchange_flow;
mod exchange_support;
mod ledger_ownership;
mod login_hardening;
mod malformed_http;
mod methods;
mod pg_outage;
mod regional;
mod registry;
mod request_tracing;
mod retention;
mod safety_net;
mod slow_body;
mod sqlite_full_disk;
mod tlog;
mod transparency;
mod webhooks;
mod withdrawal_race;
