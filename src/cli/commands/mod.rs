//! One file per command.

pub mod action;
pub mod build;
pub mod index;
pub mod kubectl;
pub mod login;
pub mod resolve;
pub mod sign;
pub mod verify;
