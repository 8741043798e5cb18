//! Services and their EndpointSlices as the model's rows: each object becomes a compact row at
//! once (a slice only its service's name and endpoint counts), and the counts are summed per service.

use super::BackendError;
use super::kube::err;
use crate::model::{ListProblem, ServiceRow};
use crate::sanitize::clean;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Client;
use kube::api::{Api, ListParams};
use std::collections::BTreeMap;

/// The label linking an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// What the services view needs of one EndpointSlice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SliceRow {
    pub namespace: String,
    pub service: String,
    pub address_type: String,
    pub ready: u32,
    pub not_ready: u32,
}

pub fn slice_row(s: &EndpointSlice) -> SliceRow {
    // `ready` unset means ready (the API's own reading); a terminating endpoint is not ready.
    let endpoints = s.endpoints.as_deref().unwrap_or_default();
    let ready = endpoints.iter().filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true)).count() as u32;
    SliceRow {
        namespace: clean(s.metadata.namespace.as_deref().unwrap_or("")),
        service: clean(s.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)).map_or("", String::as_str)),
        address_type: s.address_type.clone(),
        ready,
        not_ready: endpoints.len() as u32 - ready,
    }
}

/// A service's row without its endpoints (they come from the slices).
pub fn service_row(s: &Service) -> ServiceRow {
    let spec = s.spec.clone().unwrap_or_default();
    let ports: Vec<String> = spec
        .ports
        .iter()
        .flatten()
        .map(|p| {
            let node = p.node_port.map(|n| format!(":{n}")).unwrap_or_default();
            let target = match &p.target_port {
                Some(IntOrString::Int(t)) if *t != p.port => format!("→{t}"),
                Some(IntOrString::String(t)) if !t.is_empty() => format!("→{t}"),
                _ => String::new(),
            };
            format!("{}{node}{target}/{}", p.port, p.protocol.as_deref().unwrap_or("TCP"))
        })
        .collect();
    ServiceRow {
        namespace: clean(s.metadata.namespace.as_deref().unwrap_or("")),
        name: clean(s.metadata.name.as_deref().unwrap_or("")),
        kind: clean(spec.type_.as_deref().unwrap_or("ClusterIP")),
        selector: spec.selector.as_ref().is_some_and(|m| !m.is_empty()),
        ports: clean(&ports.join(",")),
        ready: 0,
        not_ready: 0,
    }
}

/// The services, sorted by namespace and name, each with the endpoints of its slices. A dual-stack
/// service has a slice per address family for the same pods: the family with most endpoints counts.
pub fn with_endpoints(mut services: Vec<ServiceRow>, slices: &[SliceRow]) -> Vec<ServiceRow> {
    let mut counts: BTreeMap<(&str, &str, &str), (u32, u32)> = BTreeMap::new();
    for s in slices {
        let c = counts.entry((&s.namespace, &s.service, &s.address_type)).or_default();
        c.0 += s.ready;
        c.1 += s.not_ready;
    }
    for svc in &mut services {
        let best = counts
            .range((svc.namespace.as_str(), svc.name.as_str(), "")..)
            .take_while(|((ns, n, _), _)| *ns == svc.namespace && *n == svc.name);
        if let Some((_, (ready, not_ready))) = best.max_by_key(|(_, (r, n))| r + n) {
            (svc.ready, svc.not_ready) = (*ready, *not_ready);
        }
    }
    services.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    services
}

/// One listing of services and their slices in `ns` (triage, the oracle): the rows, or the problem.
pub async fn list_services(client: &Client, ns: &str) -> Result<Vec<ServiceRow>, BackendError> {
    let lp = ListParams::default();
    let services = Api::<Service>::namespaced(client.clone(), ns).list(&lp).await.map_err(err("listing services"))?;
    let slices = Api::<EndpointSlice>::namespaced(client.clone(), ns).list(&lp).await.map_err(err("listing endpointslices"))?;
    let slices: Vec<SliceRow> = slices.items.iter().map(slice_row).collect();
    Ok(with_endpoints(services.items.iter().map(service_row).collect(), &slices))
}

/// A listing's failure as the snapshot keeps it (triage reads it once: no earlier answer).
pub fn problem(e: &BackendError) -> ListProblem {
    ListProblem { error: clean(&e.to_string()), since: None, last_ok: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(service: &str, family: &str, ready: u32, not_ready: u32) -> SliceRow {
        SliceRow { namespace: "shop".into(), service: service.into(), address_type: family.into(), ready, not_ready }
    }

    #[test]
    fn endpoints_are_summed_over_slices_and_a_second_family_is_not_counted_twice() {
        let svc = |name: &str| ServiceRow { namespace: "shop".into(), name: name.into(), selector: true, ..ServiceRow::default() };
        let slices = [slice("api", "IPv4", 100, 0), slice("api", "IPv4", 2, 1), slice("api", "IPv6", 102, 1), slice("web", "IPv4", 0, 2)];
        let rows = with_endpoints(vec![svc("web"), svc("api"), svc("db")], &slices);
        let counts: Vec<(&str, u32, u32)> = rows.iter().map(|r| (r.name.as_str(), r.ready, r.not_ready)).collect();
        assert_eq!(counts, [("api", 102, 1), ("db", 0, 0), ("web", 0, 2)]);
    }
}
