//! One file per command.

pub mod build;
pub mod index;
pub mod kubectl;
pub mod login;
pub mod resolve;
