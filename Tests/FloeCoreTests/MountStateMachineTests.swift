import FloeCore
import Testing

@Suite("Mount state machine")
struct MountStateMachineTests {
    let descriptor = SourceDescriptor(contentType: "audio/mpeg", headers: [], peerAddress: "127.0.0.1")

    @Test func secondSourceIsRefusedUntilTheFirstLeaves() {
        var mount = MountStateMachine()
        #expect(mount.sourceConnected(id: 1, descriptor: descriptor) == .accept)
        #expect(mount.sourceConnected(id: 2, descriptor: descriptor) == .rejectMountInUse)
        #expect(mount.sourceDisconnected(id: 2) == .ignore)
        #expect(mount.sourceDisconnected(id: 1) == .endListeners)
        #expect(mount.sourceConnected(id: 2, descriptor: descriptor) == .accept)
    }

    @Test func listenersNeedASourceAndRespectTheLimit() {
        var mount = MountStateMachine()
        #expect(mount.listenerArrived(maxListeners: nil) == .rejectNoSource)
        _ = mount.sourceConnected(id: 1, descriptor: descriptor)
        #expect(mount.listenerArrived(maxListeners: 2) == .admit(descriptor))
        #expect(mount.listenerArrived(maxListeners: 2) == .admit(descriptor))
        #expect(mount.listenerArrived(maxListeners: 2) == .rejectFull)
        mount.listenerLeft(slow: true)
        #expect(mount.listeners == 1)
        #expect(mount.listenerPeak == 2)
        #expect(mount.slowListeners == 1)
    }

    /// A listener counted out twice (a bookkeeping fault) must not stop the server: the count stays at zero and
    /// the caller is told, so it can log the fault.
    @Test func moreListenersLeavingThanArrivingIsRepaired() {
        var mount = MountStateMachine()
        _ = mount.sourceConnected(id: 1, descriptor: descriptor)
        #expect(mount.listenerArrived(maxListeners: nil) == .admit(descriptor))
        #expect(mount.listenerLeft(slow: false) == .counted)
        #expect(mount.listenerLeft(slow: false) == .countRepaired)
        #expect(mount.listeners == 0)
        #expect(mount.listenerArrived(maxListeners: 1) == .admit(descriptor))
        #expect(mount.listeners == 1)
    }

    @Test func metadataNeedsASourceAndVersionsIncrease() throws {
        var mount = MountStateMachine()
        #expect(mount.metadataUpdated(MetadataUpdate(title: "x")) == .rejectNoSource)
        _ = mount.sourceConnected(id: 1, descriptor: descriptor)
        guard case .updated(let first) = mount.metadataUpdated(MetadataUpdate(title: "One")) else {
            Issue.record("update refused")
            return
        }
        guard case .updated(let second) = mount.metadataUpdated(MetadataUpdate(title: "Two")) else {
            Issue.record("update refused")
            return
        }
        #expect(second.version > first.version)
        #expect(mount.metadata.title == "Two")
    }
}
