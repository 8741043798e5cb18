//! What the kube pane (pane 1) shows: pods, services or events (`:pods`, `:services`, `:events`,
//! `v` cycles), each with its own selection; all three read the one kube source and its badge.

/// The kube pane's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum KubeView {
    #[default]
    Pods,
    Services,
    Events,
}

impl KubeView {
    pub const ALL: [KubeView; 3] = [KubeView::Pods, KubeView::Services, KubeView::Events];

    /// The next view `v` shows.
    pub fn next(self) -> KubeView {
        let i = KubeView::ALL.iter().position(|v| *v == self).unwrap_or(0);
        KubeView::ALL[(i + 1) % KubeView::ALL.len()]
    }
}
