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
/// source ends, the last group goes out the same way, followed by an end-of-stream packet (three copies).
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
    /// When the last queued packet goes out: the next group's (or the end-of-stream packet) follow it.
    private var lastSendTime = NIODeadline.uptimeNanoseconds(0)
    /// Datagrams waiting for their time, in time order, and the timer for the first.
    private var queue: [(due: NIODeadline, datagram: ByteBuffer)] = []
    private var timer: (deadline: NIODeadline, task: Scheduled<Void>)?
    /// Whether groups have gone out since the last end-of-stream packet.
    private var streamOpen = false

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
        // Only a stream that sent something ends: no end-of-stream for an output that never played, nor twice.
        guard streamOpen else { return }
        streamOpen = false
        // Sent three times, 20 ms apart: one lost packet must not leave receivers waiting.
        let start = max(lastSendTime, .now())
        let datagram = ByteBuffer(bytes: endOfStream.serialized())
        enqueue((0..<3).map { copy in (start + .milliseconds(Int64(20 * copy)), datagram) })
    }

    /// Going away (a reload removed the output, or the server stops): everything still queued, the last group
    /// and the end-of-stream packet go out now, so receivers lose nothing and learn that the stream ended.
    func close(done: EventLoopPromise<Void>) {
        stop()
        timer?.task.cancel()
        timer = nil
        let written = socket.send(queue.map(\.datagram))
        queue.removeAll()
        // Closed once the kernel has the last datagram (the end of stream), so closing cannot discard it.
        let socket = NIOLoopBound(self.socket, eventLoop: eventLoop)
        if let written {
            written.whenComplete { _ in
                socket.value.close()
                done.succeed()
            }
        } else {
            socket.value.close()
            done.succeed()
        }
    }

    /// Queues the group's packets one every duration ÷ n from now (or from when the previous group's last packet
    /// goes, should groups overlap).
    private func spread(_ group: FECGroupEncoder.Group) {
        streamOpen = true
        let start = max(.now(), lastSendTime)
        let interval = Int64(group.durationMicroseconds) * 1_000 / Int64(group.packets.count)
        enqueue(
            group.packets.enumerated().map { index, packet in
                (start + .nanoseconds(interval * Int64(index)), ByteBuffer(bytes: packet.serialized()))
            }
        )
        lastSendTime = start + .nanoseconds(interval * Int64(group.packets.count))
    }

    /// Adds datagrams (in time order, after those queued) and sends what is due.
    private func enqueue(_ datagrams: [(due: NIODeadline, datagram: ByteBuffer)]) {
        queue += datagrams
        sendDue()
    }

    /// Sends every queued datagram whose time has come, and sets the timer for the next.
    private func sendDue() {
        let now = NIODeadline.now()
        var ready = 0
        while ready < queue.count, queue[ready].due <= now { ready += 1 }
        if ready > 0 {
            socket.send(queue[..<ready].map(\.datagram))
            queue.removeFirst(ready)
        }
        guard let next = queue.first?.due, timer?.deadline != next else { return }
        timer?.task.cancel()
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        timer = (next, eventLoop.scheduleTask(deadline: next) {
            this.value.timer = nil
            this.value.sendDue()
        })
    }
}
