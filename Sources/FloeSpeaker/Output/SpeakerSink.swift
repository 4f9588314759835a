import FloeCore
import NIOCore

/// Where a speaker output's audio goes once its schedule releases it: the network (`RTPSender`) or a sound
/// device (`PlaybackSink`). Called on the speaker's event loop only.
protocol SpeakerSink: AnyObject {
    /// Units per second of the positions the sink is given (the schedule's clock rate).
    var clockRate: Int { get }
    /// How far ahead of its due time audio should be handed over.
    var lead: Duration { get }
    /// Called once on the event loop before anything plays (open sockets).
    func prepare()
    func play(_ frame: SpeakerFrame, position: Int64, startsTalkspurt: Bool)
    func playSilence(position: Int64, length: Int64)
    /// The source is late or stalled: nothing will play for a while (send what is pending).
    func gapStarted()
    /// Nothing more will play for now (the source ended): send what is pending, release the device.
    func stop()
    /// The output is going away for good; `done` completes once it has (a device has played out and closed).
    func close(done: EventLoopPromise<Void>)
    /// Counters and problems, for status.
    var report: SpeakerSinkReport { get }
}

/// What a sink has done, for status and metrics.
struct SpeakerSinkReport: Sendable, Equatable {
    var packetsSent = 0
    var bytesSent = 0
    var sendErrors = 0
    /// The last problem (a device that cannot open, an unreachable network), if any.
    var problem: String?
}

extension SpeakerSink {
    func prepare() {}
    func gapStarted() {}
}
