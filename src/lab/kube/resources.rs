//! The resource types the stand-in serves: name, kind, group/version, scope, verbs, short names.
//! Discovery, routing, error messages and tables all read this one table.

/// One servable resource type (the row of an `APIResourceList`).
#[derive(Debug)]
pub(crate) struct ResourceType {
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Subresources such as `deployments/scale`.
    pub subresources: &'static [Subresource],
}

/// A subresource such as `deployments/scale` (served with its own kind).
#[derive(Debug)]
pub(crate) struct Subresource {
    pub name: &'static str,
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub verbs: &'static [&'static str],
}

const OBJECT_VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];

const SCALE: Subresource =
    Subresource { name: "scale", kind: "Scale", group: "autoscaling", version: "v1", verbs: &["get", "patch", "update"] };

pub(crate) const NAMESPACES: &ResourceType = &RESOURCES[0];
pub(crate) const PODS: &ResourceType = &RESOURCES[1];
pub(crate) const EVENTS: &ResourceType = &RESOURCES[2];
pub(crate) const NODES: &ResourceType = &RESOURCES[3];
pub(crate) const DEPLOYMENTS: &ResourceType = &RESOURCES[4];
pub(crate) const REPLICASETS: &ResourceType = &RESOURCES[5];
pub(crate) const PODDISRUPTIONBUDGETS: &ResourceType = &RESOURCES[7];
pub(crate) const SERVICES: &ResourceType = &RESOURCES[8];
pub(crate) const ENDPOINTS: &ResourceType = &RESOURCES[9];
pub(crate) const ENDPOINTSLICES: &ResourceType = &RESOURCES[10];
pub(crate) const HORIZONTALPODAUTOSCALERS: &ResourceType = &RESOURCES[11];
pub(crate) const APISERVICES: &ResourceType = &RESOURCES[13];

/// The group metrics-server serves; its resources are computed from the kubelet on each read,
/// never stored (so they share plural names with `nodes` and `pods` of the core group).
pub(crate) const METRICS_GROUP: &str = "metrics.k8s.io";

/// Only what metrics-server allows: no watch, no writes.
const READ_VERBS: &[&str] = &["get", "list"];

pub(crate) const RESOURCES: &[ResourceType] = &[
    ResourceType {
        plural: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        group: "",
        version: "v1",
        namespaced: false,
        short_names: &["ns"],
        verbs: &["create", "delete", "get", "list", "patch", "update", "watch"],
        categories: &[],
        subresources: &[],
    },
    ResourceType {
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        group: "",
        version: "v1",
        namespaced: true,
        short_names: &["po"],
        verbs: OBJECT_VERBS,
        categories: &["all"],
        // `pods/eviction` names its group and version, which is how `kubectl drain` learns that the
        // server evicts (otherwise it falls back to deleting pods).
        subresources: &[
            Subresource { name: "log", kind: "Pod", group: "", version: "v1", verbs: &["get"] },
            Subresource { name: "eviction", kind: "Eviction", group: "policy", version: "v1", verbs: &["create"] },
        ],
    },
    ResourceType {
        plural: "events",
        singular: "event",
        kind: "Event",
        group: "",
        version: "v1",
        namespaced: true,
        short_names: &["ev"],
        verbs: OBJECT_VERBS,
        categories: &[],
        subresources: &[],
    },
    ResourceType {
        plural: "nodes",
        singular: "node",
        kind: "Node",
        group: "",
        version: "v1",
        namespaced: false,
        short_names: &["no"],
        verbs: OBJECT_VERBS,
        categories: &[],
        subresources: &[],
    },
    ResourceType {
        plural: "deployments",
        singular: "deployment",
        kind: "Deployment",
        group: "apps",
        version: "v1",
        namespaced: true,
        short_names: &["deploy"],
        verbs: OBJECT_VERBS,
        categories: &["all"],
        subresources: &[SCALE],
    },
    ResourceType {
        plural: "replicasets",
        singular: "replicaset",
        kind: "ReplicaSet",
        group: "apps",
        version: "v1",
        namespaced: true,
        short_names: &["rs"],
        verbs: OBJECT_VERBS,
        categories: &["all"],
        subresources: &[SCALE],
    },
    ResourceType {
        plural: "selfsubjectaccessreviews",
        singular: "selfsubjectaccessreview",
        kind: "SelfSubjectAccessReview",
        group: "authorization.k8s.io",
        version: "v1",
        namespaced: false,
        short_names: &[],
        verbs: &["create"],
        categories: &[],
        subresources: &[],
    },
    ResourceType {
        plural: "poddisruptionbudgets",
        singular: "poddisruptionbudget",
        kind: "PodDisruptionBudget",
        group: "policy",
        version: "v1",
        namespaced: true,
        short_names: &["pdb"],
        verbs: OBJECT_VERBS,
        categories: &[],
        subresources: &[],
    },
    ResourceType {
        plural: "services",
        singular: "service",
        kind: "Service",
        group: "",
        version: "v1",
        namespaced: true,
        short_names: &["svc"],
        verbs: OBJECT_VERBS,
        categories: &["all"],
        subresources: &[],
    },
    ResourceType {
        plural: "endpoints",
        singular: "endpoints",
        kind: "Endpoints",
        group: "",
        version: "v1",
        namespaced: true,
        short_names: &["ep"],
        verbs: OBJECT_VERBS,
        categories: &[],
        subresources: &[],
    },
    ResourceType {
        plural: "endpointslices",
        singular: "endpointslice",
        kind: "EndpointSlice",
        group: "discovery.k8s.io",
        version: "v1",
        namespaced: true,
        short_names: &[],
        verbs: OBJECT_VERBS,
        categories: &[],
        subresources: &[],
    },
    ResourceType {
        plural: "horizontalpodautoscalers",
        singular: "horizontalpodautoscaler",
        kind: "HorizontalPodAutoscaler",
        group: "autoscaling",
        version: "v2",
        namespaced: true,
        short_names: &["hpa"],
        verbs: OBJECT_VERBS,
        categories: &["all"],
        subresources: &[],
    },
    ResourceType {
        plural: "selfsubjectrulesreviews",
        singular: "selfsubjectrulesreview",
        kind: "SelfSubjectRulesReview",
        group: "authorization.k8s.io",
        version: "v1",
        namespaced: false,
        short_names: &[],
        verbs: &["create"],
        categories: &[],
        subresources: &[],
    },
    ResourceType {
        plural: "apiservices",
        singular: "apiservice",
        kind: "APIService",
        group: "apiregistration.k8s.io",
        version: "v1",
        namespaced: false,
        short_names: &[],
        verbs: OBJECT_VERBS,
        categories: &["api-extensions"],
        subresources: &[],
    },
    ResourceType {
        plural: "nodes",
        singular: "",
        kind: "NodeMetrics",
        group: METRICS_GROUP,
        version: "v1beta1",
        namespaced: false,
        short_names: &[],
        verbs: READ_VERBS,
        categories: &[],
        subresources: &[],
    },
    ResourceType {
        plural: "pods",
        singular: "",
        kind: "PodMetrics",
        group: METRICS_GROUP,
        version: "v1beta1",
        namespaced: true,
        short_names: &[],
        verbs: READ_VERBS,
        categories: &[],
        subresources: &[],
    },
];

/// The group/versions served, in discovery order.
pub(crate) const GROUP_VERSIONS: &[(&str, &str)] = &[
    ("", "v1"),
    ("apps", "v1"),
    ("authorization.k8s.io", "v1"),
    ("policy", "v1"),
    ("discovery.k8s.io", "v1"),
    ("autoscaling", "v2"),
    ("apiregistration.k8s.io", "v1"),
    (METRICS_GROUP, "v1beta1"),
];

impl ResourceType {
    /// Computed on each read from the kubelet (metrics), never stored or watched.
    pub fn is_computed(&self) -> bool {
        self.group == METRICS_GROUP
    }

    /// Stored objects of this type live in the store (everything but the computed metrics).
    pub fn is_stored(&self) -> bool {
        !self.is_computed() && !self.plural.ends_with("reviews")
    }
    /// `v1` or `apps/v1`, as written in `apiVersion`.
    pub fn api_version(&self) -> String {
        api_version(self.group, self.version)
    }

    /// `pods` or `deployments.apps`, as the real server names resources in messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() { self.plural.to_string() } else { format!("{}.{}", self.plural, self.group) }
    }

    /// Finds a served resource by group, version and plural name.
    pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
        RESOURCES.iter().find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// The resources of one group/version.
    pub fn of_group_version(group: &str, version: &str) -> impl Iterator<Item = &'static Self> {
        let (group, version) = (group.to_string(), version.to_string());
        RESOURCES.iter().filter(move |r| r.group == group && r.version == version)
    }
}

/// `v1` for the core group, `group/version` otherwise.
pub(crate) fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() { version.to_string() } else { format!("{group}/{version}") }
}
