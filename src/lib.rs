//! ssm-doctor: why an EC2 instance cannot be reached with Session Manager, and how to fix it.
//!
//! The pipeline: [`collect`] (the only AWS boundary) → [`facts::Facts`] → [`checks`] (pure) →
//! [`report::Report`] → [`render`]; [`diagnose::diagnose`] runs it, [`app`] wires the CLI to it.

pub mod analysis;
pub mod app;
pub mod catalog;
pub mod checks;
pub mod cli;
pub mod collect;
pub mod connect;
pub mod diagnose;
pub mod exit;
pub mod facts;
pub mod policy;
pub mod probe;
pub mod progress;
pub mod render;
pub mod report;
pub mod text;
