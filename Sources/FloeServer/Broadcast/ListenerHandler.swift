import Foundation
import NIOCore

/// The pipeline of a listener after its response head: nothing comes in that matters, and the broadcaster
/// drives every write. This handler only tells the listener's current broadcaster (which changes when a fallback
/// moves it) when the socket drains or closes, and writes the access-log line at the end.
final class ListenerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let session: ListenerSession
    private let accessLog: AccessLog?
    /// The request as logged; its byte count grows by what the listener was sent.
    private let accessRecord: AccessRecord
    /// Run once when the listener leaves (authentication bookkeeping).
    private let onClose: (() -> Void)?

    init(session: ListenerSession, accessLog: AccessLog?, accessRecord: AccessRecord, onClose: (() -> Void)? = nil) {
        self.session = session
        self.onClose = onClose
        self.accessLog = accessLog
        self.accessRecord = accessRecord
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Players send nothing after the request; whatever arrives is ignored.
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let broadcaster = session.broadcaster {
            broadcaster.pump(session)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.broadcaster?.remove(session)
        onClose?()
        if let accessLog {
            var record = accessRecord
            record.bytes += session.bytesSent
            accessLog.record(record)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A reset from a vanished player is routine; the close ends the session.
        context.close(promise: nil)
    }
}
