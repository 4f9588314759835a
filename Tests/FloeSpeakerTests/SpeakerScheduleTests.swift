import FloeCore
import FloeSpeaker
import NIOCore
import Testing

@Suite("Speaker schedule (jitter buffer and clock)")
struct SpeakerScheduleTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func frame(_ tag: UInt8, samples: Int = 1152, rate: Int = 44_100) -> SpeakerFrame {
        SpeakerFrame(bytes: ByteBuffer(bytes: [tag]), samples: samples, sampleRate: rate)
    }

    func at(_ milliseconds: Double) -> NIODeadline {
        start + .nanoseconds(Int64(milliseconds * 1e6))
    }

    /// Runs the schedule at `now` until it waits; returns what it played.
    func drain(_ schedule: inout SpeakerSchedule, at now: NIODeadline) -> (plays: [(tag: UInt8, position: Int64, talkspurt: Bool)], silence: Int64, last: SpeakerSchedule.Action) {
        var plays: [(UInt8, Int64, Bool)] = []
        var silence: Int64 = 0
        while true {
            let action = schedule.nextAction(at: now)
            switch action {
            case .play(let frame, let position, let talkspurt):
                plays.append((frame.bytes.getInteger(at: 0, as: UInt8.self)!, position, talkspurt))
            case .silence(_, let length):
                silence += length
            case .stop:
                continue
            case .wait, .sleep:
                return (plays, silence, action)
            }
        }
    }

    @Test func framesWaitForTheJitterBufferThenPlayOneByOneOnTheClock() {
        var schedule = SpeakerSchedule(settings: .init(clockRate: 44_100, jitterBuffer: .milliseconds(200)))
        for tag in 0..<5 { schedule.enqueue(frame(UInt8(tag)), at: start) }
        #expect(drain(&schedule, at: start).last == .wait(until: at(200)))
        let first = drain(&schedule, at: at(200))
        #expect(first.plays.map(\.tag) == [0], "one frame is due; the rest wait for their time")
        #expect(first.plays[0].position == 0 && first.plays[0].talkspurt)
        // Frame 1 is due 1152 / 44100 s = 26.122 ms later.
        guard case .wait(let due) = first.last else { Issue.record("expected a wait"); return }
        #expect(due == schedule.deadline(of: 1152))
        #expect(due.uptimeNanoseconds - at(200).uptimeNanoseconds == 26_122_448)
        let later = drain(&schedule, at: at(200 + 80))
        #expect(later.plays.map(\.tag) == [1, 2, 3], "frames at 26.1, 52.2 and 78.4 ms")
        #expect(later.plays.map(\.position) == [1152, 2304, 3456])
        #expect(later.plays.allSatisfy { !$0.talkspurt })
    }

    @Test func aSourceFasterThanRealTimeIsNotPlayedFasterAndItsExcessIsDropped() {
        var schedule = SpeakerSchedule(
            settings: .init(clockRate: 44_100, jitterBuffer: .milliseconds(200), maximumBuffer: .seconds(2))
        )
        // Ten seconds of audio arrive at once.
        for tag in 0..<383 { schedule.enqueue(frame(UInt8(tag % 256)), at: start) }
        #expect(schedule.framesDropped > 0)
        #expect(schedule.bufferedDuration <= .milliseconds(2200))
        var played = 0
        for step in 0...40 {
            played += drain(&schedule, at: at(200 + Double(step) * 25)).plays.count
        }
        // One second of wall time after the jitter buffer plays one second of audio (38 or 39 frames).
        #expect((38...39).contains(played))
    }

    @Test func aStalledSourceLeavesAGapAndTheTimestampJumpsByItWithAMarker() {
        var schedule = SpeakerSchedule(settings: .init(clockRate: 44_100, jitterBuffer: .milliseconds(100)))
        schedule.enqueue(frame(1), at: start)
        _ = drain(&schedule, at: at(100))
        // Nothing more arrives: at the next frame's due time the output is in a gap, and sends nothing.
        let stalled = drain(&schedule, at: at(200))
        #expect(stalled.plays.isEmpty && stalled.silence == 0)
        #expect(stalled.last == .sleep)
        #expect(schedule.state == .gap && schedule.underruns == 1)
        // Audio resumes 2.9 s later: it waits for the jitter buffer, then plays where wall time has got to.
        schedule.enqueue(frame(2), at: at(3000))
        #expect(drain(&schedule, at: at(3000)).plays.isEmpty)
        let resumed = drain(&schedule, at: at(3100))
        #expect(resumed.plays.count == 1)
        #expect(resumed.plays[0].talkspurt, "the first packet after a gap carries the marker bit")
        #expect(resumed.plays[0].position == 3 * 44_100, "3 s after the first frame, in samples")
    }

    @Test func silenceModeFillsTheGapOnTheClockAndResumesWithoutAJump() {
        var schedule = SpeakerSchedule(
            settings: .init(clockRate: 44_100, jitterBuffer: .milliseconds(100), gaps: .silence, silenceChunk: 441)
        )
        schedule.enqueue(frame(1), at: start)
        _ = drain(&schedule, at: at(100))
        // Frame 1 ends at 1152; silence covers the clock from there in 10 ms chunks until audio is back.
        let gap = drain(&schedule, at: at(100 + 500))
        #expect(gap.silence > 0 && gap.plays.isEmpty)
        schedule.enqueue(frame(2), at: at(600))
        var silence = gap.silence
        var plays: [(tag: UInt8, position: Int64, talkspurt: Bool)] = []
        for step in 0...30 {
            let result = drain(&schedule, at: at(600 + Double(step) * 5))
            if plays.isEmpty { silence += result.silence }  // silence after the frame belongs to the next gap
            plays += result.plays
        }
        #expect(plays.count == 1 && !plays[0].talkspurt, "silence kept the stream going: no new talkspurt")
        #expect(plays[0].position == 1152 + silence, "the frame follows the silence exactly")
    }

    @Test func theEndOfTheSourcePlaysOutTheBufferThenStops() {
        var schedule = SpeakerSchedule(settings: .init(clockRate: 44_100, jitterBuffer: .milliseconds(100)))
        schedule.enqueue(frame(1), at: start)
        schedule.enqueue(frame(2), at: start)
        schedule.endOfSource()
        #expect(drain(&schedule, at: at(100)).plays.count == 1)
        #expect(schedule.nextAction(at: at(130)) == .play(frame(2), position: 1152, startsTalkspurt: false))
        #expect(schedule.nextAction(at: at(160)) == .stop)
        #expect(schedule.state == .idle && schedule.nextAction(at: at(170)) == .sleep)
        // The next source starts a new talkspurt, later on the same clock.
        schedule.enqueue(frame(3), at: at(5000))
        let next = drain(&schedule, at: at(5100))
        #expect(next.plays.count == 1 && next.plays[0].talkspurt && next.plays[0].position == 5 * 44_100)
    }

    @Test func aSourceThatEndsBeforeAnythingPlayedStillStops() {
        var schedule = SpeakerSchedule(settings: .init(clockRate: 44_100))
        schedule.endOfSource()
        #expect(schedule.nextAction(at: start) == .stop, "whoever waits for the end is told")
        #expect(schedule.nextAction(at: start) == .sleep)
    }

    @Test func withALeadTheGapStartsWhenAudioWasDueAtTheDevice() {
        var schedule = SpeakerSchedule(
            settings: .init(clockRate: 44_100, jitterBuffer: .milliseconds(100), gaps: .silence, lead: .milliseconds(100), silenceChunk: 441)
        )
        schedule.enqueue(frame(1), at: start)
        // Waiting jitter + lead, the one frame plays at 200 ms; the audio after it (due at 226 ms) had to reach the
        // device 100 ms earlier, so the device is short of it already: silence follows at once, not 26 ms later.
        #expect(drain(&schedule, at: at(199)).plays.isEmpty)
        let first = drain(&schedule, at: at(200))
        #expect(first.plays.count == 1 && first.silence > 0)
        #expect(schedule.state == .gap)
    }

    @Test func framesAtOtherRatesAdvanceTheClockExactlyWithoutDrift() {
        // 48 kHz frames on a 90 kHz clock: 1152 × 90000 / 48000 = 2160 exactly; 44.1 kHz ones are 2351.02.
        var schedule = SpeakerSchedule(settings: .init(clockRate: 90_000, jitterBuffer: .zero, maximumBuffer: .seconds(100)))
        for _ in 0..<1000 { schedule.enqueue(frame(0, rate: 44_100), at: start) }
        for _ in 0..<10 { schedule.enqueue(frame(0, rate: 48_000), at: start) }
        var positions: [Int64] = []
        var now = start
        while positions.count < 1010 {
            switch schedule.nextAction(at: now) {
            case .play(_, let position, _): positions.append(position)
            case .wait(let until): now = until
            default: Issue.record("unexpected action"); return
            }
        }
        #expect(positions[1000] == 1000 * 1152 * 90_000 / 44_100, "no rounding accumulates over 1000 frames")
        #expect(positions[1009] - positions[1000] == 9 * 2160)
    }
}

@Suite("L16 packets and SDP")
struct L16PacketizerTests {
    @Test func stereoAt44100IsPayloadType10WithBigEndianSamplesAndFrameTimestamps() {
        var packetizer = L16Packetizer(sampleRate: 44_100, channels: 2, ssrc: 9, initialSequenceNumber: 100, timestampBase: 5000)
        #expect(packetizer.payloadType == 10)
        #expect(packetizer.framesPerPacket == 365, "(1472 − 12) / 4 bytes per stereo frame")
        let samples = (0..<(1152 * 2)).map { Int16(truncatingIfNeeded: $0 &* 37) }
        let packets = packetizer.packets(appending: samples, talkspurtAt: 0)
        #expect(packets.count == 3, "1152 frames: three full packets, 57 frames pending")
        let bytes = packets.map { Array($0.readableBytesView) }
        #expect(bytes.allSatisfy { $0.count == 12 + 1460 })
        let headers = bytes.map { RTPHeader(parsing: $0)! }
        #expect(headers.map(\.timestamp) == [5000, 5365, 5730], "timestamps count sample frames, not samples")
        #expect(headers.map(\.sequenceNumber) == [100, 101, 102])
        #expect(headers.map(\.marker) == [true, false, false])
        #expect(Array(bytes[0][12..<16]) == [0, 0, 0, 37], "big-endian samples, left then right")
        let tail = packetizer.flush()
        #expect(tail.count == 1 && tail[0].readableBytes == 12 + 57 * 4)
        #expect(L16Packetizer.payloadType(sampleRate: 44_100, channels: 1, dynamic: 96) == 11)
        #expect(L16Packetizer.payloadType(sampleRate: 48_000, channels: 2, dynamic: 97) == 97)
    }

    @Test func aTalkspurtSendsWhatIsPendingThenJumpsTheTimestampWithTheMarker() {
        var packetizer = L16Packetizer(sampleRate: 44_100, channels: 1, ssrc: 1, initialSequenceNumber: 0, timestampBase: 0)
        _ = packetizer.packets(appending: [Int16](repeating: 1, count: 10), talkspurtAt: 0)
        let packets = packetizer.packets(appending: [Int16](repeating: 2, count: 730 * 2), talkspurtAt: 44_100)
        let headers = packets.map { RTPHeader(parsing: Array($0.readableBytesView))! }
        #expect(headers.map(\.timestamp) == [0, 44_100, 44_100 + 730])
        #expect(headers.map(\.marker) == [true, true, false])
        #expect(packets[0].readableBytes == 12 + 20, "the short packet ends the previous talkspurt")
    }

    @Test func sessionDescriptionNamesTheGroupWithItsTTLAndTheEncoding() {
        let sdp = SessionDescription(
            name: "Live\r\nInjected: yes", address: "239.255.0.1", port: 5004, multicastTTL: 4,
            payloadType: 14, encoding: "MPA/90000", sessionID: 42, origin: "radio.example.org"
        ).text
        #expect(sdp.hasPrefix("v=0\r\no=- 42 42 IN IP4 radio.example.org\r\ns=Live Injected: yes\r\n"))
        #expect(sdp.contains("\r\nc=IN IP4 239.255.0.1/4\r\n"))
        #expect(sdp.contains("\r\nm=audio 5004 RTP/AVP 14\r\na=rtpmap:14 MPA/90000\r\n"))
    }
}
