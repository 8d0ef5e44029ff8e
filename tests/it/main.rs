//! Tillbook's one integration test binary. Each module is one area; helpers live in `support`.

mod support;

mod architecture;
mod chaos;
mod cli;
mod crash;
mod payments;
mod props;
mod replicas;
mod rules;
mod situations;
mod shifts;
mod sync;
mod taxes;
