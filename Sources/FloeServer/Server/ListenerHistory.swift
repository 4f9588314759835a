import Foundation
import Synchronization

/// Listener counts per mount over the last hour, sampled every `interval`, for the admin page's graph.
final class ListenerHistory: Sendable {
    /// Seconds between samples.
    static let interval: Double = 15
    /// Samples kept per mount (one hour).
    static let capacity = Int(3600 / interval)

    private let samples = Mutex<[String: [Int]]>([:])

    /// Records one sample for every mount in `counts` (mounts missing from it count 0).
    func record(_ counts: [String: Int]) {
        samples.withLock { samples in
            for mount in Set(samples.keys).union(counts.keys) {
                var series = samples[mount, default: []]
                series.append(counts[mount] ?? 0)
                if series.count > Self.capacity { series.removeFirst(series.count - Self.capacity) }
                samples[mount] = series
            }
        }
    }

    /// `{"interval":15,"mounts":{"/live":[0,1,2,…]}}`, oldest first.
    func json() -> String {
        let series = samples.withLock { $0 }
        let members = series.keys.sorted().map { mount in
            "\"\(mount.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\":["
                + series[mount]!.map(String.init).joined(separator: ",") + "]"
        }
        return "{\"interval\":\(Int(Self.interval)),\"mounts\":{" + members.joined(separator: ",") + "}}"
    }
}
