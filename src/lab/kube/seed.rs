//! The demo shop (namespaces, a node, three deployments with history, running pods, events) and
//! the faults the lab injects into it (`deploy-bad` and friends), as new rollouts the controller runs.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::controller::{self, new_replica_set};
use super::error::KubeStandInError;
use super::events::{self, DEPLOYMENT_CONTROLLER, KUBELET, NODE_NAME, SCHEDULER, SECOND_NODE};
use super::kubelet::{self, PodLife};
use super::meta::{self, timestamp};
use super::resources::{
    APISERVICES, DEPLOYMENTS, ENDPOINTS, HORIZONTALPODAUTOSCALERS, NAMESPACES, NODES, PODDISRUPTIONBUDGETS, PODS, REPLICASETS, SERVICES,
};
use super::store::{Cluster, State};

/// How a faulty rollout's containers fail (chosen through a marker in the image tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodFault {
    /// Exit 1 after a moment; CrashLoopBackOff with rising restarts.
    CrashLoop,
    /// Killed for memory (exit 137, reason OOMKilled), then CrashLoopBackOff.
    OomKilled,
    /// The image cannot be pulled: pods stay Pending in ImagePullBackOff.
    ImagePullBackOff,
}

impl PodFault {
    fn tag_marker(self) -> &'static str {
        match self {
            PodFault::CrashLoop => "bad",
            PodFault::OomKilled => "oom",
            PodFault::ImagePullBackOff => "missing",
        }
    }
}

struct DemoApp {
    name: &'static str,
    replicas: i64,
    image: &'static str,
    previous_image: Option<&'static str>,
    /// CPU and memory requests, then limits.
    resources: Option<[&'static str; 4]>,
    /// The Service in front of it (port 80 -> 8080) and its PodDisruptionBudget's minAvailable.
    serves: Option<i64>,
}

const SHOP: &[DemoApp] = &[
    DemoApp {
        name: "api",
        replicas: 3,
        image: "registry.local/shop/api:1.4.2",
        previous_image: Some("registry.local/shop/api:1.4.1"),
        resources: Some(["250m", "256Mi", "500m", "512Mi"]),
        serves: Some(2),
    },
    DemoApp {
        name: "worker",
        replicas: 2,
        image: "registry.local/shop/worker:1.4.2",
        previous_image: None,
        resources: Some(["200m", "256Mi", "1", "512Mi"]),
        serves: None,
    },
    DemoApp {
        name: "web",
        replicas: 2,
        image: "registry.local/shop/web:2.0.1",
        previous_image: None,
        resources: Some(["100m", "128Mi", "200m", "256Mi"]),
        serves: Some(1),
    },
];

/// The production runbook's autoscaling for the api: 2 to 10 replicas at 70 % CPU.
const API_HPA: (i64, i64, i64) = (2, 10, 70);

impl Cluster {
    /// Namespace "shop" with Deployments api (3 replicas, registry.local/shop/api:1.4.2),
    /// worker (2, registry.local/shop/worker:1.4.2), web (2, registry.local/shop/web:2.0.1), each with
    /// a ReplicaSet at revision 1 (api also has revision 2, so rollout history has two entries) and
    /// Running, Ready pods on node "lab-node-1" (a second node, "lab-node-2", runs nothing until
    /// the first is cordoned); namespaces default, kube-system, shop; Normal events.
    pub fn seed_demo(&self) {
        let mut state = self.lock();
        let now = Utc::now();
        let long_ago = now - Duration::days(3);
        for ns in ["default", "kube-system", "shop"] {
            let namespace = json!({
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns},
                             "creationTimestamp": timestamp(long_ago)},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            });
            // Seeding twice keeps the first copy.
            let _ = state.create(NAMESPACES, "", namespace);
        }
        let _ = state.create(NODES, "", node(NODE_NAME, "192.168.49.2", "10.244.0.0/24", "control-plane", long_ago));
        let _ = state.create(NODES, "", node(SECOND_NODE, "192.168.49.3", "10.244.1.0/24", "worker", long_ago));
        for (i, app) in SHOP.iter().enumerate() {
            let created = now - Duration::hours(2) + Duration::minutes(i as i64);
            seed_app(&mut state, app, created);
            if let Some(min_available) = app.serves {
                let _ = state.create(SERVICES, "shop", service(app.name, i, created));
                let _ = state.create(PODDISRUPTIONBUDGETS, "shop", budget(app.name, min_available, created));
            }
        }
        seed_platform(&mut state, long_ago);
        let (min, max, cpu) = API_HPA;
        let _ = state.create(HORIZONTALPODAUTOSCALERS, "shop", autoscaler("api", min, max, cpu, now - Duration::hours(2)));
        controller::reconcile(&mut state, now);
    }

    /// For measuring cost at scale: Deployment "fleet" in "shop" with `replicas` Running, Ready pods
    /// (image registry.local/shop/fleet:1.0.0), seeded as the demo's apps are.
    pub fn seed_fleet(&self, replicas: u32) {
        let mut state = self.lock();
        let now = Utc::now();
        let app = DemoApp {
            name: "fleet",
            replicas: i64::from(replicas),
            image: "registry.local/shop/fleet:1.0.0",
            previous_image: None,
            resources: None,
            serves: None,
        };
        // Replicas are born a second apart: all of them before now, so all are Ready.
        seed_app(&mut state, &app, now - Duration::hours(1) - Duration::seconds(app.replicas));
        controller::reconcile(&mut state, now);
    }

    /// Fault `deploy-bad`: rolls `deployment` to a new image tag (e.g. `:1.5.0-bad`) whose pods
    /// crash-loop; like a real rollout the old ReplicaSet keeps its ready pods (25% surge/unavailable).
    pub fn deploy_bad(&self, namespace: &str, deployment: &str) -> Result<(), KubeStandInError> {
        self.deploy_fault(namespace, deployment, PodFault::CrashLoop)
    }

    /// Rolls `deployment` to an image whose pods fail the way `fault` says.
    pub fn deploy_fault(&self, namespace: &str, deployment: &str, fault: PodFault) -> Result<(), KubeStandInError> {
        let mut state = self.lock();
        let mut current = state
            .get(DEPLOYMENTS, namespace, deployment)
            .cloned()
            .ok_or_else(|| KubeStandInError::NotFound { resource: DEPLOYMENTS.qualified(), name: deployment.to_string() })?;
        let mut images = Vec::new();
        if let Some(containers) = current.pointer_mut("/spec/template/spec/containers").and_then(Value::as_array_mut) {
            for c in containers {
                let image = faulty_image(meta::str_at(c, "/image"), fault.tag_marker());
                images.push(image.clone());
                c["image"] = json!(image);
            }
        }
        let cause = format!("sitrep lab: deploy-{} ({})", fault.tag_marker(), images.join(","));
        meta::set_annotation(&mut current, "kubernetes.io/change-cause", &cause);
        state.update(DEPLOYMENTS, current);
        controller::reconcile(&mut state, Utc::now());
        Ok(())
    }
}

/// `repo:1.4.2` -> `repo:1.5.0-bad` (next minor), or `repo:tag-bad` for tags that are not versions.
fn faulty_image(image: &str, marker: &str) -> String {
    let (repo, tag) = match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    };
    let parts: Vec<u64> = tag.split('.').map_while(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [major, minor, ..] if tag.split('.').count() == parts.len() => {
            format!("{repo}:{major}.{}.0-{marker}", minor + 1)
        }
        _ => format!("{repo}:{tag}-{marker}"),
    }
}

/// A Ready node: `lab-node-1` (control plane, where the seeded pods run) or a worker such as
/// `lab-node-2`, where pods go once the first is cordoned (a drain has somewhere to move them).
fn node(name: &str, address: &str, pod_cidr: &str, role: &str, created: DateTime<Utc>) -> Value {
    json!({
        "metadata": {"name": name, "creationTimestamp": timestamp(created),
                     "labels": {"kubernetes.io/hostname": name, format!("node-role.kubernetes.io/{role}"): ""}},
        "spec": {"podCIDR": pod_cidr},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status"}],
            "addresses": [{"type": "InternalIP", "address": address},
                          {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "4", "memory": "8131960Ki", "pods": "110", "ephemeral-storage": "61202244Ki"},
            "allocatable": {"cpu": "4", "memory": "8029560Ki", "pods": "110", "ephemeral-storage": "56403987978"},
            "nodeInfo": {"kubeletVersion": "v1.32.0", "containerRuntimeVersion": "containerd://1.7.24",
                         "osImage": "sitrep lab", "architecture": "amd64", "operatingSystem": "linux"},
        },
    })
}

fn deployment(app: &DemoApp, image: &str, created: DateTime<Utc>) -> Value {
    json!({
        "metadata": {"name": app.name, "namespace": "shop", "labels": {"app": app.name},
                     "creationTimestamp": timestamp(created)},
        "spec": {
            "replicas": app.replicas,
            "selector": {"matchLabels": {"app": app.name}},
            "template": {
                "metadata": {"labels": {"app": app.name}},
                "spec": {"containers": [{
                    "name": app.name,
                    "image": image,
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": app.resources.map_or(json!({}), |[cpu, memory, cpu_limit, memory_limit]| json!({
                        "requests": {"cpu": cpu, "memory": memory},
                        "limits": {"cpu": cpu_limit, "memory": memory_limit},
                    })),
                    "imagePullPolicy": "IfNotPresent",
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }],
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirst"},
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
    })
}

/// A ClusterIP Service for `app` (port 80 to the pods' 8080), selecting its pods by `app`.
fn service(app: &str, index: usize, created: DateTime<Utc>) -> Value {
    let ip = format!("10.96.{}.{}", 100 + index, 10 + index);
    json!({
        "metadata": {"name": app, "namespace": "shop", "labels": {"app": app}, "creationTimestamp": timestamp(created)},
        "spec": {
            "type": "ClusterIP", "selector": {"app": app}, "clusterIP": ip, "clusterIPs": [ip],
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
            "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": {}},
    })
}

/// A PodDisruptionBudget keeping `min_available` of `app`'s pods.
fn budget(app: &str, min_available: i64, created: DateTime<Utc>) -> Value {
    json!({
        "metadata": {"name": app, "namespace": "shop", "creationTimestamp": timestamp(created)},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": app}}},
    })
}

/// An autoscaling/v2 HPA on `deployment`'s CPU utilization.
fn autoscaler(deployment: &str, min: i64, max: i64, cpu: i64, created: DateTime<Utc>) -> Value {
    json!({
        "metadata": {"name": deployment, "namespace": "shop", "creationTimestamp": timestamp(created)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
            "minReplicas": min, "maxReplicas": max,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}}],
        },
    })
}

/// What every cluster has: the `kubernetes` Service with the API server's endpoints, and the
/// APIService through which metrics-server serves `metrics.k8s.io` (what `kubectl top` looks for).
fn seed_platform(state: &mut State, created: DateTime<Utc>) {
    let at = timestamp(created);
    let _ = state.create(
        SERVICES,
        "default",
        json!({
            "metadata": {"name": "kubernetes", "namespace": "default", "creationTimestamp": at,
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                     "ports": [{"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}],
                     "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"},
            "status": {"loadBalancer": {}},
        }),
    );
    let _ = state.create(
        ENDPOINTS,
        "default",
        json!({
            "metadata": {"name": "kubernetes", "namespace": "default", "creationTimestamp": at,
                         "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": "192.168.49.2"}], "ports": [{"name": "https", "port": 8443, "protocol": "TCP"}]}],
        }),
    );
    let _ = state.create(
        APISERVICES,
        "",
        json!({
            "metadata": {"name": "v1beta1.metrics.k8s.io", "creationTimestamp": at,
                         "labels": {"k8s-app": "metrics-server"}},
            "spec": {"service": {"namespace": "kube-system", "name": "metrics-server", "port": 443},
                     "group": "metrics.k8s.io", "version": "v1beta1", "insecureSkipTLSVerify": true,
                     "groupPriorityMinimum": 100, "versionPriority": 100},
            "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Passed",
                                       "message": "all checks passed", "lastTransitionTime": at}]},
        }),
    );
}

fn seed_app(state: &mut State, app: &DemoApp, created: DateTime<Utc>) {
    let Ok(deploy) = state.create(DEPLOYMENTS, "shop", deployment(app, app.image, created)) else {
        return;
    };
    let mut revision = 1;
    let mut rolled_at = created;
    if let Some(previous) = app.previous_image {
        let mut old_template = deploy.clone();
        old_template["spec"]["template"]["spec"]["containers"][0]["image"] = json!(previous);
        let _ = state.create(REPLICASETS, "shop", new_replica_set(&old_template, 1, 0, created));
        revision = 2;
        rolled_at = created + Duration::minutes(70);
    }
    let Ok(rs) = state.create(REPLICASETS, "shop", new_replica_set(&deploy, revision, app.replicas, rolled_at)) else {
        return;
    };
    let message = format!("Scaled up replica set {} from 0 to {}", meta::name(&rs), app.replicas);
    events::record(state, &deploy, None, DEPLOYMENT_CONTROLLER, "ScalingReplicaSet", &message, rolled_at);
    for i in 0..app.replicas {
        let born = rolled_at + Duration::seconds(i);
        let pod = kubelet::new_pod(state, &rs, born);
        let Ok(pod) = state.create(PODS, "shop", pod) else {
            continue;
        };
        seed_pod_events(state, &pod, app, born);
        let started = born + Duration::seconds(2);
        state.pods.insert(meta::uid(&pod).to_string(), PodLife::running_since(born, started));
    }
}

fn seed_pod_events(state: &mut State, pod: &Value, app: &DemoApp, born: DateTime<Utc>) {
    let assigned = format!("Successfully assigned shop/{} to {NODE_NAME}", meta::name(pod));
    events::record(state, pod, None, SCHEDULER, "Scheduled", &assigned, born);
    let path = format!("spec.containers{{{}}}", app.name);
    let at = born + Duration::seconds(1);
    let pulled = format!("Container image \"{}\" already present on machine", app.image);
    events::record(state, pod, Some(&path), KUBELET, "Pulled", &pulled, at);
    events::record(state, pod, Some(&path), KUBELET, "Created", &format!("Created container: {}", app.name), at);
    events::record(state, pod, Some(&path), KUBELET, "Started", &format!("Started container {}", app.name), at);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_bad_bumps_the_minor_version_and_marks_the_tag() {
        assert_eq!(faulty_image("registry.local/shop/api:1.4.2", "bad"), "registry.local/shop/api:1.5.0-bad");
        assert_eq!(faulty_image("localhost:5000/web:edge", "oom"), "localhost:5000/web:edge-oom");
    }
}
