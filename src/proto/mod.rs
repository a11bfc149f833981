//! `proto`: sans-IO VRRP state machines.
