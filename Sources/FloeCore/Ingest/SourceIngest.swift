import MPEGAudio
import NIOCore

/// Turns the raw bytes of a source connection into blocks ready to publish.
///
/// For MPEG audio and ADTS (AAC) it finds frames (dropping garbage and ID3 tags, never emitting a partial frame),
/// clocks them with a `FrameClock`, and gathers whole frames into blocks of about `blockDuration` of media. Writing to
/// listeners once per block, rather than per read or per frame, is what keeps system calls per listener low.
/// Other formats pass through in blocks of `passthroughBlockBytes`, or whatever arrived within `blockDuration`.
public struct SourceIngest: Sendable {
    /// Media time gathered into one block (framed formats).
    public var blockDuration: Duration
    /// Bytes gathered into one block (pass-through formats).
    public var passthroughBlockBytes: Int
    /// The format being ingested.
    public let format: StreamFormat
    /// The source's media clock.
    public private(set) var clock: FrameClock
    /// Framing counters: frames, garbage and ID3 bytes skipped, resyncs.
    /// For Ogg, `frames` counts pages, and garbage includes pages whose CRC does not match.
    public var framing: FramingStatistics { framer?.statistics ?? pageStatistics }
    /// Total bytes received from the source.
    public private(set) var bytesReceived: Int = 0

    /// Largest block gathered, whatever its play time.
    public static let maximumBlockBytes = 256 * 1024

    /// The synchroniser of a framed format; `nil` for Ogg and pass-through.
    private var framer: AudioFramer?
    /// The codec of the frames lately gathered ("MPEG-1 Layer III", "AAC-LC").
    private var framedCodec: String?
    /// Ogg: pages found, bytes skipped, and times a run of pages was broken by garbage.
    private var pageStatistics = FramingStatistics()
    private var lastScanWasPage = false
    /// Bytes received but not yet framed.
    private var pending: ByteBuffer
    /// The block being gathered.
    private var block: ByteBuffer
    private var blockFrames: [FrameSpan] = []
    private var blockMedia: Duration = .zero
    private var blockStartedAt: NIODeadline?

    public init(
        format: StreamFormat,
        blockDuration: Duration = .milliseconds(500),
        passthroughBlockBytes: Int = 8192,
        clock: FrameClock = FrameClock()
    ) {
        self.format = format
        self.blockDuration = blockDuration
        self.passthroughBlockBytes = passthroughBlockBytes
        self.clock = clock
        switch format {
        case .mpeg: self.framer = .mpeg(MPEGFrameSynchronizer())
        case .aac: self.framer = .adts(ADTSFrameSynchronizer())
        case .ogg, .webm, .passthrough: self.framer = nil
        }
        self.pending = ByteBufferAllocator().buffer(capacity: 8192)
        self.block = ByteBufferAllocator().buffer(capacity: 8192)
    }

    /// A gathered block before the mount gives it a sequence number and the current title.
    public struct Output: Sendable {
        public var bytes: ByteBuffer
        public var frames: [FrameSpan]
        /// The header this block's data needs (Ogg), and whether the block starts with it.
        public var streamHeader: StreamHeader? = nil
        public var beginsWithHeader = false
        /// Ogg: the codec and tags of a chain whose first audio this block holds (each new chain's, once).
        public var chainTags: OggStreamTags? = nil
        /// Whether a listener may start with this block. Always, except in WebM, where a block that does not open
        /// with a keyframe cluster is no place to start.
        public var isJoinPoint = true
        /// Ogg and WebM: the block's play time by the stream's own timestamps, `nil` when it has none. Ogg counts its
        /// audio stream's granule positions; WebM credits each cluster's Timecode step to the block being gathered
        /// when the next cluster starts.
        public var mediaDuration: Duration? = nil
    }

    /// WebM: the element framer, and whether the block being gathered opens with a joinable cluster.
    private var matroska = MatroskaFramer()
    private var blockIsJoinPoint = false

    /// Ogg: the codec and tags of the current chain.
    public private(set) var oggTags: OggStreamTags?
    /// Ogg: tags of a chain whose first block has not been taken yet.
    private var pendingChainTags: OggStreamTags?
    /// Ogg: the current chain's clock, which also drives `clock` (media time, bitrate and pace, as for frames).
    private var oggClock: OggGranuleClock?
    /// Ogg and WebM: whether the current stream's blocks are timed by its own timestamps (an Ogg chain with a
    /// known granule rate; a WebM stream once a step between cluster Timecodes was read).
    private var blocksAreTimed = false
    /// WebM: bytes relayed since the last cluster whose step was counted, for the clock's bitrate.
    private var clusterBytes = 0

    /// The header every listener needs first: an Ogg chain's header pages (complete once the first data page
    /// arrives), or a WebM stream's EBML header, Segment and description (complete at the first cluster).
    private var currentHeader: StreamHeader?
    /// A header still being collected, and whether it goes in-band (an Ogg chain or WebM stream after the first).
    private var collectingHeader: ByteBuffer?
    private var collectingInBand = false
    /// WebM: whether the header being collected has its Segment; a source repeating the Segment's ID before the
    /// first cluster does not grow the header with more.
    private var collectingHasSegment = false
    private var blockBeginsWithHeader = false

    /// Takes the bytes of one read and returns the blocks that became complete (usually none or one).
    public mutating func receive(_ incoming: ByteBuffer, at now: NIODeadline) -> [Output] {
        bytesReceived += incoming.readableBytes
        var incoming = incoming
        if case .passthrough = format {
            if blockStartedAt == nil { blockStartedAt = now }
            block.writeBuffer(&incoming)
            return isBlockDue(at: now) ? [takeBlock()] : []
        }
        pending.writeBuffer(&incoming)
        switch format {
        case .mpeg, .aac: return frameAndGather(at: now, isEndOfStream: false)
        case .ogg: return paginate(at: now)
        case .webm: return gatherClusters(at: now)
        case .passthrough: return []
        }
    }

    /// The bytes that follow come from another stream of the same format (a relay's next upstream): the old
    /// stream's partial frame or page is dropped, and the frames gathered so far are returned as a block of their
    /// own, so that everything framed from the old stream is published before the new one starts (a relay aligns
    /// the new stream on the last bytes published). The clock carries on.
    public mutating func startNewStream() -> [Output] {
        pending.clear()
        framer?.startNewStream()
        matroska.startNewStream()
        lastScanWasPage = false
        return cutBlock()
    }

    /// Closes the block being gathered, so that what follows starts a block of its own: for a title that changes
    /// between them (a transcoder's audio gathered from the origin's blocks before the origin's title changed).
    /// Bytes not framed yet (a partial frame) stay for the next block.
    public mutating func cutBlock() -> [Output] {
        block.readableBytes > 0 ? [takeBlock()] : []
    }

    /// Called when the source has ended: returns whatever whole frames (or bytes) remain as a final block.
    public mutating func finish(at now: NIODeadline) -> [Output] {
        var outputs: [Output] = []
        if format.isFramed {
            outputs = frameAndGather(at: now, isEndOfStream: true)
        }
        return outputs + cutBlock()
    }

    private mutating func frameAndGather(at now: NIODeadline, isEndOfStream: Bool) -> [Output] {
        var outputs: [Output] = []
        while pending.readableBytes > 0 {
            let step = pending.withUnsafeReadableBytes { framer!.step($0, isEndOfStream: isEndOfStream) }
            switch step {
            case .needMoreData:
                compactPending()
                return outputs
            case .skip(let count):
                pending.moveReaderIndex(forwardBy: count)
            case .frame(let frame):
                if blockFrames.isEmpty {
                    // Once per block: what the frames are, for status pages.
                    let name = pending.withUnsafeReadableBytes { AudioFramer.codecName(ofFrameAt: $0) }
                    if name != framedCodec { framedCodec = name }
                }
                let time: FrameClock.FrameTime
                if frame.samples > 0 {
                    time = clock.record(samples: frame.samples, sampleRate: frame.sampleRate, bytes: frame.length, at: now)
                } else {
                    time = .init(mediaTime: clock.mediaTime, duration: .zero, deadline: now)
                }
                blockFrames.append(
                    FrameSpan(
                        offset: block.readableBytes,
                        length: frame.length,
                        mediaTime: time.mediaTime,
                        duration: time.duration
                    )
                )
                var slice = pending.readSlice(length: frame.length)!
                block.writeBuffer(&slice)
                blockMedia += time.duration
                // The byte cap matters only for frames without play time (Xing/Info/VBRI): a source sending
                // nothing else must not grow a block without bound.
                if blockMedia >= blockDuration || block.readableBytes >= Self.maximumBlockBytes {
                    outputs.append(takeBlock())
                }
            }
        }
        compactPending()
        return outputs
    }

    /// Keeps the pending buffer from growing: its unread tail is at most one partial frame.
    private mutating func compactPending() {
        if pending.readerIndex > 64 * 1024 || pending.readableBytes == 0 {
            pending.discardReadBytes()
        }
    }

    /// Ogg: whole pages into blocks; the header pages of each chain (its BOS page and the pages after it up to the
    /// first page with a positive granule position) are set aside as the chain's `StreamHeader`. The first
    /// chain's header is not part of any block (listeners get it before their first block); a later chain's
    /// header also goes in-band, at the start of a block, for the listeners already playing.
    private mutating func paginate(at now: NIODeadline) -> [Output] {
        var outputs: [Output] = []
        while pending.readableBytes > 0 {
            let scan = pending.withUnsafeReadableBytes { OggPage.scan($0) }
            switch scan {
            case .needMoreData:
                compactPending()
                return outputs
            case .garbage(let count):
                skipGarbage(count)
            case .page(let page):
                countUnit()
                var bytes = pending.readSlice(length: page.length)!
                if page.isBeginningOfStream, collectingHeader == nil {
                    startHeader(ByteBuffer(), outputs: &outputs)
                }
                if collectingHeader != nil {
                    let isData = !page.isBeginningOfStream && page.granulePosition != 0 && page.granulePosition != .max
                    if !isData {
                        collectingHeader!.writeImmutableBuffer(bytes)
                        if collectingHeader!.readableBytes > Self.maximumBlockBytes {
                            // Not a real header: relay the pages as data rather than keep them all.
                            var pages = collectingHeader!
                            collectingHeader = nil
                            block.writeBuffer(&pages)
                        }
                        continue
                    }
                    completeHeader()
                    oggTags = OggStreamTags(headerPages: currentHeader!.bytes)
                    pendingChainTags = oggTags
                    oggClock = oggTags.flatMap(OggGranuleClock.init)
                    blocksAreTimed = oggClock != nil
                }
                if let counted = oggClock?.advance(by: page) {
                    let time = clock.record(samples: counted.samples, sampleRate: oggClock!.rate, bytes: counted.bytes, at: now)
                    blockMedia += time.duration
                }
                if blockStartedAt == nil { blockStartedAt = now }
                block.writeBuffer(&bytes)
                if isBlockDue(at: now) {
                    outputs.append(takeBlock())
                }
            }
        }
        compactPending()
        return outputs
    }

    /// WebM: the stream's header elements and where listeners may start; see `MatroskaFramer`. Blocks close
    /// every `blockDuration` or `passthroughBlockBytes` as for other unframed formats, and say whether they open
    /// with a joinable cluster, so a listener can wait for one.
    private mutating func gatherClusters(at now: NIODeadline) -> [Output] {
        var outputs: [Output] = []
        while pending.readableBytes > 0 {
            let step = pending.withUnsafeReadableBytes { matroska.step($0) }
            switch step {
            case .needMoreData:
                compactPending()
                return outputs
            case .garbage(let count):
                skipGarbage(count)
            case .drop(let count):
                pending.moveReaderIndex(forwardBy: count)
            case .streamStart(let count):
                startHeader(pending.readSlice(length: count)!, outputs: &outputs)
            case .segmentStart(let count):
                pending.moveReaderIndex(forwardBy: count)
                if collectingHeader != nil, !collectingHasSegment {
                    collectingHeader!.writeBytes(MatroskaFramer.unknownSizeSegment)
                    collectingHasSegment = true
                }
            case .headerElement(let count):
                var element = pending.readSlice(length: count)!
                if collectingHeader != nil, collectingHeader!.readableBytes + count <= Self.maximumBlockBytes {
                    collectingHeader!.writeBuffer(&element)
                }
            case .clusterStart(let count, let joinable, let elapsed):
                countUnit()
                // The step since the last cluster is that cluster's play time: it goes to the block being
                // gathered (before any split here), which holds the cluster's end unless a block closed exactly
                // there. A cluster cut into several blocks credits the last; totals stay right.
                if let elapsed {
                    blockMedia += elapsed
                    blocksAreTimed = true
                    // The clock counts microseconds here: media time, bitrate and pace as for frames (status
                    // shows no sample rate for WebM).
                    _ = clock.record(samples: Int(elapsed.nanoseconds / 1000), sampleRate: 1_000_000, bytes: clusterBytes, at: now)
                    clusterBytes = 0
                }
                clusterBytes += count
                if collectingHeader != nil {
                    // The header is complete at the first cluster.
                    outputs += cutBlock()
                    completeHeader()
                } else if joinable, block.readableBytes > 0, !blockIsJoinPoint || isBlockDue(at: now, fraction: 4) {
                    // A place to start begins a block of its own, unless the block so far is a tiny one that
                    // itself began at a place to start.
                    outputs.append(takeBlock())
                }
                if block.readableBytes == blockHeaderBytes { blockIsJoinPoint = joinable }
                var bytes = pending.readSlice(length: count)!
                if blockStartedAt == nil { blockStartedAt = now }
                block.writeBuffer(&bytes)
            case .data(let count):
                clusterBytes += count
                var bytes = pending.readSlice(length: count)!
                if blockStartedAt == nil { blockStartedAt = now }
                block.writeBuffer(&bytes)
                // Listeners get stream at least every block duration, in the middle of a cluster if need be.
                if isBlockDue(at: now) || block.readableBytes >= Self.maximumBlockBytes {
                    outputs.append(takeBlock())
                }
            }
        }
        compactPending()
        return outputs
    }

    /// What a status page shows of this ingest now; `pace` is the caller's (it keeps hysteresis between reports).
    public func statistics(at now: NIODeadline, pace: FrameClock.Pace) -> SourceStatistics {
        let framing = framing
        return SourceStatistics(
            bytesRead: bytesReceived,
            frames: framing.frames,
            garbageBytes: framing.garbageBytes,
            id3Bytes: framing.id3Bytes,
            resyncs: framing.resyncs,
            measuredBitrate: clock.measuredBitrate,
            realTimeRatio: clock.realTimeRatio(at: now),
            pace: pace,
            mediaTime: clock.mediaTime,
            sampleRate: format == .webm ? 0 : clock.sampleRate,
            codec: oggTags?.codec.rawValue ?? framedCodec
        )
    }

    /// Ogg and WebM: a new chain or stream starts with `first`, its first header bytes; what came before goes out
    /// under the old header.
    private mutating func startHeader(_ first: ByteBuffer, outputs: inout [Output]) {
        outputs += cutBlock()
        // The new chain or stream is timed by its own timestamps, if at all.
        oggClock = nil
        blocksAreTimed = false
        collectingHeader = first
        collectingHasSegment = false
        collectingInBand = currentHeader != nil
    }

    /// Ogg and WebM: the header collected is complete. It becomes the current one, and goes in-band at the start of
    /// the block being gathered (empty here) for a chain or stream after the first.
    private mutating func completeHeader() {
        let header = StreamHeader(id: (currentHeader?.id ?? 0) + 1, bytes: collectingHeader!)
        collectingHeader = nil
        currentHeader = header
        if collectingInBand {
            var inBand = header.bytes
            block.writeBuffer(&inBand)
            blockBeginsWithHeader = true
        }
    }

    /// Ogg and WebM: drops bytes that are not stream, counting them (and a lost run of pages or clusters).
    private mutating func skipGarbage(_ count: Int) {
        pending.moveReaderIndex(forwardBy: count)
        pageStatistics.garbageBytes += count
        if lastScanWasPage { pageStatistics.resyncs += 1 }
        lastScanWasPage = false
    }

    /// Ogg and WebM: a page or a cluster found.
    private mutating func countUnit() {
        pageStatistics.frames += 1
        lastScanWasPage = true
    }

    /// Bytes of in-band header at the start of the block being gathered (0 unless it begins a new WebM stream).
    private var blockHeaderBytes: Int { blockBeginsWithHeader ? currentHeader?.bytes.readableBytes ?? 0 : 0 }

    /// Whether the block being gathered is big enough or old enough to go out (or a `fraction` of that).
    private func isBlockDue(at now: NIODeadline, fraction: Int = 1) -> Bool {
        block.readableBytes >= passthroughBlockBytes / fraction
            || blockStartedAt.map { now - $0 >= .nanoseconds(blockDuration.nanoseconds / Int64(fraction)) } ?? false
    }

    private mutating func takeBlock() -> Output {
        var output = Output(bytes: block, frames: blockFrames)
        output.isJoinPoint = format != .webm || blockIsJoinPoint
        blockIsJoinPoint = false
        output.streamHeader = currentHeader
        output.beginsWithHeader = blockBeginsWithHeader
        output.chainTags = pendingChainTags
        if blocksAreTimed { output.mediaDuration = blockMedia }
        blockBeginsWithHeader = false
        pendingChainTags = nil
        block = ByteBufferAllocator().buffer(capacity: max(8192, output.bytes.readableBytes + 1024))
        blockFrames = []
        blockMedia = .zero
        blockStartedAt = nil
        return output
    }
}
