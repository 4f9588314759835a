import FloeCore
import FloeHTTPClient
import Logging
import NIOCore

/// Slave mode: reads the master server's `/admin/streamlist.txt` at start and every `master-update-interval`, as
/// Icecast's slave does (HTTP/1.0, Basic `master-username:master-password`), and relays every mount it lists:
/// mounts that appear get a relay, mounts that disappear lose theirs. A poll that fails keeps the relays as they
/// are. The configuration is read at each tick, so SIGHUP can start, change or end slave mode.
final class MasterPoller: Sendable {
    private let server: ServerContext
    private let eventLoops: [EventLoop]
    private let eventLoop: EventLoop
    private let state: NIOLoopBoundBox<State>

    private struct State {
        var task: RepeatedTask?
        var nextPoll = NIODeadline.uptimeNanoseconds(0)
        var polling = false
        var stopped = false
    }

    init(server: ServerContext, eventLoops: [EventLoop]) {
        self.server = server
        self.eventLoops = eventLoops
        self.eventLoop = eventLoops[0]
        self.state = NIOLoopBoundBox.makeBoxSendingValue(State(), eventLoop: eventLoop)
    }

    func start() {
        eventLoop.execute {
            self.state.value.task = self.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { _ in
                self.tick()
            }
        }
    }

    func stop() {
        eventLoop.execute {
            self.state.value.stopped = true
            self.state.value.task?.cancel()
        }
    }

    private func tick() {
        let configuration = server.configuration
        let settings = configuration.relay
        guard let host = settings.masterServer else {
            if !server.relays.masterMounts.isEmpty {
                server.relays.setMasterRelays([], server: server, eventLoops: eventLoops)
            }
            return
        }
        let now = NIODeadline.now()
        guard !state.value.polling, now >= state.value.nextPoll else { return }
        state.value.polling = true
        state.value.nextPoll = now + .seconds(configured: settings.masterUpdateInterval)
        let base = "http://\(host.contains(":") ? "[\(host)]" : host):\(settings.masterServerPort ?? 8000)"
        var logger = server.logger
        logger[metadataKey: "master"] = "\(base)"
        guard let url = HTTPClientURL(base + "/admin/streamlist.txt") else {
            logger.error("The master server is not a host name or address")
            state.value.polling = false
            return
        }
        var request = HTTPClientRequest(url: url)
        request.user = settings.masterUsername
        request.password = settings.masterPassword
        request.userAgent = RelaySource.userAgent
        request.deadline = .seconds(10)
        let log = logger
        HTTPClient.execute(request, on: eventLoop, maximumBodyBytes: 1 << 20).whenComplete { result in
            let logger = log
            self.state.value.polling = false
            guard !self.state.value.stopped else { return }
            switch result {
            case .success(let response) where response.status == 200:
                let relays = MasterStreamList.relays(
                    from: String(buffer: response.body),
                    master: base,
                    onDemand: settings.relaysOnDemand
                )
                let before = self.server.relays.masterMounts
                self.server.relays.setMasterRelays(relays, server: self.server, eventLoops: self.eventLoops)
                let after = Set(relays.map(\.localMount))
                if before != after {
                    logger.info(
                        "Relaying the master's mounts",
                        metadata: ["added": "\(after.subtracting(before).sorted())", "removed": "\(before.subtracting(after).sorted())"]
                    )
                }
            case .success(let response):
                logger.warning("The master refused the stream list request", metadata: ["status": "\(response.status)"])
            case .failure(let error):
                logger.warning("The master's stream list could not be read", metadata: ["error": "\(error)"])
            }
        }
    }
}
