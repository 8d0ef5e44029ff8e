//! The terminal's sync client: pushes the order book's outbox to the central server and pulls
//! catalog, stock and channel changes back.
//!
//! [`plan`] decides (a pure step), [`client`] talks HTTP, [`engine`] runs rounds and keeps every
//! result in the book, so a sync that is killed resumes where the book says.

pub mod client;
pub mod engine;
pub mod plan;

pub use engine::{enroll, run, watch, Options, Report, SyncError};

#[cfg(test)]
mod tests;
