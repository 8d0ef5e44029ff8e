//! Shared helpers for Tillbook's integration tests and the child processes they drive.
