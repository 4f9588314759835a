import FloeCore
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// A mount's HLS rendition: an `HLSSegmenter` fed with the blocks the mount publishes (a `MountOutput`, so it
/// follows the mount's listeners to a fallback and back, marking each change as a discontinuity), and the
/// requests waiting for a segment or part that does not exist yet (blocking playlist reloads, preload hints).
///
/// One lock guards it all. It is taken once per published block (about twice a second) and once per HLS request;
/// the stream's bytes are never copied per request: responses write the parts' buffers, which every request
/// shares.
final class HLSStream: MountOutput {
    let home: Mount
    let placement = MountOutputPlacement()
    /// An id of this server run in every resource name, so caches never mix two runs' segments.
    let streamID: String
    /// Blocking requests held at once, beyond which new ones are refused (503) rather than queued.
    static let maximumWaiters = 10_000

    private struct Waiter {
        var id: Int
        var segment: Int
        var part: Int?
        var promise: EventLoopPromise<Bool>
        /// The waiting request's connection.
        var channel: Channel
    }

    private struct State {
        var configuration: HLSConfiguration
        var segmenter: HLSSegmenter
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        /// The rendered playlist, until the next part changes it.
        var playlist: ByteBuffer?
        /// When a part was last finished: an idle stream of a mount nobody configured may be retired.
        var lastPart: NIODeadline?
        /// Client addresses and when each was last seen, for the listener estimate.
        var clients: [String: NIODeadline] = [:]
        var requests = HLSRequestCounts()
    }

    private let state: NIOLockedValueBox<State>

    init(home: Mount, configuration: HLSConfiguration) {
        self.home = home
        let id = String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36)
        streamID = id
        state = NIOLockedValueBox(State(configuration: configuration, segmenter: HLSSegmenter(configuration: configuration)))
    }

    var configuration: HLSConfiguration { state.withLockedValue { $0.configuration } }

    /// Applies a reloaded configuration. Turning HLS on or off and changing the window keep the stream as it is.
    /// A change of durations or format starts a new window (players reload): the segments so far are dropped and
    /// the sequence runs on after a discontinuity.
    func reconfigure(_ configuration: HLSConfiguration) {
        state.withLockedValue { state in
            guard state.configuration != configuration else { return }
            var unchanged = state.configuration
            unchanged.enabled = configuration.enabled
            unchanged.window = configuration.window
            guard unchanged != configuration else {
                state.configuration = configuration
                state.segmenter.setWindow(configuration.window)
                state.playlist = nil
                return
            }
            let segmenter = HLSSegmenter(configuration: configuration, continuing: state.segmenter)
            state.configuration = configuration
            state.segmenter = segmenter
            state.playlist = nil
        }
    }

    // MARK: MountOutput

    func receive(_ block: StreamBlock, from mount: Mount) {
        let satisfied = state.withLockedValue { state -> [EventLoopPromise<Bool>] in
            guard state.configuration.enabled, state.segmenter.append(block, at: Date()) else { return [] }
            state.playlist = nil
            state.lastPart = .now()
            return Self.takeSatisfied(&state)
        }
        Self.answer(satisfied)
    }

    /// Completes waiting requests on their own loops, later: the caller may hold a mount's locks (a block being
    /// published), and a request answered inline could reach for them again.
    private static func answer(_ promises: [EventLoopPromise<Bool>]) {
        for promise in promises {
            promise.futureResult.eventLoop.execute { promise.succeed(true) }
        }
    }

    func endOfSource() {
        let satisfied = state.withLockedValue { state -> [EventLoopPromise<Bool>] in
            state.segmenter.endOfStream()
            state.playlist = nil
            return Self.takeSatisfied(&state)
        }
        Self.answer(satisfied)
    }

    func followsAnotherMount() {
        endOfSource()
    }

    private static func takeSatisfied(_ state: inout State) -> [EventLoopPromise<Bool>] {
        var satisfied: [EventLoopPromise<Bool>] = []
        state.waiters.removeAll { waiter in
            guard state.segmenter.satisfies(segment: waiter.segment, part: waiter.part) else { return false }
            satisfied.append(waiter.promise)
            return true
        }
        return satisfied
    }

    // MARK: Requests

    /// Whether the stream has anything to serve: enabled, and at least one segment finished.
    var isServing: Bool {
        state.withLockedValue { $0.configuration.enabled && $0.segmenter.lastSequence != nil }
    }

    /// Whether the playlist lists enough segments for every player to start (Chromium wants three).
    var isReadyForPlayers: Bool {
        state.withLockedValue { $0.configuration.enabled && $0.segmenter.windowSegments.count >= 3 }
    }

    /// Whether a part was finished within the live window's duration: the stream is in use, or was a moment ago.
    var isRecent: Bool {
        state.withLockedValue { state in
            guard let last = state.lastPart else { return false }
            let window = state.configuration.segmentDuration * state.configuration.window
            return NIODeadline.now() - last < .nanoseconds(window.nanoseconds)
        }
    }

    /// The playlist as it is now (rendered once per change, shared by every request until the next).
    func playlist() -> ByteBuffer {
        state.withLockedValue { state in
            if let playlist = state.playlist { return playlist }
            let names = HLSNames(mount: home.path, streamID: streamID)
            let playlist = ByteBuffer(string: HLSPlaylist.render(state.segmenter, names: names))
            state.playlist = playlist
            return playlist
        }
    }

    /// What a blocking request for segment `segment` (part `part`) can expect.
    enum Availability {
        /// It exists now.
        case ready
        /// It may exist within a few seconds: wait.
        case soon
        /// Too far ahead to wait for (`_HLS_msn` more than two segments past the newest), or negative.
        case tooFar
    }

    func availability(segment: Int, part: Int?) -> Availability {
        state.withLockedValue { state in
            let segmenter = state.segmenter
            if segment < 0 || (part ?? 0) < 0 { return .tooFar }
            if segmenter.satisfies(segment: segment, part: part) { return .ready }
            // "More than two segments past the last in the playlist"; counted from the segment being built, so a
            // window just emptied by a reload does not turn a player's next request into an error.
            if let part, part > segmenter.maximumPartsPerSegment { return .tooFar }
            return segment > segmenter.nextSequence + 1 ? .tooFar : .soon
        }
    }

    /// Waits on `eventLoop` until segment `segment` (part `part`) exists or `timeout` passes; the future says
    /// whether it exists. Nothing blocks a thread: the request is a promise in the waiters' list and a timer.
    /// When the waiters fill up, those whose connections have closed (`channel`) give up their places first, so
    /// clients that came and went cannot keep others out.
    func wait(
        forSegment segment: Int,
        part: Int?,
        timeout: TimeAmount,
        channel: Channel,
        on eventLoop: EventLoop
    ) -> EventLoopFuture<Bool> {
        let promise = eventLoop.makePromise(of: Bool.self)
        enum Outcome { case ready, waiting(id: Int), full }
        var gone: [EventLoopPromise<Bool>] = []
        defer { for promise in gone { promise.futureResult.eventLoop.execute { promise.succeed(false) } } }
        let outcome = state.withLockedValue { state -> Outcome in
            if state.segmenter.satisfies(segment: segment, part: part) { return .ready }
            if state.waiters.count >= Self.maximumWaiters {
                state.waiters.removeAll { waiter in
                    guard !waiter.channel.isActive else { return false }
                    gone.append(waiter.promise)
                    return true
                }
            }
            guard state.waiters.count < Self.maximumWaiters else { return .full }
            let id = state.nextWaiterID
            state.nextWaiterID += 1
            state.waiters.append(Waiter(id: id, segment: segment, part: part, promise: promise, channel: channel))
            return .waiting(id: id)
        }
        switch outcome {
        case .ready:
            promise.succeed(true)
        case .waiting(let id):
            let give = { @Sendable [self] in
                let removed = state.withLockedValue { state -> Bool in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return false }
                    state.waiters.remove(at: index)
                    return true
                }
                if removed { promise.succeed(false) }
            }
            let timer = eventLoop.scheduleTask(in: timeout, give)
            promise.futureResult.whenComplete { _ in timer.cancel() }
        case .full:
            promise.succeed(false)
        }
        return promise.futureResult
    }

    /// A finished segment, or `nil` when it is not kept (or belongs to another run, or another format).
    func segment(_ sequence: Int, streamID: String, fileExtension: String) -> HLSSegment? {
        guard streamID == self.streamID else { return nil }
        return state.withLockedValue { state in
            guard state.configuration.enabled, let segment = state.segmenter.segment(sequence) else { return nil }
            return segment.fileExtension == fileExtension ? segment : nil
        }
    }

    /// A part, or `nil` when it is not kept (or belongs to another run, or another format).
    func part(_ sequence: Int, index: Int, streamID: String, fileExtension: String) -> HLSPart? {
        guard streamID == self.streamID else { return nil }
        return state.withLockedValue { state in
            guard state.configuration.enabled, let part = state.segmenter.part(segment: sequence, index: index) else { return nil }
            return part.fileExtension == fileExtension ? part : nil
        }
    }

    /// Whether `(sequence, index)` is the part the playlist hints at next (a request for it waits for it).
    func isNextPart(_ sequence: Int, index: Int, streamID: String, fileExtension: String) -> Bool {
        guard streamID == self.streamID else { return false }
        return state.withLockedValue { state in
            let next = state.segmenter.nextPart
            return state.configuration.enabled && state.segmenter.nextFileExtension == fileExtension
                && next.segment == sequence && next.index == index
        }
    }

    // MARK: Counting

    /// Counts a request from `client`.
    func recordRequest(_ kind: HLSRequestCounts.Kind, client: String) {
        let now = NIODeadline.now()
        state.withLockedValue { state in
            state.requests.add(kind)
            state.clients[client] = now
            if state.clients.count > 4 * 1024, state.clients.count.isMultiple(of: 1024) {
                Self.forgetIdleClients(&state, now: now)
            }
        }
    }

    /// Requests so far, by kind.
    var requestCounts: HLSRequestCounts { state.withLockedValue { $0.requests } }

    /// Distinct clients seen within the last target duration × window: an estimate of HLS listeners (behind a
    /// cache, the cache counts as one).
    var estimatedListeners: Int {
        state.withLockedValue { state in
            Self.forgetIdleClients(&state, now: .now())
            return state.clients.count
        }
    }

    private static func forgetIdleClients(_ state: inout State, now: NIODeadline) {
        let span = TimeAmount.seconds(Int64(state.configuration.targetDurationSeconds * state.configuration.window))
        state.clients = state.clients.filter { now - $0.value < span }
    }
}

/// HLS requests a mount answered, by kind.
struct HLSRequestCounts: Sendable, Equatable {
    enum Kind: Sendable {
        case playlist, segment, part
    }

    var playlists = 0
    var segments = 0
    var parts = 0

    mutating func add(_ kind: Kind) {
        switch kind {
        case .playlist: playlists += 1
        case .segment: segments += 1
        case .part: parts += 1
        }
    }

    var total: Int { playlists + segments + parts }
}
