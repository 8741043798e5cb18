//! Table printers for services, endpoints, endpointslices, HPAs, APIServices and metrics, worded
//! as the real server's printers (`pkg/printers/internalversion`) and metrics-server's table.

use serde_json::{Value, json};

use super::meta::{self, int_at, str_at};
use super::resources::ResourceType;

/// (name, type, priority): as in table.rs.
type Column = (&'static str, &'static str, u8);

/// How many addresses `ENDPOINTS` lists before ` + N more...`.
const MAX_ADDRESSES: usize = 3;

pub(crate) fn columns(rt: &ResourceType) -> Option<&'static [Column]> {
    if rt.is_computed() {
        return Some(&[("Name", "string", 0), ("CPU", "string", 0), ("Memory", "string", 0), ("Window", "string", 0)]);
    }
    Some(match rt.plural {
        "services" => &[
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
            ("Selector", "string", 1),
        ],
        "endpoints" => &[("Name", "string", 0), ("Endpoints", "string", 0), ("Age", "string", 0)],
        "endpointslices" => {
            &[("Name", "string", 0), ("AddressType", "string", 0), ("Ports", "string", 0), ("Endpoints", "string", 0), ("Age", "string", 0)]
        }
        "horizontalpodautoscalers" => &[
            ("Name", "string", 0),
            ("Reference", "string", 0),
            ("Targets", "string", 0),
            ("MinPods", "string", 0),
            ("MaxPods", "integer", 0),
            ("Replicas", "integer", 0),
            ("Age", "string", 0),
        ],
        "apiservices" => &[("Name", "string", 0), ("Service", "string", 0), ("Available", "string", 0), ("Age", "string", 0)],
        _ => return None,
    })
}

/// The cells of one row after its name, with `age` where the columns put it.
pub(crate) fn cells(rt: &ResourceType, obj: &Value, name: Value, age: Value) -> Option<Vec<Value>> {
    if rt.is_computed() {
        let (cpu, memory) = super::metrics::cells(obj);
        return Some(vec![name, json!(cpu), json!(memory), json!(str_at(obj, "/window"))]);
    }
    Some(match rt.plural {
        "services" => vec![
            name,
            json!(str_at(obj, "/spec/type")),
            json!(or(str_at(obj, "/spec/clusterIP"), "<none>")),
            json!(external_ip(obj)),
            json!(service_ports(obj)),
            age,
            json!(selector(obj)),
        ],
        "endpoints" => vec![name, json!(endpoint_addresses(obj)), age],
        "endpointslices" => vec![name, json!(str_at(obj, "/addressType")), json!(slice_ports(obj)), json!(slice_addresses(obj)), age],
        "horizontalpodautoscalers" => vec![
            name,
            json!(format!("{}/{}", str_at(obj, "/spec/scaleTargetRef/kind"), str_at(obj, "/spec/scaleTargetRef/name"))),
            json!(hpa_targets(obj)),
            json!(obj.pointer("/spec/minReplicas").map_or("<unset>".to_string(), Value::to_string)),
            json!(int_at(obj, "/spec/maxReplicas", 0)),
            json!(int_at(obj, "/status/currentReplicas", 0)),
            age,
        ],
        "apiservices" => {
            let service = match (str_at(obj, "/spec/service/namespace"), str_at(obj, "/spec/service/name")) {
                (_, "") => "Local".to_string(),
                (ns, svc) => format!("{ns}/{svc}"),
            };
            vec![name, json!(service), json!(available(obj)), age]
        }
        _ => return None,
    })
}

fn or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.is_empty() { fallback } else { text }
}

fn items<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn external_ip(svc: &Value) -> String {
    let ingress: Vec<&str> =
        items(svc, "/status/loadBalancer/ingress").iter().map(|i| or(str_at(i, "/ip"), str_at(i, "/hostname"))).collect();
    match str_at(svc, "/spec/type") {
        "LoadBalancer" if ingress.is_empty() => "<pending>".to_string(),
        "LoadBalancer" => ingress.join(","),
        "ExternalName" => str_at(svc, "/spec/externalName").to_string(),
        _ => "<none>".to_string(),
    }
}

fn service_ports(svc: &Value) -> String {
    let ports: Vec<String> = items(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let protocol = or(str_at(p, "/protocol"), "TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(node_port) => format!("{}:{node_port}/{protocol}", int_at(p, "/port", 0)),
                None => format!("{}/{protocol}", int_at(p, "/port", 0)),
            }
        })
        .collect();
    if ports.is_empty() { "<none>".to_string() } else { ports.join(",") }
}

fn selector(svc: &Value) -> String {
    let mut pairs: Vec<String> = meta::string_map(svc, "/spec/selector").into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    if pairs.is_empty() { "<none>".to_string() } else { pairs.join(",") }
}

/// The first few entries, then ` + N more...` (the printers' `formatEndpoints`).
fn first_few(list: Vec<String>, empty: &str) -> String {
    let total = list.len();
    let shown: Vec<String> = list.into_iter().take(MAX_ADDRESSES).collect();
    match total.saturating_sub(MAX_ADDRESSES) {
        0 if shown.is_empty() => empty.to_string(),
        0 => shown.join(","),
        more => format!("{} + {more} more...", shown.join(",")),
    }
}

/// Ready addresses only, `ip:port` per port.
fn endpoint_addresses(endpoints: &Value) -> String {
    let mut list = Vec::new();
    for subset in items(endpoints, "/subsets") {
        let addresses = items(subset, "/addresses");
        let ports = items(subset, "/ports");
        if ports.is_empty() {
            list.extend(addresses.iter().map(|a| str_at(a, "/ip").to_string()));
        }
        for port in ports {
            list.extend(addresses.iter().map(|a| format!("{}:{}", str_at(a, "/ip"), int_at(port, "/port", 0))));
        }
    }
    first_few(list, "<none>")
}

fn slice_ports(slice: &Value) -> String {
    let ports: Vec<String> = items(slice, "/ports")
        .iter()
        .map(|p| p.get("port").and_then(Value::as_i64).map_or("<unset>".to_string(), |n| n.to_string()))
        .collect();
    if ports.is_empty() { "<unset>".to_string() } else { ports.join(",") }
}

/// Every endpoint's addresses, ready or not (`formatDiscoveryEndpoints`).
fn slice_addresses(slice: &Value) -> String {
    let list =
        items(slice, "/endpoints").iter().flat_map(|e| items(e, "/addresses")).filter_map(|a| a.as_str().map(String::from)).collect();
    first_few(list, "<unset>")
}

/// `cpu: 55%/70%` per resource metric (the 1.32 printer names the resource).
fn hpa_targets(hpa: &Value) -> String {
    let targets: Vec<String> = items(hpa, "/spec/metrics")
        .iter()
        .filter(|m| str_at(m, "/type") == "Resource")
        .map(|m| {
            let resource = str_at(m, "/resource/name");
            let current = items(hpa, "/status/currentMetrics")
                .iter()
                .find(|c| str_at(c, "/resource/name") == resource)
                .and_then(|c| c.pointer("/resource/current/averageUtilization"))
                .map_or("<unknown>".to_string(), |u| format!("{u}%"));
            format!("{resource}: {current}/{}%", int_at(m, "/resource/target/averageUtilization", 0))
        })
        .collect();
    if targets.is_empty() { "<none>".to_string() } else { targets.join(", ") }
}

fn available(apiservice: &Value) -> String {
    match items(apiservice, "/status/conditions").iter().find(|c| str_at(c, "/type") == "Available") {
        Some(c) if str_at(c, "/status") == "True" => "True".to_string(),
        Some(c) => format!("{} ({})", str_at(c, "/status"), str_at(c, "/reason")),
        None => "Unknown".to_string(),
    }
}
