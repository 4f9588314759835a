import ArgumentParser
import FloeCore
import FloeFEC
import FloeServer
import Foundation
import Logging
import NIOCore

/// `floe fec-recv GROUP:PORT`: joins an FEC stream (a Floe `fec` output), rebuilds every group it can from any
/// k of its n slices, and writes the MP3 stream (or plays it), reporting repairs, losses and a late join.
struct FECReceive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fec-recv",
        abstract: "Receive a Floe FEC stream and write the MP3 frames it carries (or play them).",
        discussion: """
            Examples:
              floe fec-recv 239.255.0.1:5010 | mpg123 -
              floe fec-recv 239.255.0.1:5010 --interface 127.0.0.1 --out live.mp3
              floe fec-recv 239.255.0.1:5010 --play
            Reports go to standard error: each group rebuilt with parity, each lost group, a late join, and a
            summary when the stream ends.
            """
    )

    @Argument(help: "The multicast group (or local address for unicast) and port: 239.255.0.1:5010.")
    var destination: String

    @Option(help: "Local address of the interface to join the group on (127.0.0.1 for loopback).")
    var interface: String?

    @Option(help: "Where the MP3 stream goes: a file, or - for standard output.")
    var out = "-"

    @Flag(help: "Play the stream (through libout123) instead of writing it.")
    var play = false

    @Option(help: "With --play: the libout123 driver (alsa, pulse, …, wav, raw, au).")
    var driver: String?

    @Option(help: "With --play: the device, or the file for wav, raw and au.")
    var device: String?

    @Flag(help: "Keep listening after the sender's end of stream, for its next stream.")
    var keepGoing = false

    @Option(help: "Stop after this many seconds without a packet (0: wait for ever).")
    var timeout = 0.0

    @Flag(help: "Report every group, not only repairs and losses.")
    var verbose = false

    func run() async throws {
        let parts = destination.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else {
            throw ValidationError("expected GROUP:PORT, such as 239.255.0.1:5010, got \(destination)")
        }
        let socket: DatagramReceiver
        do {
            socket = try DatagramReceiver(address: String(parts[0]), port: port, interface: interface)
        } catch {
            report("floe fec-recv: \(error)")
            throw ExitCode.failure
        }
        let playback = play ? Self.playback(driver: driver, device: device) : nil
        let output: FileHandle?
        if playback != nil {
            output = nil
        } else if out == "-" {
            output = FileHandle.standardOutput
        } else {
            guard FileManager.default.createFile(atPath: out, contents: nil), let handle = FileHandle(forWritingAtPath: out) else {
                report("floe fec-recv: cannot write \(out)")
                throw ExitCode.failure
            }
            output = handle
        }

        var assembler = FECGroupAssembler()
        var summary = Summary()
        receiving: while true {
            guard let datagram = socket.receive(timeout: timeout > 0 ? timeout : 3600) else {
                if timeout > 0 {
                    report("floe fec-recv: nothing received for \(timeout) s")
                    handle(assembler.flush(), &summary, output, playback)
                    break receiving
                }
                continue
            }
            let packet: FECPacket
            do {
                packet = try FECPacket(parsing: datagram)
            } catch {
                summary.malformed += 1
                if verbose { report("malformed packet (\(datagram.count) bytes): \(error)") }
                continue
            }
            let events = assembler.receive(packet)
            handle(events, &summary, output, playback)
            if events.contains(.endOfStream), !keepGoing { break }
        }
        try? output?.close()
        report(summary.description)
        if let playback { try await playback.finish() }
    }

    private static func playback(driver: String?, device: String?) -> LocalPlayback {
        var logger = Logger(label: "floe.fec-recv")
        logger.logLevel = .warning
        let output = SpeakerOutputConfiguration(
            name: "fec-recv",
            kind: .playback(PlaybackOutput(driver: driver, device: device)),
            jitterBuffer: 0.5,
            maximumBuffer: 10,
            gaps: .silence
        )
        return LocalPlayback(output: output, name: "/fec", logger: logger)
    }

    private func handle(_ events: [FECGroupAssembler.Event], _ summary: inout Summary, _ output: FileHandle?, _ playback: LocalPlayback?) {
        for event in events {
            switch event {
            case .group(let number, let bytes, let repaired):
                summary.groups += 1
                summary.bytes += bytes.count
                if repaired > 0 {
                    summary.repaired += 1
                    report("group \(number): rebuilt, \(repaired) data slice\(repaired == 1 ? "" : "s") from parity")
                } else if verbose {
                    report("group \(number): complete")
                }
                output?.write(Data(bytes))
                playback?.feed(ByteBuffer(bytes: bytes))
            case .lost(let number, let received, let needed):
                summary.lost += 1
                report("group \(number): lost, \(received) of the \(needed) slices needed arrived")
            case .joinedLate(let number):
                summary.joinedLate = true
                report("group \(number): joined during it; output starts with the next group")
            case .streamStarted(let number):
                report("stream started at group \(number)")
            case .endOfStream:
                report("end of stream")
            }
        }
    }

    private func report(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    struct Summary: CustomStringConvertible {
        var groups = 0
        var repaired = 0
        var lost = 0
        var malformed = 0
        var bytes = 0
        var joinedLate = false

        var description: String {
            "groups: \(groups) rebuilt (\(repaired) with parity), \(lost) lost; \(bytes) bytes written"
                + (joinedLate ? "; joined late" : "") + (malformed > 0 ? "; \(malformed) malformed packets" : "")
        }
    }
}
