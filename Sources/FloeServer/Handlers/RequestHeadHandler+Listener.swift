import FloeCore
import NIOCore

extension RequestHeadHandler {
    /// Serves `GET`/`HEAD` on a mount: Icecast's headers, then the burst and the live stream.
    func acceptListener(context: ChannelHandlerContext, head: RequestHead, peer: String) {
        let configuration = server.configuration
        let path = head.path
        guard MountPath.isValid(path), let mount = server.mounts.mount(path) else {
            respondAndClose(context: context, .error(404, "The file you requested could not be found"))
            return
        }
        let mountConfiguration = configuration.mount(path)
        let descriptor: SourceDescriptor
        switch mount.listenerArrived(maxListeners: mountConfiguration.maxListeners) {
        case .rejectNoSource:
            respondAndClose(context: context, .error(404, "The file you requested could not be found"))
            return
        case .rejectFull:
            respondAndClose(context: context, .error(403, "max listeners reached"))
            return
        case .admit(let admitted):
            descriptor = admitted
        }

        let wantsMetadata = (head["icy-metadata"].flatMap { Int($0.trimmingSpaces()) } ?? 0) != 0
        let metadataInterval =
            wantsMetadata && descriptor.format.allowsICYMetadata
            ? (mountConfiguration.metadataInterval ?? 16_000) : nil
        var response = IcecastResponse(status: 200, contentType: descriptor.contentType)
        response.extraHeaders = IcecastResponse.corsHeaders(alreadyConfigured: configuration.httpHeaders)
        response.extraHeaders += descriptor.listenerHeaderLines(overrides: mountConfiguration)
        if let metadataInterval {
            response.extraHeaders.append("icy-metaint:\(metadataInterval)")
        }
        let responseHead = response.encoded(serverID: configuration.serverID, httpHeaders: configuration.httpHeaders)

        if head.method == "HEAD" {
            mount.listenerLeftBeforeStreaming()
            respondAndClose(context: context, bytes: responseHead)
            return
        }

        let channel = context.channel
        let broadcaster = mount.broadcaster(for: context.eventLoop)
        let session = ListenerSession(id: connectionID, channel: channel, metadataInterval: metadataInterval)
        do {
            try channel.syncOptions?.setOption(
                ChannelOptions.writeBufferWaterMark,
                value: .init(low: 32 * 1024, high: 128 * 1024)
            )
            try context.pipeline.syncOperations.addHandler(
                ListenerHandler(session: session, broadcaster: broadcaster),
                position: .after(self)
            )
        } catch {
            mount.listenerLeftBeforeStreaming()
            context.close(promise: nil)
            return
        }
        handOver()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        channel.write(responseHead, promise: nil)
        let burst = mountConfiguration.burstSize ?? configuration.limits.burstSize
        broadcaster.add(session, burstBytes: burst)
        logger.debug("Listener joined", metadata: ["mount.path": "\(path)", "listener.id": "\(connectionID)"])
    }
}
