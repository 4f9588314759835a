import CMPG123
import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// A libout123 output (a sound card through `alsa` or `pulse`, or a `wav`/`raw`/`au` file) on a thread of its
/// own, so a device that blocks while its buffer is full never holds up an event loop.
///
/// Audio arrives already paced by the speaker's clock; the device thread only writes it, in order. The device is
/// opened by the first audio after a stop and closed (drained first, so a WAV file gets its final header) by
/// ``stop()``.
final class AudioDevice: @unchecked Sendable {
    // `handle` and `isOpen` are touched only on the pool's single thread, in submission order.
    private var handle: OpaquePointer?
    private var isOpen = false
    private let pool: NIOThreadPool
    let driver: String?
    let device: String?
    let sampleRate: Int
    let channels: Int
    private let logger: Logger
    private let problemBox = NIOLockedValueBox<String?>(nil)

    /// The last failure to open or play, if any.
    var problem: String? { problemBox.withLockedValue { $0 } }

    init(driver: String?, device: String?, sampleRate: Int, channels: Int, logger: Logger) {
        self.driver = driver
        self.device = device
        self.sampleRate = sampleRate
        self.channels = channels
        self.logger = logger
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    /// Queues 16-bit PCM (channel-interleaved, native byte order) for the device.
    func play(_ samples: [Int16]) {
        pool.submit { state in
            guard case .active = state else { return }
            self.write(samples)
        }
    }

    /// Plays out what is queued and closes the device.
    func stop() {
        pool.submit { state in
            guard case .active = state else { return }
            self.closeDevice()
        }
    }

    /// Plays out what is queued, closes the device and frees libout123's handle on the device thread, then ends
    /// the thread and calls `done`. The thread pool is shut down only from that last item, once nothing else can
    /// touch the handle (items a shut-down pool cancels would run elsewhere, on another thread).
    func shutdown(done: @escaping @Sendable () -> Void) {
        let pool = self.pool
        pool.submit { _ in
            self.closeDevice()
            if let handle = self.handle { out123_del(handle) }
            self.handle = nil
            pool.shutdownGracefully { _ in done() }
        }
    }

    private func write(_ samples: [Int16]) {
        if !isOpen, !openDevice() { return }
        samples.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = out123_play(handle, UnsafeMutableRawPointer(mutating: bytes.baseAddress! + offset), bytes.count - offset)
                if written == 0 {
                    fail("playing failed: " + String(cString: out123_strerror(handle)))
                    return
                }
                offset += written
            }
        }
    }

    private func openDevice() -> Bool {
        if handle == nil { handle = out123_new() }
        guard let handle else {
            fail("libout123 cannot start")
            return false
        }
        _ = out123_param2(handle, Int32(OUT123_FLAGS.rawValue), Int(OUT123_QUIET.rawValue), 0, nil)
        guard out123_open(handle, driver, device) == 0 else {
            fail("cannot open \(driver ?? "the default driver")\(device.map { " device \($0)" } ?? ""): " + String(cString: out123_strerror(handle)))
            return false
        }
        guard out123_start(handle, sampleRate, Int32(channels), Int32(MPG123_ENC_SIGNED_16.rawValue)) == 0 else {
            fail("cannot start \(sampleRate) Hz, \(channels) channels: " + String(cString: out123_strerror(handle)))
            out123_close(handle)
            return false
        }
        isOpen = true
        problemBox.withLockedValue { $0 = nil }
        return true
    }

    private func closeDevice() {
        guard isOpen, let handle else { return }
        out123_drain(handle)
        out123_stop(handle)
        out123_close(handle)
        isOpen = false
    }

    private func fail(_ message: String) {
        let first = problemBox.withLockedValue { problem in
            defer { problem = message }
            return problem != message
        }
        if first {
            logger.error("Playback: \(message)", metadata: ["driver": "\(driver ?? "default")", "device": "\(device ?? "default")"])
        }
    }
}
