import FloeCore
import FloeFEC
import Logging
import NIOCore

/// Sends a mount's MP3 frames as Floe's FEC stream (see `FECPacket`): groups of whole frames, each cut into k
/// data slices plus n − k parity slices, one slice per UDP datagram, unicast or multicast.
///
/// Frames arrive from the speaker's schedule at their play time, so a group is finished when its last frame plays.
/// Its n packets then go out evenly over the group's own play time (one every duration ÷ n), not in a burst: a
/// burst would be lost together to one short outage, and would need receive buffers the size of a group. When the
/// source ends, the last group goes out the same way, followed by an end-of-stream packet.
final class FECSender: SpeakerSink {
    let output: FECOutput
    /// Positions are not used for FEC; frames carry their own durations.
    let clockRate = 90_000
    let lead: Duration = .zero
    private let eventLoop: EventLoop
    private let logger: Logger
    private let socket: UDPOutput
    private var encoder: FECGroupEncoder?
    private var codeProblem: String?
    /// When the last scheduled packet goes out: the end-of-stream packet follows it.
    private var lastSendTime = NIODeadline.uptimeNanoseconds(0)
    private var scheduled: [Scheduled<Void>] = []

    var report: SpeakerSinkReport {
        var report = socket.report
        report.problem = codeProblem ?? report.problem
        return report
    }

    init(output: FECOutput, eventLoop: EventLoop, logger: Logger) {
        self.output = output
        self.eventLoop = eventLoop
        self.logger = logger
        self.socket = UDPOutput(eventLoop: eventLoop, address: output.address, port: output.port)
        do {
            let code = try ErasureCode(dataSlices: output.dataSlices, totalSlices: output.totalSlices)
            encoder = FECGroupEncoder(code: code, maximumSliceBytes: output.maximumSliceBytes, firstGroupNumber: .random(in: 0...UInt32.max))
        } catch {
            codeProblem = "\(error)"
        }
    }

    func prepare() {
        socket.open(multicast: output.isMulticast, ttl: output.ttl, interface: output.interface, logger: logger)
    }

    func play(_ frame: SpeakerFrame, position: Int64, startsTalkspurt: Bool) {
        guard var encoder else { return }
        let microseconds = UInt64(frame.samples) * 1_000_000 / UInt64(frame.sampleRate)
        let group = encoder.append(frame: Array(frame.bytes.readableBytesView), durationMicroseconds: microseconds)
        self.encoder = encoder
        if let group { spread(group) }
    }

    func playSilence(position: Int64, length: Int64) {}

    /// A stalled source: the group gathered so far goes out now, rather than when audio resumes.
    func gapStarted() {
        guard var encoder else { return }
        let group = encoder.finishGroup()
        self.encoder = encoder
        if let group { spread(group) }
    }

    func stop() {
        guard var encoder else { return }
        let (last, endOfStream) = encoder.endOfStream()
        self.encoder = encoder
        if let last { spread(last) }
        let packet = ByteBuffer(bytes: endOfStream.serialized())
        schedule(at: max(lastSendTime, .now())) { [socket] in socket.send([packet]) }
    }

    func close(done: EventLoopPromise<Void>) {
        // Whatever is still scheduled goes out now: the output is going away.
        for task in scheduled { task.cancel() }
        scheduled.removeAll()
        stop()
        socket.close()
        done.succeed()
    }

    /// Schedules the group's packets one every duration ÷ n from now (or from when the previous group's last
    /// packet goes, should groups overlap).
    private func spread(_ group: FECGroupEncoder.Group) {
        let start = max(.now(), lastSendTime)
        let interval = Int64(group.durationMicroseconds) * 1_000 / Int64(group.packets.count)
        for (index, packet) in group.packets.enumerated() {
            let datagram = ByteBuffer(bytes: packet.serialized())
            let due = start + .nanoseconds(interval * Int64(index))
            schedule(at: due) { [socket] in socket.send([datagram]) }
        }
        lastSendTime = start + .nanoseconds(interval * Int64(group.packets.count))
    }

    private func schedule(at deadline: NIODeadline, _ work: @escaping () -> Void) {
        if deadline <= .now() {
            work()
            return
        }
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        let send = NIOLoopBound(work, eventLoop: eventLoop)
        let task = eventLoop.scheduleTask(deadline: deadline) {
            send.value()
            this.value.scheduled.removeFirst()
        }
        scheduled.append(task)
    }
}
