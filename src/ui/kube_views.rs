//! What the kube pane (pane 1) shows: pods, services, events, usage or autoscaling (`:pods`,
//! `:services`, `:events`, `:top`, `:hpa`; `v` cycles), each with its own selection; all read the one kube source and
//! its badge.

/// The kube pane's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum KubeView {
    #[default]
    Pods,
    Services,
    Events,
    /// CPU and memory per pod and node (`kubectl top`), against requests, limits and allocatable.
    Top,
    /// Autoscalers and disruption budgets (`kubectl get hpa,pdb`).
    Scaling,
}

/// How the top view orders its pods (`s` cycles there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TopSort {
    /// Nearest its line first (the worst share of a limit, request or allocatable).
    #[default]
    Worst,
    Cpu,
    Memory,
}

impl TopSort {
    pub fn label(self) -> &'static str {
        match self {
            TopSort::Worst => "worst share",
            TopSort::Cpu => "CPU",
            TopSort::Memory => "memory",
        }
    }

    pub fn next(self) -> TopSort {
        match self {
            TopSort::Worst => TopSort::Cpu,
            TopSort::Cpu => TopSort::Memory,
            TopSort::Memory => TopSort::Worst,
        }
    }
}

impl KubeView {
    pub const ALL: [KubeView; 5] = [KubeView::Pods, KubeView::Services, KubeView::Events, KubeView::Top, KubeView::Scaling];

    /// The next view `v` shows.
    pub fn next(self) -> KubeView {
        let i = KubeView::ALL.iter().position(|v| *v == self).unwrap_or(0);
        KubeView::ALL[(i + 1) % KubeView::ALL.len()]
    }
}
