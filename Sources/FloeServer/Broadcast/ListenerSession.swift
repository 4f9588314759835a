import FloeCore
import Foundation
import NIOCore

/// One listener of a mount, owned by the event loop of its channel, and the one handler of its pipeline once its
/// response head is out.
///
/// As a handler it only tells the listener's current broadcaster (which changes when a fallback moves it) when
/// the socket drains or closes, and writes the access-log line at the end: nothing comes in that matters, and the
/// broadcaster drives every write. One object per listener, not two: at ten thousand listeners every object and
/// pipeline context counts.
///
/// A listener is a position in its loop's `BroadcastQueue` plus, when it asked for ICY metadata, an
/// interleaver. It holds no stream bytes of its own. What admin tools show of it (`/admin/listclients`) is kept
/// here too, read on its loop: there is no server-wide listener table to lock.
final class ListenerSession: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    /// Connection number, shown in logs and admin listings.
    let id: Int
    let channel: Channel
    /// The mount the listener asked for. A listener served by a fallback goes home when that mount's source
    /// returns (`fallback-override`).
    let homePath: String
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
    /// The broadcaster the listener belongs to now (it changes when a fallback moves the listener); `nil` once it
    /// has left. The reference cycle with the broadcaster's list lasts exactly as long as the membership.
    var broadcaster: LoopBroadcaster?

    /// Who the listener is, for admin listings.
    let identity: ListenerIdentity
    /// Where the connection is logged when it ends, and the line as it will be (its byte count grows by what the
    /// listener was sent).
    var accessLog: (log: AccessLog, record: AccessRecord)?
    /// Run once when the listener leaves (authentication bookkeeping).
    var onClose: (() -> Void)?
    /// Blocks written between flushes while catching up (``LoopBroadcaster/blocksPerFlush``). Over TLS, one:
    /// NIOSSL encrypts a whole flush into one buffer per connection and keeps that buffer at the largest size
    /// it reached, so a burst flushed four blocks at a time would hold about 32 KiB per TLS listener for good.
    let blocksPerFlush: Int

    init(
        id: Int,
        channel: Channel,
        homePath: String,
        metadataInterval: Int?,
        identity: ListenerIdentity = .unknown,
        isTLS: Bool = false
    ) {
        self.blocksPerFlush = isTLS ? 1 : LoopBroadcaster.blocksPerFlush
        self.id = id
        self.channel = channel
        self.homePath = homePath
        self.identity = identity
        self.interleaver = metadataInterval.map(ICYInterleaver.init(interval:))
    }

    // MARK: Handler

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Players send nothing after the request; whatever arrives is ignored.
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let broadcaster {
            broadcaster.pump(self)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        broadcaster?.remove(self)
        onClose?()
        onClose = nil
        if let (log, record) = accessLog {
            var record = record
            record.bytes += bytesSent
            log.record(record)
            accessLog = nil
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A reset from a vanished player is routine; the close ends the session.
        context.close(promise: nil)
    }

    /// What `/admin/listclients` shows of this listener.
    func info(mount: String) -> ListenerInfo {
        ListenerInfo(
            id: id,
            mount: mount,
            peer: identity.peer,
            userAgent: identity.userAgent,
            user: identity.user,
            connectedAt: identity.connectedAt
        )
    }

    /// The source generation the listener is listening to (see `MountStateMachine.generation`).
    var generation = 0
    /// The stream header (Ogg header pages) this listener has been sent, by id.
    var sentHeaderID: Int?

    /// Whether the listener has yet to be sent its first block of this mount: it starts at a join point.
    var awaitsJoinPoint = true

    /// Writes one block without flushing and moves past it, preceded by the stream header the listener lacks.
    /// Audio slices are shared with every listener. A listener that has not started yet skips blocks that are no
    /// place to start (WebM clusters without a keyframe). Returns whether it wrote the block.
    @discardableResult
    func write(_ block: StreamBlock) -> Bool {
        if awaitsJoinPoint {
            guard block.isJoinPoint else {
                nextSequence = block.sequence + 1
                return false
            }
            awaitsJoinPoint = false
        }
        if let header = block.streamHeader, header.id != sentHeaderID {
            if !block.beginsWithHeader {
                // Through the interleaver like any stream byte: an ICY listener of an Ogg mount counts them too.
                writeAudio(header.bytes, metadata: block.metadata)
            }
            sentHeaderID = header.id
        }
        writeAudio(block.bytes, metadata: block.metadata)
        nextSequence = block.sequence + 1
        return true
    }

    /// Writes audio that is not part of the mount's queue (an intro), counting it for ICY like any audio.
    func writeAudio(_ bytes: ByteBuffer, metadata: ICYMetadata) {
        if interleaver != nil {
            interleaver!.interleave(bytes, metadata: metadata) { piece in
                bytesSent += piece.readableBytes
                channel.write(piece, promise: nil)
            }
        } else {
            bytesSent += bytes.readableBytes
            channel.write(bytes, promise: nil)
        }
    }
}

/// Who a listener is: where it connected from, with what, as whom, and when.
struct ListenerIdentity: Sendable {
    var peer: String
    var userAgent: String?
    var user: String?
    var connectedAt: Date

    static var unknown: ListenerIdentity { ListenerIdentity(peer: "-", userAgent: nil, user: nil, connectedAt: Date()) }
}

/// A listener as admin tools list it.
struct ListenerInfo: Sendable {
    var id: Int
    /// The mount it hears now (its own, or a fallback).
    var mount: String
    var peer: String
    var userAgent: String?
    var user: String?
    var connectedAt: Date
}
