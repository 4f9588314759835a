// fec-bench: encoding and decoding speed of Floe's erasure code (FloeFEC), measured the way
// bench/fec/zfec_bench.py measures the C zfec: for each k:n:slice, produce all n − k parity slices of a group
// (or rebuild its k data slices from the worst choice of k slices) over and over for at least a second, and
// report megabytes of group data (k × slice bytes) per second. Run it built for release:
//
//     swift run -c release fec-bench
import FloeFEC
import Foundation

let cases = [(8, 12, 1400), (16, 24, 1400), (32, 48, 1400), (100, 128, 1400), (8, 12, 65_000)]

func measure(_ body: () -> Int) -> Double {
    var bytes = 0
    let start = Date()
    var elapsed = 0.0
    repeat {
        bytes += body()
        elapsed = Date().timeIntervalSince(start)
    } while elapsed < 1.0
    return Double(bytes) / elapsed / 1e6
}

var generator = SystemRandomNumberGenerator()
print("k:n:slice        encode MB/s   decode MB/s (n-k data slices lost)")
for (k, n, size) in cases {
    let code = try ErasureCode(dataSlices: k, totalSlices: n)
    let data = (0..<k).map { _ in (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) } }
    var output: [UInt8] = []
    let encode = measure {
        for index in k..<n { code.encodeSlice(index, from: data, into: &output) }
        return k * size
    }
    let parity = code.encode(data)
    // The worst case: as many data slices lost as the code allows, rebuilt from parity.
    let lost = min(n - k, k)
    let received = (lost..<k).map { (index: $0, bytes: data[$0]) } + (0..<lost).map { (index: k + $0, bytes: parity[$0]) }
    let decode = measure {
        _ = try! code.decode(received)
        return k * size
    }
    print(String(format: "%-16@ %11.1f   %11.1f", "\(k):\(n):\(size)" as NSString, encode, decode))
}
