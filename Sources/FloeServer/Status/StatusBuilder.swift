import FloeCore
import Foundation

/// Builds Icecast's stats tree from the live server: globals, and one `SourceStatus` per mount with a source.
struct StatusBuilder {
    let server: ServerContext
    let configuration: ServerConfiguration

    func document() -> StatusDocument {
        let sources = server.mounts.all.compactMap(source)
        let listeners = sources.compactMap { Int($0.value("listeners") ?? "") }.reduce(0, +)
        let globals = [
            StatusValue("admin", configuration.adminContact),
            StatusValue("host", configuration.hostname),
            StatusValue("location", configuration.location),
            StatusValue("server_id", configuration.serverID),
            StatusValue("server_start", StatusDate.rfc2822(server.startedAt)),
            StatusValue("server_start_iso8601", StatusDate.iso8601(server.startedAt)),
            StatusValue("clients", "\(server.connections.count.load(ordering: .relaxed))"),
            StatusValue("listeners", "\(listeners)"),
            StatusValue("sources", "\(sources.count)"),
        ]
        return StatusDocument(globals: globals, sources: sources)
    }

    /// The statistics of `mount`, or `nil` when no source feeds it.
    func source(_ mount: Mount) -> SourceStatus? {
        let state = mount.snapshot
        guard case .live(let live) = state.source else { return nil }
        let descriptor = live.descriptor
        let mountConfiguration = configuration.mount(mount.path)
        func header(_ names: String...) -> String? {
            names.lazy.compactMap { descriptor.header($0) }.first
        }
        let audioInfo = descriptor.header("ice-audio-info")
        let info = audioInfo.map(SourceDescriptor.audioInfo) ?? [:]
        var values = [
            StatusValue("genre", mountConfiguration.genre ?? header("ice-genre", "icy-genre", "x-audiocast-genre") ?? "various"),
            StatusValue("listener_peak", "\(state.listenerPeak)"),
            StatusValue("listeners", "\(state.listeners)"),
            StatusValue("listenurl", listenURL(mount.path)),
            StatusValue("max_listeners", mountConfiguration.maxListeners.map(String.init) ?? "unlimited"),
            StatusValue(
                "public",
                mountConfiguration.public.map(String.init) ?? header("ice-public", "icy-pub", "x-audiocast-public") ?? "0"
            ),
            StatusValue(
                "server_description",
                mountConfiguration.streamDescription
                    ?? header("ice-description", "icy-description", "x-audiocast-description") ?? "Unspecified description"
            ),
            StatusValue(
                "server_name",
                mountConfiguration.streamName ?? header("ice-name", "icy-name", "x-audiocast-name") ?? "Unspecified name"
            ),
            StatusValue("server_type", mountConfiguration.type ?? descriptor.contentType),
            StatusValue("slow_listeners", "\(state.slowListeners)"),
            StatusValue("source_ip", descriptor.peerAddress),
            StatusValue("stream_start", StatusDate.rfc2822(descriptor.connectedAt)),
            StatusValue("stream_start_iso8601", StatusDate.iso8601(descriptor.connectedAt)),
            StatusValue("title", state.metadata.title),
        ]
        if let url = mountConfiguration.streamURL ?? header("ice-url", "icy-url", "x-audiocast-url") {
            values.append(StatusValue("server_url", url))
        }
        if let bitrate = mountConfiguration.bitrate ?? header("ice-bitrate", "icy-br", "x-audiocast-bitrate") ?? info["bitrate"] {
            values.append(StatusValue("bitrate", bitrate))
        }
        if let audioInfo { values.append(StatusValue("audio_info", audioInfo)) }
        if let agent = descriptor.userAgent { values.append(StatusValue("user_agent", agent)) }
        // Beyond Icecast: the upstream a relay pulls from now.
        if let upstream = descriptor.relayUpstream { values.append(StatusValue("floe_relay_upstream", upstream)) }
        // Beyond Icecast: what the framer and the frame clock measured (admin views only).
        if let statistics = mount.statistics {
            values += [
                StatusValue("total_bytes_read", "\(statistics.bytesRead)"),
                StatusValue("floe_frames", "\(statistics.frames)"),
                StatusValue("floe_garbage_bytes", "\(statistics.garbageBytes)"),
                StatusValue("floe_id3_bytes", "\(statistics.id3Bytes)"),
                StatusValue("floe_resyncs", "\(statistics.resyncs)"),
                StatusValue("floe_pace", statistics.pace.rawValue),
            ]
            if let bitrate = statistics.measuredBitrate {
                values.append(StatusValue("floe_measured_bitrate", "\(bitrate)"))
            }
            if let ratio = statistics.realTimeRatio {
                values.append(StatusValue("floe_realtime_ratio", String(format: "%.3f", ratio)))
            }
            if statistics.mediaTime > .zero {
                values.append(StatusValue("floe_media_seconds", String(format: "%.3f", statistics.mediaTime.seconds)))
            }
            if statistics.sampleRate > 0 {
                values.append(StatusValue("floe_sample_rate", "\(statistics.sampleRate)"))
            }
            if let codec = statistics.codec { values.append(StatusValue("floe_codec", Self.codecName(codec, statistics, descriptor))) }
        }
        values += outputValues(mount.path)
        // Beyond Icecast: a transcoded mount's origin and encoder figures.
        if let transcoder = server.transcodes.transcoder(of: mount.path) {
            let figures = transcoder.currentFigures
            values.append(StatusValue("floe_transcode_from", transcoder.home.path))
            if let factor = figures.realTimeFactor {
                values.append(StatusValue("floe_transcode_realtime_factor", String(format: "%.4f", factor)))
            }
            values.append(StatusValue("floe_transcode_dropped_seconds", String(format: "%.1f", figures.droppedSeconds)))
            values.append(StatusValue("floe_transcode_restarts", "\(figures.restarts)"))
        }
        // Beyond Icecast: the mount's HLS playlist, and who reads it (distinct clients within the live window;
        // behind a cache, the cache is one).
        if let hls = mount.hls, hls.configuration.enabled, mountConfiguration.allowsHLS, descriptor.format.isFramed {
            let requests = hls.requestCounts
            // The URL once the playlist has enough segments for any player to start with.
            if hls.isReadyForPlayers {
                values.append(StatusValue("floe_hls_url", listenURL(mount.path) + HLSNames.playlistSuffix))
            }
            values += [
                StatusValue("floe_hls_listeners", "\(hls.estimatedListeners)"),
                StatusValue("floe_hls_requests", "\(requests.total)"),
            ]
        }
        // One value per `ice-audio-info` entry, as Icecast writes them, but never in place of one of Floe's own
        // (a source could otherwise forge its listener count) and only under a name XML can carry as an element.
        let taken = Set(values.map(\.name))
        for (key, value) in info where key != "bitrate" && !taken.contains(key) && !key.hasPrefix("floe_") && Self.isStatusName(key) {
            values.append(StatusValue(key, value))
        }
        return SourceStatus(mount: mount.path, values: values, hidden: mountConfiguration.hidden)
    }

    /// Whether `name` can be a statistic's name: an ASCII XML element name (a letter or `_`, then letters, digits,
    /// `_`, `-` or `.`), of at most 64 characters.
    static func isStatusName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F }
        guard let first = bytes.first, isLetter(first), bytes.count <= 64 else { return false }
        return bytes.allSatisfy { isLetter($0) || (0x30...0x39).contains($0) || $0 == 0x2D || $0 == 0x2E }
    }

    /// Beyond Icecast: the mount's speaker outputs, as `floe_output_NAME_*` values (the SDP URL is public, the
    /// rest admin-only).
    /// The codec as the frames say, except that HE-AAC shows in ADTS as its AAC-LC core: a source that declares
    /// it (`audio/aacp`, or an `ice-audio-info` sample rate twice the core's) gets the name it sends.
    static func codecName(_ codec: String, _ statistics: SourceStatistics, _ descriptor: SourceDescriptor) -> String {
        guard codec == "AAC-LC" else { return codec }
        let declaredRate = descriptor.header("ice-audio-info").flatMap { SourceDescriptor.audioInfo($0)["samplerate"] }.flatMap { Int($0) }
        let type = descriptor.contentType.lowercased()
        let isAACPlus = type.hasPrefix("audio/aacp") || type.hasPrefix("audio/x-aacp")
        return isAACPlus || declaredRate == 2 * statistics.sampleRate ? "HE-AAC (AAC-LC core)" : codec
    }

    func outputValues(_ mountPath: String) -> [StatusValue] {
        server.speakers.speakers(of: mountPath).flatMap { speaker in
            outputFields(speaker).map { StatusValue("floe_output_\(speaker.configuration.name)_\($0.name)", $0.value) }
        }
    }

    /// One output's figures, named as in status (`type`, `state`, `frames`, …, `problem` and `sdp` when there
    /// are). `/admin/outputs` lists them as they are; status pages prefix them with the output's name.
    func outputFields(_ speaker: Speaker) -> [StatusValue] {
        let status = speaker.status
        var values = [
            StatusValue("type", "\(status.type) \(status.mode)"),
            StatusValue("destination", status.destination),
            StatusValue("state", status.state),
            StatusValue("frames", "\(status.framesPlayed)"),
            StatusValue("frames_dropped", "\(status.framesDropped)"),
            StatusValue("underruns", "\(status.underruns)"),
            StatusValue("buffered", String(format: "%.3f", status.bufferedSeconds)),
            StatusValue("packets", "\(status.packetsSent)"),
            StatusValue("bytes", "\(status.bytesSent)"),
            StatusValue("send_errors", "\(status.sendErrors)"),
        ]
        if let problem = status.problem { values.append(StatusValue("problem", problem)) }
        if speaker.sessionDescription != nil {
            values.append(StatusValue("sdp", listenURL(status.mount) + ".sdp?output=\(status.name)"))
        }
        return values
    }

    /// `http://<hostname>:<first port><mount>`, as Icecast builds `listenurl`.
    func listenURL(_ mount: String) -> String {
        "http://\(configuration.hostname):\(server.publicPort.load(ordering: .relaxed))\(mount)"
    }
}
