import FloeCore
import Foundation
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// The first handler of every connection: reads the request head, then hands the request to the router.
///
/// Icecast's protocols cannot go through a general HTTP decoder: a `SOURCE` head is followed at once by audio
/// with no body length (often in the same packet), and `ICE/1.0` is a valid protocol. So this handler buffers
/// up to the blank line (bounded by `RequestHeadParser.maximumHeadBytes` and `header-timeout`), parses the head
/// itself, and asks the `Router` which responder answers it. The responder then answers and closes, or takes the
/// connection over (a source's ingest pipeline, a listener's), after which this handler leaves the pipeline.
///
/// The configuration snapshot is taken when the connection is accepted, and used for the whole request; a
/// connection kept alive for another request takes the configuration of that moment.
/// Error responses are written, then the output side is closed while input is drained briefly, so that a
/// client still sending (a 200 KB header, a source's audio) reads the status instead of a reset.
final class RequestHeadHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case awaitingHead
        /// A request that asked for TLS (RFC 2817) got `101`; it is routed once the handshake is done, so nothing
        /// is answered or done in plain text, and a client that never shakes hands is cut off by `header-timeout`.
        case awaitingHandshake(RequestHead)
        /// Waiting for a responder's answer (listener authentication); input is ignored.
        case authenticating
        case handedOver
        case draining(discarded: Int)
        /// A response on a connection kept alive is on its way; bytes that arrive belong to the next request.
        case answering
    }

    let server: ServerContext
    private let router: Router
    let connectionID: Int
    var logger: Logger
    private var snapshot: ConfigurationSnapshot
    private let parser = RequestHeadParser()
    private var state = State.awaitingHead
    private var received: ByteBuffer?
    /// How much of `received` has been searched for the end of a head without finding it. Bytes a client sent
    /// ahead of its next request (keep-alive) arrive unsearched.
    private var receivedSearched = 0
    private var headTimeout: Scheduled<Void>?
    /// When the connection was accepted, and its request once parsed: for the access log.
    private var startedAt = Date()
    private(set) var request: RequestHead?
    /// This connection's count in `pendingPerPeer` while its head is awaited (through an RFC 2817 handshake too,
    /// until the request it upgraded for is read).
    private var pending: PeerCounter.Claim?
    /// The client's address once the head is read: the socket's, or the one a trusted proxy names.
    private var clientAddress: String?
    /// Accepted beyond `clients` only to be redirected (`limits.redirect-when-full`) once its head says where to.
    private var beyondClientLimit = false
    /// Plain or TLS; set by `TLSSniffer` on sockets that take TLS, before the first byte arrives here.
    var transport = Transport.plain
    /// The client switched this connection to TLS with an upgrade request (RFC 2817), as libshout does.
    private var upgradedOnRequest = false

    /// Responses written on this connection kept alive (HLS); an idle wait after one of them ends quietly.
    private var keptAliveResponses = 0

    /// Input discarded after an error response before the connection is closed outright.
    private static let maximumDrainBytes = 1 << 20
    /// How long the drain lasts at most.
    private static let drainTime = TimeAmount.seconds(2)

    /// The mount SHOUTcast-style `/admin.cgi` title updates on this socket go to (its `shoutcast-mount`).
    let shoutcastMount: String?

    init(server: ServerContext, router: Router, connectionID: Int, shoutcastMount: String? = nil) {
        self.server = server
        self.router = router
        self.connectionID = connectionID
        self.shoutcastMount = shoutcastMount
        self.snapshot = server.snapshot
        self.logger = server.logger
        self.logger[metadataKey: "connection.id"] = "\(connectionID)"
    }

    func channelActive(context: ChannelHandlerContext) {
        switch server.admit(peer: context.channel.remoteAddress?.ipAddress, port: .http, snapshot: snapshot) {
        case .failure(let refusal):
            refusal.log(to: logger)
            respondAndClose(context: context, refusal.response)
            return
        case .success(let admitted):
            pending = admitted.pending
            beyondClientLimit = admitted.beyondClientLimit
        }
        armHeadTimeout(context: context)
        context.fireChannelActive()
    }

    /// Starts the wait for a request head (at accept, and again after an upgrade to TLS). On a TLS connection it
    /// covers the handshake too: a client that never finishes it is cut off like one that never sends a head.
    private func armHeadTimeout(context: ChannelHandlerContext) {
        let timeout = Self.headTimeout(configured: snapshot.configuration.limits.headerTimeout)
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        headTimeout = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            if case .awaitingHandshake = handler.state {
                handler.logger.info("TLS handshake not finished within header-timeout after an upgrade request")
                context.close(promise: nil)
                return
            }
            guard case .awaitingHead = handler.state else { return }
            if handler.keptAliveResponses > 0, handler.received == nil {
                // An idle keep-alive connection: closed without a word, as HTTP servers do.
                context.close(promise: nil)
                return
            }
            handler.logger.info("Request head not received within header-timeout")
            handler.respondAndClose(context: context, .error(408, "Request Timeout"))
        }
    }

    /// `header-timeout` plus a random spread of up to a tenth of it (at most a second).
    ///
    /// Connections opened together (a flood of idle ones, often) would otherwise all time out in the same loop
    /// tick: thousands of 408 answers and closes in one batch, and a listener arriving then waits behind them.
    /// Spread out, they cost the same but never hold a loop for long.
    static func headTimeout(configured seconds: Double) -> TimeAmount {
        let base = TimeAmount.seconds(configured: seconds)
        let spread = min(base.nanoseconds / 10, TimeAmount.seconds(1).nanoseconds)
        return spread > 0 ? base + .nanoseconds(Int64.random(in: 0...spread)) : base
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        switch state {
        case .handedOver:
            context.fireChannelRead(data)
        case .authenticating:
            break
        case .draining(let discarded):
            let total = discarded + incoming.readableBytes
            state = .draining(discarded: total)
            if total > Self.maximumDrainBytes { context.close(promise: nil) }
        case .answering, .awaitingHandshake:
            // Kept, bounded: the next request's bytes (keep-alive). While a handshake is awaited nothing arrives
            // here in practice (NIOSSL reports the handshake before any data); were it to, it would follow the
            // upgraded request's head, as a source's audio does.
            keep(&incoming)
            if received!.readableBytes > parser.maximumHeadBytes { context.close(promise: nil) }
        case .awaitingHead:
            keep(&incoming)
            parseReceived(context: context)
        }
    }

    private func keep(_ incoming: inout ByteBuffer) {
        if received == nil {
            received = incoming
        } else {
            received!.writeBuffer(&incoming)
        }
    }

    /// Looks for a whole request head in what has been received (past `receivedSearched`, already searched).
    private func parseReceived(context: ChannelHandlerContext) {
        switch parser.parse(received!, searchedBytes: receivedSearched) {
        case .needMoreData:
            receivedSearched = received!.readableBytes
            return
        case .failure(let failure):
            logger.info("Bad request", metadata: ["reason": "\(failure)"])
            switch failure {
            case .headTooLarge, .tooManyHeaders:
                respondAndClose(context: context, .error(431, "Request header fields too large"))
            default:
                respondAndClose(context: context, .error(400, "Bad request"))
            }
        case .head(let head, let headLength):
            headTimeout?.cancel()
            request = head
            var leftover = received!
            received = nil
            receivedSearched = 0
            leftover.moveReaderIndex(forwardBy: headLength)
            if transport.mayUpgradeToTLS, head.asksForTLSUpgrade {
                // Still pending (`max-pending-per-ip`) until the handshake is done and the real request is read.
                upgradeToTLS(context: context, head: head, leftover: leftover)
                return
            }
            releasePending()
            if transport == .plainOnTLSOnlySocket {
                respondAndClose(context: context, PlainRequestOnTLSSocket.response(to: head, snapshot: snapshot, port: context.channel.localAddress?.port))
            } else {
                route(context: context, head: head, leftover: leftover)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        headTimeout?.cancel()
        releasePending()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        releasePending()
    }

    /// The head has arrived, or the connection is gone: it no longer counts against its address.
    private func releasePending() {
        pending?.release()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    // MARK: TLS upgrade

    /// RFC 2817: the client asked, in plain text, to switch this connection to TLS (libshout does, by default,
    /// with `OPTIONS *` and `Upgrade: TLS/1.0`). It gets `101 Switching Protocols`, the TLS handler goes in front
    /// of this one, and the request is answered over TLS once the handshake is done, as RFC 2817 asks.
    ///
    /// The answer to `OPTIONS *` keeps the connection open (HTTP/1.1, no `Connection: close`) and the next
    /// request is read on it: libshout logs in on the upgraded connection, and upgrades every new connection
    /// again, so closing here would send it round in circles. Any other upgraded request is routed once the
    /// handshake is done: before, the TLS handler would hold its answer without bound and the request would be
    /// acted on (an admin command, a listener counted) for a client that never shook hands (found by a probe).
    private func upgradeToTLS(context: ChannelHandlerContext, head: RequestHead, leftover: ByteBuffer) {
        guard let tls = server.tls.context else {
            respondAndClose(context: context, .error(503, "TLS is not available"))
            return
        }
        logger.debug("Upgrading to TLS (RFC 2817)")
        var reply = context.channel.allocator.buffer(capacity: 96)
        reply.writeString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: TLS/1.0, HTTP/1.1\r\nConnection: Upgrade\r\n\r\n")
        // Written before the TLS handler is added, so this one reply goes out in plain text.
        context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        do {
            try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
        } catch {
            context.close(promise: nil)
            return
        }
        transport = .tls
        upgradedOnRequest = true
        if head.method == "OPTIONS" {
            // Written now, sent encrypted once the handshake is done (the TLS handler holds it until then).
            var answer = context.channel.allocator.buffer(capacity: 128)
            answer.writeString(
                "HTTP/1.1 204 No Content\r\nServer: \(snapshot.configuration.serverID)\r\nConnection: Keep-Alive\r\n"
                    + "Allow: GET, HEAD, OPTIONS, SOURCE, PUT\r\n\r\n"
            )
            context.writeAndFlush(wrapOutboundOut(answer), promise: nil)
            request = nil
            state = .awaitingHead
        } else {
            state = .awaitingHandshake(head)
        }
        armHeadTimeout(context: context)
        if leftover.readableBytes > 0 {
            // Handshake bytes sent without waiting for the 101 go through the TLS handler like the rest.
            context.pipeline.syncOperations.fireChannelRead(NIOAny(leftover))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .awaitingHandshake(let head) = state, let tlsEvent = event as? TLSUserEvent,
            case .handshakeCompleted = tlsEvent
        {
            headTimeout?.cancel()
            releasePending()
            let leftover = received ?? context.channel.allocator.buffer(capacity: 0)
            received = nil
            state = .awaitingHead
            route(context: context, head: head, leftover: leftover)
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Routing

    private func route(context: ChannelHandlerContext, head originalHead: RequestHead, leftover: ByteBuffer) {
        var head = originalHead
        // Icecast `<alias source="/" destination="/status.xsl"/>`: the request is answered as the destination.
        if let alias = snapshot.configuration.paths.aliases.first(where: { $0.source == head.path }) {
            let query = head.uri.firstIndex(of: "?").map { String(head.uri[$0...]) } ?? ""
            head.uri = alias.destination + query
        }
        let socketPeer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        let rules = snapshot.addressRules
        let peer = rules.clientAddress(peer: socketPeer, head: head)
        clientAddress = peer
        logger[metadataKey: "peer"] = "\(peer)"
        if beyondClientLimit, let edge = snapshot.configuration.limits.redirectWhenFull {
            // Listeners go to another server; anything else (a source, the admin) is refused as Icecast does.
            if head.method == "GET" || head.method == "HEAD", !head.path.hasPrefix("/admin") {
                respondAndClose(context: context, .redirect(302, to: edge + head.originForm, because: "This server is full; listen at"))
            } else {
                respondAndClose(context: context, .error(403, "Icecast connection limit reached"))
            }
            return
        }
        if peer != socketPeer {
            logger[metadataKey: "proxy"] = "\(socketPeer)"
            guard rules.admits(peer) else {
                logger.info("Request refused by allow-ip/deny-ip")
                respondAndClose(context: context, .error(403, "Forbidden"))
                return
            }
        }
        let request = Request(
            head: head,
            snapshot: snapshot,
            isTLS: transport == .tls,
            peer: peer,
            connectionID: connectionID,
            leftover: leftover,
            shoutcastMount: shoutcastMount,
            logger: logger
        )
        router.responder(for: request).respond(to: request, on: Connection(handler: self, context: context))
    }

    // MARK: Responses

    /// Writes `response`, closes the output side and discards input for a short while before closing.
    ///
    /// One exception: on a connection the client upgraded to TLS, a `401` challenge leaves it open for the next
    /// request. libshout sends its login on the same connection; were it closed, libshout would connect anew,
    /// upgrade anew, be challenged anew, and never log in (it keeps no memory of the challenge across connections).
    func respondAndClose(context: ChannelHandlerContext, _ response: IcecastResponse) {
        let configuration = snapshot.configuration
        if upgradedOnRequest, response.status == 401 {
            headTimeout?.cancel()
            let bytes = response.encoded(serverID: configuration.serverID, httpHeaders: configuration.httpHeaders, keepAlive: true)
            if let accessLog = server.accessLog {
                accessLog.record(accessRecord(context: context, status: 401, bytes: bytes.readableBytes))
            }
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            request = nil
            received = nil
            receivedSearched = 0
            state = .awaitingHead
            armHeadTimeout(context: context)
            return
        }
        respondAndClose(
            context: context,
            bytes: response.encoded(serverID: configuration.serverID, httpHeaders: configuration.httpHeaders),
            status: response.status
        )
    }

    func respondAndClose(context: ChannelHandlerContext, bytes: ByteBuffer, status: Int) {
        let channel = context.channel
        beginResponse(context: context)
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let count = bytes.readableBytes
        // A client that never reads does not hold the connection beyond the drain time.
        context.eventLoop.scheduleTask(in: Self.drainTime) { channel.close(promise: nil) }
        channel.writeAndFlush(bytes).whenComplete { _ in
            let (handler, context) = loopBound.value
            handler.finishResponse(context: context, status: status, bytes: count)
        }
    }

    /// A response begins: the header timeout ends and input is discarded from now on.
    func beginResponse(context: ChannelHandlerContext) {
        headTimeout?.cancel()
        releasePending()
        state = .draining(discarded: 0)
        received = nil
        receivedSearched = 0
    }

    /// A response has been written (`bytes` in all): it is logged, the output side is closed, and the connection
    /// closes once the client has read it, or after `drainTime`.
    func finishResponse(context: ChannelHandlerContext, status: Int, bytes: Int) {
        if let accessLog = server.accessLog {
            accessLog.record(accessRecord(context: context, status: status, bytes: bytes))
        }
        let channel = context.channel
        channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
        context.eventLoop.scheduleTask(in: Self.drainTime) {
            channel.close(promise: nil)
        }
    }

    /// A response that keeps the connection open begins (or a wait before it): the header timeout ends, and
    /// `pending` (bytes that came after the head) and whatever arrives meanwhile are kept for the next request.
    func beginKeepAliveResponse(context: ChannelHandlerContext, pending: ByteBuffer) {
        headTimeout?.cancel()
        releasePending()
        state = .answering
        guard pending.readableBytes > 0, received == nil else { return }
        // A client that sends more than a request head ahead is not a player; it is not worth the memory.
        guard pending.readableBytes <= parser.maximumHeadBytes else {
            context.close(promise: nil)
            return
        }
        received = pending
    }

    /// The response begun with `beginKeepAliveResponse` is written (`bytes` in all): it is logged, and the next
    /// request head is read, from the bytes already here if a client sent it early.
    func finishKeepAliveResponse(context: ChannelHandlerContext, status: Int, bytes: Int) {
        guard case .answering = state, context.channel.isActive else { return }
        if let accessLog = server.accessLog {
            accessLog.record(accessRecord(context: context, status: status, bytes: bytes))
        }
        keptAliveResponses += 1
        request = nil
        startedAt = Date()
        // The next request is judged by the configuration in force now (a reload may have changed passwords or
        // address rules). Its wait for a head is bounded by `header-timeout`; it does not count against
        // `max-pending-per-ip`, which is for connections that have not yet sent a request: many players behind
        // one address (a NAT, a cache) each keep a connection open between requests.
        snapshot = server.snapshot
        let socketPeer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        let rules = snapshot.addressRules
        guard rules.isTrustedProxy(socketPeer) || rules.admits(socketPeer) else {
            context.close(promise: nil)
            return
        }
        state = .awaitingHead
        armHeadTimeout(context: context)
        guard received != nil else { return }
        // Bytes that came early stay in `received` (later reads go after them) and are parsed on the next turn of
        // the loop: a client pipelining many requests must not nest one answer inside another.
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loopBound.value
            guard case .awaitingHead = handler.state, handler.received != nil, context.channel.isActive else { return }
            handler.parseReceived(context: context)
        }
    }

    /// Marks the connection as waiting for an authentication answer.
    func beginAuthenticating() {
        state = .authenticating
    }

    /// Marks the connection as belonging to another handler from now on.
    func handOver() {
        state = .handedOver
    }

    /// The access-log entry for this connection's request (`-` for a request that never parsed).
    func accessRecord(context: ChannelHandlerContext, status: Int, bytes: Int) -> AccessRecord {
        let head = request
        return AccessRecord(
            peer: clientAddress ?? context.channel.remoteAddress?.ipAddress ?? "-",
            user: head?["authorization"].flatMap(BasicCredentials.init(authorizationHeader:))?.user,
            started: startedAt,
            method: head?.method ?? "-",
            path: head?.path ?? "-",
            protocolToken: head.map { "\($0.protocolName)/\($0.protocolVersion)" } ?? "-",
            status: status,
            bytes: bytes,
            referer: head?["referer"],
            userAgent: head?["user-agent"]
        )
    }
}
