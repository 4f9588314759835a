extension FrameSynchronizer {
    /// The same step as the `UnsafeRawBufferPointer` one, for callers that keep their pending bytes in an array.
    public mutating func step(_ bytes: [UInt8], isEndOfStream: Bool = false) -> Step {
        bytes.withUnsafeBytes { buffer in
            self.step(buffer, isEndOfStream: isEndOfStream)
        }
    }

    /// Every frame in a complete buffer, with its byte offset, in order.
    ///
    /// Runs a fresh synchroniser over `bytes` as a whole stream (end of stream included, so a complete last
    /// frame counts and a truncated one does not). Garbage and ID3v2 tags are skipped; the offsets say where
    /// each frame starts, so `bytes[offset..<offset + frame.length]` is the frame.
    public static func frames(in bytes: [UInt8]) -> [(offset: Int, frame: Frame)] {
        var synchronizer = Self()
        var result: [(offset: Int, frame: Frame)] = []
        bytes.withUnsafeBytes { all in
            var offset = 0
            while true {
                let rest = UnsafeRawBufferPointer(rebasing: all[offset...])
                switch synchronizer.step(rest, isEndOfStream: true) {
                case .frame(let frame):
                    result.append((offset: offset, frame: frame))
                    offset += frame.length
                case .skip(let count, _):
                    offset += count
                case .needMoreData:
                    return
                }
            }
        }
        return result
    }
}
