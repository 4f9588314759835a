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

    /// A live source taking a relayed mount over, and the relay taking it back: listeners and generation stay,
    /// only the source feeding the mount can hand it over, and the title starts empty.
    @Test func aSourceHandsTheMountOverWithoutEndingListeners() {
        var mount = MountStateMachine()
        _ = mount.sourceConnected(id: 1, descriptor: descriptor)
        _ = mount.listenerArrived(maxListeners: nil)
        _ = mount.metadataUpdated(MetadataUpdate(title: "Relayed"))
        let generation = mount.generation
        let byAnother = mount.sourceHandedOver(from: 7, to: 2, descriptor: descriptor)
        #expect(!byAnother)
        let handedOver = mount.sourceHandedOver(from: 1, to: 2, descriptor: descriptor)
        #expect(handedOver)
        #expect(mount.isFed(by: 2) && !mount.isFed(by: 1))
        #expect(mount.listeners == 1 && mount.generation == generation)
        #expect(mount.metadata.title == "")
        #expect(mount.sourceDisconnected(id: 1) == .ignore, "the old source's late end changes nothing")
        let handedBack = mount.sourceHandedOver(from: 2, to: 3, descriptor: descriptor)
        #expect(handedBack)
        #expect(mount.sourceDisconnected(id: 3) == .endListeners)
        #expect(!mount.isFed(by: 3))
    }

    /// A relay that goes on from another upstream: new headers for listeners from now on, the same start time,
    /// and only for the source that feeds the mount.
    @Test func aRelaySourceChangesItsDescriptorButNotItsStart() {
        var mount = MountStateMachine()
        let first = SourceDescriptor(contentType: "audio/mpeg", headers: [("icy-name", "A")], peerAddress: "a", connectedAt: .init(timeIntervalSince1970: 100))
        let second = SourceDescriptor(contentType: "audio/mpeg", headers: [("icy-name", "B")], peerAddress: "b", connectedAt: .init(timeIntervalSince1970: 200))
        _ = mount.sourceConnected(id: 1, descriptor: first)
        let byAnother = mount.sourceDescriptorChanged(id: 2, to: second)
        #expect(!byAnother, "not the source feeding the mount")
        let byTheSource = mount.sourceDescriptorChanged(id: 1, to: second)
        #expect(byTheSource)
        guard case .admit(let admitted) = mount.listenerArrived(maxListeners: nil) else {
            Issue.record("no source")
            return
        }
        #expect(admitted.peerAddress == "b" && admitted.header("icy-name") == "B")
        #expect(admitted.connectedAt == first.connectedAt)
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
