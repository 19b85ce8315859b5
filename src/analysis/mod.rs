//! Derived knowledge that several checks share (the network path, address arithmetic, rule
//! evaluation), computed from `Facts` without any I/O.

pub mod backoff;
pub mod central;
pub mod cidr;
pub mod core_actions;
pub mod ip_ranges;
pub mod nacl;
pub mod path;
#[cfg(test)]
mod properties;
pub mod proxy;
pub mod security_group;
pub mod session_arns;
pub mod version;
