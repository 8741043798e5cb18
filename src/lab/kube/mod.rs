//! A wire-level Kubernetes API stand-in served by sitrep itself (no real API server can be installed here).
//! Judged by the real `kubectl` and the kube crate: discovery, list/watch, tables, patches, a tiny controller.

mod autoscaler;
mod controller;
mod discovery;
mod disruption;
mod endpoints;
mod error;
mod events;
mod gate;
mod kubeconfig;
mod kubelet;
mod logs;
mod meta;
mod metrics;
mod patch;
mod printers;
mod protobuf;
mod resources;
mod seed;
mod selector;
mod server;
mod store;
mod table;
mod validation;
mod verbs;
mod watch;

pub use error::KubeStandInError;
pub use gate::{Gate, STAMPED_TOKEN_PREFIX, TlsServing, TlsSetupError};
pub use kubeconfig::{ClusterTrust, KubeconfigSpec, UserAuth, write_exec_plugin, write_kubeconfig, write_kubeconfig_with};
pub use logs::LOG_RATE_ANNOTATION;
pub use seed::PodFault;
pub use server::{serve, serve_tls};
pub use store::{Cluster, Timings};
