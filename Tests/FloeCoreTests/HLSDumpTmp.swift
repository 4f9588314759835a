import FloeCore
import Foundation
import Testing
@Test func dumpHLSForProbe() throws {
    let segmenter = HLSTests.segmented(HLSTests.blocks(title: "A - B", titleFrom: 5), configuration: HLSConfiguration(window: 10))
    var all: [UInt8] = []
    for s in segmenter.segments { for p in s.parts { all += Array(p.bytes.readableBytesView) } }
    try Data(all).write(to: URL(fileURLWithPath: "/tmp/hls.ts"))
    try Data(segmenter.segments[1].parts.flatMap { Array($0.bytes.readableBytesView) }).write(to: URL(fileURLWithPath: "/tmp/seg1.ts"))
}
