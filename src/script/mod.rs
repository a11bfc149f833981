//! Running operators' scripts (notify now, track scripts later) for the single-threaded event
//! loop, without ever blocking it.
//!
//! - [`split_command`]: a keepalived command string to argv (no shell), keepalived's rules.

mod split;

pub use split::{split_command, SplitError};
