//! The kubelet simulator for the nightwatch lab.
//!
//! The pure core (no I/O, time passed in): [`quantity`], [`images`], [`logs`], [`container`],
//! [`pod`], [`sandbox`], [`events`], [`metrics`], [`node`], [`runtime`]. The thin edges:
//! [`kube_io`] (watchers, patchers, heartbeats) and [`http`] (control API, metrics, the
//! kubelet's log endpoint).
// A lab tool: it runs in real time beside real processes, so it reads the system's clocks.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod container;
pub mod events;
pub mod http;
pub mod images;
pub mod kube_io;
pub mod logs;
pub mod metrics;
pub mod node;
pub mod pod;
pub mod quantity;
pub mod runtime;
pub mod sandbox;
