//! keepvip: a VRRP agent for Linux. See DESIGN.md (../shared) and README.md for the layers.

pub mod io;
pub mod proto;
pub mod script;
pub mod wire;
