import CoreMetrics
import FloeCore
import FloeSpeaker
import Prometheus

/// Floe's metrics through swift-metrics, kept in this server's own Prometheus registry and served at `/metrics`.
///
/// The registry is per server (no global bootstrap), so each test's server reports only its own figures.
/// Every counter and gauge is created once (per mount, per speaker output) and kept: creating one validates its
/// labels and takes the registry's lock, which must never happen on the per-block path. Counters are bumped where
/// events happen, never per listener per write: bytes out are added once per fan-out slice per event loop. Gauges
/// (listeners, sources) are set from the mounts' state when `/metrics` is read.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let sources: CoreMetrics.Gauge

    init() {
        factory = PrometheusMetricsFactory(registry: registry)
        sources = CoreMetrics.Gauge(label: "floe_sources", dimensions: [], factory: factory)
    }

    /// The counters and gauges of one mount, created when the mount is.
    func mountMetrics(_ path: String) -> MountMetrics {
        MountMetrics(path: path, factory: factory)
    }

    /// The series of one speaker output, created once with it.
    func speakerCounters(mount: String, output: String) -> SpeakerCounters {
        SpeakerCounters(mount: mount, output: output, factory: factory)
    }

    /// The gauges of one transcoded mount, created once with it.
    func transcodeGauges(mount: String) -> TranscodeGauges {
        let dimensions = [("mount", mount)]
        return TranscodeGauges(
            realTimeFactor: CoreMetrics.Gauge(label: "floe_transcode_realtime_factor", dimensions: dimensions, factory: factory),
            droppedSeconds: CoreMetrics.Gauge(label: "floe_transcode_dropped_seconds", dimensions: dimensions, factory: factory)
        )
    }

    /// The Prometheus text exposition, with listener and source gauges taken from `mounts` now.
    func render(mounts: [Mount], speakers: [Speaker] = []) -> String {
        var live = 0
        for mount in mounts {
            let state = mount.snapshot
            if case .live = state.source { live += 1 }
            mount.metrics?.listeners.record(state.listeners)
            if let hls = mount.hls { mount.metrics?.hlsListeners.record(hls.estimatedListeners) }
        }
        sources.record(live)
        for speaker in speakers {
            speaker.recordPlayingGauge()
        }
        return registry.emitToString()
    }
}

/// A transcoded mount's figures: seconds of encoding per second of audio, and audio dropped because the encoder
/// fell behind. Set after each batch the encoder takes.
struct TranscodeGauges: Sendable {
    let realTimeFactor: CoreMetrics.Gauge
    let droppedSeconds: CoreMetrics.Gauge
}

/// The series of one mount. Bumping one is an atomic add; nothing here takes a lock.
final class MountMetrics: Sendable {
    let bytesIn: CoreMetrics.Counter
    let bytesOut: CoreMetrics.Counter
    let frames: CoreMetrics.Counter
    let slowListenersDropped: CoreMetrics.Counter
    let sourceConnects: CoreMetrics.Counter
    let sourceDisconnects: CoreMetrics.Counter
    /// Set from the mount's state when `/metrics` is read.
    let listeners: CoreMetrics.Gauge
    /// HLS requests answered, by kind (`playlist`, `segment`, `part`).
    let hlsPlaylistRequests: CoreMetrics.Counter
    let hlsSegmentRequests: CoreMetrics.Counter
    let hlsPartRequests: CoreMetrics.Counter
    /// Distinct HLS clients within the live window, set when `/metrics` is read.
    let hlsListeners: CoreMetrics.Gauge

    func hlsRequests(_ kind: HLSRequestCounts.Kind) -> CoreMetrics.Counter {
        switch kind {
        case .playlist: return hlsPlaylistRequests
        case .segment: return hlsSegmentRequests
        case .part: return hlsPartRequests
        }
    }

    init(path: String, factory: PrometheusMetricsFactory) {
        let dimensions = [("mount", path)]
        bytesIn = CoreMetrics.Counter(label: "floe_bytes_in_total", dimensions: dimensions, factory: factory)
        bytesOut = CoreMetrics.Counter(label: "floe_bytes_out_total", dimensions: dimensions, factory: factory)
        frames = CoreMetrics.Counter(label: "floe_frames_total", dimensions: dimensions, factory: factory)
        slowListenersDropped = CoreMetrics.Counter(label: "floe_slow_listeners_dropped_total", dimensions: dimensions, factory: factory)
        sourceConnects = CoreMetrics.Counter(label: "floe_source_connects_total", dimensions: dimensions, factory: factory)
        sourceDisconnects = CoreMetrics.Counter(label: "floe_source_disconnects_total", dimensions: dimensions, factory: factory)
        listeners = CoreMetrics.Gauge(label: "floe_listeners", dimensions: dimensions, factory: factory)
        func hls(_ kind: String) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: "floe_hls_requests_total", dimensions: dimensions + [("kind", kind)], factory: factory)
        }
        hlsPlaylistRequests = hls("playlist")
        hlsSegmentRequests = hls("segment")
        hlsPartRequests = hls("part")
        hlsListeners = CoreMetrics.Gauge(label: "floe_hls_listeners", dimensions: dimensions, factory: factory)
    }

    /// Removes the mount's series from `/metrics` (the mount was retired).
    func remove() {
        for counter in [
            bytesIn, bytesOut, frames, slowListenersDropped, sourceConnects, sourceDisconnects, hlsPlaylistRequests,
            hlsSegmentRequests, hlsPartRequests,
        ] {
            counter.destroy()
        }
        listeners.destroy()
        hlsListeners.destroy()
    }
}
