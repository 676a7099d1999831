//! One container's life as the kubelet would drive it, as a pure state machine: image pull
//! (with ErrImagePull / ImagePullBackOff), start, crash or OOM kill, liveness and readiness
//! probes, CrashLoopBackOff, restart.
//! Time is a value passed in; transitions happen at their scheduled instants so a late step
//! produces the same history as a punctual one.

use crate::images;
use crate::logs::ContainerLog;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};
use std::time::Duration;

/// Delays of the simulated kubelet (the CLI's timing flags).
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// How long a container with an exit-code scenario runs before it exits.
    pub crash_after: Duration,
    /// How long a container whose demand exceeds its limit runs before the OOM kill.
    pub oom_after: Duration,
    /// First CrashLoopBackOff / ImagePullBackOff delay; doubles per failure.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How often FailedMount repeats while a volume's object is missing, and
    /// FailedCreatePodSandBox while the sandbox fails.
    pub mount_retry: Duration,
    /// The kubelet's quick re-sync: how long ErrImagePull shows before ImagePullBackOff, and how
    /// long an init container runs.
    pub sync: Duration,
    /// How long one second of a probe's initialDelaySeconds / periodSeconds lasts: probes run
    /// faster than a kubelet's, as the back-off does (base 2s where the kubelet waits 10s).
    pub probe_second: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            crash_after: Duration::from_secs(3),
            oom_after: Duration::from_secs(3),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(20),
            mount_retry: Duration::from_secs(5),
            sync: Duration::from_secs(1),
            probe_second: Duration::from_millis(200),
        }
    }
}

/// The delay before retry number `failures` (1-based): base, 2·base, 4·base … capped at max.
pub fn backoff(timing: &Timing, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    timing
        .backoff_base
        .saturating_mul(1u32 << doublings)
        .min(timing.backoff_max)
}

pub fn after(at: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    at + TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX / 2)
}

pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Go's duration formatting for whole seconds ("10s", "1m20s"), as kubelet messages show it.
pub fn go_duration(delay: Duration) -> String {
    let secs = delay.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// An event the kubelet would record about the pod (field_path None) or one of its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimEvent {
    pub kind: EventType,
    pub reason: String,
    pub message: String,
    pub field_path: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    pub fn parse(text: Option<&str>) -> RestartPolicy {
        match text {
            Some("Never") => RestartPolicy::Never,
            Some("OnFailure") => RestartPolicy::OnFailure,
            _ => RestartPolicy::Always,
        }
    }
}

/// A liveness or readiness probe of the container's spec, and whether it fails.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeFacts {
    pub initial_delay_seconds: u32,
    /// At least 1.
    pub period_seconds: u32,
    /// At least 1.
    pub failure_threshold: u32,
    /// The scenario: every run fails and the prober reports this ("HTTP probe failed with
    /// statuscode: 500"). None: every run succeeds.
    pub failure: Option<String>,
}

/// Readiness failures older than this many periods are not replayed by a late step (a pod
/// adopted after hours would otherwise post hours of events at once).
pub const READINESS_REPLAY: u32 = 10;

impl ProbeFacts {
    fn period(&self, timing: &Timing) -> Duration {
        timing
            .probe_second
            .saturating_mul(self.period_seconds)
            .max(Duration::from_millis(1))
    }

    fn delay(&self, timing: &Timing) -> Duration {
        timing
            .probe_second
            .saturating_mul(self.initial_delay_seconds)
    }

    /// When probe number `n` (1-based) of the instance started at `started_at` runs: the first
    /// one period after the initial delay.
    fn run_at(&self, timing: &Timing, started_at: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let offset = self
            .delay(timing)
            .saturating_add(self.period(timing).saturating_mul(n));
        after(started_at, offset)
    }

    /// How many probes of the instance started at `started_at` have run by `until`.
    fn runs_by(&self, timing: &Timing, started_at: DateTime<Utc>, until: DateTime<Utc>) -> u32 {
        let Ok(elapsed) = (until - started_at).to_std() else {
            return 0;
        };
        let Some(probing) = elapsed.checked_sub(self.delay(timing)) else {
            return 0;
        };
        let runs = probing.as_nanos() / self.period(timing).as_nanos();
        u32::try_from(runs).unwrap_or(u32::MAX)
    }
}

/// What holds for a container right now: from its spec, the pod's annotations and the world.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerFacts {
    pub image_missing: bool,
    pub memory_limit: Option<u64>,
    pub memory_demand: u64,
    /// The crash scenario: each instance exits with this code after `crash_after`.
    pub exit_code: Option<i32>,
    /// Lines each instance writes to its log when it starts.
    pub log_lines: Vec<String>,
    pub restart: RestartPolicy,
    pub liveness: Option<ProbeFacts>,
    pub readiness: Option<ProbeFacts>,
}

impl ContainerFacts {
    pub fn oom(&self) -> bool {
        self.memory_limit
            .is_some_and(|limit| limit < self.memory_demand)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Terminated {
    pub reason: String,
    pub exit_code: i32,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub container_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Waiting for the pod's volumes (or init containers) before the image is pulled.
    Creating,
    /// The last pull failed; shows ErrImagePull until `until`, then backs off.
    PullFailed { until: DateTime<Utc> },
    /// ImagePullBackOff until `until`, then the next pull.
    PullBackOff { until: DateTime<Utc> },
    Running {
        started_at: DateTime<Utc>,
        container_id: String,
    },
    /// CrashLoopBackOff: waiting `delay` (ending at `until`) before the next start.
    CrashBackOff {
        until: DateTime<Utc>,
        delay: Duration,
    },
    /// Exited and not restarted (restart policy, an init container done, or the pod deleted).
    Terminated(Terminated),
}

/// The state machine of one container of one pod.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSim {
    pub name: String,
    pub image: String,
    pub init: bool,
    pub restart_count: u32,
    pub state: State,
    pub last_terminated: Option<Terminated>,
    /// The image is on the node (imageID is known).
    pub pulled: bool,
    pub pull_failures: u32,
    /// Instances started so far; part of each container ID.
    pub instances: u32,
    pub log: ContainerLog,
    /// Seeds container IDs (the pod UID).
    pub pod_uid: String,
    /// Liveness probes run against the current instance, and how many of the last ones failed
    /// in a row.
    pub liveness_runs: u32,
    pub liveness_failures: u32,
    /// Readiness probes run against the current instance.
    pub readiness_runs: u32,
    /// Its readiness probe fails: a running instance is not ready.
    pub readiness_failing: bool,
}

/// What happens next to a running instance.
enum Due {
    Exit { reason: String, exit_code: i32 },
    Liveness,
    Readiness,
}

impl ContainerSim {
    pub fn new(pod_uid: &str, name: &str, image: &str, init: bool) -> ContainerSim {
        ContainerSim {
            name: name.to_string(),
            image: image.to_string(),
            init,
            restart_count: 0,
            state: State::Creating,
            last_terminated: None,
            pulled: false,
            pull_failures: 0,
            instances: 0,
            log: ContainerLog::default(),
            pod_uid: pod_uid.to_string(),
            liveness_runs: 0,
            liveness_failures: 0,
            readiness_runs: 0,
            readiness_failing: false,
        }
    }

    pub fn field_path(&self) -> String {
        let list = if self.init {
            "initContainers"
        } else {
            "containers"
        };
        format!("spec.{list}{{{}}}", self.name)
    }

    fn event(&self, kind: EventType, reason: &str, message: String) -> SimEvent {
        SimEvent {
            kind,
            reason: reason.to_string(),
            message,
            field_path: Some(self.field_path()),
        }
    }

    pub fn running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    /// Running, an app container, and no failing readiness probe.
    pub fn ready(&self) -> bool {
        self.running() && !self.init && !self.readiness_failing
    }

    /// Exited for good with exit code 0 (an init container that did its job).
    pub fn succeeded(&self) -> bool {
        matches!(&self.state, State::Terminated(t) if t.exit_code == 0)
    }

    /// Advances the container to `now`. `can_start`: the pod's volumes are mounted and its init
    /// containers are done. Returns the events the kubelet would record on the way.
    pub fn step(
        &mut self,
        facts: &ContainerFacts,
        timing: &Timing,
        can_start: bool,
        now: DateTime<Utc>,
    ) -> Vec<SimEvent> {
        let mut events = Vec::new();
        self.readiness_failing = facts
            .readiness
            .as_ref()
            .is_some_and(|p| p.failure.is_some());
        // Each pass makes at most one transition; a bound keeps a zero-length timing from looping.
        for _ in 0..64 {
            if !self.transition(facts, timing, can_start, now, &mut events) {
                break;
            }
        }
        events
    }

    fn transition(
        &mut self,
        facts: &ContainerFacts,
        timing: &Timing,
        can_start: bool,
        now: DateTime<Utc>,
        events: &mut Vec<SimEvent>,
    ) -> bool {
        match self.state.clone() {
            State::Creating => {
                if !can_start {
                    return false;
                }
                self.pull(facts, timing, now, events);
                true
            }
            State::PullFailed { until } => {
                if now < until {
                    return false;
                }
                let image = &self.image;
                events.push(self.event(
                    EventType::Normal,
                    "BackOff",
                    format!("Back-off pulling image \"{image}\""),
                ));
                events.push(self.event(
                    EventType::Warning,
                    "Failed",
                    "Error: ImagePullBackOff".to_string(),
                ));
                self.state = State::PullBackOff {
                    until: after(until, backoff(timing, self.pull_failures)),
                };
                true
            }
            State::PullBackOff { until } => {
                if now < until {
                    return false;
                }
                self.pull(facts, timing, until, events);
                true
            }
            State::Running { started_at, .. } => {
                self.pass_probes(facts, timing, started_at, now);
                let Some((at, due)) = self.next_due(facts, timing, started_at, now) else {
                    return false;
                };
                match due {
                    Due::Exit { reason, exit_code } => {
                        self.exit(facts, timing, at, &reason, exit_code, events);
                    }
                    Due::Liveness => self.liveness_failed(facts, timing, at, events),
                    Due::Readiness => {
                        self.readiness_runs += 1;
                        if let Some(output) =
                            facts.readiness.as_ref().and_then(|p| p.failure.as_ref())
                        {
                            events.push(self.event(
                                EventType::Warning,
                                "Unhealthy",
                                format!("Readiness probe failed: {output}"),
                            ));
                        }
                    }
                }
                true
            }
            State::CrashBackOff { until, .. } => {
                if now < until {
                    return false;
                }
                self.start(facts, until, events);
                true
            }
            State::Terminated(_) => false,
        }
    }

    /// Probes that succeed leave no trace: they are counted up to `now` (so a probe that starts
    /// failing later fails from its next run on) and reset the liveness failure streak. A
    /// failing readiness probe skips the runs older than `READINESS_REPLAY` periods.
    fn pass_probes(
        &mut self,
        facts: &ContainerFacts,
        timing: &Timing,
        started_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        if let Some(probe) = &facts.liveness
            && probe.failure.is_none()
        {
            self.liveness_runs = self
                .liveness_runs
                .max(probe.runs_by(timing, started_at, now));
            self.liveness_failures = 0;
        }
        if let Some(probe) = &facts.readiness {
            let until = if probe.failure.is_none() {
                Some(now)
            } else {
                let window = probe.period(timing).saturating_mul(READINESS_REPLAY);
                TimeDelta::from_std(window)
                    .ok()
                    .and_then(|w| now.checked_sub_signed(w))
            };
            if let Some(until) = until {
                self.readiness_runs = self
                    .readiness_runs
                    .max(probe.runs_by(timing, started_at, until));
            }
        }
    }

    /// The earliest of what is due by `now` for the running instance: its planned exit or the
    /// next run of a failing probe. On a tie the exit comes first, then liveness.
    fn next_due(
        &self,
        facts: &ContainerFacts,
        timing: &Timing,
        started_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, Due)> {
        let mut due = Vec::new();
        if let Some((at, reason, exit_code)) = self.planned_exit(facts, timing, started_at) {
            due.push((at, Due::Exit { reason, exit_code }));
        }
        if let Some(probe) = facts.liveness.as_ref().filter(|p| p.failure.is_some()) {
            let at = probe.run_at(timing, started_at, self.liveness_runs.saturating_add(1));
            due.push((at, Due::Liveness));
        }
        if let Some(probe) = facts.readiness.as_ref().filter(|p| p.failure.is_some()) {
            let at = probe.run_at(timing, started_at, self.readiness_runs.saturating_add(1));
            due.push((at, Due::Readiness));
        }
        due.into_iter()
            .filter(|(at, _)| *at <= now)
            .min_by_key(|(at, _)| *at)
    }

    /// A liveness probe run failed at `at`; at the failure threshold the kubelet kills the
    /// container (SIGKILL: exit code 137) and restarts it unless the pod's policy is Never.
    fn liveness_failed(
        &mut self,
        facts: &ContainerFacts,
        timing: &Timing,
        at: DateTime<Utc>,
        events: &mut Vec<SimEvent>,
    ) {
        let Some(probe) = facts.liveness.as_ref() else {
            return;
        };
        let Some(output) = probe.failure.as_ref() else {
            return;
        };
        self.liveness_runs += 1;
        self.liveness_failures += 1;
        events.push(self.event(
            EventType::Warning,
            "Unhealthy",
            format!("Liveness probe failed: {output}"),
        ));
        if self.liveness_failures < probe.failure_threshold {
            return;
        }
        let mut message = format!("Container {} failed liveness probe", self.name);
        if facts.restart != RestartPolicy::Never {
            message.push_str(", will be restarted");
        }
        events.push(self.event(EventType::Normal, "Killing", message));
        self.exit(facts, timing, at, "Error", 137, events);
    }

    /// When and how the running instance will end, if it will.
    fn planned_exit(
        &self,
        facts: &ContainerFacts,
        timing: &Timing,
        started_at: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, String, i32)> {
        let mut plans = Vec::new();
        if let Some(code) = facts.exit_code {
            let reason = if code == 0 { "Completed" } else { "Error" };
            plans.push((
                after(started_at, timing.crash_after),
                reason.to_string(),
                code,
            ));
        }
        if facts.oom() {
            plans.push((
                after(started_at, timing.oom_after),
                "OOMKilled".to_string(),
                137,
            ));
        }
        if self.init && facts.exit_code.is_none() {
            // An init container does its work and exits.
            plans.push((after(started_at, timing.sync), "Completed".to_string(), 0));
        }
        // The earliest wins; on a tie the first listed (the explicit exit code).
        plans.into_iter().min_by_key(|(at, _, _)| *at)
    }

    fn pull(
        &mut self,
        facts: &ContainerFacts,
        timing: &Timing,
        at: DateTime<Utc>,
        events: &mut Vec<SimEvent>,
    ) {
        let image = self.image.clone();
        events.push(self.event(
            EventType::Normal,
            "Pulling",
            format!("Pulling image \"{image}\""),
        ));
        if facts.image_missing {
            self.pull_failures += 1;
            events.push(self.event(
                EventType::Warning,
                "Failed",
                format!("Failed to pull image \"{image}\": {}", pull_error(&image)),
            ));
            events.push(self.event(
                EventType::Warning,
                "Failed",
                "Error: ErrImagePull".to_string(),
            ));
            self.state = State::PullFailed {
                until: after(at, timing.sync),
            };
            return;
        }
        self.pull_failures = 0;
        self.pulled = true;
        events.push(self.event(
            EventType::Normal,
            "Pulled",
            format!("Successfully pulled image \"{image}\" in 1.021s"),
        ));
        self.start(facts, at, events);
    }

    fn start(&mut self, facts: &ContainerFacts, at: DateTime<Utc>, events: &mut Vec<SimEvent>) {
        if self.instances > 0 {
            events.push(self.event(
                EventType::Normal,
                "Pulled",
                format!(
                    "Container image \"{}\" already present on machine",
                    self.image
                ),
            ));
        }
        self.instances += 1;
        let container_id =
            images::fake_hex64(&[&self.pod_uid, &self.name, &self.instances.to_string()]);
        let name = self.name.clone();
        events.push(self.event(
            EventType::Normal,
            "Created",
            format!("Created container {name}"),
        ));
        events.push(self.event(
            EventType::Normal,
            "Started",
            format!("Started container {name}"),
        ));
        self.liveness_runs = 0;
        self.liveness_failures = 0;
        self.readiness_runs = 0;
        let log = self.log.start_instance();
        log.push(
            at,
            format!(
                "kubelet-sim: container {name} started (image {}, restart {})",
                self.image, self.restart_count
            ),
        );
        for line in &facts.log_lines {
            log.push(at, line.clone());
        }
        self.state = State::Running {
            started_at: at,
            container_id,
        };
    }

    fn exit(
        &mut self,
        facts: &ContainerFacts,
        timing: &Timing,
        at: DateTime<Utc>,
        reason: &str,
        exit_code: i32,
        events: &mut Vec<SimEvent>,
    ) {
        let State::Running {
            started_at,
            container_id,
        } = self.state.clone()
        else {
            return;
        };
        let terminated = Terminated {
            reason: reason.to_string(),
            exit_code,
            started_at,
            finished_at: at,
            container_id,
        };
        let restart = match facts.restart {
            RestartPolicy::Always => !self.init || exit_code != 0,
            RestartPolicy::OnFailure => exit_code != 0,
            RestartPolicy::Never => false,
        };
        if !restart {
            self.state = State::Terminated(terminated);
            return;
        }
        self.restart_count += 1;
        self.last_terminated = Some(terminated);
        let delay = backoff(timing, self.restart_count);
        events.push(self.event(
            EventType::Warning,
            "BackOff",
            "Back-off restarting failed container".to_string(),
        ));
        self.state = State::CrashBackOff {
            until: after(at, delay),
            delay,
        };
    }

    /// The pod is being deleted: the container is stopped for good.
    pub fn kill(&mut self, now: DateTime<Utc>) -> Option<SimEvent> {
        let State::Running {
            started_at,
            container_id,
        } = self.state.clone()
        else {
            return None;
        };
        self.state = State::Terminated(Terminated {
            reason: "Error".to_string(),
            exit_code: 137,
            started_at,
            finished_at: now,
            container_id,
        });
        Some(self.event(
            EventType::Normal,
            "Killing",
            format!("Stopping container {}", self.name),
        ))
    }

    /// What cAdvisor would report as the working set: the demand, capped by the limit (the
    /// kernel kills before it goes above). None while no instance runs.
    pub fn working_set(&self, facts: &ContainerFacts) -> Option<u64> {
        if !self.running() {
            return None;
        }
        Some(match facts.memory_limit {
            Some(limit) => facts.memory_demand.min(limit),
            None => facts.memory_demand,
        })
    }

    /// The `status.containerStatuses[]` entry. `pod_ref` is "NAME_NAMESPACE(UID)" for messages;
    /// `creating_reason` is what a not-yet-started container waits with.
    pub fn status(&self, pod_ref: &str, creating_reason: &str) -> Value {
        let waiting = |reason: &str, message: Option<String>| {
            let mut w = json!({ "reason": reason });
            if let Some(message) = message {
                w["message"] = json!(message);
            }
            json!({ "waiting": w })
        };
        let image = &self.image;
        let state = match &self.state {
            State::Creating => waiting(creating_reason, None),
            State::PullFailed { .. } => waiting("ErrImagePull", Some(pull_error(image))),
            State::PullBackOff { .. } => waiting(
                "ImagePullBackOff",
                Some(format!("Back-off pulling image \"{image}\"")),
            ),
            State::Running { started_at, .. } => {
                json!({ "running": { "startedAt": rfc3339(*started_at) } })
            }
            State::CrashBackOff { delay, .. } => waiting(
                "CrashLoopBackOff",
                Some(format!(
                    "back-off {} restarting failed container={} pod={pod_ref}",
                    go_duration(*delay),
                    self.name
                )),
            ),
            State::Terminated(t) => json!({ "terminated": terminated_json(t) }),
        };
        let last_state = match &self.last_terminated {
            Some(t) => json!({ "terminated": terminated_json(t) }),
            None => json!({}),
        };
        let mut status = json!({
            "name": self.name,
            "image": image,
            "imageID": if self.pulled { images::image_id(image) } else { String::new() },
            "ready": self.ready(),
            "started": self.running(),
            "restartCount": self.restart_count,
            "state": state,
            "lastState": last_state,
        });
        let current_id = match &self.state {
            State::Running { container_id, .. } => Some(container_id),
            State::Terminated(t) => Some(&t.container_id),
            _ => self.last_terminated.as_ref().map(|t| &t.container_id),
        };
        if let Some(id) = current_id {
            status["containerID"] = json!(format!("containerd://{id}"));
        }
        status
    }
}

fn pull_error(image: &str) -> String {
    format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"
    )
}

fn terminated_json(t: &Terminated) -> Value {
    json!({
        "exitCode": t.exit_code,
        "reason": t.reason,
        "startedAt": rfc3339(t.started_at),
        "finishedAt": rfc3339(t.finished_at),
        "containerID": format!("containerd://{}", t.container_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap() + TimeDelta::seconds(seconds)
    }

    fn facts() -> ContainerFacts {
        ContainerFacts {
            image_missing: false,
            memory_limit: None,
            memory_demand: 32 << 20,
            exit_code: None,
            log_lines: Vec::new(),
            restart: RestartPolicy::Always,
            liveness: None,
            readiness: None,
        }
    }

    fn reasons(events: &[SimEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| format!("{}/{}", e.kind.as_str(), e.reason))
            .collect()
    }

    fn waiting_reason(c: &ContainerSim) -> Option<String> {
        c.status("p_ns(u)", "ContainerCreating")["state"]["waiting"]["reason"]
            .as_str()
            .map(str::to_string)
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let timing = Timing::default();
        let secs: Vec<u64> = (1..=6).map(|n| backoff(&timing, n).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 20, 20]);
        assert_eq!(backoff(&timing, 0).as_secs(), 2);
        assert_eq!(backoff(&timing, u32::MAX).as_secs(), 20);
        assert_eq!(go_duration(Duration::from_secs(80)), "1m20s");
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
    }

    #[test]
    fn healthy_container_starts_and_stays_up() {
        let timing = Timing::default();
        let mut c = ContainerSim::new("u", "app", "nginx:1.25", false);
        assert!(c.step(&facts(), &timing, false, t(0)).is_empty());
        assert_eq!(waiting_reason(&c).as_deref(), Some("ContainerCreating"));
        let events = c.step(&facts(), &timing, true, t(1));
        assert_eq!(
            reasons(&events),
            [
                "Normal/Pulling",
                "Normal/Pulled",
                "Normal/Created",
                "Normal/Started"
            ]
        );
        assert_eq!(
            events[3].field_path.as_deref(),
            Some("spec.containers{app}")
        );
        assert_eq!(events[2].message, "Created container app");
        assert!(c.step(&facts(), &timing, true, t(3600)).is_empty());
        let status = c.status("p_ns(u)", "ContainerCreating");
        assert_eq!(status["ready"], true);
        assert_eq!(status["started"], true);
        assert_eq!(status["restartCount"], 0);
        assert_eq!(status["state"]["running"]["startedAt"], rfc3339(t(1)));
        assert!(status["imageID"].as_str().unwrap().contains("@sha256:"));
        assert!(
            status["containerID"]
                .as_str()
                .unwrap()
                .starts_with("containerd://")
        );
        assert_eq!(status["lastState"], json!({}));
        assert_eq!(c.working_set(&facts()), Some(32 << 20));
    }

    #[test]
    fn missing_image_backs_off_and_recovers_when_fixed() {
        let timing = Timing::default();
        let missing = ContainerFacts {
            image_missing: true,
            ..facts()
        };
        let mut c = ContainerSim::new("u", "app", "registry.invalid/app:v1", false);
        let events = c.step(&missing, &timing, true, t(0));
        assert_eq!(
            reasons(&events),
            ["Normal/Pulling", "Warning/Failed", "Warning/Failed"]
        );
        assert_eq!(
            events[1].message,
            "Failed to pull image \"registry.invalid/app:v1\": rpc error: code = NotFound desc = \
             failed to pull and unpack image \"registry.invalid/app:v1\": not found"
        );
        assert_eq!(events[2].message, "Error: ErrImagePull");
        assert_eq!(waiting_reason(&c).as_deref(), Some("ErrImagePull"));
        assert_eq!(c.status("p", "x")["imageID"], "");

        // After the quick re-sync: ImagePullBackOff for backoff(1) = 2s.
        let events = c.step(&missing, &timing, true, t(1));
        assert_eq!(reasons(&events), ["Normal/BackOff", "Warning/Failed"]);
        assert_eq!(
            events[0].message,
            "Back-off pulling image \"registry.invalid/app:v1\""
        );
        assert_eq!(events[1].message, "Error: ImagePullBackOff");
        assert_eq!(waiting_reason(&c).as_deref(), Some("ImagePullBackOff"));
        assert!(c.step(&missing, &timing, true, t(2)).is_empty());

        // t=3: pull again, fail again; next back-off is 4s (t=4 → t=8).
        let events = c.step(&missing, &timing, true, t(3));
        assert_eq!(reasons(&events)[0], "Normal/Pulling");
        assert_eq!(waiting_reason(&c).as_deref(), Some("ErrImagePull"));
        c.step(&missing, &timing, true, t(4));
        assert_eq!(c.state, State::PullBackOff { until: t(8) });

        // The image is fixed (unmarked): the next retry pulls and starts.
        let events = c.step(&facts(), &timing, true, t(8));
        assert_eq!(
            reasons(&events),
            [
                "Normal/Pulling",
                "Normal/Pulled",
                "Normal/Created",
                "Normal/Started"
            ]
        );
        assert!(c.running());
        assert_eq!(c.restart_count, 0);
        assert_eq!(c.pull_failures, 0);
    }

    #[test]
    fn oom_kills_restarts_with_backoff() {
        let timing = Timing::default();
        let oom = ContainerFacts {
            memory_limit: Some(128 << 20),
            memory_demand: 300 << 20,
            ..facts()
        };
        let mut c = ContainerSim::new("u", "app", "app:1", false);
        c.step(&oom, &timing, true, t(0));
        assert!(c.running());
        assert_eq!(c.working_set(&oom), Some(128 << 20));
        assert!(c.step(&oom, &timing, true, t(2)).is_empty());

        // oom_after = 3s: killed at t=3, back-off 2s.
        let events = c.step(&oom, &timing, true, t(3));
        assert_eq!(reasons(&events), ["Warning/BackOff"]);
        assert_eq!(events[0].message, "Back-off restarting failed container");
        assert_eq!(c.restart_count, 1);
        assert_eq!(waiting_reason(&c).as_deref(), Some("CrashLoopBackOff"));
        let status = c.status("p_ns(u)", "ContainerCreating");
        assert_eq!(status["lastState"]["terminated"]["reason"], "OOMKilled");
        assert_eq!(status["lastState"]["terminated"]["exitCode"], 137);
        assert_eq!(
            status["lastState"]["terminated"]["finishedAt"],
            rfc3339(t(3))
        );
        assert_eq!(
            status["state"]["waiting"]["message"],
            "back-off 2s restarting failed container=app pod=p_ns(u)"
        );
        assert_eq!(status["ready"], false);
        assert_eq!(c.working_set(&oom), None);

        // t=5 restart ("already present"), t=8 killed again, back-off 4s → t=12.
        let events = c.step(&oom, &timing, true, t(5));
        assert_eq!(
            reasons(&events),
            ["Normal/Pulled", "Normal/Created", "Normal/Started"]
        );
        assert!(events[0].message.contains("already present on machine"));
        c.step(&oom, &timing, true, t(8));
        assert_eq!(c.restart_count, 2);
        assert!(matches!(c.state, State::CrashBackOff { until, .. } if until == t(12)));

        // A step far in the future replays every crash at its scheduled time.
        c.step(&oom, &timing, true, t(12 + 3 + 8 + 3 + 16 + 2));
        assert_eq!(c.restart_count, 4);
    }

    #[test]
    fn enough_memory_or_no_limit_stays_up() {
        let timing = Timing::default();
        for limit in [Some(300 << 20), Some(1 << 30), None] {
            let f = ContainerFacts {
                memory_limit: limit,
                memory_demand: 300 << 20,
                ..facts()
            };
            let mut c = ContainerSim::new("u", "app", "app:1", false);
            c.step(&f, &timing, true, t(0));
            c.step(&f, &timing, true, t(600));
            assert!(c.running(), "{limit:?}");
            assert_eq!(c.restart_count, 0);
            assert_eq!(c.working_set(&f), Some(300 << 20));
        }
    }

    #[test]
    fn crash_loop_writes_logs_each_start_and_stops_when_fixed() {
        let timing = Timing::default();
        let crash = ContainerFacts {
            exit_code: Some(1),
            log_lines: vec!["connecting to db".into(), "fatal: no DATABASE_URL".into()],
            ..facts()
        };
        let mut c = ContainerSim::new("u", "app", "app:1", false);
        c.step(&crash, &timing, true, t(0));
        c.step(&crash, &timing, true, t(3));
        assert_eq!(c.restart_count, 1);
        let status = c.status("p", "x");
        assert_eq!(status["lastState"]["terminated"]["reason"], "Error");
        assert_eq!(status["lastState"]["terminated"]["exitCode"], 1);
        let all = crate::logs::LogOptions::default();
        let current = c.log.current.as_ref().unwrap().render(&all);
        assert!(
            current.ends_with("connecting to db\nfatal: no DATABASE_URL\n"),
            "{current}"
        );
        // Restarted at t=5: the crashed instance's log is now "previous".
        c.step(&crash, &timing, true, t(5));
        assert!(
            c.log
                .previous
                .as_ref()
                .unwrap()
                .render(&all)
                .contains("fatal")
        );
        assert!(
            c.log
                .current
                .as_ref()
                .unwrap()
                .render(&all)
                .contains("restart 1")
        );

        // The annotation is removed while it runs: the instance stays up.
        c.step(&facts(), &timing, true, t(100));
        assert!(c.running());
        assert_eq!(c.restart_count, 1);
    }

    #[test]
    fn restart_policies() {
        let timing = Timing::default();
        let cases = [
            (RestartPolicy::Never, 1, false),
            (RestartPolicy::Never, 0, false),
            (RestartPolicy::OnFailure, 1, true),
            (RestartPolicy::OnFailure, 0, false),
            (RestartPolicy::Always, 0, true),
        ];
        for (policy, code, restarts) in cases {
            let f = ContainerFacts {
                exit_code: Some(code),
                restart: policy,
                ..facts()
            };
            let mut c = ContainerSim::new("u", "job", "busybox", false);
            c.step(&f, &timing, true, t(0));
            c.step(&f, &timing, true, t(4));
            assert_eq!(c.restart_count > 0, restarts, "{policy:?} {code}");
            if !restarts {
                let reason = if code == 0 { "Completed" } else { "Error" };
                assert_eq!(c.status("p", "x")["state"]["terminated"]["reason"], reason);
            }
        }
    }

    #[test]
    fn init_container_runs_to_completion() {
        let timing = Timing::default();
        let mut c = ContainerSim::new("u", "migrate", "app:1", true);
        let events = c.step(&facts(), &timing, true, t(0));
        assert_eq!(
            events[0].field_path.as_deref(),
            Some("spec.initContainers{migrate}")
        );
        assert!(!c.succeeded());
        c.step(&facts(), &timing, true, t(1));
        assert!(c.succeeded());
        assert_eq!(c.status("p", "x")["ready"], false);
    }

    #[test]
    fn kill_terminates_running_instance() {
        let timing = Timing::default();
        let mut c = ContainerSim::new("u", "app", "app:1", false);
        assert_eq!(c.kill(t(0)), None);
        c.step(&facts(), &timing, true, t(0));
        let event = c.kill(t(9)).unwrap();
        assert_eq!(event.reason, "Killing");
        assert_eq!(event.message, "Stopping container app");
        assert!(c.status("p", "x")["state"]["terminated"].is_object());
        assert!(c.step(&facts(), &timing, true, t(99)).is_empty());
    }

    fn probe(period: u32, threshold: u32, failure: Option<&str>) -> ProbeFacts {
        ProbeFacts {
            initial_delay_seconds: 0,
            period_seconds: period,
            failure_threshold: threshold,
            failure: failure.map(str::to_string),
        }
    }

    const HTTP_500: &str = "HTTP probe failed with statuscode: 500";

    fn failing_liveness() -> ContainerFacts {
        ContainerFacts {
            liveness: Some(probe(10, 3, Some(HTTP_500))),
            ..facts()
        }
    }

    fn count(events: &[SimEvent], reason: &str) -> usize {
        events.iter().filter(|e| e.reason == reason).count()
    }

    #[test]
    fn failing_liveness_probe_kills_and_restarts_with_backoff() {
        // probe_second 200ms: periodSeconds 10 runs every 2s, a kill after 3 failures (6s).
        let timing = Timing::default();
        let f = failing_liveness();
        let mut c = ContainerSim::new("u", "app", "app:1", false);
        c.step(&f, &timing, true, t(0));
        assert!(c.step(&f, &timing, true, t(1)).is_empty());
        assert_eq!(c.status("p", "x")["ready"], true);

        let events = c.step(&f, &timing, true, t(2));
        assert_eq!(reasons(&events), ["Warning/Unhealthy"]);
        assert_eq!(
            events[0].message,
            "Liveness probe failed: HTTP probe failed with statuscode: 500"
        );
        assert_eq!(
            events[0].field_path.as_deref(),
            Some("spec.containers{app}")
        );
        assert_eq!(
            reasons(&c.step(&f, &timing, true, t(4))),
            ["Warning/Unhealthy"]
        );
        assert!(c.running());
        assert_eq!(c.restart_count, 0);

        // The third failure (t=6): killed, SIGKILL's 137, CrashLoopBackOff for backoff(1) = 2s.
        let events = c.step(&f, &timing, true, t(6));
        assert_eq!(
            reasons(&events),
            ["Warning/Unhealthy", "Normal/Killing", "Warning/BackOff"]
        );
        assert_eq!(
            events[1].message,
            "Container app failed liveness probe, will be restarted"
        );
        assert_eq!(c.restart_count, 1);
        let status = c.status("p_ns(u)", "ContainerCreating");
        assert_eq!(status["lastState"]["terminated"]["reason"], "Error");
        assert_eq!(status["lastState"]["terminated"]["exitCode"], 137);
        assert_eq!(
            status["lastState"]["terminated"]["startedAt"],
            rfc3339(t(0))
        );
        assert_eq!(
            status["lastState"]["terminated"]["finishedAt"],
            rfc3339(t(6))
        );
        assert_eq!(status["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(status["ready"], false);

        // Restarted at t=8; its probes count from its own start: failures at 10, 12, 14.
        let events = c.step(&f, &timing, true, t(8));
        assert_eq!(
            reasons(&events),
            ["Normal/Pulled", "Normal/Created", "Normal/Started"]
        );
        assert!(c.step(&f, &timing, true, t(9)).is_empty());
        c.step(&f, &timing, true, t(13));
        assert_eq!(c.restart_count, 1);
        c.step(&f, &timing, true, t(14));
        assert_eq!(c.restart_count, 2);
        // backoff(2) = 4s: restarted at 18, killed at 24.
        assert!(matches!(c.state, State::CrashBackOff { until, .. } if until == t(18)));
    }

    #[test]
    fn a_late_step_replays_liveness_kills_as_punctual_steps_do() {
        let timing = Timing::default();
        let f = failing_liveness();
        let mut punctual = ContainerSim::new("u", "app", "app:1", false);
        let mut events = Vec::new();
        for second in 0..=60 {
            events.extend(punctual.step(&f, &timing, true, t(second)));
        }
        let mut late = ContainerSim::new("u", "app", "app:1", false);
        let mut replayed = late.step(&f, &timing, true, t(0));
        replayed.extend(late.step(&f, &timing, true, t(60)));
        assert_eq!(reasons(&replayed), reasons(&events));
        assert_eq!(late, punctual);
        // Kills at 6, 14 (restart 8), 24 (18), 38 (32), 60 (54): five within a minute.
        assert_eq!(punctual.restart_count, 5);
        assert_eq!(count(&events, "Unhealthy"), 15);
        assert_eq!(count(&events, "Killing"), 5);
        assert_eq!(count(&events, "BackOff"), 5);
    }

    #[test]
    fn liveness_probe_timing_follows_the_spec() {
        // initialDelaySeconds 10 (2s), periodSeconds 5 (1s), failureThreshold 1: the first run,
        // at 3s, kills.
        let timing = Timing::default();
        let f = ContainerFacts {
            liveness: Some(ProbeFacts {
                initial_delay_seconds: 10,
                ..probe(
                    5,
                    1,
                    Some("dial tcp 10.244.1.5:8080: connect: connection refused"),
                )
            }),
            ..facts()
        };
        let mut c = ContainerSim::new("u", "app", "app:1", false);
        c.step(&f, &timing, true, t(0));
        assert!(c.step(&f, &timing, true, t(2)).is_empty());
        let events = c.step(&f, &timing, true, t(3));
        assert_eq!(
            reasons(&events),
            ["Warning/Unhealthy", "Normal/Killing", "Warning/BackOff"]
        );
        assert_eq!(
            events[0].message,
            "Liveness probe failed: dial tcp 10.244.1.5:8080: connect: connection refused"
        );
        assert_eq!(c.restart_count, 1);
    }

    #[test]
    fn liveness_kill_with_restart_policy_never_stays_terminated() {
        let timing = Timing::default();
        let f = ContainerFacts {
            restart: RestartPolicy::Never,
            ..failing_liveness()
        };
        let mut c = ContainerSim::new("u", "job", "app:1", false);
        c.step(&f, &timing, true, t(0));
        let events = c.step(&f, &timing, true, t(6));
        assert_eq!(
            reasons(&events),
            [
                "Warning/Unhealthy",
                "Warning/Unhealthy",
                "Warning/Unhealthy",
                "Normal/Killing"
            ]
        );
        assert_eq!(events[3].message, "Container job failed liveness probe");
        assert_eq!(c.restart_count, 0);
        let status = c.status("p", "x");
        assert_eq!(status["state"]["terminated"]["exitCode"], 137);
        assert_eq!(status["state"]["terminated"]["reason"], "Error");
        assert!(c.step(&f, &timing, true, t(600)).is_empty());
    }

    #[test]
    fn passing_liveness_probe_resets_the_failure_streak() {
        let timing = Timing::default();
        let failing = failing_liveness();
        let passing = ContainerFacts {
            liveness: Some(probe(10, 3, None)),
            ..facts()
        };
        let mut c = ContainerSim::new("u", "app", "app:1", false);
        c.step(&failing, &timing, true, t(0));
        c.step(&failing, &timing, true, t(4));
        assert_eq!(c.liveness_failures, 2);
        // The annotation is removed: the runs at 6 and 8 pass, silently.
        assert!(c.step(&passing, &timing, true, t(9)).is_empty());
        assert_eq!((c.liveness_runs, c.liveness_failures), (4, 0));
        // Failing again from the next run on: 10, 12, 14 → killed at 14.
        c.step(&failing, &timing, true, t(13));
        assert_eq!(c.restart_count, 0);
        c.step(&failing, &timing, true, t(14));
        assert_eq!(c.restart_count, 1);
        // A probe in the spec without the annotation never does anything.
        let mut healthy = ContainerSim::new("u", "app", "app:1", false);
        healthy.step(&passing, &timing, true, t(0));
        assert!(healthy.step(&passing, &timing, true, t(600)).is_empty());
        assert!(healthy.ready());
    }

    #[test]
    fn failing_readiness_probe_keeps_the_container_unready() {
        let timing = Timing::default();
        let f = ContainerFacts {
            readiness: Some(probe(10, 3, Some(HTTP_500))),
            ..facts()
        };
        let mut c = ContainerSim::new("u", "app", "app:1", false);
        let events = c.step(&f, &timing, true, t(0));
        assert_eq!(reasons(&events).last().unwrap(), "Normal/Started");
        let status = c.status("p", "x");
        assert_eq!(status["ready"], false);
        assert_eq!(status["started"], true);
        assert!(status["state"]["running"].is_object());
        assert!(!c.ready());

        let events = c.step(&f, &timing, true, t(2));
        assert_eq!(reasons(&events), ["Warning/Unhealthy"]);
        assert_eq!(
            events[0].message,
            "Readiness probe failed: HTTP probe failed with statuscode: 500"
        );
        assert!(c.step(&f, &timing, true, t(3)).is_empty());
        // Every period, past any failure threshold, and never a restart.
        let events = c.step(&f, &timing, true, t(20));
        assert_eq!(count(&events, "Unhealthy"), 9);
        assert_eq!(events.len(), 9);
        assert_eq!(c.restart_count, 0);
        assert!(c.running());

        // A late step replays only the last READINESS_REPLAY periods.
        let events = c.step(&f, &timing, true, t(3600));
        assert_eq!(events.len(), READINESS_REPLAY as usize);
        assert_eq!(c.status("p", "x")["ready"], false);

        // The annotation is removed: ready, no more events.
        let fixed = ContainerFacts {
            readiness: Some(probe(10, 3, None)),
            ..facts()
        };
        assert!(c.step(&fixed, &timing, true, t(3610)).is_empty());
        assert_eq!(c.status("p", "x")["ready"], true);
    }

    #[test]
    fn liveness_and_readiness_failing_together() {
        let timing = Timing::default();
        let f = ContainerFacts {
            readiness: Some(probe(5, 1, Some(HTTP_500))),
            ..failing_liveness()
        };
        let mut c = ContainerSim::new("u", "app", "app:1", false);
        c.step(&f, &timing, true, t(0));
        // Readiness every 1s, liveness every 2s; on a tie liveness is first.
        let events = c.step(&f, &timing, true, t(6));
        let messages: Vec<&str> = events
            .iter()
            .map(|e| e.message.split(':').next().unwrap_or_default())
            .collect();
        assert_eq!(
            messages,
            [
                "Readiness probe failed",
                "Liveness probe failed",
                "Readiness probe failed",
                "Readiness probe failed",
                "Liveness probe failed",
                "Readiness probe failed",
                "Readiness probe failed",
                "Liveness probe failed",
                "Container app failed liveness probe, will be restarted",
                "Back-off restarting failed container",
            ]
        );
    }
}
