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

    /// Every mount's samples, oldest first.
    var series: [String: [Int]] {
        samples.withLock { $0 }
    }
}
