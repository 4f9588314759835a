import FloeCore
import Foundation
import Logging
import NIOCore

/// A SHOUTcast v1 source on the port after a listen socket's (`shoutcast-mount`), as Icecast 2.4 speaks it.
///
/// ```
///  C: hackme\n                                   password line (\r\n, \n or \r\r\n)
///  S: OK2\r\nicy-caps:11\r\n\r\n                   exactly these 20 bytes; a wrong password gets a silent close
///  C: icy-name:Name\nicy-genre:Rock\nicy-br:128\n\n    header block, ends at a blank line
///  C: <audio …>                                  may arrive in the same packets as the headers
/// ```
/// The password is the mount's own source password if it has one, else the global one. Only sources use this
/// port: an HTTP request here is just a wrong password.
final class ShoutcastSourceHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private enum State {
        case awaitingPassword
        case awaitingHeaders
        case done
    }

    /// The 20-byte reply to a right password.
    static let accepted = "OK2\r\nicy-caps:11\r\n\r\n"
    /// Longest password line or header block accepted.
    static let maximumLineBytes = 1024
    static let maximumHeaderBytes = 16 * 1024

    private let server: ServerContext
    private let mountPath: String
    private let connectionID: Int
    private var logger: Logger
    private var state = State.awaitingPassword
    private var received = ByteBuffer()
    /// This connection's count in `pendingPerPeer` until its headers are in.
    private var pending: PeerCounter.Claim?

    init(server: ServerContext, mountPath: String, connectionID: Int) {
        self.server = server
        self.mountPath = mountPath
        self.connectionID = connectionID
        self.logger = server.logger
        self.logger[metadataKey: "connection.id"] = "\(connectionID)"
        self.logger[metadataKey: "mount.path"] = "\(mountPath)"
    }

    /// Admits the connection by the rules every port shares (`ConnectionAdmission`); the protocol has no way to say
    /// why, so a refusal is a close and a log line. Without these a flood of idle
    /// connections here locked listeners out of the HTTP port, and banned addresses could log in (found by a probe).
    func channelActive(context: ChannelHandlerContext) {
        let snapshot = server.snapshot
        switch server.admit(peer: context.channel.remoteAddress?.ipAddress, port: .shoutcastSource, snapshot: snapshot) {
        case .failure(let refusal):
            refusal.log(to: logger)
            context.close(promise: nil)
            return
        case .success(let admitted):
            pending = admitted.pending
        }
        // Spread like the HTTP port's, so a flood of idle connections does not all time out in one tick.
        let timeout = RequestHeadHandler.headTimeout(configured: snapshot.configuration.limits.headerTimeout)
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            if case .done = handler.state { return }
            context.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending?.release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        pending?.release()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        guard case .done = state else {
            received.writeBuffer(&incoming)
            advance(context: context)
            return
        }
        context.fireChannelRead(data)
    }

    private func advance(context: ChannelHandlerContext) {
        let configuration = server.configuration
        if case .awaitingPassword = state {
            guard let line = readLine() else {
                if received.readableBytes > Self.maximumLineBytes { context.close(promise: nil) }
                return
            }
            let mountConfiguration = configuration.mount(mountPath)
            guard let expected = mountConfiguration.password ?? configuration.authentication.sourcePassword,
                BasicCredentials(user: "", password: line).matches(user: "", password: expected)
            else {
                logger.warning("SHOUTcast source login refused: wrong password")
                context.close(promise: nil)
                return
            }
            context.writeAndFlush(NIOAny(ByteBuffer(string: Self.accepted)), promise: nil)
            state = .awaitingHeaders
        }
        if case .awaitingHeaders = state {
            guard let headers = readHeaderBlock() else {
                if received.readableBytes > Self.maximumHeaderBytes { context.close(promise: nil) }
                return
            }
            state = .done
            pending?.release()
            start(context: context, headers: headers, configuration: configuration)
        }
    }

    private func start(context: ChannelHandlerContext, headers: [(name: String, value: String)], configuration: ServerConfiguration) {
        let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        let contentType = headers.first { $0.name.lowercased() == "content-type" }?.value
        let descriptor = SourceDescriptor(contentType: contentType, headers: headers, peerAddress: peer, connectedAt: Date())
        let login = SourceLogin(server: server, configuration: configuration, path: mountPath, sourceID: connectionID, logger: logger)
        guard case .success(let mount) = login.claim(descriptor) else {
            // The protocol has no way to say why after OK2; Icecast closes too.
            context.close(promise: nil)
            return
        }
        let record = AccessRecord(
            peer: peer,
            user: "source",
            started: Date(),
            method: "SOURCE",
            path: mountPath,
            protocolToken: "ICY",
            status: 200,
            bytes: Self.accepted.utf8.count,
            userAgent: descriptor.userAgent
        )
        guard
            login.installIngest(
                context: context,
                after: self,
                mount: mount,
                descriptor: descriptor,
                peer: peer,
                accessRecord: record
            )
        else { return }
        let leftover = received
        received = ByteBuffer()
        if leftover.readableBytes > 0 {
            context.fireChannelRead(NIOAny(leftover))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// The first line, without its line end (`\r\n`, `\n` or `\r\r\n`).
    private func readLine() -> String? {
        guard let newline = received.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let length = newline - received.readerIndex
        var line = received.readString(length: length)!
        received.moveReaderIndex(forwardBy: 1)
        while line.hasSuffix("\r") { line.removeLast() }
        return line
    }

    /// `name:value` lines up to a blank line.
    private func readHeaderBlock() -> [(name: String, value: String)]? {
        let view = received.readableBytesView
        var lineStart = view.startIndex
        var headers: [(name: String, value: String)] = []
        var index = view.startIndex
        while index < view.endIndex {
            if view[index] == UInt8(ascii: "\n") {
                var line = String(decoding: view[lineStart..<index], as: UTF8.self)
                while line.hasSuffix("\r") { line.removeLast() }
                if line.isEmpty {
                    received.moveReaderIndex(to: index + 1)
                    return headers
                }
                if let colon = line.firstIndex(of: ":") {
                    headers.append(
                        (String(line[..<colon].trimmingSpaces()), String(line[line.index(after: colon)...].trimmingSpaces()))
                    )
                }
                lineStart = index + 1
            }
            index += 1
        }
        return nil
    }
}
