//! `proto`: sans-IO VRRP state machines. Plain data in, [`Action`]s out; the caller supplies
//! `now` and executes the actions. No I/O, no clock, no panics.

pub mod availability;
mod counters;
mod instance;
#[cfg(test)]
mod rfc;
#[cfg(test)]
mod scenarios;
// The simulated LAN reads the clock once and panics on a broken setup: test code only.
#[cfg(test)]
pub mod sim;
pub mod sync;
pub mod timers;
pub mod track;
mod unicast;

pub use availability::Availability;
pub use counters::Counters;
pub use instance::{
    Action, AddressConflict, AdvertOutcome, AnnounceSchedule, InitialState, Instance,
    InstanceConfig, InvalidInstance, Notification, PeerMaster, Reason, Received, StateKind,
    CONFLICT_REPORT_INTERVAL, PRIORITY_OWNER, PRIORITY_STOP,
};
pub use unicast::{Unicast, UnicastDrop, UnicastPeer};
