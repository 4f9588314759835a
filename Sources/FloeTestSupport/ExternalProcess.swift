import Foundation

/// Runs a real program (ffmpeg, mpg123, curl) for a test and collects its output.
public final class ExternalProcess: @unchecked Sendable {
    // @unchecked: `process` and the pipes are only touched from the test that owns this object; Foundation
    // reads the pipes on its own threads and hands back the data through `finish`.
    public let process = Process()
    private let output = Pipe()
    private let errors = Pipe()
    private let input: Pipe?

    public struct Result: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: String
    }

    /// Finds a program on PATH.
    public static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// - Parameter unblockingSignals: start the program with no signal blocked. Foundation's `Process` passes on
    ///   the test thread's signal mask, in which SIGINT is blocked; programs that finish their output on SIGINT
    ///   (`gst-launch-1.0 -e`) need it delivered. A one-line python3 shim clears the mask and execs the program.
    public init(
        _ program: String,
        _ arguments: [String],
        standardInput: Bool = false,
        environment: [String: String] = [:],
        unblockingSignals: Bool = false
    ) throws {
        guard let path = program.hasPrefix("/") ? program : Self.which(program) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "\(program) is not installed"])
        }
        if unblockingSignals, let python = Self.which("python3") {
            process.executableURL = URL(fileURLWithPath: python)
            let shim = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])"
            process.arguments = ["-c", shim, path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = output
        process.standardError = errors
        if standardInput {
            let pipe = Pipe()
            process.standardInput = pipe
            input = pipe
        } else {
            process.standardInput = FileHandle.nullDevice
            input = nil
        }
        try process.run()
    }

    /// Standard output that has arrived so far and not been read (for banners of long-running programs).
    /// Do not mix with `finish`, which reads the rest.
    public func availableOutput() -> Data {
        let handle = output.fileHandleForReading
        var pollDescriptor = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&pollDescriptor, 1, 0) > 0 else { return Data() }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
        return count > 0 ? Data(buffer[..<count]) : Data()
    }

    /// Writes to the program's standard input.
    public func write(_ bytes: [UInt8]) throws {
        try input?.fileHandleForWriting.write(contentsOf: Data(bytes))
    }

    public func closeInput() {
        try? input?.fileHandleForWriting.close()
    }

    /// Sends SIGINT: ffmpeg and `gst-launch-1.0 -e` finish their output files (WAV headers) and exit.
    public func interrupt() {
        if process.isRunning { kill(process.processIdentifier, SIGINT) }
    }

    /// Sends SIGTERM.
    public func terminate() {
        if process.isRunning { process.terminate() }
    }

    /// Waits for the program to end (killing it after `timeout` seconds) and returns what it printed.
    public func finish(timeout: Double = 60) async -> Result {
        // Pipes are read on threads of their own: a blocking read on the cooperative pool (two threads here) would
        // stall every test task once a few programs run at once.
        let outputReader = Self.readToEnd(output.fileHandleForReading)
        let errorReader = Self.readToEnd(errors.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            process.terminate()
            try? await Task.sleep(for: .milliseconds(200))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: await outputReader.value,
            stderr: String(decoding: await errorReader.value, as: UTF8.self)
        )
    }

    private static func readToEnd(_ handle: FileHandle) -> Task<Data, Never> {
        Task {
            await withCheckedContinuation { continuation in
                Thread { continuation.resume(returning: handle.readDataToEndOfFile()) }.start()
            }
        }
    }

    /// Runs a program to completion.
    public static func run(_ program: String, _ arguments: [String], timeout: Double = 60) async throws -> Result {
        try await ExternalProcess(program, arguments).finish(timeout: timeout)
    }
}

/// A scratch directory removed when the value is released.
public final class TemporaryDirectory: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("floe-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}
