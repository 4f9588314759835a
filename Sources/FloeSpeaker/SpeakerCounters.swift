import CoreMetrics

/// The `/metrics` series of one speaker output, created once when the output is and bumped as it plays (about
/// 40 times a second, never per listener).
package struct SpeakerCounters: Sendable {
    package let frames: Counter
    package let packets: Counter
    package let bytes: Counter
    package let underruns: Counter
    package let dropped: Counter
    /// 1 while the output plays, set when `/metrics` is read.
    package let playing: Gauge

    /// Series labelled with the output's mount and name, made by `factory`.
    package init(mount: String, output: String, factory: any MetricsFactory) {
        let dimensions = [("mount", mount), ("output", output)]
        frames = Counter(label: "floe_speaker_frames_total", dimensions: dimensions, factory: factory)
        packets = Counter(label: "floe_speaker_packets_total", dimensions: dimensions, factory: factory)
        bytes = Counter(label: "floe_speaker_bytes_total", dimensions: dimensions, factory: factory)
        underruns = Counter(label: "floe_speaker_underruns_total", dimensions: dimensions, factory: factory)
        dropped = Counter(label: "floe_speaker_frames_dropped_total", dimensions: dimensions, factory: factory)
        playing = Gauge(label: "floe_speaker_playing", dimensions: dimensions, factory: factory)
    }
}
