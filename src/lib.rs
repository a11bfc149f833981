//! keepvip: a VRRP agent for Linux. See DESIGN.md (../shared) and README.md for the layers.

pub mod config;
pub mod proto;
pub mod wire;
