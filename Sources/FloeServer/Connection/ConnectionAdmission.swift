import FloeCore
import Logging

/// The rules a new connection passes before Floe reads a byte of it, the same on every port that takes clients:
/// the `clients` limit, `allow-ip` / `deny-ip`, and `max-pending-per-ip`.
///
/// Both the HTTP port (`RequestHeadHandler`) and the SHOUTcast source port (`ShoutcastSourceHandler`) ask here, so a
/// rule added for one cannot be missed by the other (the SHOUTcast port once skipped all three).
enum ConnectionAdmission {
    /// Where the connection arrived, which decides the two rules the ports do not share.
    enum Port {
        /// The HTTP port. A connection beyond `clients` may still be read to be redirected (`redirect-when-full`),
        /// and a trusted proxy is checked per request instead, once its head names the client it carries.
        case http
        /// The SHOUTcast source port: nothing here can name another client, so a proxy is just an address, and
        /// there is nowhere to redirect to.
        case shoutcastSource
    }

    /// An admitted connection.
    struct Admitted {
        /// Its count in `pendingPerPeer`, to give back once its request is read or it closes; `nil` when the
        /// limit is off or does not apply (a trusted proxy).
        var pending: PeerCounter.Claim?
        /// Accepted beyond `clients` only to be redirected once its head says where to.
        var beyondClientLimit: Bool
    }

    /// Why a connection was refused.
    enum Refusal: Error, Equatable {
        case clientLimit(limit: Int)
        case addressRules(peer: String)
        case tooManyPending(peer: String, limit: Int)

        /// The answer on the HTTP port, as Icecast words it where it has one.
        var response: IcecastResponse {
            switch self {
            case .clientLimit: .error(403, "Icecast connection limit reached")
            case .addressRules: .error(403, "Forbidden")
            case .tooManyPending: .error(503, "Too many connections from your address")
            }
        }

        func log(to logger: Logger) {
            switch self {
            case .clientLimit(let limit):
                logger.warning("Client connection limit reached", metadata: ["limit": "\(limit)"])
            case .addressRules(let peer):
                logger.info("Connection refused by allow-ip/deny-ip", metadata: ["peer": "\(peer)"])
            case .tooManyPending(let peer, let limit):
                logger.warning(
                    "Too many connections from one address still sending their request",
                    metadata: ["peer": "\(peer)", "limit": "\(limit)"]
                )
            }
        }
    }

    /// Admits or refuses a connection just accepted from `peer` (its socket's address; `nil` if it has none).
    ///
    /// `connections` is the count of open connections including this one. A claim in `pendingPerPeer` is taken only
    /// when every other rule passed, so a refusal holds nothing to give back.
    static func decide(
        peer: String?,
        port: Port,
        connections: Int,
        snapshot: ConfigurationSnapshot,
        pendingPerPeer: PeerCounter
    ) -> Result<Admitted, Refusal> {
        let limits = snapshot.configuration.limits
        var beyondClientLimit = false
        if connections > limits.clients {
            // Redirecting costs a head read; past a margin above `clients` even that is refused, so a flood of idle
            // connections cannot hold descriptors beyond it.
            let redirectMargin = max(64, limits.clients / 10)
            guard case .http = port, limits.redirectWhenFull != nil, connections <= limits.clients + redirectMargin
            else { return .failure(.clientLimit(limit: limits.clients)) }
            beyondClientLimit = true
        }
        let address = peer ?? "unknown"
        let rules = snapshot.addressRules
        let checkedPerRequest = port == .http && rules.isTrustedProxy(address)
        if !checkedPerRequest, !rules.admits(address) {
            return .failure(.addressRules(peer: address))
        }
        var pending: PeerCounter.Claim?
        if limits.maxPendingPerIP > 0, !checkedPerRequest, let peer {
            pending = pendingPerPeer.claimOne(peer, limit: limits.maxPendingPerIP)
            if pending == nil { return .failure(.tooManyPending(peer: peer, limit: limits.maxPendingPerIP)) }
        }
        return .success(Admitted(pending: pending, beyondClientLimit: beyondClientLimit))
    }
}

extension ServerContext {
    /// `ConnectionAdmission.decide` with this server's connection count and pending-connection counter.
    func admit(peer: String?, port: ConnectionAdmission.Port, snapshot: ConfigurationSnapshot)
        -> Result<ConnectionAdmission.Admitted, ConnectionAdmission.Refusal>
    {
        ConnectionAdmission.decide(
            peer: peer,
            port: port,
            connections: connections.count.load(ordering: .relaxed),
            snapshot: snapshot,
            pendingPerPeer: pendingPerPeer
        )
    }
}
