//! keepvip: a VRRP agent for Linux. See README.md for the layers.

pub mod argv;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod io;
pub mod proto;
pub mod script;
pub mod status;
pub mod wire;
