import NIOCore

/// Bounds a response head: a server that sends header lines without end (or a head larger than any real one)
/// fails the request as soon as it passes `maximumBytes`, instead of filling memory until the head timeout.
/// Leaves the pipeline once the blank line that ends the head has gone through.
final class ResponseHeadLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Larger than any head a stream server sends (Icecast's are well under 2 KiB).
    static let maximumBytes = 64 * 1024

    struct HeadTooLarge: Error, CustomStringConvertible {
        var description: String { "response head larger than \(ResponseHeadLimitHandler.maximumBytes / 1024) KiB" }
    }

    private var count = 0
    /// The last bytes seen, to find `\r\n\r\n` across reads.
    private var tail: UInt32 = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        var ended = false
        for byte in buffer.readableBytesView {
            count += 1
            tail = tail << 8 | UInt32(byte)
            if tail == 0x0D0A_0D0A || tail & 0xFFFF == 0x0A0A {
                ended = true
                break
            }
        }
        if !ended, count > Self.maximumBytes {
            context.fireErrorCaught(HeadTooLarge())
            return
        }
        context.fireChannelRead(data)
        if ended { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }
}
