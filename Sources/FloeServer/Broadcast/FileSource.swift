import FloeCore
import Foundation
import Logging
import NIOCore

/// Plays an MP3 file into a mount as if a source were sending it: in real time, paced by the frame clock, looping.
///
/// Used for file fallbacks (`fallback-mount` naming a file under the web root). The file is framed once with
/// the same `SourceIngest` a live source goes through, so its blocks are frame-aligned and carry media times;
/// block *n* of loop *k* is published when `anchor + k × file duration + its media time` comes, never early in
/// a burst and never late by more than a scheduling tick.
final class FileSource: Sendable {
    let mount: Mount
    private let eventLoop: EventLoop
    private let blocks: [SourceIngest.Output]
    private let loopDuration: Duration
    private let state: NIOLoopBoundBox<PlaybackState>

    /// Position in the file and the wall time the first block played at; confined to `eventLoop`.
    private struct PlaybackState {
        var nextBlock = 0
        var loop: Int64 = 0
        var anchor = NIODeadline.now()
        var scheduled: Scheduled<Void>?
        var stopped = false
    }

    /// Frames `bytes` (garbage and tags dropped) and prepares to play them into `mount`. `nil` when the bytes
    /// hold no MPEG audio frame.
    init?(bytes: [UInt8], mount: Mount, eventLoop: EventLoop, blockDuration: Duration) {
        var ingest = SourceIngest(format: .mpeg, blockDuration: blockDuration)
        var blocks = ingest.receive(ByteBuffer(bytes: bytes), at: .uptimeNanoseconds(0))
        blocks += ingest.finish(at: .uptimeNanoseconds(0))
        let media = ingest.clock.mediaTime
        guard !blocks.isEmpty, media > .zero else { return nil }
        self.mount = mount
        self.eventLoop = eventLoop
        self.blocks = blocks
        self.loopDuration = media
        self.state = NIOLoopBoundBox.makeBoxSendingValue(PlaybackState(), eventLoop: eventLoop)
    }

    /// Marks the mount live and starts playing; `false` (and nothing plays) when a source already feeds it.
    func start(sourceID: Int, name: String) -> Bool {
        let descriptor = SourceDescriptor(
            contentType: "audio/mpeg",
            headers: [(name: "ice-name", value: name)],
            peerAddress: "file",
            connectedAt: Date()
        )
        guard mount.sourceConnected(id: sourceID, descriptor: descriptor) == .accept else { return false }
        eventLoop.execute { [self] in
            state.value.anchor = .now()
            publishDueBlocks()
        }
        return true
    }

    /// Stops playing (server shutdown or reload without this fallback).
    func stop(sourceID: Int) {
        eventLoop.execute { [self] in
            state.value.stopped = true
            state.value.scheduled?.cancel()
            mount.sourceDisconnected(id: sourceID, fallback: nil)
        }
    }

    private func publishDueBlocks() {
        guard !state.value.stopped else { return }
        let now = NIODeadline.now()
        while true {
            let due = dueTime(block: state.value.nextBlock, loop: state.value.loop)
            guard due <= now else {
                state.value.scheduled = eventLoop.scheduleTask(deadline: due) { [self] in publishDueBlocks() }
                return
            }
            mount.publish(blocks[state.value.nextBlock])
            state.value.nextBlock += 1
            if state.value.nextBlock == blocks.count {
                state.value.nextBlock = 0
                state.value.loop += 1
            }
        }
    }

    private func dueTime(block: Int, loop: Int64) -> NIODeadline {
        let start = blocks[block].frames.first?.mediaTime ?? .zero
        let offset = loopDuration * Int(loop) + start
        return state.value.anchor + .nanoseconds(offset.nanoseconds)
    }
}
