//! HTTP handlers. Each one authenticates through an extractor, describes its
//! access to [`crate::access`], and maps rows to views; none of them decides
//! who may do what.

pub mod applications;
pub mod audit;
pub mod consents;
pub mod contacts;
pub mod erasure;
pub mod events;
pub mod institutions;
pub mod ops;
pub mod packages;
pub mod regional;
pub mod register;
pub mod report;
pub mod safety_net;
pub mod staff;
pub mod tlog;
pub mod transparency;
pub mod webhooks;
