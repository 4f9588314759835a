import CoreMetrics
import FloeCore
import Prometheus

/// Floe's metrics through swift-metrics, kept in this server's own Prometheus registry and served at `/metrics`.
///
/// The registry is per server (no global bootstrap), so each test's server reports only its own figures.
/// Counters are bumped where events happen, never per listener per write: bytes out are added once per fan-out
/// slice per event loop. Gauges (listeners, sources) are set from the mounts' state when `/metrics` is read.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    init() {
        factory = PrometheusMetricsFactory(registry: registry)
    }

    func bytesIn(_ count: Int, mount: String) {
        Counter(label: "floe_bytes_in_total", dimensions: [("mount", mount)], factory: factory).increment(by: count)
    }

    func bytesOut(_ count: Int, mount: String) {
        Counter(label: "floe_bytes_out_total", dimensions: [("mount", mount)], factory: factory).increment(by: count)
    }

    func frames(_ count: Int, mount: String) {
        Counter(label: "floe_frames_total", dimensions: [("mount", mount)], factory: factory).increment(by: count)
    }

    func slowListenerDropped(mount: String) {
        Counter(label: "floe_slow_listeners_dropped_total", dimensions: [("mount", mount)], factory: factory).increment()
    }

    func sourceConnected(mount: String) {
        Counter(label: "floe_source_connects_total", dimensions: [("mount", mount)], factory: factory).increment()
    }

    func sourceDisconnected(mount: String) {
        Counter(label: "floe_source_disconnects_total", dimensions: [("mount", mount)], factory: factory).increment()
    }

    /// Counters of one speaker output, created once and bumped as it plays (about 40 times a second, never per
    /// listener).
    func speakerCounters(mount: String, output: String) -> SpeakerCounters {
        let dimensions = [("mount", mount), ("output", output)]
        return SpeakerCounters(
            frames: Counter(label: "floe_speaker_frames_total", dimensions: dimensions, factory: factory),
            packets: Counter(label: "floe_speaker_packets_total", dimensions: dimensions, factory: factory),
            bytes: Counter(label: "floe_speaker_bytes_total", dimensions: dimensions, factory: factory),
            underruns: Counter(label: "floe_speaker_underruns_total", dimensions: dimensions, factory: factory),
            dropped: Counter(label: "floe_speaker_frames_dropped_total", dimensions: dimensions, factory: factory)
        )
    }

    /// The Prometheus text exposition, with listener and source gauges taken from `mounts` now.
    func render(mounts: [Mount], speakers: [Speaker] = []) -> String {
        var sources = 0
        for mount in mounts {
            let state = mount.snapshot
            if case .live = state.source { sources += 1 }
            Gauge(label: "floe_listeners", dimensions: [("mount", mount.path)], factory: factory).record(state.listeners)
        }
        Gauge(label: "floe_sources", dimensions: [], factory: factory).record(sources)
        for speaker in speakers {
            let status = speaker.status
            Gauge(label: "floe_speaker_playing", dimensions: [("mount", status.mount), ("output", status.name)], factory: factory)
                .record(status.state == SpeakerSchedule.State.playing.rawValue ? 1 : 0)
        }
        return registry.emitToString()
    }
}

/// The counters of one speaker output.
struct SpeakerCounters: Sendable {
    let frames: CoreMetrics.Counter
    let packets: CoreMetrics.Counter
    let bytes: CoreMetrics.Counter
    let underruns: CoreMetrics.Counter
    let dropped: CoreMetrics.Counter
}
