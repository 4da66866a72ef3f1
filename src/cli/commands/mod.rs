//! One file per command.

pub mod build;
pub mod login;
