import FloeCore
import NIOCore

/// One listener of a mount, owned by the event loop of its channel.
///
/// A listener is a position in its loop's `BroadcastQueue` plus, when it asked for ICY metadata, an
/// interleaver. It holds no stream bytes of its own.
final class ListenerSession {
    /// Connection number, shown in logs and admin listings.
    let id: Int
    let channel: Channel
    /// Sequence of the next block to send.
    var nextSequence: Int = 0
    /// Present when the listener sent `Icy-MetaData: 1` and the format allows it.
    var interleaver: ICYInterleaver?
    /// Stream bytes handed to the channel (metadata included).
    var bytesSent: Int = 0
    /// Set when the session was removed from its broadcaster, so it is counted out exactly once.
    var isDetached = false
    /// Index in the broadcaster's listener array, for O(1) removal.
    var slot = -1

    init(id: Int, channel: Channel, metadataInterval: Int?) {
        self.id = id
        self.channel = channel
        self.interleaver = metadataInterval.map(ICYInterleaver.init(interval:))
    }

    /// Writes one block (or the tail of one) without flushing. Audio slices are shared with every listener.
    func write(_ block: StreamBlock) {
        if interleaver != nil {
            interleaver!.interleave(block.bytes, metadata: block.metadata) { piece in
                bytesSent += piece.readableBytes
                channel.write(piece, promise: nil)
            }
        } else {
            bytesSent += block.bytes.readableBytes
            channel.write(block.bytes, promise: nil)
        }
        nextSequence = block.sequence + 1
    }
}
