import FloeCore
import Logging
import NIOCore

/// What every source protocol (HTTP `SOURCE`/`PUT`, SHOUTcast v1) does once the client has proved who it is:
/// claim a `<sources>` slot and the mount, then turn the connection into an ingest pipeline.
struct SourceLogin {
    /// Why a source was refused after authenticating.
    enum Refusal: Error {
        /// `<sources>` are all taken: 403 `too many sources connected`.
        case tooManySources
        /// Another source feeds the mount: 403 `Mountpoint in use`.
        case mountInUse
    }

    let server: ServerContext
    let configuration: ServerConfiguration
    let path: String
    let sourceID: Int
    let logger: Logger

    /// Claims a source slot and the mount for `descriptor`. On success the mount is live and its listeners
    /// parked on fallbacks come back when `fallback-override` says so. A mount fed by a relay that yields to
    /// sources (`yield-to-source`) is taken over: its listeners stay and hear this source from its first block.
    ///
    /// A mirror (a relay's second mount of the same upstream stream, fed by the first's feed) passes
    /// `takesSourceSlot: false`: it is no connection of its own, and takes over no relay.
    func claim(_ descriptor: SourceDescriptor, takesSourceSlot: Bool = true) -> Result<Mount, Refusal> {
        let mountConfiguration = configuration.mount(path)
        guard !takesSourceSlot || server.sources.claim(limit: configuration.limits.sources) else {
            logger.warning("Source refused: too many sources", metadata: ["mount.path": "\(path)"])
            return .failure(.tooManySources)
        }
        let queueSize = configuration.queueCapacity(forMount: path)
        let byteRate = (descriptor.declaredBitrate ?? 128) * 125
        let (mount, connected) = server.mounts.connectSource(
            path,
            queueCapacity: queueSize,
            hls: mountConfiguration.hlsSettings,
            id: sourceID,
            descriptor: descriptor
        )
        switch connected {
        case .rejectMountInUse where takesSourceSlot && takeOverFromRelay(mount, descriptor: descriptor):
            mount.setQueueCapacity(queueSize, unframedBytesPerSecond: byteRate)
            mount.metrics?.sourceConnects.increment()
            return .success(mount)
        case .rejectMountInUse:
            if takesSourceSlot { server.sources.release() }
            logger.warning("Source refused: mountpoint in use", metadata: ["mount.path": "\(path)"])
            return .failure(.mountInUse)
        case .accept:
            // The mount may predate a reload that changed its queue size: a new source gets the current one.
            mount.setQueueCapacity(queueSize, unframedBytesPerSecond: byteRate)
            mount.metrics?.sourceConnects.increment()
            let fallbacks = server.mounts.fallbackChain(of: path, configuration: configuration)
            if mountConfiguration.fallbackOverride {
                mount.reclaimListeners(from: fallbacks)
            }
            // Outputs always come home: a speaker or HLS stream of this mount plays this mount's source.
            mount.reclaimOutputs(from: fallbacks)
            return .success(mount)
        }
    }

    /// Takes `mount` from the relay feeding it, when that relay yields to sources. Only between framed streams of one format: listeners
    /// keep the headers they were sent, and an Ogg stream's header pages would have to be sent again.
    private func takeOverFromRelay(_ mount: Mount, descriptor: SourceDescriptor) -> Bool {
        guard descriptor.format.isFramed,
            let relay = server.relays.relay(for: path), relay.relay.yieldsToSource,
            case .live(let current) = mount.snapshot.source, current.descriptor.format == descriptor.format,
            relay.feeds(sourceID: current.id),
            mount.handOverSource(from: current.id, to: sourceID, descriptor: descriptor)
        else { return false }
        logger.info("Source takes the mount over from its relay", metadata: ["mount.path": "\(path)"])
        relay.yield(sourceID: current.id)
        return true
    }

    /// The feed that frames this source's bytes into `mount`'s blocks.
    func makeFeed(mount: Mount, descriptor: SourceDescriptor, accessRecord: AccessRecord?, logger: Logger) -> SourceFeed {
        SourceFeed(
            server: server,
            mount: mount,
            sourceID: sourceID,
            ingest: SourceIngest(
                format: descriptor.format,
                blockDuration: .seconds(configured: configuration.limits.blockDuration)
            ),
            hooks: SourceHooks(mountPath: path, configuration: configuration.mount(path), logger: logger),
            accessRecord: accessRecord,
            logger: logger
        )
    }

    /// Puts the ingest handlers after `handler` in `context`'s pipeline (a SHOUTcast source's handler, or a
    /// request's head handler); with `chunked`, a decoder of the chunked body goes first. On failure the mount and
    /// the slot are released and the channel closed.
    func installIngest(
        context: ChannelHandlerContext,
        after handler: ChannelHandler,
        mount: Mount,
        descriptor: SourceDescriptor,
        peer: String,
        accessRecord: AccessRecord,
        chunked: Bool = false
    ) -> Bool {
        let mountConfiguration = configuration.mount(path)
        var sourceLogger = logger
        sourceLogger[metadataKey: "mount.path"] = "\(path)"
        sourceLogger[metadataKey: "source.peer"] = "\(peer)"
        sourceLogger.info(
            "Source logged in",
            metadata: [
                "source.content_type": "\(descriptor.contentType)",
                "source.agent": "\(descriptor.userAgent ?? "-")",
            ]
        )
        let timeout = mountConfiguration.sourceTimeout ?? configuration.limits.sourceTimeout
        let idle = IdleStateHandler(readTimeout: .seconds(configured: timeout))
        let ingest = SourceIngestHandler(
            feed: makeFeed(mount: mount, descriptor: descriptor, accessRecord: accessRecord, logger: sourceLogger),
            logger: sourceLogger
        )
        do {
            // The connection was accepted with a small receive buffer (enough for a request head); a source sends
            // audio from now on.
            try context.channel.syncOptions?.setOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator())
            try context.pipeline.syncOperations.addHandler(idle, position: .after(handler))
            if chunked {
                let decoder = ChunkedSourceBodyHandler(logger: sourceLogger)
                try context.pipeline.syncOperations.addHandler(decoder, position: .after(idle))
                try context.pipeline.syncOperations.addHandler(ingest, position: .after(decoder))
            } else {
                try context.pipeline.syncOperations.addHandler(ingest, position: .after(idle))
            }
            let channel = context.channel
            mount.attachSource { channel.close(promise: nil) }
            return true
        } catch {
            // The channel is closing; the ingest handler (if added) frees the mount when removed.
            mount.sourceDisconnected(id: sourceID, fallback: nil)
            server.sources.release()
            context.close(promise: nil)
            return false
        }
    }
}
