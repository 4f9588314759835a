import FloeCore
import NIOConcurrencyHelpers

/// Something a mount feeds with every block it publishes, one hop per block: a speaker output, a mount's HLS
/// stream. An output belongs to its home mount and follows that mount's listeners: to a live fallback when the
/// source ends, and home again when it returns.
///
/// Moves are made under the output's own `placement` lock, taken before any mount's output lock and never after,
/// so a move between mounts is atomic and a closed output stays detached.
protocol MountOutput: AnyObject, Sendable {
    /// The mount the output is configured on. Mounts live as long as the server, so the reference is kept.
    var home: Mount { get }
    var placement: MountOutputPlacement { get }
    /// Takes a block `mount` (the one it follows now) published. Called under the mount's output lock, and during
    /// a move under the output's own placement lock too: an output must not ask for its placement here.
    func receive(_ block: StreamBlock, from mount: Mount)
    /// The source ended and nothing took over.
    func endOfSource()
    /// The output now follows another mount (its next block comes from another stream).
    func followsAnotherMount()
}

/// Where an output is: the mount feeding it (`nil` before `start()` and after it closed).
final class MountOutputPlacement: Sendable {
    let box = NIOLockedValueBox<(mount: Mount?, closed: Bool)>((nil, false))
}

extension MountOutput {
    var homePath: String { home.path }

    /// The mount it follows now: its own, a fallback, or `nil` once closed.
    var currentMountPath: String? { placement.box.withLockedValue { $0.mount?.path } }

    /// Starts taking its home mount's blocks.
    func start() {
        placement.box.withLockedValue { placement in
            guard placement.mount == nil, !placement.closed else { return }
            home.attach(self)
            placement.mount = home
        }
    }

    /// Moves from `source` to `destination`, if the output is still fed by `source`; returns whether it moved.
    @discardableResult
    func move(from source: Mount, to destination: Mount, withLastBlock: Bool) -> Bool {
        placement.box.withLockedValue { placement in
            guard placement.mount === source else { return false }
            source.detach(self)
            followsAnotherMount()
            destination.attach(self, withLastBlock: withLastBlock)
            placement.mount = destination
            return true
        }
    }

    /// After a move to `fallback`, decided on `fallback.isLive` a moment ago: if the home mount's source came back
    /// meanwhile (its reclaim ran before the move), go home; if the fallback lost its source meanwhile (its own
    /// hand-over listed its outputs before this one arrived), go home and end. Either change runs its own
    /// output step after changing the mount's state, so between the two, one of them sees the output.
    func settle(after fallback: Mount) {
        if home.isLive {
            move(from: fallback, to: home, withLastBlock: false)
        } else if !fallback.isLive, move(from: fallback, to: home, withLastBlock: false) {
            endOfSource()
        }
    }

    /// Detaches for good.
    func detachForGood() {
        placement.box.withLockedValue { placement in
            placement.mount?.detach(self)
            placement = (nil, true)
        }
    }
}
