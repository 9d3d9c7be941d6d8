//! The broker's wire types, in the spirit of kanidm's proto crate: every
//! request and response body the REST API takes or answers, the problem
//! document, and the OpenAPI schema of each. The broker (`doorstroom-server`)
//! and the school systems' client (`doorstroom-client`) both use these, so
//! the two cannot drift apart; neither copies one.
//!
//! Fields that have a domain type (a BRIN, a section, a student number)
//! keep it: a body that parses is already checked. No web framework and no
//! database here.

pub mod applications;
pub mod audit;
pub mod consents;
pub mod erasure;
pub mod events;
pub mod institutions;
pub mod ops;
pub mod packages;
pub mod problem;
pub mod regional;
pub mod register;
pub mod report;
pub mod safety_net;
pub mod schema;
pub mod staff;
pub mod tlog;
pub mod transparency;

pub use problem::Problem;
