import FloeCore
import NIOCore
import NIOSSL

/// The first handler of a connection on a socket with TLS (`on` or `auto`): it looks at the first byte, decides
/// whether the connection is TLS or plain HTTP, and leaves.
///
/// Every TLS connection opens with a handshake record, whose first byte is 22 (`0x16`); no HTTP request line
/// starts with it. For TLS, the TLS server handler goes in front of the request-head reader with the context
/// current at that moment. For plain bytes, the request-head reader is told so: on an `auto` socket it serves
/// them, on an `on` socket it answers with an error or, when the client asks (RFC 2817), upgrades to TLS.
/// Either way the first bytes are passed on untouched, and the header timeout that started at accept covers the
/// handshake as well as the request head.
final class TLSSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The first byte of a TLS record carrying a handshake message.
    static let handshakeRecordType: UInt8 = 0x16

    private let mode: TLSMode
    private let contexts: TLSContextStore
    private let requestHead: RequestHeadHandler

    init(mode: TLSMode, contexts: TLSContextStore, requestHead: RequestHeadHandler) {
        self.mode = mode
        self.contexts = contexts
        self.requestHead = requestHead
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        if first == Self.handshakeRecordType, let tls = contexts.context {
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .after(self))
            } catch {
                context.close(promise: nil)
                return
            }
            requestHead.transport = .tls
        } else {
            requestHead.transport = mode == .on ? .plainOnTLSOnlySocket : .plainOnAutoSocket
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// How a connection's bytes arrive.
enum Transport: Equatable {
    /// Plain HTTP on a socket without TLS.
    case plain
    /// Plain HTTP on an `auto` socket: served, or upgraded to TLS when the client asks.
    case plainOnAutoSocket
    /// Plain HTTP on a TLS-only socket: only an upgrade to TLS is served.
    case plainOnTLSOnlySocket
    /// Decrypted by the TLS handler in front of the request-head reader.
    case tls

    /// Whether an RFC 2817 upgrade request switches the connection to TLS (otherwise it is routed like any
    /// request: on a socket without TLS, libshout's probe gets 204 and streams in plain text, as with Icecast 2.4).
    var mayUpgradeToTLS: Bool {
        self == .plainOnAutoSocket || self == .plainOnTLSOnlySocket
    }
}
