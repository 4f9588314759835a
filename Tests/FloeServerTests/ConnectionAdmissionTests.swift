import FloeCore
import Testing

@testable import FloeServer

/// The rules every port applies at accept. The integration tests check each port from outside; these pin where the
/// two ports differ (redirects past `clients`, trusted proxies) and that a refusal holds no pending count.
@Suite("Connection admission")
struct ConnectionAdmissionTests {
    func snapshot(
        clients: Int = 100,
        maxPendingPerIP: Int = 2,
        redirectWhenFull: String? = nil,
        denied: [String] = [],
        trustedProxies: [String] = []
    ) -> ConfigurationSnapshot {
        var configuration = ServerConfiguration()
        configuration.limits.clients = clients
        configuration.limits.maxPendingPerIP = maxPendingPerIP
        configuration.limits.redirectWhenFull = redirectWhenFull
        let rules = AddressRules(
            trustedProxies: AddressList(trustedProxies.compactMap { AddressPattern($0) }),
            allowed: nil,
            denied: AddressList(denied.compactMap { AddressPattern($0) })
        )
        return ConfigurationSnapshot(configuration, addressRules: rules)
    }

    func decide(
        _ peer: String?,
        _ port: ConnectionAdmission.Port,
        connections: Int = 1,
        _ snapshot: ConfigurationSnapshot,
        _ counter: PeerCounter
    ) -> Result<ConnectionAdmission.Admitted, ConnectionAdmission.Refusal> {
        ConnectionAdmission.decide(
            peer: peer,
            port: port,
            connections: connections,
            snapshot: snapshot,
            pendingPerPeer: counter
        )
    }

    func refusal(
        _ result: Result<ConnectionAdmission.Admitted, ConnectionAdmission.Refusal>
    ) -> ConnectionAdmission.Refusal? {
        guard case .failure(let refusal) = result else { return nil }
        return refusal
    }

    @Test func pastTheClientLimitOnlyTheHTTPPortRedirectsAndOnlyWithinItsMargin() {
        let redirecting = snapshot(clients: 100, redirectWhenFull: "http://edge.example:8000")
        let counter = PeerCounter()
        guard case .success(let admitted) = decide("10.0.0.1", .http, connections: 101, redirecting, counter) else {
            Issue.record("an HTTP connection past clients should be read to be redirected")
            return
        }
        #expect(admitted.beyondClientLimit)
        #expect(
            refusal(decide("10.0.0.1", .shoutcastSource, connections: 101, redirecting, counter))
                == .clientLimit(limit: 100)
        )
        // The margin is at least 64 connections.
        #expect(refusal(decide("10.0.0.1", .http, connections: 165, redirecting, counter)) == .clientLimit(limit: 100))
        #expect(
            refusal(decide("10.0.0.1", .http, connections: 101, snapshot(clients: 100), counter))
                == .clientLimit(limit: 100)
        )
    }

    @Test func aTrustedProxyIsCheckedPerRequestOnTheHTTPPortButIsJustAnAddressOnTheSourcePort() {
        let rules = snapshot(maxPendingPerIP: 1, denied: ["10.0.0.9"], trustedProxies: ["10.0.0.9"])
        let counter = PeerCounter()
        for _ in 0..<3 {
            guard case .success(let admitted) = decide("10.0.0.9", .http, rules, counter) else {
                Issue.record("a trusted proxy is refused only once its heads name the clients")
                return
            }
            #expect(admitted.pending == nil)
        }
        #expect(refusal(decide("10.0.0.9", .shoutcastSource, rules, counter)) == .addressRules(peer: "10.0.0.9"))
    }

    @Test func aRefusedConnectionHoldsNoPendingCountAndAReleasedOneFreesItsPlace() {
        let rules = snapshot(maxPendingPerIP: 2, denied: ["10.0.0.66"])
        let counter = PeerCounter()
        #expect(refusal(decide("10.0.0.66", .http, rules, counter)) == .addressRules(peer: "10.0.0.66"))
        #expect(counter.claim("10.0.0.66", limit: 1), "a denied address left a count behind")

        guard case .success(var first) = decide("10.0.0.5", .shoutcastSource, rules, counter),
            case .success = decide("10.0.0.5", .http, rules, counter)
        else {
            Issue.record("two pending connections are within a limit of two")
            return
        }
        #expect(refusal(decide("10.0.0.5", .http, rules, counter)) == .tooManyPending(peer: "10.0.0.5", limit: 2))
        first.pending?.release()
        guard case .success = decide("10.0.0.5", .http, rules, counter) else {
            Issue.record("a released count should free its place")
            return
        }
    }
}
