//! Money display, shared with receipts and the server: see [`tillbook_protocol::money`].

pub use tillbook_protocol::money::*;
