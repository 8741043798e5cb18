//! The services and events views against the real lab, in tmux at 80x24 as a user sees them:
//! after `deploy-bad`, `:services` shows the bad deployment's service with fewer ready endpoints
//! than it has, and `:events` lists the Warning block first, then Normal, each newest first; after
//! `pod-cpu-hot`, `:top` puts the hot api pods first, and `:hpa` shows their autoscaler over target.

#[path = "support/tmux.rs"]
mod tmux;

use sitrep::lab::{Lab, LabOptions};
use tmux::Tmux;

/// An age as the console prints it (45s, 12m, 3h, 2d) in seconds; `-` (no time) sorts last.
fn secs(age: &str) -> i64 {
    let (n, unit) = age.split_at(age.len().saturating_sub(1));
    let n: i64 = n.parse().unwrap_or(i64::MAX / 100_000);
    n.saturating_mul(match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 100_000,
    })
}

/// (type, age in seconds) of each event row on screen, top to bottom.
fn event_rows(screen: &str) -> Vec<(String, i64)> {
    screen
        .lines()
        .skip_while(|l| !l.contains("MESSAGE"))
        .skip(1)
        .filter_map(|l| {
            let words: Vec<&str> =
                l.trim_matches(|c| c == '┃' || c == '│' || c == ' ').trim_start_matches('▶').split_whitespace().collect();
            match words.as_slice() {
                [age, kind @ ("Warning" | "Normal"), ..] => Some((kind.to_string(), secs(age))),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn after_deploy_bad_the_api_service_is_short_of_ready_endpoints_and_events_are_sorted() {
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up");
    lab.fault("deploy-bad").expect("deploy-bad");
    let cmd = format!("{} --config {}", env!("CARGO_BIN_EXE_sitrep"), lab.config_path().display());
    let tmux = Tmux::start("kubeviews", 80, 24, &cmd, &[("NO_COLOR", "1")]);
    tmux.until("the crash-looping pod", 60, |s| s.contains("CrashLoopBackOff"));
    tmux.keys(&[":"]);
    tmux.type_text("services");
    tmux.keys(&["Enter"]);
    // READY reads ready/total: the bad pod is an endpoint, not ready.
    let short = |s: &str| {
        s.lines().filter(|l| l.contains("shop/api ")).find_map(|l| {
            let ready = l.split_whitespace().find(|w| w.contains('/') && !w.starts_with("shop"))?;
            let (r, t) = ready.split_once('/')?;
            Some((r.parse::<u32>().ok()?, t.parse::<u32>().ok()?))
        })
    };
    let services = tmux.until("shop/api short of ready endpoints", 60, |s| short(s).is_some_and(|(r, t)| r < t));
    eprintln!("after :services:\n{services}");
    assert!(services.contains("1 Services") && services.contains("80→8080/TCP"), "{services}");
    tmux.keys(&[":"]);
    tmux.type_text("events");
    tmux.keys(&["Enter"]);
    let events = tmux.until("warning and normal events", 30, |s| {
        let rows = event_rows(s);
        rows.iter().any(|(k, _)| k == "Warning") && rows.iter().any(|(k, _)| k == "Normal")
    });
    eprintln!("after :events:\n{events}");
    let rows = event_rows(&events);
    let first_normal = rows.iter().position(|(k, _)| k == "Normal").unwrap_or(rows.len());
    assert!(rows[first_normal..].iter().all(|(k, _)| k == "Normal"), "warnings first: {rows:?}\n{events}");
    for block in [&rows[..first_normal], &rows[first_normal..]] {
        assert!(block.windows(2).all(|w| w[0].1 <= w[1].1), "each block newest first: {rows:?}\n{events}");
    }
    // `:top` after `pod-cpu-hot`: the old api pods, at 92% of their CPU request, lead the table,
    // the node carrying them is listed, and the head counts the three.
    lab.fault("pod-cpu-hot").expect("pod-cpu-hot");
    tmux.keys(&[":"]);
    tmux.type_text("top");
    tmux.keys(&["Enter"]);
    let first_pod = |s: &str| s.lines().skip_while(|l| !l.contains("LAST EXIT")).nth(1).map(str::to_string).unwrap_or_default();
    let top = tmux.until("the hot api pods first in :top", 60, |s| first_pod(s).contains("shop/api-") && s.contains("near their line"));
    eprintln!("after pod-cpu-hot and :top:\n{top}");
    let pct: Option<u32> = first_pod(&top).split_whitespace().find_map(|w| w.strip_suffix('%')?.parse().ok());
    assert!(pct.is_some_and(|p| p >= 84), "the first pod's %REQ is past the 85% line (±8% wobble): {pct:?}\n{top}");
    // The head counts what the rows show: every pod past a line (the old api pods, and a new one
    // of the rollout when it runs by then), not a fixed number.
    let near = top
        .lines()
        .skip_while(|l| !l.contains("LAST EXIT"))
        .skip(1)
        .filter(|l| l.split_whitespace().filter_map(|w| w.strip_suffix('%')?.parse::<u32>().ok()).next().is_some_and(|p| p >= 85));
    let near = near.count();
    assert!(near >= 3 && top.contains("lab-node-1") && top.contains(&format!("{near} near their line")), "{near} rows past 85%:\n{top}");
    // `:hpa`: the api's autoscaler measures the hot pods over its 70% target and scales up, as
    // kubectl reads it.
    tmux.keys(&[":"]);
    tmux.type_text("hpa");
    tmux.keys(&["Enter"]);
    let over = |s: &str| {
        let row = s.lines().find(|l| l.contains("shop/api") && l.contains("Deployment/api")).unwrap_or_default();
        row.split_whitespace().find_map(|w| w.split_once("%/70%")).and_then(|(now, _)| now.parse::<u32>().ok()).filter(|p| *p > 70)
    };
    let hpa = tmux.until("the api autoscaler over its target in :hpa", 60, |s| over(s).is_some());
    eprintln!("after :hpa:\n{hpa}");
    assert!(hpa.contains("MIN AVAILABLE") && hpa.contains("shop/web"), "the budgets are listed: {hpa}");
    let kubectl = std::process::Command::new("kubectl")
        .args(["--kubeconfig", &lab.info.kube.kubeconfig.display().to_string(), "get", "hpa", "api", "--no-headers"])
        .output()
        .expect("kubectl get hpa");
    let theirs = String::from_utf8_lossy(&kubectl.stdout).to_string();
    assert!(theirs.contains("Deployment/api") && theirs.contains("%/70%"), "kubectl's own row: {theirs}");
    tmux.keys(&["q"]);
    lab.down().expect("lab down");
}
